"""Turning chosen passages into an :class:`~bot.models.Answer`: the bottom line, the cited
points, and the abstention that names why the sources do not answer.

Offline, every word of an answer is either a template of :mod:`.templates` or a verbatim span of
a cited passage. The bottom line states the fact asked for (an amount, a date, a period) as a
span of the first cited passage, or the passage's category from the text's own structure (a
prohibited practice, a listed high-risk use, an obligation of its addressee).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ..citations import verify_quote
from ..models import NO_ANSWER, Answer, Block, Citation, Hit, Unit
from . import templates as T
from .passages import split_sentences

#: Spans a bottom line may take from a passage, by the kind of fact asked for.
AMOUNT_SPAN = re.compile(
    r"(?:(?:of |in )?(?:up to|not exceeding|maximum of|tot|ten hoogste|max(?:imaal)?)\s+)?"
    r"(?:EUR|€)\s?\d[\d\s.,]*\d(?:\s?(?:million|billion|miljoen|miljard))?"
    r"(?:[^.;]{0,120}?\b\d+(?:[.,]\d+)?\s?%[^.;]{0,80}?(?:whichever is (?:higher|lower)|naargelang[^.;]{0,20}hoger|"
    r"naargelang[^.;]{0,20}lager)?)?",
    re.I,
)
PERCENT_SPAN = re.compile(r"[^.;:]{0,60}\b\d+(?:[.,]\d+)?\s?(?:%|per ?cent|procent)[^.;]{0,40}", re.I)
PERIOD_WORDS = (
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|thirty|een|twee|drie|vier|vijf|zes|"
    r"zeven|acht|negen|tien|twaalf|vijftien|dertig)"
)
PERIOD_SPAN = re.compile(
    r"(?:(?:without undue delay and )?(?:in any event )?(?:within|no later than|not later than|at the latest|for a period of|"
    r"for|up to|of|binnen|uiterlijk|gedurende|ten minste|at least)\s+)?"
    + PERIOD_WORDS
    + r"\s+(?:calendar |working |werk)?(?:days?|weeks?|months?|years?|hours?|dagen|dag|weken|maanden|maand|jaar|jaren|uur)"
    r"(?:\s+(?:after|of|from|following|before|na|vanaf|voor)\s+[^.;,]{3,60})?",
    re.I,
)
DATE_SPAN = re.compile(
    r"(?:(?:from|by|until|before|after|no later than|as from|with effect from|vanaf|uiterlijk|tot|met ingang van)\s+)?"
    r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December|januari|februari|"
    r"maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}",
    re.I,
)
#: "Deployers shall", "Providers of high-risk AI systems shall", "Member States shall ensure".
ADDRESSEE = re.compile(
    r"^(?:\(?\d+[a-z]?\)?\.?\s+)?((?:The\s+)?[A-Z][\w\-]*(?:\s+(?:of|and|or|de|van|en)?\s*[\w\-]+){0,6}?)\s+(?:shall|must|zorgen|moeten|dienen)\b"
)
EXCEPTION = re.compile(r"\b(?:with the exception of|except(?: for)?|excluding|met uitzondering van|behalve)\b[^.;]*", re.I)


@dataclass
class Point:
    """One cited passage of an answer."""

    unit: Unit
    block: Block
    quote: str
    citation: Citation
    label: str  # "AI Act, Article 99(3)"
    marks: str  # "[1]" or "[1][2]" with the current wording beside an older version
    extra: str = ""  # the titles of the articles or points the quote refers to
    applies: str = ""  # "applies today, since 2 August 2025"


def sources_sentence(texts: list[dict], short: dict[str, str], lang: str) -> str:  # type: ignore[type-arg]
    """One sentence on what the sources are: official texts and their versions, and the article."""
    official, other = [], []
    for t in texts:
        if t.get("predates_current"):
            continue
        name = short.get(t["source"], t["source"])
        day = _format_iso(t.get("date", ""), lang)
        if not t.get("date"):
            other.append(name)
        elif str(t.get("edition", "")).startswith("consolidated"):
            official.append(f"{name}, {T.CONSOLIDATED[lang].format(date=day)}")
        else:
            official.append(f"{name}, {T.PUBLISHED[lang].format(date=day)}")
    official = list(dict.fromkeys(official))
    if other:
        return T.SOURCES[lang].format(texts="; ".join(official), other=", ".join(dict.fromkeys(other)))
    return T.SOURCES_ONLY[lang].format(texts="; ".join(official))


def _format_iso(iso: str, lang: str) -> str:
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {T.MONTHS[lang][d.month - 1]} {d.year}"


def abstention(
    question: str,
    lang: str,
    *,
    notice: str | None,
    nearest: list[Citation],
    sources_line: str | None,
    retrieved: list[Hit],
    short: dict[str, str],
    mode: str = "extractive",
    bare: bool = False,
) -> Answer:
    """The sentinel, why the sources do not answer, the nearest sources, and what the sources are.
    ``bare``: the notice alone (the reply to a message addressed to the bot, not a question)."""
    text = NO_ANSWER[lang] if not bare else ""
    if notice:
        text = f"{text} {notice}".strip()
    if nearest:
        text += "\n" + T.NEAREST[lang] + " " + "; ".join(f"{short.get(c.source, c.source)}, {c.ref} [{c.n}]" for c in nearest)
    if sources_line:
        text += "\n" + sources_line
    return Answer(
        question=question,
        text=text,
        abstained=True,
        mode=mode,
        language=lang,
        notice=notice,
        retrieved=retrieved,
        nearest=nearest,
    )


def first_sentence(block: Block, lang: str) -> str:
    sentences = split_sentences(block.text)
    return sentences[0] if sentences else block.text


def checked(quote: str, unit: Unit) -> bool:
    return bool(quote.strip()) and verify_quote(quote, unit.text)
