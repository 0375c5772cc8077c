"""Policy tracking: briefings, the timeline of dated provisions, change sets and their Slack digest.

    dates.py       ``extract_unit``: the dated provisions of one article or annex (applies, deadline, ends, …)
    provisions.py  ``scope_of``/``governing``: which provisions a dated rule covers, and which rule covers one
    entries.py     :class:`TimelineEntry`, :class:`Timeline`; ``parse_date`` for users' dates
    build.py       ``build_timeline``/``load_timeline``: every current text, earlier dates of amended provisions
    applies.py     ``provision_dates(source, unit, paragraph, day=…)``: dates on every citation
    timeline.py    ``answer_from_timeline`` for date questions, and the timeline's renderers
    briefing.py    ``build_briefing`` -> :class:`Briefing` (cited lines) and its renderers
    changes.py     ``change_sets`` -> :class:`ChangeSet` (unit-level diff of consecutive versions)
    digest.py      ``post_digests``: each change set to Slack once, never twice
    watch.py       ``watch``: sync, index, then compute and post new change sets, on a schedule
"""
