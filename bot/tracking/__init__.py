"""Policy tracking: briefings, the application timeline, change sets and their Slack digest.

    briefing.py   ``build_briefing`` -> :class:`Briefing` (cited lines) and its renderers
    timeline.py   ``load_timeline`` -> :class:`Timeline`; ``answer_from_timeline`` for date questions
    changes.py    ``change_sets`` -> :class:`ChangeSet` (unit-level diff of consecutive versions)
    digest.py     ``post_digests``: each change set to Slack once, never twice
    watch.py      ``watch``: sync, index, then compute and post new change sets, on a schedule
"""
