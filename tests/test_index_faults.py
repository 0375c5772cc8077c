"""The index under damage, through the CLI: a killed rebuild, two runs at once, missing vectors,
a damaged Chroma segment, a lost snapshot. The last good state serves, or one line names the repair."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT

QUESTION = "Which support can a first-of-a-kind facility get?"
ARTICLE_QUESTION = "Welk deel van de Europese cloudmarkt hebben Amerikaanse aanbieders?"


def _env(data: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "POLICYBOT_DATA_DIR": str(data), **extra}


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=_env(data), capture_output=True, text=True, timeout=600
    )


class Running:
    """A CLI process whose stderr is collected as it comes (the progress bar shows work)."""

    def __init__(self, data: Path, *args: str) -> None:
        # TTY_COMPATIBLE makes rich draw the progress bar into the pipe.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=ROOT,
            env=_env(data, TTY_COMPATIBLE="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(4096):  # type: ignore[attr-defined]
            self.err += chunk

    def wait_for(self, what: str, seen: Callable[[str], bool], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not seen(self.stderr):
            if self.proc.poll() is not None:
                self._reader.join(5)
                if seen(self.stderr):
                    return
                pytest.fail(f"the process ended before {what}: {self.stderr[-500:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {what} within {timeout} s: {self.stderr[-500:]}")
            time.sleep(0.1)

    @property
    def stderr(self) -> str:
        return " ".join(_plain(self.err.decode("utf-8", "replace")).split())

    def finish(self) -> tuple[int, str, str]:
        out, _ = self.proc.communicate(timeout=600)
        self._reader.join(5)
        return self.proc.returncode, " ".join(_plain(out.decode()).split()), self.stderr


def _plain(text: str) -> str:
    """Without the terminal's colour and cursor codes."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _embedded(stderr: str) -> int:
    """The most chunks the progress bar has shown as done."""
    return max((int(m.group(1)) for m in re.finditer(r"(\d+)/\d+", stderr)), default=0)


def _store(data: Path):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))


