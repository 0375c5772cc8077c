"""The application timeline: when each provision enters into force or applies.

Dates are read from the texts themselves, never typed in: every sentence of an
article that says a provision "shall apply from 2 August 2026", "shall enter
into force on the twentieth day following that of its publication …" or lists
dates under "shall apply from:" becomes a :class:`TimelineEntry` with a
verbatim quote that :func:`~bot.citations.verify_quote` accepts.

The newest stored version of each English text gives the *current* entries;
older versions of the same text give *history*: a dated rule of an older
version that the newest one no longer carries, attributed to the amending act
named by the unit's ``amended_by`` CELEX (for the AI Act, Regulation (EU)
2026/1744, whose Article 1, point (40) is cited). Text quoted inside ‘…’ (what
an amending act inserts elsewhere) is never read as the act's own dates.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from ..citations import verify_quote
from ..config import Settings
from ..corpus import parse_version
from ..errors import ParseError, QuestionError
from ..models import Answer, Citation, SourceVersion, Unit
from ..parsing.common import roman_to_int
from ..sources import Manifest, SourceSpec, fold, load_manifest
from ..versions import VersionMeta, VersionStore

CACHE_FORMAT = 2
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
#: A date as the Official Journal writes it: "2 August 2026".
TEXT_DATE = re.compile(
    r"\b(\d{1,2}) (January|February|March|April|May|June|July|August|September|October|November|December) (\d{4})\b"
)
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "fifteenth": 15, "twentieth": 20, "thirtieth": 30,
    "sixtieth": 60,
}
_VERB = r"(?:shall|will)?\s*(?:enter into force|apply|be applicable|become applicable)"
#: Entry into force counted from publication in the Official Journal.
EIF_RELATIVE = re.compile(
    r"shall enter into force on the (?P<ord>[a-z]+) day following (?:that of )?(?:its|the date of its) publication",
    re.I,
)
#: What must stand between a verb of application and the date it governs: same clause, a preposition last.
_BEFORE_DATE = re.compile(r"\b(?P<verb>enter into force|appl(?:y|ies)|applicable)\b[^;.]{0,220}?\b(?P<prep>from|after|on)\s*$", re.I)
_SUBJECT_END = re.compile(r",?\s*(?:which\s+)?(?:shall|will)\s+(?:enter into force|apply|be applicable|become applicable)\b.*$", re.I | re.S)
_LEAD_LABEL = re.compile(r"^\s*(?:[,;]\s*)?(?:and\s+)?(?:\([a-z0-9]+\)\s*)?", re.I)
_PRONOUNS = {"it", "they", "this", "these"}
WHEN = re.compile(
    r"\b(when|since when|from when|by when|until when|what date|which date|wanneer|vanaf wanneer|sinds wanneer|per wanneer)\b",
    re.I,
)
APPLY_WORDS = re.compile(
    r"\b(appl(?:y|ies|icable|ication)|in force|enter(?:s|ed)?|entry|start(?:s|ed)?|begin(?:s)?|take effect|"
    r"van toepassing|geldt|gelden|gaan gelden|in werking|ingaan)\b",
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


def format_date(d: date) -> str:
    return f"{d.day} {d.strftime('%B')} {d.year}"


class TimelineEntry(BaseModel):
    """One date on which a provision enters into force or starts to apply."""

    date: date
    source: str
    source_short: str
    event: Literal["entry into force", "application"]
    what: str = Field(..., description="What enters into force or applies: verbatim words of the text")
    topics: list[str] = Field(default_factory=list, description="Titles of the chapters, articles and annexes it names")
    citation: Citation
    status: Literal["current", "history"] = "current"
    edition: str = ""
    computed: str | None = Field(None, description="How a relative date was computed, e.g. 'third day after 24 July 2026'")
    replaced_by: list[str] = Field(default_factory=list, description="For history: the current entries that replaced it")
    amended_by: str | None = Field(None, description="For history: the amending act, e.g. 'Regulation (EU) 2026/1744'")
    amendment: Citation | None = Field(None, description="For history: the amending provision")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.date.isoformat(), fold(self.what))

    def label(self) -> str:
        """'2 August 2026 — AI Act (application): This Regulation'."""
        return f"{format_date(self.date)} — {self.source_short} ({self.event}): {self.what}"


class Timeline(BaseModel):
    entries: list[TimelineEntry] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict, description="'source/lang' -> version id read")
    built_at: str = ""

    def select(self, source: str | None = None, status: str | None = "current") -> list[TimelineEntry]:
        out = [e for e in self.entries if (source is None or e.source == source) and (status is None or e.status == status)]
        return sorted(out, key=lambda e: (e.date, e.source, e.citation.ref))

    def as_of(self, day: date, source: str | None = None) -> tuple[list[TimelineEntry], list[TimelineEntry]]:
        """(already in force or applying on ``day``, still to come), current entries only."""
        current = self.select(source)
        return [e for e in current if e.date <= day], [e for e in current if e.date > day]


# -- extraction ---------------------------------------------------------------------------------


def _mask_quotes(text: str) -> str:
    """``text`` with everything inside ‘…’ blanked (same length): quoted amendments are not this act's dates."""
    out = list(text)
    depth = 0
    for i, ch in enumerate(text):
        if ch == "‘":
            depth += 1
        if depth:
            out[i] = " "
        if ch == "’" and depth and (i + 1 == len(text) or not text[i + 1].isalpha()):
            depth -= 1
    return "".join(out)


