"""A snapshot's units are read from units.jsonl when asked for, not held as objects."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from bot.errors import IndexCorruptError
from bot.generations import load_snapshot
from bot.embeddings import get_embedder
from bot.models import Unit
from bot.unitstore import FILE
from bot.warmstart import PREFIX
from tests.conftest import make_settings


@pytest.fixture()
def data_copy(small_data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(small_data_dir, target, ignore=shutil.ignore_patterns(f"{PREFIX}*"))
    return target


def _snapshot(data: Path):  # type: ignore[no-untyped-def]
    settings = make_settings(data)
    return load_snapshot(settings, get_embedder(settings.embeddings, settings).name)


def test_every_unit_reads_back_as_written_and_heads_name_them_all(data_copy: Path) -> None:
    snapshot = _snapshot(data_copy)
    rows = [json.loads(line) for line in (snapshot.folder / FILE).read_text(encoding="utf-8").splitlines() if line]
    keys = [(r["unit"]["source"], r["unit"]["language"], r["unit"]["unit"]) for r in rows]
    assert list(snapshot.units) == keys and set(snapshot.units.heads) == set(keys)
    snapshot.units.limit = 16  # fewer kept parsed than there are: later reads parse again
    for _ in range(2):
        for key, row in zip(keys, rows):
            unit = Unit.model_validate(row["unit"])
            assert snapshot.units[key] == unit
            assert snapshot.units.heads[key] == unit.head
            assert snapshot.unit_versions[key] == row["version"]
    assert snapshot.units.get(("chips-act", "en", "art-999")) is None


def test_the_start_up_cache_holds_where_units_are_not_their_text(data_copy: Path) -> None:
    snapshot = _snapshot(data_copy)
    for key in list(snapshot.units)[:50]:
        snapshot.units[key]  # parsed and kept in memory
    size = (snapshot.folder / FILE).stat().st_size
    assert len(pickle.dumps(snapshot.units)) < size / 4
    again = pickle.loads(pickle.dumps(snapshot.units))
    key = next(iter(snapshot.units))
    assert again[key] == snapshot.units[key]


def test_a_units_file_damaged_after_loading_is_one_clear_error(data_copy: Path) -> None:
    snapshot = _snapshot(data_copy)
    path = snapshot.folder / FILE
    last = list(snapshot.units)[-1]
    path.write_bytes(path.read_bytes()[: snapshot.units.spans[last][0] + 20])  # cut inside the last line
    with pytest.raises(IndexCorruptError) as err:
        snapshot.units[last]
    assert "policybot index" in str(err.value.help or err.value) and "\n" not in err.value.message


def test_a_units_file_damaged_before_loading_is_refused_at_load(data_copy: Path) -> None:
    folder = _snapshot(data_copy).folder
    lines = (folder / FILE).read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3][:-30]
    (folder / FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        _snapshot(data_copy)


def test_units_stay_readable_when_their_generation_folder_is_removed(data_copy: Path) -> None:
    """A swap (or an index run's clean-up) removes an old generation's folder while answers may still read it."""
    snapshot = _snapshot(data_copy)
    keys = list(snapshot.units)
    expected = {key: snapshot.units[key] for key in keys}
    snapshot.units.limit = 1
    moved = data_copy.parent / "elsewhere"
    shutil.move(str(snapshot.folder), moved)  # gone from where it was loaded
    shutil.rmtree(moved)
    assert all(snapshot.units[key] == expected[key] for key in keys)
