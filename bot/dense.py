"""Exact dense search over a memory-mapped matrix of chunk vectors.

The vectors live in Chroma. Reading them takes one ``get`` per page of ids
(:data:`PAGE_SIZE` by default): SQLite refuses a query with more than 32,766
variables, so one call for every id fails past about 32,000 chunks.

Once read, the unit-length float32 matrix is written beside the snapshot
(``vectors-<digest>.npy``, the digest covering the collection and every chunk
id in order) and later processes memory-map it: replicas on one host share it
through the page cache, and a bot starts without reading Chroma again. Rows
are ordered by (source, language), so a search restricted to some sources or a
language scans only their rows; ``argpartition`` picks the top n.

float32, not float16 or int8: numpy has no fast half-precision or int8
matrix-vector product, and converting blocks to float32 per query costs more
than the scan (measured in docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError
from .models import Chunk

log = logging.getLogger(__name__)

#: HNSW with a filter: ask Chroma for this many times n unfiltered neighbours and filter them here.
#: At 200k chunks Chroma's own ``where`` filter cost about as much as an exact scan, the
#: unfiltered query a third of that (docs/scaling.md).
OVERFETCH = 10
#: Ids per Chroma ``get``: far below SQLite's limit of 32,766 variables per statement.
PAGE_SIZE = 1000
CACHE_PREFIX = "vectors-"


def read_vectors(collection: Any, ids: list[str], page_size: int = PAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of ``ids`` in that order, read from Chroma page by page, and which ids were found.

    Returns a float32 matrix (unit-length rows; a zero row where an id is missing) and a bool mask.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    matrix: np.ndarray | None = None
    found = np.zeros(len(ids), dtype=bool)
    for start in range(0, len(ids), page_size):
        page = ids[start : start + page_size]
        got = collection.get(ids=page, include=["embeddings"])
        if not got["ids"]:
            continue
        rows = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
        if matrix is None:
            matrix = np.zeros((len(ids), rows.shape[1]), dtype=np.float32)
        elif rows.shape[1] != matrix.shape[1]:
            raise IndexCorruptError("the Chroma collection", f"vectors of {rows.shape[1]} and {matrix.shape[1]} dimensions")
        where = {cid: start + k for k, cid in enumerate(page)}
        pos = np.fromiter((where[cid] for cid in got["ids"]), dtype=np.int64, count=len(got["ids"]))
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        matrix[pos] = rows / np.where(norms == 0, 1.0, norms)
        found[pos] = True
    if matrix is None:
        matrix = np.zeros((len(ids), 0), dtype=np.float32)
    return matrix, found


def digest(collection_name: str, ids: list[str]) -> str:
    h = hashlib.sha256(collection_name.encode())
    for cid in ids:
        h.update(b"\0" + cid.encode())
    return h.hexdigest()[:16]


class DenseMatrix:
    """The chunks of one index with their vectors; exact cosine search with source/language filters."""

    def __init__(self, chunks: list[Chunk], matrix: np.ndarray, found: np.ndarray, position: np.ndarray | None = None) -> None:
        self.chunks = chunks
        #: each row's place in the snapshot: ties rank in snapshot order, as one unsorted scan would
        self.position = np.arange(len(chunks)) if position is None else position
        self.matrix = matrix
        self.found = found
        self.source_names = sorted({c.source for c in chunks})
        self.lang_names = sorted({c.language for c in chunks})
        sid = {s: i for i, s in enumerate(self.source_names)}
        lid = {s: i for i, s in enumerate(self.lang_names)}
        self.source_ids = np.fromiter((sid[c.source] for c in chunks), dtype=np.int32, count=len(chunks))
        self.lang_ids = np.fromiter((lid[c.language] for c in chunks), dtype=np.int32, count=len(chunks))
        # Rows are sorted by (source, language): each pair is one contiguous block.
        self.blocks: dict[tuple[int, int], tuple[int, int]] = {}
        for i, key in enumerate(zip(self.source_ids.tolist(), self.lang_ids.tolist())):
            lo, _ = self.blocks.get(key, (i, i))
            self.blocks[key] = (lo, i + 1)

    @staticmethod
    def order(chunks: list[Chunk]) -> np.ndarray:
        """The row order (snapshot positions): by source and language, the snapshot's order within each."""
        return np.asarray(sorted(range(len(chunks)), key=lambda i: (chunks[i].source, chunks[i].language)), dtype=np.int64)

    @classmethod
    def load(cls, collection: Any, name: str, chunks: list[Chunk], folder: Path | None, page_size: int = PAGE_SIZE) -> DenseMatrix:
        """The matrix for ``chunks``: memory-mapped from ``folder`` if cached there, else read from Chroma (and cached).

        ``collection``: the Chroma collection, or a function that opens it (called only when the cache misses)."""
        position = cls.order(chunks)
        rows = [chunks[i] for i in position]
        ids = [c.id for c in rows]
        key = digest(name, ids)
        path = folder / f"{CACHE_PREFIX}{key}.npy" if folder is not None else None
        if path is not None and path.exists():
            try:
                matrix = np.load(path, mmap_mode="r")
                if matrix.shape[0] == len(ids) and matrix.dtype == np.float32:
                    return cls(rows, matrix, _nonzero_rows(matrix), position)
            except (OSError, ValueError) as exc:
                log.warning("Ignoring the unreadable vector cache %s (%s)", path.name, type(exc).__name__)
        matrix, found = read_vectors(collection() if callable(collection) else collection, ids, page_size)
        if path is not None and matrix.shape[1]:
            matrix = _cache(path, matrix)
        return cls(rows, matrix, found, position)

    def search(self, vector: np.ndarray, n: int, sources: list[str] | None = None, lang: str | None = None) -> list[tuple[Chunk, float]]:
        """The n chunks most similar to ``vector`` (cosine), best first, ties in row order."""
        if n <= 0 or not self.chunks or not self.matrix.shape[1]:
            return []
        v = np.asarray(vector, dtype=np.float32)
        v = v / (np.linalg.norm(v) or 1.0)
        if sources or lang:
            wanted_s = {self.source_names.index(s) for s in (sources or []) if s in self.source_names}
            wanted_l = self.lang_names.index(lang) if lang in self.lang_names else None
            if (sources and not wanted_s) or (lang and wanted_l is None):
                return []
            spans = sorted(
                span
                for (s, la), span in self.blocks.items()
                if (not sources or s in wanted_s) and (not lang or la == wanted_l)
            )
            if not spans:  # e.g. a source that has no text in that language
                return []
        else:
            spans = [(0, len(self.chunks))]
        rows = np.concatenate([np.arange(lo, hi) for lo, hi in spans]) if len(spans) > 1 else np.arange(*spans[0])
        sims = self._similarities(spans, v)
        sims = np.where(self.found[rows], sims, -np.inf)
        if n < len(sims):
            top = np.argpartition(-sims, n - 1)[:n]
        else:
            top = np.arange(len(sims))
        top = top[np.lexsort((self.position[rows[top]], -sims[top]))]
        return [(self.chunks[int(rows[i])], float(sims[i])) for i in top if np.isfinite(sims[i])]

    def _similarities(self, spans: list[tuple[int, int]], v: np.ndarray) -> np.ndarray:
        """Each row's dot product with ``v``, the spans' rows in order. A scan of :data:`PARALLEL_ROWS` rows or
        more is split across :data:`SCAN_THREADS` threads (numpy releases the GIL), because BLAS runs on one
        thread here (``bot/__init__.py``): at 200k rows 15 ms on two threads against 25-32 on one."""
        total = sum(hi - lo for lo, hi in spans)
        if total < PARALLEL_ROWS or SCAN_THREADS == 1:
            return np.concatenate([self.matrix[lo:hi] @ v for lo, hi in spans])
        out = np.empty(total, dtype=np.float32)
        step = -(-total // SCAN_THREADS)
        pieces: list[tuple[int, int, int]] = []  # (first row, end row, where in ``out``)
        at = 0
        for lo, hi in spans:
            for start in range(lo, hi, step):
                end = min(hi, start + step)
                pieces.append((start, end, at))
                at += end - start

        def product(piece: tuple[int, int, int]) -> None:
            start, end, where = piece
            np.matmul(self.matrix[start:end], v, out=out[where : where + end - start])

        list(_SCAN_POOL.map(product, pieces))
        return out


#: Rows from which a scan is split across threads, and how many (at most 4, and no more than the cores).
PARALLEL_ROWS = 50_000
SCAN_THREADS = max(1, min(4, os.cpu_count() or 1))
_SCAN_POOL = ThreadPoolExecutor(max_workers=SCAN_THREADS, thread_name_prefix="dense-scan")  # threads start on first use


def ann_search(
    collection: Any,
    by_id: dict[str, Chunk],
    vector: np.ndarray,
    n: int,
    sources: list[str] | None = None,
    lang: str | None = None,
    overfetch: int = OVERFETCH,
    total: int | None = None,
) -> list[tuple[Chunk, float]]:
    """The n nearest chunks by Chroma's HNSW query, filters applied after it.

    With a filter, asks for ``overfetch * n`` neighbours and keeps the matching ones; if fewer
    than n match (a rare source far from the question), asks again with Chroma's ``where``.
    Ids that are not in ``by_id`` (the snapshot) belong to an unfinished index run and are skipped.
    ``total``: how many vectors the collection holds, if known (else one more call asks; a round trip to a server).
    """
    if n <= 0:
        return []
    query = [np.asarray(vector, dtype=np.float32).tolist()]

    def wanted(c: Chunk) -> bool:
        return (not sources or c.source in sources) and (not lang or c.language == lang)

    def ask(k: int, where: dict[str, Any] | None = None) -> list[tuple[Chunk, float]]:
        res = collection.query(query_embeddings=query, n_results=k, where=where, include=["distances"])
        out = []
        for cid, dist in zip(res["ids"][0], res["distances"][0]):
            chunk = by_id.get(cid)
            if chunk is not None and wanted(chunk):
                out.append((chunk, 1.0 - float(dist)))
        return out

    if not sources and not lang:
        return ask(n)
    total = collection.count() if total is None else total
    found = ask(min(total, overfetch * n))
    if len(found) >= n or overfetch * n >= total:
        return found[:n]
    clauses: list[dict[str, Any]] = []
    if sources:
        clauses.append({"source": {"$in": list(sources)}})
    if lang:
        clauses.append({"language": lang})
    return ask(n, clauses[0] if len(clauses) == 1 else {"$and": clauses})


def _nonzero_rows(matrix: np.ndarray, block: int = 16384) -> np.ndarray:
    """Rows that hold a vector (a zero row: the id was missing from Chroma when cached)."""
    out = np.empty(matrix.shape[0], dtype=bool)
    for lo in range(0, matrix.shape[0], block):
        out[lo : lo + block] = np.any(matrix[lo : lo + block] != 0, axis=1)
    return out


def _cache(path: Path, matrix: np.ndarray) -> np.ndarray:
    """Write the matrix beside the snapshot (atomically) and map it; other cache files go."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            np.save(fh, matrix)
        os.replace(tmp, path)
        for old in path.parent.glob(f"{CACHE_PREFIX}*.npy"):
            if old != path:
                old.unlink(missing_ok=True)
        return np.load(path, mmap_mode="r")
    except OSError as exc:  # a read-only data dir: keep the matrix in memory
        log.warning("Cannot cache the vectors in %s (%s); keeping them in memory", path.parent, type(exc).__name__)
        tmp.unlink(missing_ok=True)
        return matrix
