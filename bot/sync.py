"""``policybot sync``: bring each official text in as a version.

A text comes from, in order: the bundled copy in ``knowledge/`` (the article),
the mirror folder when one is given, else EUR-Lex over HTTPS. Fetched bytes
are parsed before they are stored: a cookie page or a truncated file is
reported and the last good version stays current.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx

from .config import USER_AGENT, Settings
from .errors import BotError, FetchError, ParseError
from .models import Unit
from .parsing import parse_text
from .parsing.structure import Structure, describe, read_raw_text, structure_problems
from .sources import Manifest, SourceSpec, TextSpec
from .versions import VersionMeta, VersionStore


@dataclass
class SyncResult:
    source: str
    language: str
    edition: str
    status: str  # "new", "unchanged", "failed", "skipped"
    detail: str = ""
    version: VersionMeta | None = None

    @property
    def ok(self) -> bool:
        return self.status in {"new", "unchanged"}


def read_local(base: Path, entries: list[str]) -> dict[str, bytes]:
    """Files named by manifest entries under ``base``; folders are read recursively."""
    files: dict[str, bytes] = {}
    for entry in entries:
        path = base / entry
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    files[f.relative_to(path).as_posix()] = f.read_bytes()
        elif path.is_file():
            files[path.name] = path.read_bytes()
        else:
            raise FetchError(f"{path} does not exist in the mirror")
    if not files:
        raise FetchError(f"{base / entries[0]} is empty")
    return files


def fetch_url(url: str, settings: Settings, client: httpx.Client | None = None) -> bytes:
    """GET with a timeout, a clear user agent and bounded retries on transient failures."""
    own = client is None
    client = client or httpx.Client(
        timeout=settings.fetch_timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )
    last = ""
    try:
        for attempt in range(settings.fetch_retries + 1):
            try:
                resp = client.get(url)
                if resp.status_code == 200:
                    return resp.content
                last = f"HTTP {resp.status_code}"
                if resp.status_code not in (429, 500, 502, 503, 504):
                    break
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < settings.fetch_retries:
                time.sleep(min(8.0, 0.5 * 2**attempt))
    finally:
        if own:
            client.close()
    raise FetchError(f"could not fetch {url} ({last})")


#: A new version with fewer units than this share of the last good one is taken for a truncated file.
MIN_UNIT_SHARE = 0.7


def _validate(files: dict[str, bytes], fmt: str, spec: SourceSpec, text: TextSpec, where: str) -> list[Unit]:
    """Parse the bytes in a scratch folder; returns the units or raises ParseError naming ``where``."""
    with tempfile.TemporaryDirectory(prefix="policybot-check-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        path = root / next(iter(files)) if len(files) == 1 else root
        try:
            return parse_text(path, fmt, source=spec.id, language=text.language, url=text.url)
        except ParseError as exc:  # name the file the user has, not the scratch copy
            raise ParseError(where, exc.reason.replace(str(root), where)) from None


def _check_whole(
    store: VersionStore, spec: SourceSpec, text: TextSpec, units: list[Unit], files: dict[str, bytes], where: str
) -> None:
    """Refuse a text less whole than the last good version of its edition: fewer units, gaps, no end, no signature."""
    previous = store.find(spec.id, text.language, text.edition)
    before: Structure | None = None
    problems: list[str] = []
    if previous:
        from .corpus import parse_version

        try:
            old_units = parse_version(store, previous[-1])
        except ParseError:
            old_units = []
        if old_units:
            before = describe(old_units, read_raw_text(store.raw_path(previous[-1])))
            if len(units) < MIN_UNIT_SHARE * len(old_units):
                problems.append(f"{len(units)} units where the last good version had {len(old_units)}")
    if before is not None:
        raw = "\n".join(data.decode("utf-8", "replace") for data in files.values())
        problems += structure_problems(describe(units, raw), before)
    if problems:
        raise ParseError(where, "looks truncated or incomplete: " + "; ".join(problems) + "; the last good version is kept")


def _where(text: TextSpec, settings: Settings, mirror: Path | None) -> str:
    """The file or URL a text comes from, as the user would look for it."""
    if text.bundled:
        return str(settings.knowledge_dir / text.bundled)
    if mirror is not None and text.mirror:
        return str(mirror / text.mirror[0]) if len(text.mirror) == 1 else ", ".join(str(mirror / m) for m in text.mirror)
    return text.fetch_url or text.url


def sync_text(
    spec: SourceSpec, text: TextSpec, settings: Settings, store: VersionStore, mirror: Path | None
) -> SyncResult:
    label = (spec.id, text.language, text.edition)
    try:
        if text.bundled:
            files = read_local(settings.knowledge_dir, [text.bundled])
            fmt, origin = text.format, f"bundled:{text.bundled}"
        elif mirror is not None and text.mirror:
            files = read_local(mirror, text.mirror)
            fmt, origin = text.format, f"mirror:{', '.join(text.mirror)}"
        elif mirror is not None and not text.mirror:
            return SyncResult(*label, "skipped", "no mirror copy exists; syncs only when online (without --mirror)")
        elif text.fetch_url:
            files = {"page.html": fetch_url(text.fetch_url, settings)}
            fmt, origin = text.fetch_format or text.format, text.fetch_url
        else:
            return SyncResult(*label, "skipped", "no URL to fetch from")
        where = _where(text, settings, mirror)
        units = _validate(files, fmt, spec, text, where)
        _check_whole(store, spec, text, units, files, where)
    except (FetchError, ParseError) as exc:
        return SyncResult(*label, "failed", exc.message)
    except OSError as exc:
        return SyncResult(*label, "failed", f"{exc.strerror or exc}: {getattr(exc, 'filename', '')}")
    meta, created = store.add(
        source=spec.id,
        language=text.language,
        edition=text.edition,
        files=files,
        format=fmt,
        date=text.date,
        celex=text.celex,
        url=text.url,
        origin=origin,
    )
    return SyncResult(*label, "new" if created else "unchanged", meta.version, meta)


def sync(
    manifest: Manifest,
    settings: Settings,
    *,
    source: str | None = None,
    mirror: Path | None = None,
    on_result: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    """Sync every text of every source (or of one); returns one result per text."""
    mirror = mirror if mirror is not None else settings.mirror
    if mirror is not None and not mirror.is_dir():
        raise BotError(
            f"The mirror folder {mirror} does not exist.",
            help="Check the folder given to --mirror (or POLICYBOT_MIRROR); it is laid out like shared/corpus.",
        )
    specs = [manifest.resolve(source)] if source else manifest.sources
    store = VersionStore(settings.versions_dir)
    results: list[SyncResult] = []
    for spec in specs:
        for text in spec.texts:
            result = sync_text(spec, text, settings, store, mirror)
            results.append(result)
            if on_result:
                on_result(result)
    return results
