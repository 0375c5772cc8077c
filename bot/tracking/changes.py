"""Unit-level change sets between consecutive versions of a text.

A :class:`ChangeSet` says which units (articles, annexes, recitals …) were
added, removed or changed from one stored version to the next, and for each
changed unit which blocks differ, old wording against new. Texts are compared
after normalisation (NFKC, no-break spaces, whitespace, digit groups closed up:
"35 000 000" and "35000000" are the same), and only unit kinds both versions
carry are compared: a consolidated text has no recitals, which is not a repeal.

Each change set is stored once computed, as
``data_dir/changes/<source>-<lang>-<old version>-<new version>.json``; its id
is that file's stem. When the newer version was made by an amending act that
policybot also holds, every change names the act's points that touch the
unit (:func:`amended_points` reads an amending article such as Article 1 of
Regulation (EU) 2026/1744, "(12) in Article 26, paragraph 1 is replaced by…").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ..config import Settings
from ..corpus import parse_version
from ..errors import BotError, ParseError
from ..models import Block, Unit
from ..sources import Manifest, load_manifest
from ..text import clean_title, display_name
from ..versions import VersionMeta, VersionStore

Status = Literal["added", "removed", "changed"]


# -- normalisation ------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """How two wordings are compared: NFKC, one space, no soft hyphens, digit groups closed up."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<=\d)[ \u202f](?=\d{3}(?!\d))", "", text)


# -- amending acts ------------------------------------------------------------------------------


@dataclass
class AmendPoint:
    """One numbered point of an amending article: what it does to which units."""

    ref: str
    text: str  # its lead-in, verbatim, up to the first quoted text
    units: list[str] = field(default_factory=list)
    action: str = "amended"  # amended, replaced, inserted, added, deleted


_QUOTE_OPEN = "‘"
_NAMED = re.compile(r"\b(Article|Annex)\s+(\d+[a-z]*|[IVXLC]+)\b")
_INSERTED_ART = re.compile(r"(?:‘|\s)Article (\d+[a-z]+) (?=[A-Z][a-z])")


def _lead(text: str) -> str:
    head = text.split(_QUOTE_OPEN, 1)[0]
    return head.rstrip().rstrip(":;").rstrip()


def amended_points(units: list[Unit], target: str | None = None) -> list[tuple[Unit, Block, AmendPoint]]:
    """The points of the amending articles in ``units`` (those saying "<act> is amended as follows").

    ``target`` ("2024/1689") keeps the articles that amend that act only. Each point's
    lead-in names the units it touches: "in Article 26, paragraph 1 is replaced" -> art-26;
    "the following Article is inserted: ‘Article 4a …" -> art-4a; "the following Annex is
    added" -> the annex the act itself carries (its title names the new number).
    """
    annex_titles = [m[1] for u in units if u.kind == "annex" and (m := re.match(r"Annex ([IVXLC]+)\b", u.title, re.I))]
    out: list[tuple[Unit, Block, AmendPoint]] = []
    added_annexes = iter(annex_titles)
    for unit in units:
        if unit.kind != "article" or not unit.blocks:
            continue
        opening = unit.blocks[0].text
        if not re.search(r"is amended as follows", opening) or (target and target not in opening):
            continue
        for block in unit.blocks[1:]:
            if not re.match(r"^\(\d+\)\s", block.text):
                continue
            lead = _lead(block.text)
            point = AmendPoint(ref=block.ref, text=lead)
            low = lead.lower()
            if re.search(r"following articles? (?:is|are) inserted", low):
                point.action = "inserted"
                point.units = [f"art-{n}" for n in _INSERTED_ART.findall(block.text)]
            elif re.search(r"following annex(?:es)? (?:is|are) (?:added|inserted)", low):
                point.action = "added"
                nxt = next(added_annexes, None)
                point.units = [f"annex-{nxt.lower()}"] if nxt else []
            else:
                m = _NAMED.search(lead)
                if m:
                    kind = "art" if m[1] == "Article" else "annex"
                    point.units = [f"{kind}-{m[2].lower()}"]
                if re.search(r"\bis replaced by\b", low) and re.match(r"^\(\d+\)\s+(Article|Annex)\s+\S+\s+is replaced", lead):
                    point.action = "replaced"
                elif re.match(r"^\(\d+\)\s+(Article|Annex)\s+\S+\s+is deleted", lead):
                    point.action = "deleted"
            out.append((unit, block, point))
    return out


