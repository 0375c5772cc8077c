"""The start-up cache: what a bot derives from the snapshot is pickled beside it and reused."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.dense import CACHE_PREFIX
from bot.retrieval import Retriever
from bot.sources import load_manifest
from bot.query import parse_query
from bot.warmstart import PREFIX, cache_key, settle
from tests.conftest import ROOT, make_settings

QUESTIONS = ["What is a first-of-a-kind facility?", "Welk deel van de Europese cloudmarkt hebben Amerikaanse aanbieders?"]


@pytest.fixture()
def data_copy(small_data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(small_data_dir, target, ignore=shutil.ignore_patterns(f"{CACHE_PREFIX}*", f"{PREFIX}*"))
    return target


def _results(retriever: Retriever) -> list[list[tuple[str, float]]]:
    manifest = load_manifest(retriever.settings.manifest_path)
    out = []
    for question in QUESTIONS:
        results, _ = retriever.search(parse_query(question, manifest))
        out.append([(r.key, round(r.score, 6)) for r in results])
    return out


def _pickles(data: Path) -> list[Path]:
    settle()  # a bot start writes its cache from a forked copy of itself
    return sorted(data.glob(f"index/**/{PREFIX}*.pkl"))  # beside the serving generation's snapshot


def test_the_second_start_loads_what_the_first_derived(data_copy: Path) -> None:
    first = Retriever(make_settings(data_copy))
    expected = _results(first)
    [cache] = _pickles(data_copy)
    again = Retriever(make_settings(data_copy))
    assert _results(again) == expected

    # The cache is what the next start uses: a chunk title changed in it shows up there.
    with cache.open("rb") as fh:
        snapshot, lexical, definitions, titles = pickle.load(fh)
    snapshot.chunks[0].title = "Changed in the cache"
    with cache.open("wb") as fh:
        pickle.dump((snapshot, lexical, definitions, titles), fh)
    assert Retriever(make_settings(data_copy)).snapshot.chunks[0].title == "Changed in the cache"


def test_a_new_snapshot_or_a_damaged_cache_is_derived_again(data_copy: Path) -> None:
    first = Retriever(make_settings(data_copy))
    expected = _results(first)
    [old] = _pickles(data_copy)

    old.write_bytes(b"damaged")
    assert _results(Retriever(make_settings(data_copy))) == expected
    assert _pickles(data_copy) == [old] and old.read_bytes() != b"damaged"

    # A new index run rewrites state.json: a new key, derived from the new files; the old cache goes.
    state = first.snapshot.folder / "state.json"  # the serving generation's
    data = json.loads(state.read_text(encoding="utf-8"))
    data["built_at"] = "2099-01-01T00:00:00+0000"
    state.write_text(json.dumps(data), encoding="utf-8")
    retriever = Retriever(make_settings(data_copy))
    assert retriever.snapshot.state["built_at"] == "2099-01-01T00:00:00+0000"
    [new] = _pickles(data_copy)
    assert new != old and _results(retriever) == expected


def test_a_moved_data_dir_keeps_its_files_in_its_own_folder(data_copy: Path, tmp_path: Path) -> None:
    Retriever(make_settings(data_copy))._vectors()
    moved = tmp_path / "moved"
    shutil.copytree(data_copy, moved)  # the cache came along, with the old folder inside
    shutil.rmtree(data_copy)
    retriever = Retriever(make_settings(moved))
    assert retriever.snapshot.folder.is_relative_to(moved)
    assert _results(retriever)
    key = next(iter(retriever.snapshot.units))
    assert retriever.unit(*key) is not None  # units are read from the moved folder's units.jsonl


def test_an_index_run_leaves_the_next_bot_start_warm(data_copy: Path) -> None:
    """`policybot index` writes the start-up cache and the vector matrix of the generation it made serve."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "index"], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "POLICYBOT_DATA_DIR": str(data_copy)},
    )
    assert proc.returncode == 0, proc.stderr
    [pickled] = _pickles(data_copy)
    folder = pickled.parent
    assert pickled.name == f"{PREFIX}{cache_key(folder)}.pkl"  # current: the next start loads it
    retriever = Retriever(make_settings(data_copy))
    assert retriever.snapshot.folder == folder
    [matrix] = folder.glob(f"{CACHE_PREFIX}*.npy")
    assert isinstance(retriever._vectors().matrix, np.memmap) and Path(retriever._vectors().matrix.filename) == matrix
