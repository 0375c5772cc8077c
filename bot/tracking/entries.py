"""The timeline's data: :class:`TimelineEntry` (one dated provision) and :class:`Timeline`; reading users' dates."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from ..errors import QuestionError
from ..models import Citation
from ..sources import fold
from .dates import format_date
from .provisions import Target

Kind = Literal["entry into force", "applies", "deadline", "ends", "review", "transposition"]
MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "januari", "jan"), ("february", "februari", "feb"), ("march", "maart", "mar", "mrt"),
            ("april", "apr"), ("may", "mei"), ("june", "juni", "jun"), ("july", "juli", "jul"),
            ("august", "augustus", "aug"), ("september", "sep", "sept"), ("october", "oktober", "oct", "okt"),
            ("november", "nov"), ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
MONTHS_NL = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
             "november", "december"]
WHEN = re.compile(
    r"\b(when|since when|from when|by when|until when|what date|which date|wanneer|vanaf wanneer|sinds wanneer|per wanneer)\b",
    re.I,
)
APPLY_WORDS = re.compile(
    r"\b(appl(?:y|ies|icable|ication)|in force|enter(?:s|ed)?|entry|start(?:s|ed)?|begin(?:s)?|take effect|deadline|due|"
    r"van toepassing|geldt|gelden|gaan gelden|in werking|ingaan|termijn|uiterlijk)\b",
    re.I,
)
DATE_HINT = re.compile(
    rf"\b(\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}} (?:{_MONTH_RE})\.? \d{{4}}|(?:{_MONTH_RE})\.? \d{{1,2}},? \d{{4}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}})\b",
    re.I,
)
DATE_EXAMPLE = '"2026-03-01" or "1 March 2026"'


class DateError(QuestionError):
    """A date given by the user that cannot be read."""

    def __init__(self, raw: str) -> None:
        super().__init__(
            f"Cannot read {raw!r} as a date: write it like {DATE_EXAMPLE}.",
            help="Examples: --as-of 2026-03-01, --as-of \"1 March 2026\", or ask \"what applies on 1 March 2026?\"",
        )


def parse_date(raw: str) -> date:
    """A user's date: ``2026-03-01``, ``1 March 2026``, ``1 maart 2026``, ``March 1, 2026`` or ``1.3.2026``."""
    text = " ".join(raw.strip().lower().replace(",", " ").split())
    try:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        m = re.fullmatch(rf"(\d{{1,2}}) ({_MONTH_RE})\.? (\d{{4}})", text)
        if m:
            return date(int(m[3]), MONTHS[m[2]], int(m[1]))
        m = re.fullmatch(rf"({_MONTH_RE})\.? (\d{{1,2}}) (\d{{4}})", text)
        if m:
            return date(int(m[3]), MONTHS[m[1]], int(m[2]))
        m = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        pass
    raise DateError(raw.strip())


def format_date_in(d: date, language: str = "en") -> str:
    """'2 August 2026', or in Dutch '2 augustus 2026'."""
    return f"{d.day} {MONTHS_NL[d.month - 1]} {d.year}" if language == "nl" else format_date(d)


KIND_NL = {"entry into force": "inwerkingtreding", "applies": "van toepassing", "deadline": "uiterste datum",
           "ends": "einde", "review": "evaluatie", "transposition": "omzetting"}


class TimelineEntry(BaseModel):
    """One dated provision: when it applies, falls due or ends, quoted from the text."""

    date: date
    source: str
    source_short: str = Field(..., description="Display name: 'AI Act', 'Regulation (EU) 2026/1744'")
    kind: Kind
    what: str = Field(..., description="What applies, or what must be done: words of the text")
    concerns: str = Field("", description="Whom it concerns, where the text says: 'Member States', 'providers of …'")
    condition: str = Field("", description="'as regards AI systems classified as high-risk pursuant to … Annex III'")
    topics: list[str] = Field(default_factory=list, description="Titles of the chapters, articles and annexes it names")
    citation: Citation
    status: Literal["current", "history"] = "current"
    edition: str = ""
    block: str = Field("", description="Path of the block it was read from: '1', '3.(c).i', '¶2'")
    computed: str | None = Field(None, description="How a relative date was computed, e.g. 'third day after 24 July 2026'")
    targets: list[Target] = Field(default_factory=list, description="The provisions it governs")
    excepted: list[Target] = Field(default_factory=list, description="Provisions it names as exceptions")
    before: TimelineEntry | None = Field(None, description="The same provision's date in the previous version")
    amended_by: str | None = Field(None, description="The amending act, e.g. 'Regulation (EU) 2026/1744'")
    amendment: Citation | None = Field(None, description="The amending provision")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.date.isoformat(), fold(self.what))


    def summary(self) -> str:
        """'Member States shall ensure …', 'Chapters I and II' (whom and what, as one phrase)."""
        if self.concerns and re.match(r"(?:shall|may|must)\b", self.what):
            return f"{self.concerns} {self.what}"
        return self.what + (f" ({self.concerns})" if self.concerns and self.concerns not in self.what else "")

    def label(self) -> str:
        """'2 August 2026 — AI Act (applies): This Regulation'."""
        return f"{format_date(self.date)} — {self.source_short} ({self.kind}): {self.what}"


class Timeline(BaseModel):
    entries: list[TimelineEntry] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict, description="'source/lang' -> version id read")
    units: dict[str, list[str]] = Field(default_factory=dict, description="source -> unit ids of the current text")
    built_at: str = ""

    def select(self, source: str | None = None, status: str | None = "current") -> list[TimelineEntry]:
        out = [e for e in self.entries if (source is None or e.source == source) and (status is None or e.status == status)]
        return sorted(out, key=lambda e: (e.date, e.source, e.citation.ref))

    def as_of(self, day: date, source: str | None = None) -> tuple[list[TimelineEntry], list[TimelineEntry]]:
        """(already in force, applying or due on ``day``, still to come), current entries only."""
        current = self.select(source)
        return [e for e in current if e.date <= day], [e for e in current if e.date > day]

    def between(self, start: date, end: date, source: str | None = None) -> list[TimelineEntry]:
        """Current entries dated from ``start`` to ``end``, both included."""
        return [e for e in self.select(source) if start <= e.date <= end]


