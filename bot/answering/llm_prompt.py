"""The parts of the LLM prompt: keyed passages, recent turns, and the reply's JSON schema.

Retrieved hits become passages under stable keys ``S1``, ``S2`` ... inside a
delimited, escaped ``<passages>`` block; the templates in ``prompts/`` frame
them (see :mod:`bot.prompts`).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from ..models import NO_ANSWER, Hit
from ..prompts import Template

LANGUAGES = {"en": "English", "nl": "Dutch (Nederlands)"}
HISTORY_TURNS = 4
HISTORY_TOKENS = 1000

#: The reply's shape. The citations come first, so that each answer sentence can be
#: checked, and streamed, as soon as it is complete (see :class:`bot.answering.stream.CheckedStream`).
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "cited_answer",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["citations", "answer"],
            "properties": {
                "citations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["key", "quote"],
                        "properties": {"key": {"type": "string"}, "quote": {"type": "string"}},
                    },
                },
                "answer": {"type": "string"},
            },
        },
    },
}


def approx_tokens(text: str) -> int:
    """A cheap token estimate (no tokenizer download): the larger of chars/4 and words*4/3."""
    return max(math.ceil(len(text) / 4), math.ceil(len(text.split()) * 4 / 3))


def passage_block(keyed: dict[str, Hit]) -> str:
    """The passages as delimited elements; text and attributes are HTML-escaped so no passage can close its element."""
    parts = []
    for key, hit in keyed.items():
        c = hit.chunk
        attrs = f'key="{key}" source="{html.escape(c.source)}" ref="{html.escape(c.ref)}"'
        if c.title:
            attrs += f' title="{html.escape(c.title)}"'
        parts.append(f"<passage {attrs}>\n{html.escape(c.text, quote=False)}\n</passage>")
    return "\n".join(parts)


def history_block(history: list[tuple[str, str]] | None, max_tokens: int = HISTORY_TOKENS) -> str:
    """The last turns, newest kept first, within ``max_tokens`` (answers trimmed, markers removed)."""
    lines: list[str] = []
    used = 0
    for question, answer in reversed((history or [])[-HISTORY_TURNS:]):
        answer = re.sub(r"\s*\[\d+\]", "", answer).strip()
        turn = f"User: {question.strip()}\nAssistant: {answer}"
        cost = approx_tokens(turn)
        if used + cost > max_tokens:
            room = (max_tokens - used - approx_tokens(question) - 8) * 4
            if room < 80:
                break
            turn = f"User: {question.strip()}\nAssistant: {answer[:room].rsplit(' ', 1)[0]} …"
            cost = approx_tokens(turn)
        lines.insert(0, turn)
        used += cost
    return "\n\n".join(lines) or "(none)"


def build_prompt(
    templates: dict[str, Template], question: str, keyed: dict[str, Hit], lang: str, history: list[tuple[str, str]] | None
) -> dict[str, str]:
    """The system and user prompt for one answer."""
    values = {
        "language": LANGUAGES.get(lang, lang),
        "no_answer": NO_ANSWER.get(lang, NO_ANSWER["en"]),
        "passages": passage_block(keyed),
        "question": question.strip(),
        "history": history_block(history),
    }
    system = templates["system"].render(**values) + "\n\n" + templates["no_answer"].render(**values)
    return {"system": system, "user": templates["answer"].render(**values)}
