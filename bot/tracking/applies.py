"""Dates on every citation: from when a cited provision applies, and whether it applies on a given day.

    >>> d = provision_dates("ai-act", "annex-iii", day=date(2026, 12, 6), settings=settings)
    >>> d.applies_from, d.applies, d.label()
    (datetime.date(2027, 12, 2), False, 'applies from 2 December 2027 (not yet)')

Read from the same :class:`~bot.tracking.entries.Timeline` as ``policybot timeline``,
through :func:`~bot.tracking.provisions.governing`, so a citation's date and the timeline
never disagree. Cheap: the timeline is loaded once per process (and cached on disk), and a
look-up is a scan of a few dozen entries. Importable by the answerers: this module imports
nothing from ``bot.answering``, ``bot.assistant`` or the front ends.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field

from ..config import Settings, get_settings
from ..models import Citation
from .build import load_timeline
from .entries import Timeline, TimelineEntry, format_date_in
from .provisions import governing

APPLYING = ("applies", "entry into force")
DUE = ("deadline", "review", "transposition")


class DatedRule(BaseModel):
    """One rule that sets a date for (a part of) the provision: its date, words and citation."""

    date: date
    kind: str
    what: str
    condition: str = ""
    citation: Citation


class ProvisionDates(BaseModel):
    """When one provision applies, read from the timeline."""

    source: str
    unit: str
    paragraph: str = ""
    day: date = Field(..., description="The day ``applies`` is about")
    applies_from: date | None = Field(None, description="The earliest date from which the whole provision applies")
    until: date | None = Field(None, description="The date it stops applying, where the text sets one")
    applies: bool | None = Field(None, description="Whether it applies on ``day``; None when the texts set no date")
    rules: list[DatedRule] = Field(default_factory=list, description="The rules that set applies_from (the most specific)")
    parts: list[DatedRule] = Field(default_factory=list, description="Rules for parts of it only (e.g. Article 5(1a))")
    due: list[DatedRule] = Field(default_factory=list, description="Deadlines, reviews and transposition dates in it")

    def label(self, language: str = "en") -> str:
        """'applies from 2 December 2027 (not yet)', 'applies since 2 February 2025'; Dutch with ``language='nl'``."""
        if self.applies_from is None:
            return ""
        d = format_date_in(self.applies_from, language)
        nl = language == "nl"
        if self.until is not None and self.day > self.until:
            u = format_date_in(self.until, language)
            return f"van toepassing van {d} tot {u} (niet meer)" if nl else f"applied from {d} until {u} (no longer)"
        if self.applies:
            return f"van toepassing sinds {d}" if nl else f"applies since {d}"
        dates = {r.date for r in self.rules}
        more = (" (of later, afhankelijk van het geval)" if nl else " (or later, depending on the case)") if len(dates) > 1 else ""
        return f"van toepassing vanaf {d}{more} (nog niet)" if nl else f"applies from {d}{more} (not yet)"


def _rule(e: TimelineEntry) -> DatedRule:
    return DatedRule(date=e.date, kind=e.kind, what=e.what, condition=e.condition, citation=e.citation)


def provision_dates(source: str, unit: str, paragraph: str | None = None, *, day: date | None = None,
                    settings: Settings | None = None, timeline: Timeline | None = None) -> ProvisionDates:
    """From when provision ``unit`` ('art-5', 'annex-iii') of ``source`` ('ai-act') applies, and whether on ``day``.

    ``paragraph`` narrows it: '1a', '2', '1.ba' (a point). ``day`` defaults to today. Pass ``timeline``
    when dating many citations at once; otherwise it is loaded (and cached) from ``settings``.
    A provision the texts give no date for (or an unknown unit) gets ``applies_from=None``.
    """
    day = day or date.today()
    tl = timeline or load_timeline(settings or get_settings())
    para = (paragraph or "").strip().strip("()").replace(")(", ".").replace("(", ".")
    out = ProvisionDates(source=source, unit=unit, paragraph=para, day=day)
    if unit not in tl.units.get(source, []):
        return out
    entries = tl.select(source)
    rules = [e for e in entries if e.kind == "applies"] or [e for e in entries if e.kind == "entry into force"]
    full, part = governing(rules, unit, para)
    if full:
        out.rules = sorted((_rule(e) for e in full), key=lambda r: r.date)  # type: ignore[arg-type]
        out.applies_from = out.rules[0].date
    out.parts = sorted((_rule(e) for e in part), key=lambda r: r.date)  # type: ignore[arg-type]
    ends, _ = governing([e for e in entries if e.kind == "ends"], unit, para)
    if ends and out.applies_from is not None:
        out.until = min(e.date for e in ends)  # type: ignore[attr-defined]
    if out.applies_from is not None:
        out.applies = out.applies_from <= day and (out.until is None or day <= out.until)
    due = [e for e in entries if e.kind in DUE and any(governing([e], unit, para))]
    out.due = sorted((_rule(e) for e in due), key=lambda r: r.date)
    return out


def citation_dates(citation: Citation, *, day: date | None = None, settings: Settings | None = None,
                   timeline: Timeline | None = None) -> ProvisionDates:
    """:func:`provision_dates` for a citation ('Article 5(1a)' -> paragraph '1a'; 'Article 113, point (c)' -> none)."""
    m = re.match(r"^(?:Article|Artikel|Annex|Bijlage) [0-9A-Za-z]+((?:\(\w+\))*)", citation.ref)
    para = m[1] if m and m[1] else None
    return provision_dates(citation.source, citation.unit, para, day=day, settings=settings, timeline=timeline)
