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

from ..config import Settings

NOT_YET = "Briefings are not available yet — they are coming soon. Meanwhile, ask me a question with `/policy <question>`."
NOT_YET_TIMELINE = "The timeline is not available yet — it is coming soon. Meanwhile, ask me a question with `/policy <question>`."


@dataclass
class Briefings:
    """``brief(source_id)`` and ``timeline()`` return mrkdwn text, an ``Answer`` or anything printable."""

    brief: Callable[[str], Any] | None = None
    timeline: Callable[[], Any] | None = None


def default_briefings(settings: Settings, answerer: Any) -> Briefings:
    """The real briefing and timeline, on the Slack app's own settings and Assistant.

    The answerer is reused when it is an :class:`~bot.assistant.Assistant`, so the index is
    loaded once per process; any other answerer gets an Assistant of its own on first use.
    """
    own: list[Any] = []

    def assistant() -> Any:
        from ..assistant import Assistant

        if isinstance(answerer, Assistant):
            return answerer
        if not own:
            own.append(Assistant(settings))
        return own[0]

    def brief(source_id: str) -> str:
        from ..tracking.briefing import build_briefing, render_mrkdwn

        return render_mrkdwn(build_briefing(assistant(), source_id))

    def timeline() -> str:
        from ..tracking.timeline import load_timeline, timeline_mrkdwn

        return timeline_mrkdwn(load_timeline(settings))

    return Briefings(brief=brief, timeline=timeline)