def act_number(celex: str) -> str:
    """'32024R1689' -> '2024/1689' (how acts cite each other)."""
    m = re.fullmatch(r"\d(\d{4})[A-Z](\d+)", celex)
    return f"{m[1]}/{int(m[2])}" if m else celex


# -- change sets --------------------------------------------------------------------------------


class VersionInfo(BaseModel):
    version: str
    edition: str
    date: str = ""
    fetched_at: str = ""

    @classmethod
    def of(cls, meta: VersionMeta) -> VersionInfo:
        return cls(version=meta.version, edition=meta.edition, date=meta.date, fetched_at=meta.fetched_at)

    @property
    def day(self) -> str:
        """The text's date, or the day it was fetched for an undated text."""
        return self.date or self.fetched_at[:10]


class BlockChange(BaseModel):
    path: str
    ref: str
    status: Status
    old: str | None = None
    new: str | None = None


class UnitChange(BaseModel):
    unit: str
    kind: str
    ref: str
    title: str = ""
    url: str = ""
    status: Status
    blocks: list[BlockChange] = Field(default_factory=list)
    amended_by: list[str] = Field(default_factory=list, description="Points of the amending act naming this unit")


class ChangeSet(BaseModel):
    id: str
    source: str
    language: str
    short: str = ""
    old: VersionInfo
    new: VersionInfo
    kinds: list[str] = Field(default_factory=list, description="Unit kinds compared (those both versions carry)")
    amending_act: str | None = None
    changes: list[UnitChange] = Field(default_factory=list)
    computed_at: str = ""

    def of_status(self, status: Status) -> list[UnitChange]:
        return [c for c in self.changes if c.status == status]

    @property
    def counts(self) -> dict[str, int]:
        return {s: len(self.of_status(s)) for s in ("changed", "added", "removed")}

    def headline(self) -> str:
        c = self.counts
        return (
            f"{self.short or self.source} ({self.language}): {c['changed']} changed, {c['added']} added, {c['removed']} removed "
            f"— {self.old.edition} ({self.old.day}) → {self.new.edition} ({self.new.day})"
        )


def change_set_id(source: str, language: str, old: str, new: str) -> str:
    return f"{source}-{language}-{old}-{new}"


def _unit_order(units: list[Unit]) -> dict[str, int]:
    return {u.unit: i for i, u in enumerate(units)}


def diff_blocks(old: Unit, new: Unit) -> list[BlockChange]:
    """The blocks that differ between two wordings of a unit, matched by path."""
    old_by = {b.path: b for b in old.blocks}
    new_by = {b.path: b for b in new.blocks}
    paths = [b.path for b in new.blocks] + [b.path for b in old.blocks if b.path not in new_by]
    out: list[BlockChange] = []
    for path in paths:
        a, b = old_by.get(path), new_by.get(path)
        if a and b:
            if normalize_text(a.text) != normalize_text(b.text):
                out.append(BlockChange(path=path, ref=b.ref, status="changed", old=a.text, new=b.text))
        elif b:
            out.append(BlockChange(path=path, ref=b.ref, status="added", new=b.text))
        elif a:
            out.append(BlockChange(path=path, ref=a.ref, status="removed", old=a.text))
    if not out and normalize_text(old.text) != normalize_text(new.text):
        out.append(BlockChange(path="", ref=new.ref, status="changed", old=old.text, new=new.text))
    return out


def diff_units(old: list[Unit], new: list[Unit]) -> tuple[list[str], list[UnitChange]]:
    """(kinds compared, unit changes in the new text's order, then removed units)."""
    kinds = sorted({u.kind for u in old} & {u.kind for u in new})
    old_by = {u.unit: u for u in old if u.kind in kinds}
    new_by = {u.unit: u for u in new if u.kind in kinds}
    out: list[UnitChange] = []
    for key, u in new_by.items():
        base = dict(unit=key, kind=u.kind, ref=u.ref, title=clean_title(u.title), url=u.url)
        if key not in old_by:
            out.append(UnitChange(**base, status="added", blocks=[BlockChange(path=b.path, ref=b.ref, status="added", new=b.text) for b in u.blocks]))
            continue
        blocks = diff_blocks(old_by[key], u)
        if blocks:
            out.append(UnitChange(**base, status="changed", blocks=blocks))
    for key, u in old_by.items():
        if key not in new_by:
            out.append(UnitChange(unit=key, kind=u.kind, ref=u.ref, title=clean_title(u.title), url=u.url, status="removed",
                                  blocks=[BlockChange(path=b.path, ref=b.ref, status="removed", old=b.text) for b in u.blocks]))
    return kinds, out