def _sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a block (a full stop followed by a space and a capital)."""
    spans, start = [], 0
    for m in re.finditer(r"(?<=[.;])\s+(?=[A-Z(‘])", text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _subject(clause: str) -> str:
    subj = _SUBJECT_END.sub("", clause)
    subj = _LEAD_LABEL.sub("", subj)
    subj = re.sub(r"^(?:with the exception of|except for|except)\s+", "", subj, flags=re.I)
    return subj.strip(" ,;:")


def publication_date(spec: SourceSpec) -> date | None:
    """The date of the Official Journal publication: the text whose CELEX is the act's own."""
    for t in spec.texts:
        if t.celex == spec.celex and t.date:
            return date.fromisoformat(t.date)
    dates = [t.date for t in spec.texts if t.date]
    return date.fromisoformat(min(dates)) if dates else None


@dataclass
class _Found:
    date: date
    event: str
    what: str
    quote: str
    block_path: str
    ref: str
    computed: str | None = None


def _topics(what: str, units: list[Unit]) -> list[str]:
    """Titles of what a phrase names: 'Chapters I and II' -> the two chapter titles, 'Article 78' -> its title."""
    chapters: dict[int, str] = {}
    for u in units:
        if u.headings:
            m = re.match(r"Chapter ([IVXLC]+)\s*(.*)", u.headings[0])
            if m:
                chapters.setdefault(roman_to_int(m[1]), m[2].strip())
    by_unit = {u.unit: u.title for u in units if u.title}
    out: list[str] = []
    for m in re.finditer(r"Chapters? ((?:[IVXLC]+)(?:(?:,\s*| and | to )(?:Chapter )?[IVXLC]+\b)*)", what):
        numerals = re.findall(r"\b[IVXLC]+\b", m[1])
        nums = [roman_to_int(n) for n in numerals]
        if " to " in m[1] and len(nums) == 2:
            nums = list(range(nums[0], nums[1] + 1))
        out += [chapters[n] for n in nums if n in chapters]
    for m in re.finditer(r"Articles? (\d+[a-z]?)(?: to (\d+))?", what):
        if m[2]:
            out += [by_unit[f"art-{n}"] for n in range(int(m[1]), int(m[2]) + 1) if f"art-{n}" in by_unit]
        elif f"art-{m[1]}" in by_unit:
            out.append(by_unit[f"art-{m[1]}"])
    for m in re.finditer(r"Annex ([IVXLC]+)\b", what):
        title = by_unit.get(f"annex-{m[1].lower()}")
        if title:
            out.append(title)
    seen: list[str] = []
    for t in out:
        t = t.strip(" '`’")
        if t and t not in seen:
            seen.append(t)
    return seen


