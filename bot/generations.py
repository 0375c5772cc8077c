"""Which build of the index serves, and one index run per data dir at a time.

Each ``policybot index`` run writes a new *generation*: a snapshot folder
``<data_dir>/index/<name>/g<N>/`` (``chunks.jsonl``, ``units.jsonl``,
``state.json``) and the Chroma collection its chunks live in. An incremental
run adds to the collection that serves; ``--rebuild`` fills a new collection
``<name>-g<N>``. Nothing serves a generation until the pointer file
``<data_dir>/index/<name>/current.json`` names it; the pointer is replaced
atomically once the build is complete, so a run killed half-way leaves the
previous generation serving, whole.

Data dirs from before generations (a snapshot directly in ``index/<name>/``
served from the collection ``<name>``) are read as generation 0.

With ``POLICYBOT_DATABASE_URL`` set, the database holds the pointer and every
generation's files (:mod:`bot.published`): a bot host writes the files of the
generation it serves into its own data dir when it first loads it, and index
runs on PostgreSQL take an advisory lock instead of the data dir's file lock.

``current_generation`` is the one place that says which generation serves.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import published
from .config import Settings
from .errors import BotError, IndexCorruptError, IndexMissingError
from .models import Chunk, Unit
from .unitstore import UnitKey, UnitStore

SNAPSHOT_FORMAT = 1  # bump when what is embedded changes


def collection_name(settings: Settings, embedder_name: str) -> str:
    key = f"{embedder_name}|{settings.chunk_tokens}|{settings.chunk_overlap_blocks}|v{SNAPSHOT_FORMAT}"
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", embedder_name).strip("-")[:40]
    return f"pb-{slug}-{settings.chunk_tokens}t-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


POINTER = "current.json"
TIMELINE = "timeline.json"  # the timeline of the generation's texts, for hosts that have no synced versions
LOCK = ".index.lock"


@dataclass(frozen=True)
class Generation:
    number: int
    collection: str  # the Chroma collection its chunks are in
    folder: Path  # the snapshot folder


def base_dir(settings: Settings, name: str) -> Path:
    return settings.data_dir / "index" / name


def generation_folder(settings: Settings, name: str, number: int) -> Path:
    return base_dir(settings, name) if number == 0 else base_dir(settings, name) / f"g{number}"


def generation_collection(name: str, number: int) -> str:
    return name if number == 0 else f"{name}-g{number}"


def collection_generation(name: str, collection: str) -> int | None:
    """The generation number a collection of index ``name`` was built as (None: not one of its collections)."""
    if collection == name:
        return 0
    m = re.fullmatch(re.escape(name) + r"-g(\d+)", collection)
    return int(m.group(1)) if m else None


def current_generation(settings: Settings, name: str) -> Generation | None:
    """The generation of index ``name`` that serves, or None when none has been completed."""
    if published.shared(settings):
        pointer = published.read_pointer(settings, name)
        if pointer is not None:
            return Generation(pointer.number, pointer.collection, generation_folder(settings, name, pointer.number))
    base = base_dir(settings, name)
    pointer = base / POINTER
    if pointer.exists():
        try:
            data = json.loads(pointer.read_text(encoding="utf-8"))
            number, collection = int(data["generation"]), str(data["collection"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                pointer, f"{type(exc).__name__}: {exc}".splitlines()[0][:200], repair="policybot index"
            ) from None
        return Generation(number, collection, generation_folder(settings, name, number))
    if (base / "state.json").exists():  # written before generations
        return Generation(0, name, base)
    return None


def previous_collection(settings: Settings, name: str) -> str | None:
    """The collection of the generation that served before the current one (kept for running readers)."""
    if published.shared(settings) and (pointer := published.read_pointer(settings, name)) is not None:
        return pointer.previous_collection
    try:
        data = json.loads((base_dir(settings, name) / POINTER).read_text(encoding="utf-8"))
        return str(data["previous_collection"]) if data.get("previous_collection") else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def set_current_generation(settings: Settings, name: str, generation: Generation, previous: Generation | None) -> None:
    """Make ``generation`` the one that serves: published to the database first when there is one (all hosts
    see it), then the data dir's pointer file (an atomic replace)."""
    previous_collection_ = previous.collection if previous and previous.collection != generation.collection else None
    if published.shared(settings):
        published.publish(settings, name, generation.number, generation.collection, generation.folder, previous_collection_)
    data = {
        "generation": generation.number,
        "collection": generation.collection,
        "previous_collection": previous_collection_,
    }
    write_atomic(base_dir(settings, name) / POINTER, json.dumps(data, indent=1) + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` through a uniquely named temporary file in the same folder, then rename it."""
    write_lines_atomic(path, iter([text]))


def write_lines_atomic(path: Path, lines: Iterator[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def index_lock(settings: Settings, name: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index lock: PostgreSQL's advisory lock for ``name`` when the database is one (every host), else
    the data dir's file lock. A second run waits for the first (and says so once)."""
    if published.shared(settings):
        with published.advisory_lock(settings, name, on_wait) as held:
            if held:
                yield
                return
    with _file_lock(settings, on_wait):
        yield


@contextmanager
def _file_lock(settings: Settings, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / LOCK
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            if on_wait:
                on_wait(f"another `policybot index` (pid {holder}) is updating {settings.data_dir}; waiting for it to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_snapshot(
    generation: Generation,
    embedder_name: str,
    chunks: list[Chunk],
    pairs: list[tuple[str, Unit]],
    texts: list[dict[str, Any]],
    timeline_json: str | None = None,
) -> None:
    """The snapshot retrieval reads; ``state.json`` last (it marks the folder complete)."""
    folder = generation.folder
    folder.mkdir(parents=True, exist_ok=True)
    if timeline_json is not None:
        write_atomic(folder / TIMELINE, timeline_json)
    write_lines_atomic(folder / "chunks.jsonl", (c.model_dump_json() + "\n" for c in chunks))
    write_lines_atomic(
        folder / "units.jsonl", (json.dumps({"version": v, "unit": u.model_dump()}, ensure_ascii=False) + "\n" for v, u in pairs)
    )
    state = {
        "format": SNAPSHOT_FORMAT,
        "generation": generation.number,
        "collection": generation.collection,
        "embedder": embedder_name,
        "chunks": len(chunks),
        "texts": texts,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_atomic(folder / "state.json", json.dumps(state, ensure_ascii=False, indent=1))


def materialize(settings: Settings, name: str, generation: Generation) -> None:
    """A published generation's files in this host's data dir (written from the database the first time)."""
    if published.shared(settings) and generation.number:
        published.materialize(settings, name, generation.number, generation.folder)


def fetch_matrix(settings: Settings, name: str, generation: Generation) -> None:
    """A published generation's vector matrix in this host's data dir, if the database holds one and it is not
    here yet (without it, exact search reads every vector from Chroma once)."""
    if published.shared(settings) and generation.number and generation.folder.is_dir():
        published.fetch_blobs(settings, name, generation.number, generation.folder)


def drop_local(settings: Settings, name: str, keep: set[int]) -> None:
    """Remove this host's generation folders of ``name`` other than ``keep`` (a bot host after a swap)."""
    base = base_dir(settings, name)
    for folder in base.glob("g*") if base.is_dir() else []:
        if folder.is_dir() and folder.name[1:].isdigit() and int(folder.name[1:]) not in keep:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Snapshot:
    name: str
    folder: Path
    state: dict[str, Any]
    chunks: list[Chunk]
    units: UnitStore  # (source, language, unit) -> Unit, read from units.jsonl when asked for
    unit_versions: dict[UnitKey, str]

    def moved_to(self, folder: Path) -> None:
        """The snapshot's files are now in ``folder`` (a data dir moved since a start-up cache was written)."""
        self.folder = folder
        self.units.relocate(folder)


#: Chunk fields whose values repeat from chunk to chunk (the unit's, the text's): held once each.
_SHARED_FIELDS = ("source", "language", "version", "unit", "kind", "ref", "unit_ref", "title", "headings", "url", "amended_by", "paths")


def _read_chunks(path: Path) -> list[Chunk]:
    """The snapshot's chunks, compact: about 1.4 KB each instead of 2.3 besides the text (docs/scaling.md).
    Repeated strings are held once, and all chunks share one set of "fields set" (every field is, in the file).
    Read a line at a time, each chunk's duplicates dropped at once: the memory they freed is what the next
    line is parsed into (at 200k chunks, 354 MiB instead of 589 after loading, and a peak of 354 instead of 788)."""
    pool: dict[str, str] = {}
    every_field = set(Chunk.model_fields)
    chunks: list[Chunk] = []
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            chunk = Chunk.model_validate_json(line)
            values = chunk.__dict__
            for name in _SHARED_FIELDS:
                value = values[name]
                values[name] = pool.setdefault(value, value)
            object.__setattr__(chunk, "__pydantic_fields_set__", every_field)
            chunks.append(chunk)
    return chunks


def current_state(settings: Settings, embedder_name: str) -> dict[str, Any] | None:
    """The ``state.json`` of the generation that serves (None without a readable one)."""
    try:
        generation = current_generation(settings, collection_name(settings, embedder_name))
        if generation is None:
            return None
        if published.shared(settings) and generation.number:
            return published.state_of(settings, collection_name(settings, embedder_name), generation.number)
        return dict(json.loads((generation.folder / "state.json").read_text(encoding="utf-8")))
    except (BotError, OSError, ValueError):
        return None


def load_snapshot(settings: Settings, embedder_name: str) -> Snapshot:
    name = collection_name(settings, embedder_name)
    generation = current_generation(settings, name)
    if generation is None:
        raise IndexMissingError()
    materialize(settings, name, generation)
    folder = generation.folder
    # A lost or damaged snapshot is rewritten from the stored vectors by a plain `policybot index`.
    if not (folder / "state.json").exists():
        raise IndexCorruptError(folder, "state.json is missing", repair="policybot index")
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        chunks = _read_chunks(folder / "chunks.jsonl")
        units, versions = UnitStore.read(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(folder, f"{type(exc).__name__}: {exc}".splitlines()[0][:160], repair="policybot index") from None
    return Snapshot(generation.collection, folder, state, chunks, units, versions)
