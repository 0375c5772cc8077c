"""The injectable link to briefings and timelines, which ``bot.tracking`` provides.

``/policy brief <source>`` and ``/policy timeline`` call ``Briefings.brief`` and
``Briefings.timeline``. :func:`default_briefings` wires the real ones: they
return Slack mrkdwn, which the listener splits into sections of at most 3,000
characters (``bot.tracking.briefing.briefing_blocks`` renders Block Kit too).
Tests inject their own functions.
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


_assistants: dict[str, Any] = {}


def slack_brief(source_id: str) -> str:
    """The briefing on one source as mrkdwn (one Assistant per data dir, reused)."""
    from ..assistant import Assistant
    from ..config import get_settings
    from ..tracking.briefing import build_briefing, render_mrkdwn

    settings = get_settings()
    key = str(settings.data_dir.resolve())
    if key not in _assistants:
        _assistants[key] = Assistant(settings)
    return render_mrkdwn(build_briefing(_assistants[key], source_id))


def slack_timeline() -> str:
    """The application timeline of every source as mrkdwn."""
    from ..config import get_settings
    from ..tracking.timeline import load_timeline, timeline_mrkdwn

    return timeline_mrkdwn(load_timeline(get_settings()))


def default_briefings() -> Briefings:
    return Briefings(brief=slack_brief, timeline=slack_timeline)
