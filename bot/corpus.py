"""The corpus as it is indexed: the current version of every text, as units.

For each source and language the newest stored version is parsed. A version
that no longer parses is reported and the previous good one is used. A
consolidated text carries no recitals: they come from the edition its
manifest entry names (``recitals_from``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .config import Settings
from .errors import ParseError
from .models import Unit
from .parsing import parse_text
from .sources import Manifest, load_manifest
from .versions import VersionMeta, VersionStore


@dataclass
class TextUnits:
    meta: VersionMeta
    units: list[Unit]
    carried: list[tuple[VersionMeta, list[Unit]]] = field(default_factory=list)
    predates_current: bool = False


def parse_version(store: VersionStore, meta: VersionMeta) -> list[Unit]:
    return parse_text(store.raw_path(meta), meta.format, source=meta.source, language=meta.language, url=meta.url)


def current_texts(
    settings: Settings,
    manifest: Manifest | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[TextUnits]:
    manifest = manifest or load_manifest(settings.manifest_path)
    store = VersionStore(settings.versions_dir)
    out: list[TextUnits] = []
    for spec in manifest.sources:
        for language in spec.languages():
            versions = store.list(spec.id, language)
            for meta in reversed(versions):
                try:
                    units = parse_version(store, meta)
                except ParseError as exc:
                    if warn:
                        warn(f"{spec.id} ({language}) version {meta.version}: {exc.message}; using the previous version")
                    continue
                text_spec = spec.text(language, meta.edition)
                item = TextUnits(meta, units, predates_current=bool(text_spec and spec.predates_current(text_spec)))
                if text_spec and text_spec.recitals_from and not any(u.kind == "recital" for u in units):
                    for old in reversed(store.find(spec.id, language, text_spec.recitals_from)):
                        try:
                            recitals = [u for u in parse_version(store, old) if u.kind == "recital"]
                        except ParseError:
                            continue
                        item.carried.append((old, recitals))
                        break
                out.append(item)
                break
    return out


def all_units(texts: list[TextUnits]) -> list[tuple[str, Unit]]:
    """(version, unit) for every indexed unit, carried recitals included."""
    pairs: list[tuple[str, Unit]] = []
    for t in texts:
        pairs.extend((t.meta.version, u) for u in t.units)
        for meta, units in t.carried:
            pairs.extend((meta.version, u) for u in units)
    return pairs

