"""Block Kit rendering of an :class:`~bot.models.Answer`: pure functions, no Slack calls.

Slack limits a section's text to 3,000 characters and a message to 50 blocks;
everything here stays inside both. Feedback buttons carry an answer id so the
click can be matched to the stored question and answer; when the feedback store
is down, a note says so in their place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..models import Answer, Citation
from ..text import bundled_display_names

Block = dict[str, Any]

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000
QUOTE_LIMIT = 220
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
FEEDBACK_UNAVAILABLE = "_Feedback is unavailable right now._"
SHORTENED = "_… (answer shortened to fit in Slack — ask a narrower question for the rest)_"

_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_MD_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Turn the answer's light Markdown (bold, headings, links) into Slack mrkdwn."""
    links: list[str] = []

    def _keep(m: re.Match[str]) -> str:
        links.append(f"<{m.group(2)}|{escape(m.group(1))}>")
        return f"\x00{len(links) - 1}\x00"

    text = escape(_MD_LINK.sub(_keep, markdown))
    text = _MD_HEADING.sub(r"*\1*", text)
    text = _MD_BOLD.sub(r"*\1*", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at paragraphs, lines or words."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def text_blocks(mrkdwn: str, *, max_blocks: int = MAX_BLOCKS) -> list[Block]:
    """Sections for a long mrkdwn text, shortened if it would need more than ``max_blocks``."""
    pieces = split_text(mrkdwn)
    if len(pieces) > max_blocks:
        pieces = pieces[: max_blocks - 1] + [SHORTENED]
    return [section(p) for p in pieces]


def source_label(citation: Citation, names: Mapping[str, str] | None = None) -> str:
    """'AI Act, Article 99(3)': the source's short name and the reference."""
    name = (names or {}).get(citation.source) or bundled_display_names().get(citation.source, citation.source)
    return f"{name}, {citation.ref}" if citation.ref else name


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def citation_line(citation: Citation, names: Mapping[str, str] | None = None, shown: str = "") -> str:
    """One numbered source: a link to the official text, the quote (unless ``shown``, the answer's
    text, already quotes it: each quote is shown once), any note, and from when it applies."""
    label = escape(source_label(citation, names))
    link = f"<{citation.url}|{label}>" if citation.url else f"*{label}*"
    line = f"*[{citation.n}]* {link}"
    if citation.title:
        line += f" — {escape(citation.title)}"
    if citation.quote and " ".join(citation.quote.split()) not in " ".join(shown.split()):
        line += f"\n> {escape(shorten(citation.quote))}"
    if citation.note:
        line += f"\n_{escape(citation.note)}_"
    if citation.applies and citation.applies not in shown:
        line += f"\n_{escape(citation.applies)}_"
    return line


def sources_blocks(
    title: str, citations: list[Citation], names: Mapping[str, str] | None = None, shown: str = ""
) -> list[Block]:
    if not citations:
        return []
    body = f"*{title}*\n" + "\n".join(citation_line(c, names, shown) for c in citations)
    return [section(p) for p in split_text(body)]


def context_line(answer: Answer, names: Mapping[str, str] | None = None) -> str:
    """'Mode: extractive · as of AI Act (en) 2026-07-27 · …'."""
    parts = [f"Mode: {answer.mode}"]
    if answer.as_of:
        versions = [
            f"{(names or {}).get(v.source) or bundled_display_names().get(v.source, v.source)} ({v.language}) {v.date or v.version}".strip()
            for v in answer.as_of
        ]
        parts.append("as of " + ", ".join(versions))
    if answer.notice:
        parts.append(answer.notice)
    return escape(" · ".join(parts))


def feedback_block(answer_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {"type": "button", "action_id": FEEDBACK_UP, "value": answer_id,
             "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True}},
            {"type": "button", "action_id": FEEDBACK_DOWN, "value": answer_id,
             "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True}},
        ],
    }


def answer_blocks(
    answer: Answer,
    *,
    answer_id: str | None = None,
    names: Mapping[str, str] | None = None,
    feedback_unavailable: bool = False,
) -> list[Block]:
    """The whole message for one answer, at most 50 blocks of at most 3,000 characters."""
    if answer.abstained:
        tail = sources_blocks("Nearest sources", answer.nearest, names)
        head = ":grey_question: " + to_mrkdwn(answer.text)
    else:
        tail = sources_blocks("Sources", answer.citations, names, shown=answer.text)
        head = to_mrkdwn(answer.text)
    tail = ([{"type": "divider"}] + tail if tail else []) + [context(context_line(answer, names))]
    if answer_id:
        tail.append(feedback_block(answer_id))
    elif feedback_unavailable:
        tail.append(context(FEEDBACK_UNAVAILABLE))
    if len(tail) > MAX_BLOCKS // 2:  # keep room for the answer itself
        tail = tail[: MAX_BLOCKS // 2 - 2] + [section("_… more sources omitted_")] + tail[-2:]
    return text_blocks(head, max_blocks=MAX_BLOCKS - len(tail)) + tail


def fallback_text(answer: Answer) -> str:
    """The notification/plain text of the message; also what follow-ups read as history."""
    return answer.text[:FALLBACK_LIMIT]