def extract_unit(unit: Unit, published: date | None) -> list[_Found]:
    """The dated rules of one article, each with a verbatim quote."""
    found: list[_Found] = []
    last_subject = ""
    lead: tuple[str, str] | None = None  # (block path, clause ending "from:")
    for block in unit.blocks:
        text = block.text
        masked = _mask_quotes(text)
        if lead and block.path.startswith(lead[0] + "."):
            m = re.match(r"^\s*(?:\([a-z0-9]+\)\s*)?" + TEXT_DATE.pattern, masked)
            if m:
                d = date(int(m[3]), MONTHS[m[2].lower()], int(m[1]))
                tail = re.sub(r"[;,.]?\s*(?:and|or)?\s*$", "", text[m.end():]).strip()
                what = _subject(lead[1]) + (f" — {tail}" if tail else "")
                quote = f"{lead[1]} … {text[:m.end() + len(text[m.end():].rstrip(' ;,.').removesuffix(' and').removesuffix(' or'))].strip()}"
                found.append(_Found(d, "application", what, quote, block.path, block.ref or unit.ref))
                continue
        lead = None
        for a, b in _sentences(masked):
            sent, msent = text[a:b], masked[a:b]
            m = EIF_RELATIVE.search(msent)
            if m and m["ord"].lower() in ORDINALS and published:
                days = ORDINALS[m["ord"].lower()]
                subj = _subject(msent[: m.start()].split(":")[-1]) or "This act"
                quote = sent.strip()
                d = published + timedelta(days=days)
                found.append(_Found(d, "entry into force", subj, quote, block.path, block.ref or unit.ref,
                                    f"{m['ord'].lower()} day following publication on {format_date(published)}"))
                last_subject = subj
                continue
            start = 0
            for dm in TEXT_DATE.finditer(msent):
                before = msent[start:dm.start()]
                vm = _BEFORE_DATE.search(before)
                if not vm:
                    continue
                clause = sent[start:dm.end()]
                subj = _subject(re.sub(r"\s*(?:which\s+)?(?:shall|will)(?:\s+be)?\s*$", "", sent[start:start + vm.start()]))
                if not subj or subj.lower() in _PRONOUNS:
                    subj = last_subject if last_subject and subj.lower() == "it" else sent.strip()
                quote = _LEAD_LABEL.sub("", clause).strip(" ,;") if start else clause.strip(" ,;")
                event = "entry into force" if "force" in vm["verb"].lower() else "application"
                d = date(int(dm[3]), MONTHS[dm[2].lower()], int(dm[1]))
                found.append(_Found(d, event, subj, quote, block.path, block.ref or unit.ref))
                start = dm.end()
            if re.search(r"\b(?:apply|applicable) from:\s*$", msent):
                lead = (block.path, sent.strip())
    return [f for f in found if verify_quote(f.quote, unit.text)]


def _texts(manifest: Manifest, store: VersionStore) -> list[tuple[SourceSpec, list[tuple[VersionMeta, list[Unit]]]]]:
    """Per source: its English versions that parse, oldest first."""
    out = []
    for spec in manifest.sources:
        versions = []
        for meta in store.list(spec.id, "en"):
            try:
                versions.append((meta, parse_version(store, meta)))
            except ParseError:
                continue
        if versions:
            out.append((spec, versions))
    return out


def _amending(manifest: Manifest, store: VersionStore, celex: str, target: Unit) -> tuple[str, Citation | None]:
    """The name of the act with CELEX ``celex`` and its provision that amends ``target`` (cited)."""
    spec = next((s for s in manifest.sources if s.celex == celex), None)
    if spec is None:
        return celex, None
    name = re.split(r"\s+(?:amending|on|laying)\b", spec.title)[0]
    meta = store.current(spec.id, "en")
    if meta is None:
        return name, None
    from .changes import amended_points  # local import: changes imports this module's helpers

    try:
        units = parse_version(store, meta)
    except ParseError:
        return name, None
    for unit, block, lead in amended_points(units):
        if target.unit in lead.units:
            quote = lead.text.split(": (")[0]
            if verify_quote(quote, unit.text):
                return name, Citation(n=0, source=spec.id, unit=unit.unit, ref=block.ref, title=spec.short, url=unit.url,
                                      quote=quote, language="en", version=meta.version)
    return name, None


