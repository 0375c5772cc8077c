"""Shared state (bot.state) on SQLite and on a real PostgreSQL: the stores, two replicas, migrations, errors.

"Two replicas" are two engines on the same database: in this process, the same
URL with a different ``application_name`` (PostgreSQL) or ``timeout`` (SQLite)
gets its own engine and connection pool; across processes, each process makes
its own. Nothing is mocked: PostgreSQL is the server tests/pg.py starts.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, inspect, text

from bot.models import Answer, Citation
from bot.slack.dedupe import EventDeduper
from bot.slack.feedback import FeedbackStore, list_feedback
from bot.slack.healthcheck import Health
from bot.slack.threads import ThreadRegistry
from bot.state import HEAD, StoreError, open_state
from bot.state.migrate import alembic_config, upgrade
from bot.state.schema import seen_events
from bot.tracking.digest import _claim, _finish, posted_ids
from conftest import make_settings
from pg import PASSWORD


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'state.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


def replica(url: str, name: str) -> str:
    """The same database under a URL of its own, so this process makes a separate engine for it."""
    if url.startswith("sqlite"):
        return f"{url}?timeout={30 + sum(map(ord, name)) % 50}"
    return f"{url}?application_name={name}"


def answer(text_: str = "Social scoring is banned [1].") -> Answer:
    citation = Citation(n=1, source="ai-act", unit="art-5", ref="Article 5(1)", title="Prohibited AI practices",
                        url="https://eur-lex.europa.eu/eli/reg/2024/1689/oj", quote="The following AI practices …")
    return Answer(question="What does the AI Act ban?", text=text_, citations=[citation], mode="extractive")


# -- the stores, on both databases --------------------------------------------------------------


def test_claim_done_release(url: str, tmp_path: Path) -> None:
    dedupe = EventDeduper(tmp_path, database_url=url)
    assert dedupe.claim("Ev1") is True and dedupe.claim("Ev1") is False
    dedupe.done("Ev1")
    assert dedupe.claim("Ev1") is False
    assert dedupe.claim("Ev2") is True
    dedupe.release("Ev2")
    assert dedupe.claim("Ev2") is True  # Slack's next delivery is answered
    assert not (tmp_path / "slack_state.sqlite3").exists()  # the URL, not the data dir


def test_a_second_replica_drops_what_the_first_claimed_or_answered(url: str, tmp_path: Path) -> None:
    a = EventDeduper(tmp_path / "a", database_url=replica(url, "a"))
    b = EventDeduper(tmp_path / "b", database_url=replica(url, "b"))
    assert a.claim("Ev1") is True
    assert b.claim("Ev1") is False  # being answered by a
    b.release("Ev1")  # not b's claim: nothing happens
    assert b.claim("Ev1") is False
    a.done("Ev1")
    assert b.claim("Ev1") is False  # answered
    assert a.claim("Ev2") is True
    a.release("Ev2")  # a could not answer it
    assert b.claim("Ev2") is True  # b answers the next delivery
    assert a.claim("Ev2") is False


def test_a_stale_claim_is_taken_over_and_a_fresh_one_is_not(url: str, tmp_path: Path) -> None:
    db = open_state(url, tmp_path / "unused")
    with db.engine.begin() as conn:  # a replica that died mid-answer 10 minutes ago
        conn.execute(insert(seen_events).values(event_id="EvDEAD", state="claimed", owner="gone:1:x",
                                                claimed_at=time.time() - 600, updated_at=time.time() - 600))
    a = EventDeduper(tmp_path / "a", database_url=replica(url, "a"), claim_ttl=120)
    b = EventDeduper(tmp_path / "b", database_url=replica(url, "b"), claim_ttl=120)
    assert a.claim("EvDEAD") is True  # older than the TTL: taken over
    assert b.claim("EvDEAD") is False  # now a's, and fresh
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT state, owner FROM seen_events WHERE event_id = 'EvDEAD'")).one()
    assert tuple(row) == ("claimed", a.owner)


def test_a_thread_registered_by_one_replica_is_known_by_the_other(url: str, tmp_path: Path) -> None:
    a = ThreadRegistry(tmp_path / "a", database_url=replica(url, "a"))
    b = ThreadRegistry(tmp_path / "b", database_url=replica(url, "b"))
    assert b.knows("C1", "1700000001.000100") is False
    a.add("C1", "1700000001.000100")
    a.add("C1", "1700000001.000100")  # twice: no error
    assert b.knows("C1", "1700000001.000100") is True and b.knows("C2", "1700000001.000100") is False


def test_feedback_recorded_through_one_replica_and_voted_through_the_other(url: str, tmp_path: Path) -> None:
    a = FeedbackStore(tmp_path / "a", database_url=replica(url, "a"))
    b = FeedbackStore(tmp_path / "b", database_url=replica(url, "b"))
    answer_id = a.remember(answer())
    assert b.record(answer_id, "up", user_id="U1", channel_id="C1") is True
    assert b.record("0123456789abcdef", "down", user_id="U1", channel_id="C1") is False  # unknown answer
    rows = list_feedback(make_settings(tmp_path / "c", database_url=url))
    assert [(r["answer_id"], r["vote"], r["user_id"], r["channel_id"]) for r in rows] == [(answer_id, "up", "U1", "C1")]
    assert rows[0]["question"] == "What does the AI Act ban?" and rows[0]["citations"][0]["ref"] == "Article 5(1)"
    assert a.list() == rows


def test_the_digest_is_claimed_by_one_watcher_only(url: str, tmp_path: Path) -> None:
    first = make_settings(tmp_path / "a", database_url=replica(url, "a"))
    second = make_settings(tmp_path / "b", database_url=replica(url, "b"))
    assert _claim(first, "cs-1", "C0DIGEST") is True
    assert _claim(second, "cs-1", "C0DIGEST") is False
    _finish(first, "cs-1", None)  # Slack refused it: the claim is dropped
    assert _claim(second, "cs-1", "C0DIGEST") is True
    _finish(second, "cs-1", "1700000009.000100")
    assert posted_ids(first) == {"cs-1"} and _claim(first, "cs-1", "C0DIGEST") is False


def test_listing_feedback_never_creates_or_migrates(pg_url: str, tmp_path: Path) -> None:
    assert list_feedback(make_settings(tmp_path, database_url=pg_url)) == []
    with create_engine(pg_url).connect() as conn:
        assert inspect(conn).get_table_names() == []


# -- migrations ---------------------------------------------------------------------------------


def test_migrations_are_idempotent_and_head_is_known(url: str, tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD
    first = open_state(replica(url, "a"), tmp_path / "unused")
    open_state(replica(url, "b"), tmp_path / "unused")  # a second process opening it: nothing to do
    upgrade(first.engine)  # and running the upgrade again changes nothing
    with first.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
        names = set(inspect(conn).get_table_names())
    assert {"seen_events", "answered_threads", "answers", "feedback", "digest_posted", "index_pointer",
            "index_generations", "generation_files"} <= names


def _open_at(url: str, start: Any, out: Any) -> None:
    start.wait(30)
    try:
        open_state(url, Path("/nonexistent"))
        out.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(f"{type(exc).__name__}: {exc}")


def _claim_all(url: str, ids: list[str], start: Any, out: Any) -> None:
    dedupe = EventDeduper(Path("/nonexistent"), database_url=url)
    start.wait(30)
    out.put([event_id for event_id in ids if dedupe.claim(event_id)])


def _in_processes(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, start, out)`` in one new process per args, released together; their results."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, out)) for a in args]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    return results


def test_two_processes_opening_a_fresh_database_at_once_both_succeed(url: str) -> None:
    assert _in_processes(_open_at, [(url,), (url,)]) == ["ok", "ok"]
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]


def test_two_processes_claiming_the_same_events_win_each_exactly_once(pg_url: str, tmp_path: Path) -> None:
    open_state(pg_url, tmp_path)  # migrated once, so both start claiming at the same moment
    ids = [f"EvRACE{n:03d}" for n in range(50)]
    won = _in_processes(_claim_all, [(replica(pg_url, "a"), ids), (replica(pg_url, "b"), ids[::-1])])
    assert sorted(won[0] + won[1]) == ids  # every event answered once: none twice, none lost


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["wrong port", "wrong password"])
def test_an_unreachable_database_is_one_line_naming_the_masked_url(postgres: Any, tmp_path: Path, fault: str) -> None:
    import socket

    if fault == "wrong port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url, password = postgres.url("postgres", port=port), PASSWORD
    else:
        password = "not-the-password"
        url = postgres.url("postgres", password=password)
    with pytest.raises(StoreError) as caught:
        EventDeduper(tmp_path, database_url=url)
    message = caught.value.message
    assert "\n" not in message and password not in message and "policybot:***@127.0.0.1" in message, message
    assert message.startswith("postgresql+psycopg://policybot:***@") and "cannot be opened" in message
    expected = "password authentication failed" if fault == "wrong password" else "Connection refused"
    assert expected in message
    ready, body = Health(make_settings(tmp_path, database_url=url)).ready()
    check = body["checks"]["state_db"]
    assert ready is False and check["ok"] is False and password not in check["detail"] and "***@" in check["detail"]


def test_readiness_asks_the_configured_database(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "slack_state.sqlite3").write_bytes(b"not a database" * 100)  # not looked at with a URL
    _, body = Health(make_settings(tmp_path, database_url=pg_url)).ready()
    assert body["checks"]["state_db"] == {"ok": True, "detail": "ok"}


# -- the SQLite files of earlier versions -------------------------------------------------------


def test_the_files_of_earlier_versions_are_adopted(tmp_path: Path) -> None:
    state = sqlite3.connect(tmp_path / "slack_state.sqlite3")
    state.executescript("CREATE TABLE seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);"
                        "INSERT INTO seen_events VALUES ('EvOLD', 1700000000.0);"
                        "CREATE TABLE answered_threads (channel TEXT NOT NULL, thread_ts TEXT NOT NULL, "
                        "answered_at REAL NOT NULL, PRIMARY KEY (channel, thread_ts));"
                        "INSERT INTO answered_threads VALUES ('C1', '1.1', 1700000000.0);")
    state.close()
    tracking = sqlite3.connect(tmp_path / "tracking.sqlite")
    tracking.executescript("CREATE TABLE posted (id TEXT PRIMARY KEY, channel TEXT, ts TEXT, posted_at REAL, state TEXT);"
                           "INSERT INTO posted VALUES ('cs-old', 'C0', '1.2', 1700000000.0, 'posted');")
    tracking.close()
    assert EventDeduper(tmp_path).claim("EvOLD") is False  # answered before the upgrade
    assert ThreadRegistry(tmp_path).knows("C1", "1.1") is True
    settings = make_settings(tmp_path)
    assert posted_ids(settings) == {"cs-old"} and _claim(settings, "cs-old", "C0") is False
    assert json.loads(json.dumps(sorted(FeedbackStore(tmp_path).list()))) == []


def test_the_state_package_sits_low_and_an_up_to_date_database_opens_without_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    open_state(url, tmp_path / "unused")  # migrated here, so the new process finds it at head
    code = ("import sys; from pathlib import Path; from bot.state import open_state; "
            f"open_state({url!r}, Path('unused')); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic' or m.startswith("
            "('bot.slack', 'bot.tracking', 'bot.assistant', 'bot.retrieval'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
