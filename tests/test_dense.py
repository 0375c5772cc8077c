"""Dense search: vectors read from the real Chroma in pages, cached as a memory-mapped matrix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.dense import CACHE_PREFIX, DenseMatrix, ann_search, read_vectors
from bot.index import get_collection, load_snapshot, open_client
from bot.query import parse_query
from bot.retrieval import Retriever
from bot.sources import load_manifest
from tests.conftest import make_settings

QUESTIONS = [
    "What is a first-of-a-kind facility?",
    "Welk deel van de Europese cloudmarkt hebben Amerikaanse aanbieders?",
    "Which penalties apply under the Chips Act?",
]


@pytest.fixture()
def data_copy(small_data_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the small indexed corpus, so cache files written here touch no other test."""
    target = tmp_path / "data"
    shutil.copytree(small_data_dir, target, ignore=shutil.ignore_patterns(f"{CACHE_PREFIX}*"))
    return target


def _collection(settings):  # type: ignore[no-untyped-def]
    from bot.embeddings import get_embedder

    snapshot = load_snapshot(settings, get_embedder(settings.embeddings, settings).name)
    return snapshot, get_collection(open_client(settings), snapshot.name, create=False)


def _reference(chunks, matrix, vector, n, sources=None, lang=None):  # type: ignore[no-untyped-def]
    """The previous implementation: one full scan, a stable sort over the snapshot order."""
    v = np.asarray(vector, dtype=np.float32)
    sims = matrix @ (v / np.linalg.norm(v))
    keep = np.array([(not sources or c.source in sources) and (not lang or c.language == lang) for c in chunks])
    sims = np.where(keep, sims, -np.inf)
    top = np.argsort(-sims, kind="stable")[:n]
    return [(chunks[i].id, round(float(sims[i]), 5)) for i in top if np.isfinite(sims[i])]


def test_pages_of_seven_read_the_same_vectors_as_one_page(data_copy: Path) -> None:
    settings = make_settings(data_copy)
    snapshot, collection = _collection(settings)
    ids = [c.id for c in snapshot.chunks]
    assert len(ids) > 7 * 10  # many pages, a short last one
    one, found_one = read_vectors(collection, ids, page_size=len(ids))
    paged, found_paged = read_vectors(collection, ids, page_size=7)
    assert found_one.all() and found_paged.all()
    assert one.shape == paged.shape and one.shape[1] >= 16
    assert np.array_equal(one, paged)
    assert np.allclose(np.linalg.norm(paged, axis=1), 1.0, atol=1e-5)


def test_more_ids_than_sqlite_allows_in_one_query(data_copy: Path) -> None:
    """40,000 ids (SQLite takes at most 32,766 variables a query): in pages they load, missing ids marked."""
    settings = make_settings(data_copy)
    snapshot, collection = _collection(settings)
    real = [c.id for c in snapshot.chunks]
    ids = [f"absent-{i}" for i in range(20_000)] + real + [f"absent-{i}" for i in range(20_000, 40_000)]
    matrix, found = read_vectors(collection, ids, page_size=5000)
    assert found.sum() == len(real) and found[20_000 : 20_000 + len(real)].all()
    assert not matrix[~found].any()
    expected, _ = read_vectors(collection, real, page_size=len(real))
    assert np.array_equal(matrix[found], expected)


def test_retriever_with_page_size_seven_matches_one_page(data_copy: Path) -> None:
    small = Retriever(make_settings(data_copy, dense_page_size=7))
    for path in data_copy.glob(f"index/**/{CACHE_PREFIX}*"):
        path.unlink()  # the next retriever reads Chroma itself, in one page
    big = Retriever(make_settings(data_copy, dense_page_size=30000))
    manifest = load_manifest(small.settings.manifest_path)
    for question in QUESTIONS:
        q = parse_query(question, manifest)
        for sources, lang in [(None, None), (["chips-act"], None), (None, "nl"), (["sovereignty-article"], "nl")]:
            a = [(c.id, round(s, 5)) for c, s in small.dense(q, 40, sources, lang)]
            b = [(c.id, round(s, 5)) for c, s in big.dense(q, 40, sources, lang)]
            assert a == b and a
        assert [r.key for r in small.search(q)[0]] == [r.key for r in big.search(q)[0]]


def test_search_matches_a_full_sorted_scan(data_copy: Path) -> None:
    """Blocks per (source, language) and argpartition give what one stable sort over everything gives."""
    settings = make_settings(data_copy)
    snapshot, collection = _collection(settings)
    dense = DenseMatrix.load(collection, snapshot.name, snapshot.chunks, None, page_size=50)
    full, _ = read_vectors(collection, [c.id for c in snapshot.chunks], page_size=50)
    retriever = Retriever(settings)
    for question in QUESTIONS:
        vector = retriever.embedder.embed_query(question)
        for n in (1, 5, 40, 10_000):
            for sources, lang in [
                (None, None),
                (["chips-act"], None),
                (["chips-act", "sovereignty-article"], "en"),
                (None, "nl"),
                (["no-such-source"], None),
            ]:
                got = [(c.id, round(s, 5)) for c, s in dense.search(vector, n, sources, lang)]
                assert got == _reference(snapshot.chunks, full, vector, n, sources, lang)
    assert dense.search(vector, 5, None, "fr") == []
    assert dense.search(vector, 5, ["chips-act"], "nl") == []  # a source with no text in that language


