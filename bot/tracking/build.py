"""Building the timeline from the stored versions, and caching it (see :mod:`bot.tracking.timeline`)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from ..config import Settings
from ..corpus import parse_version
from ..errors import ParseError
from ..models import Citation, Unit
from ..parsing.common import roman_to_int
from ..sources import Manifest, SourceSpec, load_manifest
from ..text import clean_title, display_name
from ..versions import VersionMeta, VersionStore
from .changes import amended_points
from .dates import EIF_RELATIVE, Found, extract_unit
from .entries import Timeline, TimelineEntry
from .provisions import Target, exists, governing, paragraph_of, scope_of

CACHE_FORMAT = 3


def publication_date(spec: SourceSpec) -> date | None:
    """The date of the Official Journal publication: the text whose CELEX is the act's own."""
    for t in spec.texts:
        if t.celex == spec.celex and t.date:
            return date.fromisoformat(t.date)
    dates = [t.date for t in spec.texts if t.date]
    return date.fromisoformat(min(dates)) if dates else None


def _topics(what: str, units: list[Unit]) -> list[str]:
    """Titles of what a phrase names: 'Chapters I and II' -> the two chapter titles, 'Article 78' -> its title."""
    chapters: dict[int, str] = {}
    for u in units:
        if u.headings:
            m = re.match(r"Chapter ([IVXLC]+)\s*(.*)", u.headings[0])
            if m:
                chapters.setdefault(roman_to_int(m[1]), m[2].strip())
    by_unit = {u.unit: clean_title(u.title) for u in units if u.title}
    out: list[str] = []
    for m in re.finditer(r"Chapters? ((?:[IVXLC]+)(?:(?:,\s*| and | to )(?:Chapter )?[IVXLC]+\b)*)", what):
        nums = [roman_to_int(n) for n in re.findall(r"\b[IVXLC]+\b", m[1])]
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
    return list(dict.fromkeys(t for t in out if t))


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


def _entry_into_force(units: list[Unit], published: date | None) -> date | None:
    for unit in reversed(units):
        if unit.kind == "article" and EIF_RELATIVE.search(unit.text):
            for f in extract_unit(unit, published):
                if f.kind == "entry into force":
                    return f.date
    return None


def version_entries(spec: SourceSpec, meta: VersionMeta, units: list[Unit], published: date | None) -> list[TimelineEntry]:
    """Every dated provision of one version of a text."""
    eif = _entry_into_force(units, published)
    name = display_name(spec)
    out: list[TimelineEntry] = []
    for unit in units:
        if unit.kind not in ("article", "annex"):
            continue
        for f in extract_unit(unit, published, eif):
            out.append(_entry(spec, name, meta, unit, units, f))
    return out


def _entry(spec: SourceSpec, name: str, meta: VersionMeta, unit: Unit, units: list[Unit], f: Found) -> TimelineEntry:
    cite = Citation(n=0, source=spec.id, unit=unit.unit, ref=f.ref, title=f"{name} — {clean_title(unit.title)}".rstrip(" —"),
                    url=unit.url, quote=f.quote, language=meta.language, version=meta.version,
                    note=f"edition {meta.edition}")
    targets, excepted = scope_of(f.what, units) if f.kind in ("applies", "entry into force") else ([], [])
    if not targets:
        para = paragraph_of(f.block_path)
        targets = [Target(unit=unit.unit, path=para, level=3 if para else 2)]
    return TimelineEntry(date=f.date, source=spec.id, source_short=name, kind=f.kind, what=f.what,  # type: ignore[arg-type]
                         concerns=f.concerns, condition=f.condition, topics=_topics(f.what, units), citation=cite,
                         edition=meta.edition, block=f.block_path, computed=f.computed, targets=targets, excepted=excepted)


def _amending_points(manifest: Manifest, store: VersionStore, celex: str) -> tuple[str, list, SourceSpec | None, VersionMeta | None]:
    spec = next((s for s in manifest.sources if s.celex == celex), None)
    if spec is None:
        return celex, [], None, None
    meta = store.current(spec.id, "en")
    if meta is None:
        return display_name(spec), [], spec, None
    try:
        return display_name(spec), amended_points(parse_version(store, meta)), spec, meta
    except ParseError:
        return display_name(spec), [], spec, None


def _amendment(points: list, spec: SourceSpec | None, meta: VersionMeta | None, target: Unit) -> Citation | None:
    """The provision of the amending act that amends ``target`` (cited)."""
    if spec is None or meta is None:
        return None
    for unit, block, lead in points:
        if target.unit in lead.units:
            quote = lead.text.split(": (")[0]
            return Citation(n=0, source=spec.id, unit=unit.unit, ref=block.ref, title=display_name(spec), url=unit.url,
                            quote=quote, language="en", version=meta.version)
    return None


