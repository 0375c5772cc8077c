"""The Chroma index, built incrementally.

Chroma runs embedded (``PersistentClient`` under ``<data_dir>/chroma``) or, when
``POLICYBOT_CHROMA_HOST`` is set, as a server (``HttpClient``). The collection
name derives from the embedding model and the chunking settings, so changing
either builds a new collection instead of mixing vectors.

A run embeds only chunks whose id (a hash of source, version, unit and text)
is not in the collection yet, writes the snapshot (``chunks.jsonl``,
``units.jsonl``, ``state.json``) that retrieval reads as a new generation, and
only then switches to it (:mod:`bot.generations`) and removes chunks that are
no longer current. ``--rebuild`` fills a new collection. A run killed half-way
leaves the previous generation serving, whole; the next run completes the job.
One run per data dir at a time: a second one waits for the lock.

At load, :func:`open_served_collection` checks that every chunk of the snapshot
has its vector and that the vector segment reads, so a damaged store is one
clear error naming the repair, never a partial index served in silence.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from chromadb.errors import ChromaError  # noqa: E402

from .chunking import TokenCounter, chunk_units, embed_text  # noqa: E402
from .config import Settings  # noqa: E402
from .corpus import all_units, current_texts  # noqa: E402
from .dense import DenseMatrix  # noqa: E402
from .embeddings import Embedder, get_embedder  # noqa: E402
from .errors import BotError, IndexCorruptError, IndexMissingError  # noqa: E402
from . import published  # noqa: E402
from .generations import (  # noqa: E402
    SNAPSHOT_FORMAT,
    Generation,
    Snapshot,
    base_dir,
    collection_generation,
    current_generation,
    generation_collection,
    generation_folder,
    index_lock,
    set_current_generation,
    collection_name,
    current_state,
    drop_local,
    load_snapshot,
    write_atomic,
    write_snapshot,
)
from .lexical import LexicalIndex  # noqa: E402
from .lexicon import aligned_blocks, build_lexicon  # noqa: E402
from .models import Chunk, Unit  # noqa: E402
from .vectors import content_key, vectors_by_content, vectors_by_key  # noqa: E402
from .tracking.build import load_timeline  # noqa: E402

__all__ = [  # what other modules import from here; the snapshot itself lives in bot.generations
    "content_key",
    "SNAPSHOT_FORMAT",
    "IndexReport",
    "Snapshot",
    "build_index",
    "collection_name",
    "current_state",
    "get_collection",
    "load_snapshot",
    "open_client",
    "open_served_collection",
]

BATCH = 16


def open_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise BotError(
                f"The Chroma server at {settings.chroma_host}:{settings.chroma_port} cannot be reached ({type(exc).__name__}).",
                help="Start it with `chroma run --path DIR`, or unset POLICYBOT_CHROMA_HOST to use the embedded index.",
            ) from None
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        # The store itself does not open, so no policybot command can read or rebuild in it.
        folder = settings.chroma_dir
        raise IndexCorruptError(
            folder, f"{type(exc).__name__}: {exc}".splitlines()[0][:160], repair=f"mv {folder} {folder}.damaged && policybot index"
        ) from None


#: HNSW breadth at query time. Chroma's default (100) for the 80 nearest of ~4,700 chunks left
#: results that changed between runs (about 1 in 1,000 true neighbours missed); 400 keeps the
#: search at well under a millisecond's extra cost and makes evaluations repeatable.
EF_SEARCH = 400


def get_collection(client: Any, name: str, create: bool = True) -> Any:
    try:
        if create:
            collection = client.get_or_create_collection(
                name,
                embedding_function=None,
                metadata={"hnsw:space": "cosine"},
                configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
            )
            hnsw = (collection.configuration or {}).get("hnsw") or {}
            if hnsw.get("ef_search", EF_SEARCH) < EF_SEARCH:  # made by an older policybot
                collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
            return collection
        return client.get_collection(name, embedding_function=None)
    except BotError:
        raise
    except Exception as exc:
        if not create:
            raise IndexMissingError(f"The index collection {name} does not exist.") from None
        raise IndexCorruptError("the Chroma store", f"{type(exc).__name__}: {exc}".splitlines()[0][:200]) from None


def _load_counts(settings: Settings, name: str) -> dict[str, int]:
    path = base_dir(settings, name) / "token-counts.json"
    try:
        return {str(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save_counts(settings: Settings, name: str, counts: dict[str, int]) -> None:
    write_atomic(base_dir(settings, name) / "token-counts.json", json.dumps(counts))


@dataclass
class IndexReport:
    collection: str
    units: int = 0
    chunks: int = 0
    added: int = 0
    reused: int = 0
    removed: int = 0
    words: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    per_text: list[dict[str, Any]] = field(default_factory=list)


ProgressFactory = Callable[[int], "Progress"]


class Progress:
    """Minimal progress interface; the CLI passes a rich progress bar."""

    def advance(self, n: int) -> None:  # pragma: no cover - trivial
        pass

    def close(self) -> None:  # pragma: no cover - trivial
        pass


@contextmanager
def _progress(factory: ProgressFactory | None, total: int) -> Iterator[Progress]:
    bar = factory(total) if factory and total else Progress()
    try:
        yield bar
    finally:
        bar.close()


def _store_name(settings: Settings) -> str:
    if settings.chroma_host:
        return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return str(settings.chroma_dir)


def store_damaged(settings: Settings, exc: Exception) -> IndexCorruptError:
    """A Chroma failure on a store that opened: a damaged segment, which a new collection (``--rebuild``) replaces."""
    return IndexCorruptError(_store_name(settings), f"{type(exc).__name__}: {exc}".splitlines()[0][:160])


def _generations_in_store(client: Any, name: str) -> dict[str, int]:
    """The collections of index ``name`` in the store, with their generation numbers."""
    out: dict[str, int] = {}
    for item in client.list_collections():
        coll = item if isinstance(item, str) else item.name
        number = collection_generation(name, coll)
        if number is not None:
            out[coll] = number
    return out


def _snapshot_numbers(settings: Settings, name: str) -> list[int]:
    base = base_dir(settings, name)
    return [int(p.name[1:]) for p in base.glob("g*") if p.is_dir() and p.name[1:].isdigit()] if base.is_dir() else []


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: ProgressFactory | None = None,
    warn: Callable[[str], None] | None = None,
) -> IndexReport:
    """Bring the index up to date with the current version of every synced text.

    One run per data dir at a time (a second one waits). The result serves only once it is
    complete: see :mod:`bot.generations`.
    """
    embedder = get_embedder(settings.embeddings, settings)
    with index_lock(settings, collection_name(settings, embedder.name), on_wait=warn):
        return _build(settings, embedder, rebuild=rebuild, progress=progress, warn=warn)


def _build(
    settings: Settings, embedder: Embedder, *, rebuild: bool, progress: ProgressFactory | None,
    warn: Callable[[str], None] | None
) -> IndexReport:
    start = time.perf_counter()
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn:
            warn(msg)

    texts = current_texts(settings, warn=_warn)
    if not texts:
        raise IndexMissingError(
            f"No source has been synced into {settings.data_dir} yet.",
            help="Run `policybot sync` first (offline: `policybot sync --mirror DIR`), then `policybot index`.",
        )
    name = collection_name(settings, embedder.name)
    pairs = all_units(texts)
    chunks: list[Chunk] = []
    by_version: dict[str, list[Unit]] = {}
    for version, unit in pairs:
        by_version.setdefault(version, []).append(unit)
    counter = TokenCounter(embedder.count_tokens, _load_counts(settings, name))
    for version, units in by_version.items():
        chunks.extend(chunk_units(units, version, settings.chunk_tokens, counter, settings.chunk_overlap_blocks))

    client = open_client(settings)
    try:
        current = current_generation(settings, name)
    except IndexCorruptError as exc:
        _warn(f"{exc.message.split(';')[0]}; this run writes a new one")
        current = None
    try:
        in_store = _generations_in_store(client, name)
    except ChromaError as exc:
        raise store_damaged(settings, exc) from None
    number = max([current.number if current else 0, *in_store.values(), *_snapshot_numbers(settings, name),
                  published.next_number(settings, name) - 1 if published.shared(settings) else 0]) + 1
    source = current.collection if current and current.collection in in_store else None
    if rebuild or published.shared(settings):
        # A new collection; the serving one stays whole until this is complete. Shared by hosts, it also stays
        # until every bot has swapped (the grace period): its vectors are copied, not moved.
        target = generation_collection(name, number)
    elif current and current.collection in in_store:
        target = current.collection
    elif in_store:  # the pointer is lost: carry on with the newest collection, embedding only what it lacks
        target = max(in_store, key=lambda c: in_store[c])
    else:
        target = generation_collection(name, number)

    try:
        collection = get_collection(client, target)
        existing = set(collection.get(include=[])["ids"])
        wanted = {c.id: c for c in chunks}
        to_add = [c for c in chunks if c.id not in existing]
        stale = [i for i in existing if i not in wanted]
        # A new version changes every chunk id (the version is part of it), but most texts are
        # unchanged: reuse the vectors of superseded chunks with the same unit and text.
        reusable = vectors_by_content(collection, stale) if to_add and stale else {}
        if to_add and not rebuild and source and source != target:  # a shared store: copy from the serving collection
            wanted_keys = [content_key(c) for c in to_add if content_key(c) not in reusable]
            reusable.update(vectors_by_key(get_collection(client, source, create=False), wanted_keys))
        reused = _embed_into(collection, embedder, to_add, reusable, progress)
    except ChromaError as exc:
        raise store_damaged(settings, exc) from None

    report = IndexReport(collection=target, warnings=warnings)
    report.units = len(pairs)
    report.chunks = len(chunks)
    report.added = len(to_add)
    report.reused = reused
    report.removed = len(stale)
    report.words = sum(len(u.text.split()) for _, u in pairs)
    for t in texts:
        report.per_text.append(
            {
                "source": t.meta.source,
                "language": t.meta.language,
                "version": t.meta.version,
                "edition": t.meta.edition,
                "date": t.meta.date,
                "fetched_at": t.meta.fetched_at,
                "units": len(t.units) + sum(len(u) for _, u in t.carried),
                "chunks": sum(1 for c in chunks if c.source == t.meta.source and c.language == t.meta.language),
                "predates_current": t.predates_current,
            }
        )
    generation = Generation(number, target, generation_folder(settings, name, number))
    generation.folder.mkdir(parents=True, exist_ok=True)
    for lang in sorted({c.language for c in chunks}):  # BM25 travels with the generation (a bot memory-maps it)
        LexicalIndex([c for c in chunks if c.language == lang], lang).save(generation.folder)
    build_lexicon(aligned_blocks(u for _, u in pairs)).save(generation.folder)  # from the texts indexed in two languages
    try:  # the vector matrix travels with the generation too: a host maps it instead of reading Chroma (docs/scaling.md)
        DenseMatrix.load(collection, target, chunks, generation.folder, settings.dense_page_size)
    except ChromaError as exc:
        raise store_damaged(settings, exc) from None
    write_snapshot(generation, embedder.name, chunks, pairs, report.per_text, _timeline_json(settings, _warn))
    set_current_generation(settings, name, generation, current)
    # Only now that the new generation serves: drop what no generation needs any more.
    try:
        for i in range(0, len(stale), 500):
            collection.delete(ids=stale[i : i + 500])
        _clean_up(settings, client, name, generation, current, in_store)
    except ChromaError as exc:
        _warn(f"could not remove old index data ({type(exc).__name__}); the next run tries again")
    _save_counts(settings, name, counter.counts)
    report.seconds = time.perf_counter() - start
    return report


def _timeline_json(settings: Settings, warn: Callable[[str], None]) -> str | None:
    """The timeline of the texts indexed, stored with the generation (a bot host has no synced versions)."""
    try:
        return load_timeline(settings).model_dump_json()
    except BotError as exc:
        warn(f"the timeline could not be built ({exc.message}); answers from this generation carry no dates")
        return None


def _embed_into(
    collection: Any, embedder: Embedder, to_add: list[Chunk], reusable: dict[str, list[float]], progress: ProgressFactory | None
) -> int:
    """Add ``to_add`` with their vectors (reused where the same text was embedded before); returns how many were reused."""
    reused = 0
    with _progress(progress, len(to_add)) as bar:
        for i in range(0, len(to_add), BATCH):
            batch = to_add[i : i + BATCH]
            keys = [content_key(c) for c in batch]
            missing = [j for j, key in enumerate(keys) if key not in reusable]
            fresh = embedder.embed_passages([embed_text(batch[j]) for j in missing]) if missing else []
            vectors: list[list[float]] = []
            it = iter(range(len(missing)))
            for j, key in enumerate(keys):
                if key in reusable:
                    vectors.append(reusable[key])
                    reused += 1
                else:
                    vectors.append(list(map(float, fresh[next(it)])))
            collection.add(
                ids=[c.id for c in batch],
                embeddings=vectors,
                documents=[c.text for c in batch],
                # The key of the text the vector was made from: a later policybot that embeds
                # differently will not mistake this vector for one of its own.
                metadatas=[{**c.metadata(), "embed_key": key} for c, key in zip(batch, keys)],
            )
            bar.advance(len(batch))
    return reused


def _clean_up(
    settings: Settings, client: Any, name: str, new: Generation, previous: Generation | None, in_store: dict[str, int]
) -> None:
    """Keep the serving generation and the one before it (a running reader may still use it); remove the rest.
    Generations shared through the database go once their successor has served for ``index_grace_seconds``."""
    keep_collections = {new.collection} | ({previous.collection} if previous else set())
    if published.shared(settings):
        keep = {new.number} | ({previous.number} if previous else set())
        gone = set(published.prune(settings, name, keep, settings.index_grace_seconds))
        listed = published.collections(settings, name)
        # collections no published generation names were left by killed runs (this run holds the lock)
        drop = [c for c in in_store if c not in keep_collections and (c in gone or c not in listed)]
    else:
        drop = [c for c in in_store if c not in keep_collections]
    for coll in drop:
        client.delete_collection(coll)
    keep_numbers = {new.number} | ({previous.number} if previous else set())
    drop_local(settings, name, keep_numbers)
    base = base_dir(settings, name)
    if 0 not in keep_numbers:  # a snapshot written before generations
        for legacy in ("chunks.jsonl", "units.jsonl", "state.json"):
            (base / legacy).unlink(missing_ok=True)
    for tmp in base.rglob(".*.tmp"):  # left by a killed run (this run holds the lock)
        tmp.unlink(missing_ok=True)


def open_served_collection(settings: Settings, snapshot: Snapshot) -> Any:
    """The collection ``snapshot`` serves from, once every chunk of it is known to have its vector there."""
    collection = get_collection(open_client(settings), snapshot.name, create=False)
    ids = [c.id for c in snapshot.chunks]
    present: set[str] = set()
    try:
        for i in range(0, len(ids), 1000):
            present.update(collection.get(ids=ids[i : i + 1000], include=[])["ids"])
        if ids:  # reads the vector segment: a damaged one fails here, not in the middle of an answer
            collection.get(ids=ids[:1], include=["embeddings"])
    except ChromaError as exc:
        raise store_damaged(settings, exc) from None
    missing = len(set(ids) - present)
    if missing:
        raise IndexCorruptError(
            f"collection {snapshot.name}",
            f"{missing:,} of {len(ids):,} chunks have no vector",
            repair="policybot index",
        )
    return collection