def _ask(data: Path, question: str = QUESTION) -> dict:  # type: ignore[type-arg]
    proc = _cli(data, "ask", question, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _ranked(answer: dict) -> list[tuple[str, float]]:  # type: ignore[type-arg]
    return [(r["chunk"]["id"], round(r["dense"] or 0.0, 5)) for r in answer["retrieved"]]


def _indexed_chunks(data: Path) -> int:
    proc = _cli(data, "sources", "--json")
    assert proc.returncode == 0, proc.stderr
    return sum(r["chunks"] or 0 for r in json.loads(proc.stdout))


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
    line = proc.stderr.strip().splitlines()[0]
    assert line.startswith("Error: "), proc.stderr
    return line


@pytest.fixture(scope="module")
def article_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with only the bundled ABN AMRO article, synced and indexed (24 chunks)."""
    data = tmp_path_factory.mktemp("article") / "data"
    assert _cli(data, "sync", "--source", "sovereignty-article").returncode == 0
    proc = _cli(data, "index")
    assert proc.returncode == 0, proc.stderr
    return data


def _drop_caches(data: Path) -> None:
    for cache in [*data.glob("index/**/vectors-*.npy"), *data.glob("index/**/warm-*.pkl")]:
        cache.unlink()


def _copy(src: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(src, data)
    return data


def test_a_killed_rebuild_leaves_the_whole_previous_index_serving(small_data_dir: Path, tmp_path: Path) -> None:
    data = _copy(small_data_dir, tmp_path)
    before = _ask(data)
    total = _indexed_chunks(data)

    run = Running(data, "index", "--rebuild")
    run.wait_for("embedding progress", lambda err: _embedded(err) >= 16)
    run.proc.kill()
    run.finish()

    after = _ask(data)
    assert _ranked(after) == _ranked(before)  # the same answer, from every vector
    assert after["text"] == before["text"]
    counts = [c.count() for c in _store(data).list_collections()]
    assert max(counts) >= total, counts  # the collection that serves was left whole

    proc = _cli(data, "index")  # the next run carries on from the serving index and drops the partial one
    assert proc.returncode == 0, proc.stderr
    assert "0 embedded" in proc.stdout
    assert len(_store(data).list_collections()) == 1
    assert _ranked(_ask(data)) == _ranked(before)


def test_a_second_index_run_waits_for_the_first(small_data_dir: Path, tmp_path: Path) -> None:
    data = _copy(small_data_dir, tmp_path)
    first = Running(data, "index", "--rebuild")
    first.wait_for("embedding progress", lambda err: _embedded(err) >= 16)
    second = Running(data, "index")
    second.wait_for("a line saying it waits", lambda err: "waiting for it to finish" in err)
    assert _embedded(second.stderr) == 0  # it embeds nothing while the first run holds the data dir
    first.proc.kill()  # its lock goes with it
    first.finish()
    code, out, err = second.finish()
    assert code == 0, err
    assert "0 embedded" in out  # the serving index was complete: nothing to do
    assert not list((data / "index").rglob("*.tmp"))
    _ask(data)


def test_a_chunk_without_its_vector_is_refused_and_a_plain_index_repairs_it(article_data: Path, tmp_path: Path) -> None:
    data = _copy(article_data, tmp_path)
    [collection] = _store(data).list_collections()
    ids = collection.get(include=[])["ids"]
    collection.delete(ids=ids[:3])

    # Exact search serves from the matrix cached beside the snapshot (written by the index run) and never
    # reads the store: that bot keeps answering, whole. A start without the cache reads the store and refuses.
    assert list(data.glob("index/**/vectors-*.npy"))
    assert _ask(data, ARTICLE_QUESTION)["citations"]
    _drop_caches(data)
    line = _one_error_line(_cli(data, "ask", ARTICLE_QUESTION))
    assert f"3 of {len(ids)} chunks have no vector" in line
    assert "`policybot index`" in line and "--rebuild" not in line

    proc = _cli(data, "index")
    assert proc.returncode == 0, proc.stderr
    assert "3 embedded" in proc.stdout
    assert _ask(data, ARTICLE_QUESTION)["citations"]


def test_a_damaged_vector_segment_is_one_line_naming_the_folder_and_the_repair(article_data: Path, tmp_path: Path) -> None:
    data = _copy(article_data, tmp_path)
    [collection] = _store(data).list_collections()
    dim = len(collection.get(limit=1, include=["embeddings"])["embeddings"][0])
    # Chroma writes a collection's vectors to its segment files past ~1,000 of them (the full corpus
    # has 4,677); pad this small one so that its segment is on disk, then damage the segment.
    for i in range(0, 1100, 100):
        collection.add(ids=[f"pad-{j}" for j in range(i, i + 100)], embeddings=[[0.01 * (j % 7 + 1)] * dim for j in range(i, i + 100)])
    segments = [p for p in (data / "chroma").iterdir() if (p / "data_level0.bin").exists()]
    assert segments and all((p / "index_metadata.pickle").exists() for p in segments)
    for segment in segments:
        (segment / "data_level0.bin").unlink()
    _drop_caches(data)  # a bot start that reads the vectors from the store (see the test above)

    for args in (("ask", ARTICLE_QUESTION), ("index",)):
        line = _one_error_line(_cli(data, *args))
        assert str(data / "chroma") in line and "`policybot index --rebuild`" in line, line

    proc = _cli(data, "index", "--rebuild")
    assert proc.returncode == 0, proc.stderr
    assert _ask(data, ARTICLE_QUESTION)["citations"]


def test_a_lost_snapshot_names_the_plain_index_as_repair(article_data: Path, tmp_path: Path) -> None:
    data = _copy(article_data, tmp_path)
    [chunks] = list((data / "index").rglob("chunks.jsonl"))
    chunks.write_text("{not json", encoding="utf-8")

    line = _one_error_line(_cli(data, "ask", ARTICLE_QUESTION))
    assert str(chunks.parent) in line and "`policybot index`" in line and "--rebuild" not in line

    proc = _cli(data, "index")
    assert proc.returncode == 0, proc.stderr
    assert "0 embedded" in proc.stdout  # rewritten from the stored vectors
    assert _ask(data, ARTICLE_QUESTION)["citations"]


def test_a_data_dir_indexed_before_generations_still_serves(article_data: Path, tmp_path: Path) -> None:
    """The layout policybot wrote before: the snapshot in index/<name>/, the collection named <name>."""
    data = _copy(article_data, tmp_path)
    pointer = next((data / "index").rglob("current.json"))
    served = json.loads(pointer.read_text(encoding="utf-8"))
    base = pointer.parent
    for name in ("chunks.jsonl", "units.jsonl", "state.json"):
        shutil.move(base / f"g{served['generation']}" / name, base / name)
    shutil.rmtree(base / f"g{served['generation']}")
    pointer.unlink()
    client = _store(data)
    old = client.get_collection(served["collection"])
    got = old.get(include=["embeddings", "documents", "metadatas"])
    legacy = client.create_collection(base.name, metadata={"hnsw:space": "cosine"})
    legacy.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"], metadatas=got["metadatas"])
    client.delete_collection(served["collection"])

    assert _ask(data, ARTICLE_QUESTION)["citations"]
    proc = _cli(data, "index")
    assert proc.returncode == 0, proc.stderr
    assert "0 embedded" in proc.stdout  # carried on in the old collection
    assert _ask(data, ARTICLE_QUESTION)["citations"]