def _before(e: TimelineEntry, old: list[TimelineEntry], old_units: dict[str, Unit]) -> TimelineEntry | None:
    """The date the same provision had in the previous version, or None (a new provision, or the same date).

    A rule that names other provisions ("… as regards … Article 6(2) and Annex III") is compared with the
    rule that governed the first provision it names; a rule about its own paragraph with the same
    paragraph's rule of the same kind.
    """
    named = [t for t in e.targets if t.level >= 2 and t.unit != e.citation.unit]
    if named:
        first = named[0]
        if not exists(old_units, first):
            return None
        rules = [o for o in old if o.kind == "applies"] or [o for o in old if o.kind == "entry into force"]
        full, _ = governing(rules, first.unit, first.path)
        prev = min(full, key=lambda o: o.date, default=None)  # type: ignore[attr-defined]
        return prev if isinstance(prev, TimelineEntry) and prev.date != e.date else None
    same = [o for o in old if o.citation.unit == e.citation.unit and o.block == e.block and o.kind == e.kind]
    if not same:
        return None
    prev = min(same, key=lambda o: abs((o.date - e.date).days))
    return prev if prev.date != e.date else None


def build_timeline(settings: Settings, manifest: Manifest | None = None) -> Timeline:
    """Derive the timeline from the stored versions (every source, English texts)."""
    manifest = manifest or load_manifest(settings.manifest_path)
    store = VersionStore(settings.versions_dir)
    timeline = Timeline(built_at=datetime.now().isoformat(timespec="seconds"))
    amending: dict[str, tuple[str, list, SourceSpec | None, VersionMeta | None]] = {}
    for spec, versions in _texts(manifest, store):
        published = publication_date(spec)
        current_meta, current_units = versions[-1]
        current = version_entries(spec, current_meta, current_units, published)
        timeline.versions[f"{spec.id}/en"] = current_meta.version
        timeline.units[spec.id] = [u.unit for u in current_units]
        timeline.entries.extend(current)
        if len(versions) < 2:
            continue
        old_meta, old_units = versions[-2]
        old = version_entries(spec, old_meta, old_units, published)
        old_by_unit = {u.unit: u for u in old_units}
        by_unit = {u.unit: u for u in current_units}
        used: set[int] = set()
        for e in current:
            unit_now = by_unit[e.citation.unit]
            if not unit_now.amended_by:
                continue
            prev = _before(e, old, old_by_unit)
            if prev is None:
                continue
            if unit_now.amended_by not in amending:
                amending[unit_now.amended_by] = _amending_points(manifest, store, unit_now.amended_by)
            name, points, aspec, ameta = amending[unit_now.amended_by]
            e.before = prev.model_copy(update={"status": "history", "amended_by": name,
                                               "amendment": _amendment(points, aspec, ameta, unit_now)})
            used.add(id(prev))
        current_keys = {(e.citation.unit, e.block, e.kind, e.date) for e in current}
        for o in old:
            if id(o) in used or (o.citation.unit, o.block, o.kind, o.date) in current_keys:
                continue
            unit_now = by_unit.get(o.citation.unit)
            if unit_now is None or not unit_now.amended_by:
                continue
            if unit_now.amended_by not in amending:
                amending[unit_now.amended_by] = _amending_points(manifest, store, unit_now.amended_by)
            name, points, aspec, ameta = amending[unit_now.amended_by]
            timeline.entries.append(o.model_copy(update={"status": "history", "amended_by": name,
                                                         "amendment": _amendment(points, aspec, ameta, unit_now)}))
    return timeline


def load_timeline(settings: Settings, manifest: Manifest | None = None) -> Timeline:
    """The timeline, cached under ``data_dir/tracking`` and rebuilt when a stored version changes."""
    store = VersionStore(settings.versions_dir)
    ids = sorted(f"{m.source}/{m.language}/{m.version}" for m in store.list() if m.language == "en")
    key = hashlib.sha256(json.dumps([CACHE_FORMAT, _code_version(), ids, str(settings.manifest_path)]).encode()).hexdigest()[:16]
    path = settings.data_dir / "tracking" / f"timeline-{key}.json"
    cached = _CACHE.get(str(path))
    if cached is not None:
        return cached
    if path.exists():
        try:
            timeline = Timeline.model_validate_json(path.read_text(encoding="utf-8"))
            _CACHE[str(path)] = timeline
            return timeline
        except ValueError:
            pass
    timeline = build_timeline(settings, manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("timeline-*.json"):
        old.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(timeline.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)
    _CACHE[str(path)] = timeline
    return timeline


_CACHE: dict[str, Timeline] = {}


@lru_cache(maxsize=1)
def _code_version() -> str:
    """A digest of the code that reads the dates: a cached timeline is rebuilt when it changes."""
    here = Path(__file__).parent
    names = ("dates.py", "provisions.py", "build.py", "entries.py")
    return hashlib.sha256(b"".join((here / n).read_bytes() for n in names)).hexdigest()[:12]