def test_a_scan_split_across_threads_matches_a_full_sorted_scan(data_copy: Path) -> None:
    """Past PARALLEL_ROWS rows the products run on several threads: the same similarities, the same ranking."""
    from bot.dense import PARALLEL_ROWS

    settings = make_settings(data_copy)
    snapshot, collection = _collection(settings)
    real, _ = read_vectors(collection, [c.id for c in snapshot.chunks])
    copies = PARALLEL_ROWS // len(snapshot.chunks) + 2
    rng = np.random.default_rng(3)
    chunks = [c if k == 0 else c.model_copy(update={"id": f"{c.id}~{k}", "source": f"{c.source}~{k % 3}"})
              for k in range(copies) for c in snapshot.chunks]
    matrix = np.concatenate([real + (rng.standard_normal(real.shape) * 0.01 if k else 0) for k in range(copies)]).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    order = DenseMatrix.order(chunks)
    dense = DenseMatrix([chunks[i] for i in order], matrix[order], np.ones(len(chunks), dtype=bool), order)
    assert len(chunks) > PARALLEL_ROWS
    vector = Retriever(settings).embedder.embed_query(QUESTIONS[0])
    for sources, lang in [(None, None), (["chips-act~1", "chips-act~2"], None), (None, "en")]:
        got = [(c.id, round(s, 5)) for c, s in dense.search(vector, 50, sources, lang)]
        assert got == _reference(chunks, matrix, vector, 50, sources, lang)


def test_the_matrix_is_cached_memory_mapped_and_rebuilt_when_the_index_changes(data_copy: Path) -> None:
    settings = make_settings(data_copy)
    snapshot, collection = _collection(settings)
    first = DenseMatrix.load(collection, snapshot.name, snapshot.chunks, snapshot.folder)
    cached = list(snapshot.folder.glob(f"{CACHE_PREFIX}*.npy"))
    assert len(cached) == 1
    second = DenseMatrix.load(collection, snapshot.name, snapshot.chunks, snapshot.folder)
    assert isinstance(second.matrix, np.memmap)
    assert np.array_equal(np.asarray(first.matrix), np.asarray(second.matrix))
    assert [c.id for c in first.chunks] == [c.id for c in second.chunks]

    # A different set of chunks (as after a new index run) gets its own file; the old one goes.
    fewer = snapshot.chunks[:-3]
    third = DenseMatrix.load(collection, snapshot.name, fewer, snapshot.folder)
    now = list(snapshot.folder.glob(f"{CACHE_PREFIX}*.npy"))
    assert len(now) == 1 and now != cached and len(third.chunks) == len(fewer)

    # A damaged cache file is ignored and replaced. (Written as a new file: truncating a file that a
    # live map reads would kill this process with SIGBUS, which is why the cache is only ever replaced.)
    damaged = now[0].with_name("damaged")
    damaged.write_bytes(b"not a numpy file")
    damaged.replace(now[0])
    fourth = DenseMatrix.load(collection, snapshot.name, fewer, snapshot.folder)
    assert np.array_equal(np.asarray(fourth.matrix), np.asarray(third.matrix))
    assert isinstance(DenseMatrix.load(collection, snapshot.name, fewer, snapshot.folder).matrix, np.memmap)


def test_a_chunk_missing_from_chroma_is_never_returned(data_copy: Path) -> None:
    settings = make_settings(data_copy)
    snapshot, collection = _collection(settings)
    gone = snapshot.chunks[0]
    collection.delete(ids=[gone.id])
    dense = DenseMatrix.load(collection, snapshot.name, snapshot.chunks, snapshot.folder)
    again = DenseMatrix.load(collection, snapshot.name, snapshot.chunks, snapshot.folder)  # from the cache
    vector = np.asarray(collection.get(ids=[snapshot.chunks[1].id], include=["embeddings"])["embeddings"][0])
    for d in (dense, again):
        hits = d.search(vector, len(snapshot.chunks))
        assert hits[0][0].id == snapshot.chunks[1].id
        assert gone.id not in {c.id for c, _ in hits} and len(hits) == len(snapshot.chunks) - 1


def test_hnsw_with_filters_after_the_query_finds_what_the_exact_scan_finds(data_copy: Path) -> None:
    """'ann' mode: unfiltered HNSW neighbours filtered here, and Chroma's `where` when too few match."""
    exact = Retriever(make_settings(data_copy))
    ann = Retriever(make_settings(data_copy, dense_search="ann"))
    manifest = load_manifest(exact.settings.manifest_path)
    for question in QUESTIONS:
        q = parse_query(question, manifest)
        for n, sources, lang in [(20, None, None), (20, ["chips-act"], "en"), (5, None, "nl"), (30, ["sovereignty-article"], None)]:
            a = [c.id for c, _ in ann.dense(q, n, sources, lang)]
            b = [c.id for c, _ in exact.dense(q, n, sources, lang)]
            assert a == b and len(a) == n
    # A source far from the question: none of the 30 unfiltered neighbours is the article's, so
    # Chroma's `where` filter finds its 30 nearest.
    vector = exact.embedder.embed_query("What is a first-of-a-kind facility?")
    unfiltered = ann_search(ann.collection, ann.by_id, vector, 30)
    assert all(c.source == "chips-act" for c, _ in unfiltered)
    got = ann_search(ann.collection, ann.by_id, vector, 30, ["sovereignty-article"], overfetch=1)
    assert [c.id for c, _ in got] == [c.id for c, _ in exact._vectors().search(vector, 30, ["sovereignty-article"])]
    assert ann_search(ann.collection, ann.by_id, vector, 30, ["sovereignty-article"], "en") == []
