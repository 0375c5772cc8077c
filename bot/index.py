"""The Chroma index, built incrementally.

Chroma runs embedded (``PersistentClient`` under ``<data_dir>/chroma``) or, when
``POLICYBOT_CHROMA_HOST`` is set, as a server (``HttpClient``). The collection
name derives from the embedding model and the chunking settings, so changing
either builds a new collection instead of mixing vectors.

A run embeds only chunks whose id (a hash of source, version, unit and text)
is not in the collection yet, then removes chunks that are no longer current,
then writes the snapshot (``chunks.jsonl``, ``units.jsonl``, ``state.json``)
that retrieval reads. The snapshot is replaced atomically at the very end:
a run killed half-way leaves the previous snapshot, whose chunks are all
still in the collection, and the next run completes the job.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from .chunking import TokenCounter, chunk_units, embed_text  # noqa: E402
from .config import Settings  # noqa: E402
from .corpus import all_units, current_texts  # noqa: E402
from .embeddings import Embedder, get_embedder  # noqa: E402
from .errors import BotError, IndexCorruptError, IndexMissingError  # noqa: E402
from .models import Chunk, Unit  # noqa: E402

BATCH = 16
SNAPSHOT_FORMAT = 1  # bump when what is embedded changes


def collection_name(settings: Settings, embedder_name: str) -> str:
    key = f"{embedder_name}|{settings.chunk_tokens}|{settings.chunk_overlap_blocks}|v{SNAPSHOT_FORMAT}"
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", embedder_name).strip("-")[:40]
    return f"pb-{slug}-{settings.chunk_tokens}t-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def snapshot_dir(settings: Settings, name: str) -> Path:
    return settings.data_dir / "index" / name


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
        raise IndexCorruptError(settings.chroma_dir, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]) from None


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
    path = snapshot_dir(settings, name) / "token-counts.json"
    try:
        return {str(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save_counts(settings: Settings, name: str, counts: dict[str, int]) -> None:
    folder = snapshot_dir(settings, name)
    tmp = folder / ".token-counts.json.tmp"
    tmp.write_text(json.dumps(counts), encoding="utf-8")
    os.replace(tmp, folder / "token-counts.json")


def content_key(chunk: Chunk) -> str:
    """Same source, language, unit and embedded text: the same vector, whatever the version."""
    return hashlib.sha256(f"{chunk.source}\0{chunk.language}\0{chunk.unit}\0{embed_text(chunk)}".encode()).hexdigest()


def _vectors_by_content(collection: Any, ids: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for i in range(0, len(ids), 500):
        got = collection.get(ids=ids[i : i + 500], include=["embeddings", "documents", "metadatas"])
        for doc, meta, vec in zip(got["documents"], got["metadatas"], got["embeddings"]):
            key = meta.get("embed_key")
            if not key:  # indexed by an earlier policybot, which did not store the key
                key = content_key(Chunk(id="", text=doc, **{k: v for k, v in meta.items() if k in Chunk.model_fields}))
            out[str(key)] = list(map(float, vec))
    return out


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


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: ProgressFactory | None = None,
    warn: Callable[[str], None] | None = None,
) -> IndexReport:
    """Bring the index up to date with the current version of every synced text."""
    start = time.perf_counter()
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn:
            warn(msg)

    texts = current_texts(settings, warn=_warn)
    if not texts:
        raise IndexMissingError("No source has been synced yet.")
    embedder = get_embedder(settings.embeddings, settings)
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
    if rebuild:
        try:
            client.delete_collection(name)
        except Exception:
            pass
    collection = get_collection(client, name)
    existing = set(collection.get(include=[])["ids"])
    wanted = {c.id: c for c in chunks}
    to_add = [c for c in chunks if c.id not in existing]
    stale = [i for i in existing if i not in wanted]
    # A new version changes every chunk id (the version is part of it), but most texts are
    # unchanged: reuse the vectors of superseded chunks with the same unit and text.
    reusable = _vectors_by_content(collection, stale) if to_add and stale else {}
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
    for i in range(0, len(stale), 500):
        collection.delete(ids=stale[i : i + 500])

    report = IndexReport(collection=name, warnings=warnings)
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
    write_snapshot(settings, name, embedder, chunks, pairs, report)
    _save_counts(settings, name, counter.counts)
    report.seconds = time.perf_counter() - start
    return report


def write_snapshot(
    settings: Settings, name: str, embedder: Embedder, chunks: list[Chunk], pairs: list[tuple[str, Unit]], report: IndexReport
) -> None:
    folder = snapshot_dir(settings, name)
    folder.mkdir(parents=True, exist_ok=True)

    def _write(filename: str, lines: Iterator[str]) -> None:
        tmp = folder / f".{filename}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        os.replace(tmp, folder / filename)

    _write("chunks.jsonl", (c.model_dump_json() for c in chunks))
    _write("units.jsonl", (json.dumps({"version": v, "unit": u.model_dump()}, ensure_ascii=False) for v, u in pairs))
    state = {
        "format": SNAPSHOT_FORMAT,
        "collection": name,
        "embedder": embedder.name,
        "chunks": len(chunks),
        "texts": report.per_text,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    # state.json last: it marks the snapshot complete.
    _write("state.json", iter([json.dumps(state, ensure_ascii=False, indent=1)]))


@dataclass
class Snapshot:
    name: str
    folder: Path
    state: dict[str, Any]
    chunks: list[Chunk]
    units: dict[tuple[str, str, str], Unit]  # (source, language, unit) -> Unit
    unit_versions: dict[tuple[str, str, str], str]


def load_snapshot(settings: Settings, embedder_name: str) -> Snapshot:
    name = collection_name(settings, embedder_name)
    folder = snapshot_dir(settings, name)
    state_path = folder / "state.json"
    if not state_path.exists():
        raise IndexMissingError()
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        chunks = [Chunk.model_validate_json(line) for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
        units: dict[tuple[str, str, str], Unit] = {}
        versions: dict[tuple[str, str, str], str] = {}
        for line in (folder / "units.jsonl").read_text(encoding="utf-8").splitlines():
            if not line:
                continue
            row = json.loads(line)
            unit = Unit.model_validate(row["unit"])
            key = (unit.source, unit.language, unit.unit)
            units[key] = unit
            versions[key] = row["version"]
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(folder, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]) from None
    return Snapshot(name, folder, state, chunks, units, versions)