def build_timeline(settings: Settings, manifest: Manifest | None = None) -> Timeline:
    """Derive the timeline from the stored versions (every source, English texts)."""
    manifest = manifest or load_manifest(settings.manifest_path)
    store = VersionStore(settings.versions_dir)
    timeline = Timeline(built_at=datetime.now().isoformat(timespec="seconds"))
    for spec, versions in _texts(manifest, store):
        published = publication_date(spec)
        per_version: list[list[TimelineEntry]] = []
        for meta, units in versions:
            entries: list[TimelineEntry] = []
            for unit in units:
                if unit.kind != "article":
                    continue
                for f in extract_unit(unit, published):
                    cite = Citation(n=0, source=spec.id, unit=unit.unit, ref=f.ref, title=f"{spec.short} — {unit.title}".rstrip(" —"),
                                    url=unit.url, quote=f.quote, language=meta.language, version=meta.version,
                                    note=f"edition {meta.edition}")
                    entries.append(TimelineEntry(date=f.date, source=spec.id, source_short=spec.short, event=f.event,  # type: ignore[arg-type]
                                                 what=f.what, topics=_topics(f.what, units), citation=cite,
                                                 edition=meta.edition, computed=f.computed))
            per_version.append(entries)
        current_meta, current_units = versions[-1]
        current = per_version[-1]
        timeline.versions[f"{spec.id}/en"] = current_meta.version
        timeline.entries.extend(current)
        keys = {e.key for e in current}
        by_unit = {u.unit: u for u in current_units}
        seen: set[tuple[str, str, str]] = set(keys)
        for entries in reversed(per_version[:-1]):
            for e in entries:
                if e.key in seen:
                    continue
                seen.add(e.key)
                e.status = "history"
                unit_now = by_unit.get(e.citation.unit)
                path = _path_of(e)
                same = [c for c in current if c.citation.unit == e.citation.unit and _path_of(c).split(".")[0] == path.split(".")[0]]
                same = same or [c for c in current if c.citation.unit == e.citation.unit and c.citation.quote != e.citation.quote and c.key not in {x.key for x in per_version[0]}]
                e.replaced_by = [c.label() + f" ({c.citation.ref})" for c in same]
                if unit_now is not None and unit_now.amended_by:
                    e.amended_by, e.amendment = _amending(manifest, store, unit_now.amended_by, unit_now)
                timeline.entries.append(e)
    return timeline


def _path_of(e: TimelineEntry) -> str:
    """The block path an entry was read from (kept in the citation's ref: 'Article 113, point (c)(ii)')."""
    m = re.search(r"point \(([a-z]+)\)(?:\(([ivx]+)\))?", e.citation.ref)
    return ".".join(p for p in (m[1], m[2]) if p) if m else ""