def _attribute(changes: list[UnitChange], new_units: list[Unit], manifest: Manifest, store: VersionStore, target_celex: str) -> str | None:
    """Name, on each change, the points of the amending act (held by policybot) that touch the unit."""
    celexes = {u.amended_by for u in new_units if u.amended_by}
    for celex in celexes:
        spec = next((s for s in manifest.sources if s.celex == celex), None)
        meta = store.current(spec.id, "en") if spec else None
        if spec is None or meta is None:
            continue
        try:
            units = parse_version(store, meta)
        except ParseError:
            continue
        by_unit: dict[str, list[str]] = {}
        for _, _, point in amended_points(units, act_number(target_celex)):
            for uid in point.units:
                by_unit.setdefault(uid, []).append(f"{display_name(spec)}, {point.ref}")
        for c in changes:
            c.amended_by = by_unit.get(c.unit, [])
        return re.split(r"\s+(?:amending|on|laying)\b", spec.title)[0]
    return None


def compute_change_set(
    settings: Settings, old: VersionMeta, new: VersionMeta, manifest: Manifest | None = None, *, store_result: bool = True
) -> ChangeSet:
    """The change set between two versions of one text (read from disk when already computed)."""
    cid = change_set_id(new.source, new.language, old.version, new.version)
    path = changes_dir(settings) / f"{cid}.json"
    if path.exists():
        try:
            return ChangeSet.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    manifest = manifest or load_manifest(settings.manifest_path)
    store = VersionStore(settings.versions_dir)
    old_units, new_units = parse_version(store, old), parse_version(store, new)
    kinds, changes = diff_units(old_units, new_units)
    spec = next((s for s in manifest.sources if s.id == new.source), None)
    cs = ChangeSet(
        id=cid,
        source=new.source,
        language=new.language,
        short=display_name(spec) if spec else new.source,
        old=VersionInfo.of(old),
        new=VersionInfo.of(new),
        kinds=kinds,
        changes=changes,
        computed_at=datetime.now().isoformat(timespec="seconds"),
    )
    if spec is not None and spec.celex:
        cs.amending_act = _attribute(changes, new_units, manifest, store, spec.celex)
    if store_result:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(cs.model_dump_json(indent=1), encoding="utf-8")
        tmp.replace(path)
    return cs


def changes_dir(settings: Settings) -> Path:
    """Where change sets are stored."""
    return settings.data_dir / "changes"


def change_sets(
    settings: Settings,
    source: str | None = None,
    *,
    since: date | None = None,
    manifest: Manifest | None = None,
) -> list[ChangeSet]:
    """Every change set between consecutive versions of each text (of one source), oldest first.

    Versions that no longer parse are skipped (the pair is made with the previous good one).
    ``since`` keeps the change sets whose newer version is dated on or after it.
    """
    manifest = manifest or load_manifest(settings.manifest_path)
    spec_ids = [manifest.resolve(source).id] if source else manifest.ids()
    store = VersionStore(settings.versions_dir)
    out: list[ChangeSet] = []
    for sid in spec_ids:
        for language in sorted({m.language for m in store.list(sid)}):
            good: list[VersionMeta] = []
            for meta in store.list(sid, language):
                try:
                    parse_version(store, meta)
                except ParseError:
                    continue
                good.append(meta)
            for old, new in zip(good, good[1:]):
                if since and (new.date or new.fetched_at[:10]) < since.isoformat():
                    continue
                out.append(compute_change_set(settings, old, new, manifest))
    return out


class ChangeSetNotFound(BotError):
    def __init__(self, cid: str) -> None:
        super().__init__(f"No change set {cid!r}.", help="List them with `policybot changes`.")


def load_change_set(settings: Settings, cid: str) -> ChangeSet:
    path = changes_dir(settings) / f"{cid}.json"
    if not path.exists():
        raise ChangeSetNotFound(cid)
    return ChangeSet.model_validate_json(path.read_text(encoding="utf-8"))
