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

from ..models import NO_ANSWER, Answer, Block, Citation, Hit, Unit
from . import intent
from . import templates as T

#: Spans a bottom line may take from a passage, by the kind of fact asked for.
_SCALE = r"(?:\s?(?:million|billion|thousand|miljoen|miljard|duizend|bn|mn))?"
_CURRENCY = r"(?:euros?\b|EUR\b|USD\b|dollars?\b|€|\$)"  # whole words: never 'eur' of 'euro'
AMOUNT_SPAN = re.compile(
    r"(?:(?:of |in )?(?:up to|not exceeding|maximum of|a maximum of at least|at least|tot|ten hoogste|max(?:imaal)?|zo'n|"
    r"ongeveer|circa|about|around)\s+)?"
    r"(?:" + _CURRENCY + r"\s?\d[\d\s.,]*\d" + _SCALE + r"|\d[\d\s.,]*" + _SCALE + r"\s?" + _CURRENCY + r"|\d[\d.,]*\s?"
    r"(?:million|billion|miljoen|miljard)\s+\w+)"
    r"(?:[^.;]{0,120}?\b\d+(?:[.,]\d+)?\s?%(?:[^.;]{0,100}?(?:whichever is (?:higher|lower)|naargelang[^.;]{0,20}(?:hoger|lager)))?)?",
    re.I,
)
PERCENT_SPAN = re.compile(r"[^.;:]{0,60}\b\d+(?:[.,]\d+)?\s?(?:%|per ?cent|procent)[^.;]{0,40}", re.I)
#: A period, with what bounds it ("within 24 hours of becoming aware", "no later than six months after").
PERIOD_SPAN = re.compile(
    r"(?:(?:without undue delay and )?(?:in any event )?(?:within|no later than|not later than|at the latest|for a period of|"
    r"for|up to|of|binnen|uiterlijk|gedurende|ten minste|at least)\s+)?"
    + intent.PERIOD.pattern
    + r"(?:\s+(?:after|of|from|following|before|na|vanaf|voor)\s+[^.;,]{3,60})?",
    re.I,
)
#: A date, with its preposition ("from 2 August 2026", "uiterlijk 12 januari 2027").
DATE_SPAN = re.compile(
    r"(?:(?:from|by|until|before|after|no later than|as from|with effect from|vanaf|uiterlijk|tot|met ingang van)\s+)?"
    + intent.DATE.pattern,
    re.I,
)
#: The date a question asks for, by its own preposition: a start ("from when?", "vanaf wanneer?"), a
#: deadline ("by when?", "uiterlijk wanneer?") or an end ("until when?"); a span with the same kind of
#: preposition answers it before any other date. A start is taken from a passage that answers less well
#: than :data:`SPAN_SCORE`: "It shall apply from 12 September 2025." shares few words with any question.
DATE_ASKED: list[tuple[re.Pattern[str], str, float]] = [
    (re.compile(r"\b(?:from|since) when\b|\bvanaf wanneer\b|\bsinds wanneer\b|\bappl(?:y|ies) from\b|\bstart(?:s|ed)? to apply\b", re.I),
     r"(?:from|as from|with effect from|since|vanaf|met ingang van|sinds)", 0.5),
    (re.compile(r"\bby when\b|\bper wanneer\b|\buiterlijk wanneer\b|\bdeadline\b", re.I),
     r"(?:by|no later than|not later than|uiterlijk|before|vóór)", 0.6),
    (re.compile(r"\buntil when\b|\btot wanneer\b", re.I), r"(?:until|tot|up to)", 0.6),
]
#: "Deployers shall", "Providers of high-risk AI systems shall", "Member States shall ensure".
ADDRESSEE = re.compile(
    r"^(?:\(?\d+[a-z]?\)?\.?\s+)?((?:The\s+)?(?!The following|Following)[A-Z][\w\-]*(?:\s+(?:of|and|or|de|van|en)?\s*[\w\-]+){0,6}?)"
    r"\s+(?:shall(?!\s+(?:be|not be)\b)|must|zorgen|moeten|dienen)\b"
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
    score: float = 1.0  # how well the passage answers, relative to the best (1.0)


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


#: A question that asks for yes or no: it opens with a verb ("Can we ...?", "Mogen wij ...?").
YES_NO = re.compile(
    r"^\s*(?:[^?]{0,80}?[:,;]\s*)?(?:is|are|was|were|does|do|did|can|could|may|might|must|should|shall|will|would|has|have|"
    r"mag|mogen|moet|moeten|kan|kunnen|is|zijn|valt|vallen|geldt|gelden|heeft|hebben|zal|zullen|wordt|worden)\b",
    re.I,
)
#: A question that asks whether something is allowed.
PERMISSION = re.compile(
    r"\b(?:can|could|may|might|allowed|permitted|legal|illegal|lawful|banned|prohibited|mag|mogen|kunnen|kan|toegestaan|"
    r"verboden|legaal)\b",
    re.I,
)
#: Headings that mark a list of prohibitions or of listed (high-risk) uses.
PROHIBITION_TITLE = re.compile(r"\bprohibit\w*|\bverbod\w*|\bverboden\b", re.I)
LISTING_TITLE = re.compile(r"\bhigh[- ]risk\b|\bhoog[- ]risico\b", re.I)
#: A question about not being in that category ("not high-risk", "geen hoog risico").
NOT_LISTED = re.compile(r"\b(?:not|niet|geen)\s+(?:\w+\s+){0,2}(?:high[- ]risk|hoog[- ]risico)", re.I)


#: A bottom line takes its fact only from a passage that answers at least this well (relative to the best).
SPAN_SCORE = 0.6


def _span(pattern: re.Pattern[str], points: list[Point], floor: float = SPAN_SCORE) -> tuple[str, Point] | None:
    """The first span of ``pattern`` in the quotes of the passages that answer best, with its point: of the
    same text as the first passage (another act's fine does not answer a question about this one's)."""
    for p in sorted(points, key=lambda p: -p.score):
        if p.score < floor:
            break
        if p.unit.source != points[0].unit.source:
            continue
        m = pattern.search(p.quote)
        if m and len(m.group(0).strip()) >= 4:
            span = m.group(0)
            if m.start() > 0 and p.quote[m.start() - 1].isalnum() and " " in span:
                span = span.split(" ", 1)[1]  # a span starts at a word, not inside one ("Opa het …" of "Europa het …")
            return re.sub(r"^(?:of|in)\s+", "", span.strip(" ,;")), p
    return None


def _in(terms: set[str], span: str) -> bool:
    """Does ``span`` hold one of ``terms`` as a word (or the start of one: 'fraud' in 'fraudulent')?"""
    return any(re.search(rf"\b{re.escape(t)}", span.lower()) for t in terms)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def bottom_line(question: str, lang: str, points: list[Point], wants: set[str], terms: set[str] | None = None) -> str:
    """The first line of an answer: the fact asked for as a verbatim span of a cited passage, or
    the passage's category from the text's structure, with its citation marker.

    ``wants``: the kinds of fact asked for ('amount', 'date', 'period'); ``terms``: the question's
    words (lower-case), used to find the question's subject in a listing's exception.
    """
    if not points:
        return ""
    asked_date = [(re.compile(rf"\b{prep}\s+" + intent.DATE.pattern, re.I), floor)
                  for asks, prep, floor in DATE_ASKED if asks.search(question)]
    for kind, pattern, floor in (("amount", AMOUNT_SPAN, SPAN_SCORE), ("amount", PERCENT_SPAN, SPAN_SCORE),
                                 ("rate", PERCENT_SPAN, SPAN_SCORE), *(("date", p, f) for p, f in asked_date),
                                 ("date", DATE_SPAN, SPAN_SCORE), ("period", PERIOD_SPAN, SPAN_SCORE)):
        if kind in wants:
            found = _span(pattern, points, floor)
            if found:
                span, p = found
                return T.FACT[lang].format(span=_cap(span), label=p.label, n=p.citation.n)
    first = points[0]
    title = first.unit.title or ""
    if title and intent.ABOUT.search(question) and first.block is first.unit.blocks[0]:
        # What a provision is about, in the text's own words: its heading (the passage quoted is its opening).
        return T.ABOUT[lang].format(label=f"{first.label.split(',')[0]}, {first.unit.ref}", title=title, n=first.citation.n)
    yes_no = bool(YES_NO.match(question))
    if yes_no and PERMISSION.search(question) and PROHIBITION_TITLE.search(title):
        return T.PROHIBITED[lang].format(label=first.label, category=title[:1].lower() + title[1:], n=first.citation.n)
    # "Is X high-risk?" is answered by the listing; "Can a provider consider an Annex III system not high-risk?"
    # asks about the exemption from it, which the listing does not settle.
    plain = question.replace("\u2011", "-").replace("\u2010", "-")
    classifies = LISTING_TITLE.search(plain) and not NOT_LISTED.search(plain)
    if yes_no and classifies and first.unit.kind == "annex" and LISTING_TITLE.search(title):
        exception = EXCEPTION.search(first.quote)
        span = exception.group(0).strip(" ,;") if exception else ""
        # Is the question's subject in the exception? Whole words, not parts ('onder' is in 'uitzondering').
        # The yes/no question itself (up to its '?') decides; a later "and what about …?" adds the exception.
        asked = {t.lower() for t in re.findall(r"\w{4,}", question.split("?")[0])}
        if exception and _in(asked, span):
            return T.EXCEPTED[lang].format(label=first.label, span=span, n=first.citation.n)
        if exception and terms and _in(terms, span):
            return T.LISTED_EXCEPT[lang].format(label=first.label, category=title, span=span, n=first.citation.n)
        return T.LISTED[lang].format(label=first.label, category=title, n=first.citation.n)
    addressee = ADDRESSEE.match(first.quote)
    if addressee and first.unit.kind == "article":
        who = re.sub(r"^(?:The|De|Het)\s+", "", addressee.group(1).strip())
        words = who.split()
        lower = words[0][:1].lower() + words[0][1:]
        # 'Providers of ...' -> 'providers of ...' where the text writes the word in lower case too ('the
        # provider shall'); a name stays: capitalised words in a row ('Member States', 'AI Office').
        name = len(words) > 1 and words[1][:1].isupper()
        if not name and re.search(rf"\b{re.escape(lower.removesuffix('s'))}s?\b", first.unit.text):
            who = who[:1].lower() + who[1:]
        return T.DUTIES[lang].format(label=first.label, addressee=who, n=first.citation.n)
    return T.WHERE[lang].format(label=first.label, n=first.citation.n)


def render(bottom: str, points: list[Point]) -> str:
    """The answer's text: the bottom line, then each cited passage once."""
    lines = [bottom] if bottom else []
    for p in points:
        extra = f" ({p.extra})" if p.extra else ""
        applies = f" — {p.citation.applies}" if p.citation.applies else ""
        lines.append(f"• {p.label}: “{p.quote}” {p.marks}{extra}{applies}")
    return "\n".join(lines)