def load_timeline(settings: Settings, manifest: Manifest | None = None) -> Timeline:
    """The timeline, cached under ``data_dir/tracking`` and rebuilt when a stored version changes."""
    store = VersionStore(settings.versions_dir)
    ids = sorted(f"{m.source}/{m.language}/{m.version}" for m in store.list() if m.language == "en")
    key = hashlib.sha256(json.dumps([CACHE_FORMAT, ids, str(settings.manifest_path)]).encode()).hexdigest()[:16]
    path = settings.data_dir / "tracking" / f"timeline-{key}.json"
    if path.exists():
        try:
            return Timeline.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    timeline = build_timeline(settings, manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("timeline-*.json"):
        old.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(timeline.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)
    return timeline


# -- questions ----------------------------------------------------------------------------------

SYNONYMS = {
    "ban": "prohibited", "bans": "prohibited", "banned": "prohibited", "prohibition": "prohibited", "prohibitions": "prohibited",
    "verbod": "prohibited", "verboden": "prohibited", "verboden praktijken": "prohibited",
    "high-risk": "high-risk", "hoog-risico": "high-risk", "hoogrisico": "high-risk",
    "gpai": "general-purpose", "general purpose": "general-purpose", "algemene doeleinden": "general-purpose",
    "fines": "penalties", "boetes": "penalties", "sancties": "penalties", "penalty": "penalties",
}


def is_date_question(question: str) -> bool:
    """Does the question ask when something applies, or what applies on a date?"""
    if DATE_HINT.search(question) and APPLY_WORDS.search(question):
        return True
    return bool(WHEN.search(question) and APPLY_WORDS.search(question))


_GENERIC = re.compile(
    r"\b(when|since|from|until|by|what|which|date|dates|do|does|did|is|are|was|were|will|the|a|an|of|on|in|to|for|"
    r"appl(?:y|ies|icable|ication)|force|enter(?:s|ed)?|entry|start(?:s|ed)?|begin(?:s)?|take|effect|"
    r"wanneer|vanaf|sinds|welke|wat|is|zijn|de|het|een|van|op|toepassing|geldt|gelden|gaan|werking|treedt|"
    r"act|regulation|directive|rules?|provisions?|obligations?)\b",
    re.I,
)


def _terms(question: str, manifest: Manifest) -> set[str]:
    from ..retrieval import stem_tokens

    text = fold(question)
    for pattern, _ in manifest.alias_patterns():
        text = pattern.sub(" ", text)
    for word, canon in SYNONYMS.items():
        if re.search(rf"\b{re.escape(word)}\b", text):
            text += f" {canon}"
    text = DATE_HINT.sub(" ", _GENERIC.sub(" ", text))
    return set(stem_tokens(text, "en"))


def _score(entry: TimelineEntry, terms: set[str]) -> float:
    from ..retrieval import stem_tokens

    main = set(stem_tokens(f"{entry.what} {entry.citation.quote}", "en"))
    side = set(stem_tokens(" ".join(entry.topics), "en"))
    return sum(2.0 if t in main else 1.0 if t in side else 0.0 for t in terms)


def _line(e: TimelineEntry, n: int) -> str:
    return f"{format_date(e.date)} — {e.source_short}, {e.citation.ref} ({e.event}): {e.what}: “{e.citation.quote}” [{n}]"


def answer_from_timeline(question: str, settings: Settings, timeline: Timeline | None = None) -> Answer | None:
    """Answer "what applies on 1 March 2026?" or "since when are the bans in force?" from the timeline.

    Returns None when the question is not a date question, or names no source and
    matches no dated provision (the general answerer takes it then). Raises
    :class:`DateError` for a date in the question that does not exist.
    """
    if not is_date_question(question):
        return None
    from ..query import detect_language

    manifest = load_manifest(settings.manifest_path)
    tl = timeline or load_timeline(settings, manifest)
    named = manifest.find_in(question)
    scope = [e for e in tl.entries if not named or e.source in named]
    terms = _terms(question, manifest)
    chosen: list[TimelineEntry] = []
    lines: list[str] = []
    hint = DATE_HINT.search(question)
    if hint:
        day = parse_date(hint.group(0))
        current = sorted([e for e in scope if e.status == "current"], key=lambda e: (e.date, e.source))
        if terms:
            scored = [e for e in current if _score(e, terms) > 0]
            current = scored or current
        done = [e for e in current if e.date <= day]
        todo = [e for e in current if e.date > day][:4]
        if done:
            lines.append(f"In force or applying on {format_date(day)}:")
            lines += [_line(e, i) for i, e in enumerate(done, start=len(chosen) + 1)]
            chosen += done
        if todo:
            lines.append(f"Still to come after {format_date(day)}:")
            lines += [_line(e, i) for i, e in enumerate(todo, start=len(chosen) + 1)]
            chosen += todo
    else:
        ranked = [(e, _score(e, terms)) for e in scope] if terms else [(e, 1.0) for e in scope]
        best = max((s for _, s in ranked), default=0.0)
        if best <= 0:
            if not named:
                return None
            ranked, best = [(e, 1.0) for e in scope], 1.0
        hits = [e for e, s in ranked if s >= best * 0.75]
        refs = {f"{e.label()} ({e.citation.ref})" for e in hits}
        hits += [e for e in scope if e.status == "history" and e not in hits and refs & set(e.replaced_by)]
        hits.sort(key=lambda e: (e.status != "current", e.date))
        for e in hits:
            n = len(chosen) + 1
            if e.status == "current":
                lines.append(_line(e, n))
            else:
                by = f", replaced by {e.amended_by}" if e.amended_by else ""
                lines.append(f"Before{(' ' + e.amended_by) if e.amended_by else ''}: {format_date(e.date)} — {e.source_short}, "
                             f"{e.citation.ref} (edition {e.edition}{by}): “{e.citation.quote}” [{n}]")
            chosen.append(e)
    if not chosen:
        return None
    citations = [e.citation.model_copy(update={"n": i}) for i, e in enumerate(chosen, start=1)]
    lang = detect_language(question)
    lead = "Volgens de tijdlijn in de teksten:" if lang == "nl" else "From the timeline in the texts:"
    text = lead + "\n" + "\n".join(line if line.endswith(":") else f"• {line}" for line in lines)
    as_of = [SourceVersion(source=s, language="en", version=v, date="") for key, v in tl.versions.items()
             for s in [key.split("/")[0]] if any(c.source == s for c in citations)]
    return Answer(question=question, text=text, citations=citations, mode="timeline", language=lang, as_of=as_of)


# -- rendering ----------------------------------------------------------------------------------


def timeline_rows(tl: Timeline, source: str | None = None, as_of: date | None = None, history: bool = True) -> list[tuple[str, TimelineEntry]]:
    """(state, entry) in date order: state is 'in force', 'upcoming', 'history' (or 'current' without as_of)."""
    rows: list[tuple[str, TimelineEntry]] = []
    for e in tl.select(source, status=None):
        if e.status == "history":
            if history:
                rows.append(("history", e))
        elif as_of is None:
            rows.append(("current", e))
        else:
            rows.append(("in force" if e.date <= as_of else "upcoming", e))
    return rows


def timeline_mrkdwn(tl: Timeline, source: str | None = None, as_of: date | None = None) -> str:
    """The timeline as Slack mrkdwn: one line per date, each with its quote and a link."""
    rows = timeline_rows(tl, source, as_of)
    if not rows:
        return "No dates found yet: sync the texts first (`policybot sync`)."
    out = ["*Application timeline* (from the texts; history = dates replaced by an amendment)"]
    for state, e in rows:
        c = e.citation
        ref = f"<{c.url}|{e.source_short}, {c.ref}>" if c.url else f"{e.source_short}, {c.ref}"
        mark = {"history": "~", "upcoming": "", "in force": "", "current": ""}[state]
        tag = " _(history" + (f", replaced by {e.amended_by}" if e.amended_by else "") + ")_" if state == "history" else ""
        tag += " _(upcoming)_" if state == "upcoming" else ""
        out.append(f"• {mark}*{format_date(e.date)}*{mark} — {e.event}: {_esc(e.what)} ({ref}){tag}\n> “{_esc(c.quote)}”")
    return "\n".join(out)


def timeline_markdown(tl: Timeline, source: str | None = None, as_of: date | None = None) -> str:
    rows = timeline_rows(tl, source, as_of)
    out = ["| date | source | what | status | citation |", "|---|---|---|---|---|"]
    for state, e in rows:
        c = e.citation
        status = state + (f" (replaced by {e.amended_by})" if state == "history" and e.amended_by else "")
        out.append(f"| {format_date(e.date)} | {e.source_short} | {e.what} | {status} | [{c.ref}]({c.url}): “{c.quote}” |")
    return "\n".join(out)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
