"""Index generations kept in a real PostgreSQL, served from a real `chroma run` server to bot hosts with no shared disk.

One indexer (its own data dir, the real CLI in another process) and two replicas (each an Assistant with its
own empty data dir, and nothing but the database URL and the Chroma server in its settings). A new generation
is published while both replicas answer questions: none fails, and both serve the new text within 60 s.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import MIRROR, ROOT, make_settings, needs_mirror

pytestmark = needs_mirror

MARK = "sexdecillion"  # in no text of the corpus
SENTENCE = "This Regulation establishes a framework for strengthening the semiconductor ecosystem at Union level"
QUESTION = "What does the Chips Act establish?"


def _marked_mirror(tmp: Path) -> Path:
    mirror = tmp / "mirror"
    (mirror / "chips-act").mkdir(parents=True)
    text = (MIRROR / "chips-act" / "chips-act.md").read_text(encoding="utf-8")
    (mirror / "chips-act" / "chips-act.md").write_text(
        text.replace(SENTENCE, f"{SENTENCE}, also known as the {MARK} framework,", 1), encoding="utf-8")
    return mirror


def _cli(data: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "POLICYBOT_DATA_DIR": str(data), "ANONYMIZED_TELEMETRY": "False", **env})
    assert done.returncode == 0, done.stderr[-2000:]


def _serves_mark(assistant) -> bool:  # type: ignore[no-untyped-def]
    return any(MARK in c.text for c in assistant.retriever.snapshot.chunks)


def test_two_replicas_swap_to_a_generation_published_in_the_database(tmp_path: Path, pg_url: str, chroma_server: int) -> None:
    from sqlalchemy import create_engine, text

    from bot.assistant import Assistant
    from bot.metrics import read_watch_run
    from bot.serving import GenerationWatcher

    shared = {"POLICYBOT_DATABASE_URL": pg_url, "POLICYBOT_CHROMA_HOST": "127.0.0.1",
              "POLICYBOT_CHROMA_PORT": str(chroma_server)}
    indexer = tmp_path / "indexer"
    _cli(indexer, shared, "sync", "--mirror", str(MIRROR), "--source", "chips-act")
    _cli(indexer, shared, "index")

    replicas = [Assistant(make_settings(tmp_path / f"bot-{i}", database_url=pg_url, chroma_host="127.0.0.1",
                                        chroma_port=chroma_server)) for i in (1, 2)]
    for bot in replicas:
        first = bot.ask(QUESTION, mode="extractive")
        assert not first.abstained and first.citations and first.citations[0].source == "chips-act", first.text
        assert not (bot.settings.data_dir / "versions").exists()  # nothing synced on a bot host
    old = {int(bot.retriever.snapshot.state["generation"]) for bot in replicas}
    assert len(old) == 1
    old_collection = replicas[0].retriever.snapshot.name
    watchers = [GenerationWatcher(bot, interval=0.5).start() for bot in replicas]

    failures: list[str] = []
    asked = [0, 0]
    stop = threading.Event()

    def ask(i: int) -> None:
        while not stop.is_set():
            try:
                answer = replicas[i].ask(QUESTION, mode="extractive")
                if answer.abstained or not answer.citations:
                    failures.append(f"replica {i + 1}: no answer: {answer.text[:80]}")
                asked[i] += 1
            except Exception as exc:  # noqa: BLE001 - the test records every failure
                failures.append(f"replica {i + 1}: {type(exc).__name__}: {exc}")

    askers = [threading.Thread(target=ask, args=(i,)) for i in (0, 1)]
    for t in askers:
        t.start()
    try:
        # what the scheduled indexer runs: sync (this mirror holds only the Chips Act), index, record the run
        _cli(indexer, shared, "watch", "--once", "--mirror", str(_marked_mirror(tmp_path)))
        published_at = time.monotonic()
        while time.monotonic() - published_at < 60 and not all(_serves_mark(bot) for bot in replicas):
            time.sleep(0.2)
    finally:
        stop.set()
        for t in askers:
            t.join()
        for w in watchers:
            w.stop()
    assert all(_serves_mark(bot) for bot in replicas), [w.last_error for w in watchers]
    assert not failures, failures[:3]
    assert min(asked) > 0 and [w.swaps for w in watchers] == [1, 1]
    new = {int(bot.retriever.snapshot.state["generation"]) for bot in replicas}
    assert len(new) == 1 and new.pop() > old.pop()
    lexical = replicas[1].retriever.lexical["en"]  # BM25 came with the generation: mapped, not rebuilt
    assert isinstance(lexical.model.scores["data"], np.memmap) and str(lexical.model.scores["data"].filename).startswith(str(replicas[1].settings.data_dir))
    answer = replicas[1].ask(f"What is the {MARK} framework?", mode="extractive")
    assert any(MARK in c.quote for c in answer.citations), answer.text

    run = read_watch_run(replicas[0].settings)  # written by the indexer, read on a bot host
    assert run is not None and run["synced"] > 0 and run["last_ok"] is False  # the other acts are not in this mirror

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        pointer = conn.execute(text("SELECT generation, collection, previous_collection FROM index_pointer")).one()
        numbers = conn.execute(text("SELECT number FROM index_generations ORDER BY number")).scalars().all()
    engine.dispose()
    assert pointer.collection == replicas[0].retriever.snapshot.name != old_collection
    assert pointer.previous_collection == old_collection  # kept through the grace period
    assert len(numbers) == 2


def test_index_runs_on_postgresql_take_turns(pg_url: str, tmp_path: Path) -> None:
    from bot.published import advisory_lock

    settings = make_settings(tmp_path, database_url=pg_url)
    order: list[str] = []
    waited: list[str] = []
    first_holds = threading.Event()

    def second() -> None:
        first_holds.wait()
        with advisory_lock(settings, "pb-test", on_wait=waited.append) as held:
            assert held
            order.append("second")

    t = threading.Thread(target=second)
    t.start()
    with advisory_lock(settings, "pb-test") as held:
        assert held
        first_holds.set()
        deadline = time.monotonic() + 10
        while not waited and time.monotonic() < deadline:
            time.sleep(0.05)
        order.append("first")
    t.join(timeout=20)
    assert order == ["first", "second"]
    assert waited and "another `policybot index`" in waited[0] and "s3cret" not in waited[0]


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
@pytest.mark.parametrize("grace", [0.0, 3600.0])
def test_old_generations_are_pruned_after_the_grace_period(request: pytest.FixtureRequest, tmp_path: Path, grace: float,
                                                           database: str) -> None:
    from bot.published import collections, fetch_blobs, materialize, prune, publish, read_pointer, state_of

    from sqlalchemy import create_engine, text

    from bot.published import PART

    url = request.getfixturevalue("pg_url") if database == "postgresql" else f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    settings = make_settings(tmp_path, database_url=url)
    rng = np.random.default_rng(7)
    matrices = {n: rng.bytes(PART + 1000 * n) for n in (1, 2, 3)}  # two parts each
    for number in (1, 2, 3):
        folder = tmp_path / f"g{number}"
        folder.mkdir()
        (folder / "chunks.jsonl").write_text(f"chunks of {number}\n", encoding="utf-8")
        (folder / "bm25-en.vocab.json").write_text(f'{{"word{number}": 0}}', encoding="utf-8")  # the lexical index travels
        (folder / "lexicon.json").write_text(f'{{"nl>en": {{"woord{number}": ["word"]}}}}', encoding="utf-8")  # and the lexicon
        (folder / "warm-0123.pkl").write_bytes(b"this host's own cache")  # host caches do not
        (folder / f"vectors-{number}.npy").write_bytes(matrices[number])  # the matrix does, in parts
        (folder / "state.json").write_text(f'{{"generation": {number}}}', encoding="utf-8")
        publish(settings, "pb-x", number, f"pb-x-g{number}", folder, f"pb-x-g{number - 1}" if number > 1 else None)
    pointer = read_pointer(settings, "pb-x")
    assert pointer is not None and (pointer.number, pointer.collection, pointer.previous_collection) == (3, "pb-x-g3", "pb-x-g2")
    gone = prune(settings, "pb-x", keep={3, 2}, grace=grace)
    if grace:
        assert gone == [] and collections(settings, "pb-x") == {"pb-x-g1", "pb-x-g2", "pb-x-g3"}
    else:
        assert gone == ["pb-x-g1"] and collections(settings, "pb-x") == {"pb-x-g2", "pb-x-g3"}
        assert state_of(settings, "pb-x", 1) is None
    # A file stored gzipped, as policybot did before session 8, reads the same.
    engine = create_engine(url)
    with engine.begin() as conn:
        stored = conn.execute(text("SELECT data FROM generation_files WHERE name = 'pb-x' AND number = 3 "
                                   "AND file = 'chunks.jsonl'")).scalar()
        assert bytes(stored)[:4] == b"\x28\xb5\x2f\xfd"  # zstd now
        conn.execute(text("UPDATE generation_files SET data = :d WHERE name = 'pb-x' AND number = 3 AND file = 'chunks.jsonl'"),
                     {"d": gzip.compress(b"chunks of 3\n")})
    engine.dispose()
    host = tmp_path / "host" / "g3"
    assert materialize(settings, "pb-x", 3, host)
    assert (host / "chunks.jsonl").read_text(encoding="utf-8") == "chunks of 3\n"
    assert (host / "bm25-en.vocab.json").read_text(encoding="utf-8") == '{"word3": 0}'
    assert (host / "lexicon.json").read_text(encoding="utf-8") == '{"nl>en": {"woord3": ["word"]}}'
    assert not list(host.glob("warm-*")) and not list(host.glob("vectors-*"))
    assert not materialize(settings, "pb-x", 3, host)  # already complete here
    assert fetch_blobs(settings, "pb-x", 3, host) == ["vectors-3.npy"]  # the matrix comes on its own
    assert [p.name for p in host.glob("vectors-*")] == ["vectors-3.npy"]
    assert (host / "vectors-3.npy").read_bytes() == matrices[3]
    assert fetch_blobs(settings, "pb-x", 3, host) == []  # already here
    engine = create_engine(url)
    with engine.connect() as conn:
        parts = conn.execute(text("SELECT number, count(*) FROM generation_blobs WHERE name = 'pb-x' GROUP BY number")).all()
    engine.dispose()
    assert dict(parts) == ({1: 2, 2: 2, 3: 2} if grace else {2: 2, 3: 2})


def test_a_new_bot_host_maps_the_published_matrix_and_reads_no_vector_from_chroma(
        tmp_path: Path, pg_url: str, chroma_server: int) -> None:
    from sqlalchemy import create_engine, text

    from bot.assistant import Assistant
    from bot.warmstart import settle
    from tests.conftest import free_port

    shared = {"POLICYBOT_DATABASE_URL": pg_url, "POLICYBOT_CHROMA_HOST": "127.0.0.1",
              "POLICYBOT_CHROMA_PORT": str(chroma_server)}
    indexer = tmp_path / "indexer"
    _cli(indexer, shared, "sync", "--mirror", str(MIRROR), "--source", "chips-act")
    _cli(indexer, shared, "index")
    published_matrix = sorted(indexer.glob("index/*/g*/vectors-*.npy"))
    assert len(published_matrix) == 1

    # Nothing listens on this host's Chroma port: exact search serves from the matrix the database holds.
    host = Assistant(make_settings(tmp_path / "host", database_url=pg_url, chroma_host="127.0.0.1", chroma_port=free_port()))
    answer = host.ask(QUESTION, mode="extractive")
    assert not answer.abstained and answer.citations and answer.citations[0].source == "chips-act", answer.text
    mapped = sorted((tmp_path / "host").glob("index/*/g*/vectors-*.npy"))
    assert [p.name for p in mapped] == [published_matrix[0].name]
    assert mapped[0].read_bytes() == published_matrix[0].read_bytes()
    settle()  # written by a forked copy of the host
    assert len(list((tmp_path / "host").glob("index/*/g*/warm-*.pkl"))) == 1  # its next start is a warm one

    # A host stopped while it fetched the matrix (its snapshot complete, the matrix not): the next start fetches it.
    mapped[0].unlink()
    restarted = Assistant(make_settings(tmp_path / "host", database_url=pg_url, chroma_host="127.0.0.1", chroma_port=free_port()))
    assert [c.unit for c in restarted.ask(QUESTION, mode="extractive").citations] == [c.unit for c in answer.citations]
    assert mapped[0].read_bytes() == published_matrix[0].read_bytes()
    dense = host.retriever._vectors().search(host.retriever.embedder.embed_query(QUESTION), 5)
    assert len(dense) == 5 and all(c.source == "chips-act" for c, _ in dense)

    # A generation published without its matrix (an older policybot, or a part lost): the host reads Chroma.
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation_blobs"))
    engine.dispose()
    other = Assistant(make_settings(tmp_path / "other", database_url=pg_url, chroma_host="127.0.0.1", chroma_port=chroma_server))
    again = other.ask(QUESTION, mode="extractive")
    assert [c.unit for c in again.citations] == [c.unit for c in answer.citations]
    assert [p.read_bytes() for p in (tmp_path / "other").glob("index/*/g*/vectors-*.npy")] == [published_matrix[0].read_bytes()]
