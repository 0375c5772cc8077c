"""The injectable link to briefings and timelines, which another module provides.

``/policy brief <source>`` and ``/policy timeline`` call ``Briefings.brief`` and
``Briefings.timeline``. Until those functions exist, both are ``None`` and the
bot says briefings are not available yet. To wire the real ones, change the one
line in :func:`default_briefings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NOT_YET = "Briefings are not available yet — they are coming soon. Meanwhile, ask me a question with `/policy <question>`."
NOT_YET_TIMELINE = "The timeline is not available yet — it is coming soon. Meanwhile, ask me a question with `/policy <question>`."


@dataclass
class Briefings:
    """``brief(source_id)`` and ``timeline()`` return mrkdwn text, an ``Answer`` or anything printable."""

    brief: Callable[[str], Any] | None = None
    timeline: Callable[[], Any] | None = None


def default_briefings() -> Briefings:
    # Swap in the real functions here, e.g. `return Briefings(brief=briefing.brief, timeline=briefing.timeline)`.
    return Briefings(brief=None, timeline=None)
