"""Issue 11, faults 1-5: a question once acked is answered, whatever else breaks.

Every fault is injected from outside: damaged files in the data dir, a local
Slack Web API that drops connections or answers 503 (``FakeSlackAPI.drop`` /
``down``), raw and forged HTTP requests into the running app, and the CLI as a
subprocess. Tests run as root in CI, where ``chmod`` cannot make a file
read-only, so a broken store is a corrupt file or a folder where the file should
be (neither can be opened, even by root), and "does not write" is checked by
comparing the data dir's bytes before and after.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.config import Settings
from bot.slack import build_app
from bot.slack.delivery import Backoff
from bot.slack.feedback import SCHEMA as FEEDBACK_SCHEMA
from slack_fixtures import (  # noqa: F401 - slack_api is a fixture
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    ScriptedAnswerer,
    SlackRequests,
    serve_app,
    sign,
    slack_api,
)

FAST = Backoff(attempts=3, first=0.05, cap=0.2)  # the default waits about 30 s before giving up
TRIES_PER_CALL = 3  # the WebClient's own ConnectionErrorRetryHandler: one try and two retries


@dataclass
class Bot:
    api: FakeSlackAPI
    slack: SlackRequests
    answerer: ScriptedAnswerer
    settings: Settings


@pytest.fixture
def start_bot(tmp_path: Path, slack_api: FakeSlackAPI) -> Iterator[Callable[..., Bot]]:
    """Start the HTTP-mode app on ``tmp_path / "data"`` (damage that folder first, then call this)."""
    servers: list[Any] = []

    def start(backoff: Backoff = FAST) -> Bot:
        settings = Settings(data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=slack_api.url, _env_file=None)  # type: ignore[call-arg]
        answerer = ScriptedAnswerer()
        app, _ = build_app(settings, answerer=answerer, http=True, backoff=backoff)
        url, server = serve_app(app)
        servers.append(server)
        return Bot(slack_api, SlackRequests(url, slack_api.url), answerer, settings)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def wait_for_log(caplog: pytest.LogCaptureFixture, *parts: str, timeout: float = 60.0) -> list[logging.LogRecord]:
    """The records holding every one of ``parts``, once there is one (the app logs from its own threads)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in list(caplog.records) if all(p in r.getMessage() for p in parts)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env={**os.environ, "COLUMNS": "500", **env},
                          capture_output=True, text=True, timeout=120)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The CLI's 'Error: …' line, after checking there is nothing else but its help line."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and 1 <= len(lines) <= 2, proc.stderr
    assert lines[0].startswith("Error: "), proc.stderr
    return lines[0]


# -- 1. a broken feedback store never stops an answer ------------------------------------------


@pytest.mark.parametrize("damage", ["corrupt file", "folder in its place"])
def test_broken_feedback_store_still_answers(start_bot: Callable[..., Bot], tmp_path: Path, damage: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    store = tmp_path / "data" / "feedback.sqlite3"
    store.parent.mkdir()
    if damage == "corrupt file":
        store.write_bytes(b"this is not an SQLite database\n" * 200)
    else:
        store.mkdir()
    bot = start_bot()
    with caplog.at_level(logging.INFO):
        bot.slack.event(bot.slack.mention("What does the AI Act ban?"))
        post = bot.api.wait_for("chat.postMessage")[0].params
        bot.slack.command("What does the AI Act ban?")
        reply = bot.api.wait_for("response_url")[0].params
        bot.slack.block_action("feedback_up", "0123456789abcdef")  # a button under an older answer
        ephemeral = bot.api.wait_for("chat.postEphemeral")[0].params
    for message in (post, reply):
        assert message["text"] == bot.answerer.text  # the answer, not "I could not answer that just now"
        blocks = json.dumps(message["blocks"])
        assert "Feedback is unavailable right now" in blocks and "feedback_up" not in blocks
    assert ephemeral["text"].startswith("Thanks! Feedback is unavailable right now")
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 3 and all("feedback" in r.getMessage() and not r.exc_info for r in problems), problems
    assert all(r.levelno == logging.WARNING for r in problems)  # one warning per answer or click, no traceback


def _feedback_copy(folder: Path, journal: str) -> None:
    """A copy of a feedback store holding one vote: the live store's WAL mode, or a backup's rollback journal."""
    folder.mkdir()
    conn = sqlite3.connect(folder / "feedback.sqlite3")
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.executescript(FEEDBACK_SCHEMA)
    conn.execute("INSERT INTO answers VALUES ('a1', 'What does the AI Act ban?', 'Social scoring [1].', '[]', "
                 "'extractive', 0, '2026-11-30T10:00:00+00:00')")
    conn.execute("INSERT INTO feedback (answer_id, vote, question, answer, citations, user_id, channel_id, created_at) "
                 "VALUES ('a1', 'up', 'What does the AI Act ban?', 'Social scoring [1].', '[]', 'U1', 'C1', "
                 "'2026-11-30T10:01:00+00:00')")
    conn.commit()
    conn.close()  # the last connection: SQLite checkpoints the WAL and removes -wal and -shm
    assert [p.name for p in folder.iterdir()] == ["feedback.sqlite3"]


@pytest.mark.parametrize("journal", ["WAL", "DELETE"])
def test_feedback_command_reads_a_copy_without_writing_to_it(tmp_path: Path, journal: str) -> None:
    # DELETE failed before the fix (opening switched the file to WAL). WAL guards the read-only open itself:
    # a plain mode=ro open of a WAL-mode store creates -wal and -shm, and fails on read-only media.
    copy = tmp_path / "copy"
    _feedback_copy(copy, journal)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    proc = cli("feedback", "--json", env={"POLICYBOT_DATA_DIR": str(copy)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["question"], r["vote"], r["user_id"]) for r in rows] == [("What does the AI Act ban?", "up", "U1")]
    # Not a byte changed and nothing created: the same command works on read-only media.
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_feedback_command_on_a_corrupt_store_says_so_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "feedback.sqlite3").write_bytes(b"garbage" * 1000)
    proc = cli("feedback", env={"POLICYBOT_DATA_DIR": str(data)}, cwd=tmp_path)
    line = one_error_line(proc)
    assert "feedback.sqlite3 cannot be read: file is not a database" in line


# -- 2. cosmetic calls never stop an answer -----------------------------------------------------


@pytest.mark.parametrize("method", ["reactions.add", "assistant.threads.setStatus"])
def test_dropped_connection_on_a_progress_call_does_not_lose_the_question(
    start_bot: Callable[..., Bot], method: str
) -> None:
    bot = start_bot()
    bot.api.drop[method] = TRIES_PER_CALL  # every try the client makes
    if method == "reactions.add":
        event = bot.slack.mention("What does the AI Act ban?", ts="1700001000.000100")
    else:  # a message in an assistant thread (a DM thread), whose progress is the assistant status
        event = bot.slack.message("What does the AI Act ban?", ts="1700001000.000300", thread_ts="1700001000.000100")
    assert bot.slack.event(event).status == 200
    posts = bot.api.wait_for("chat.postMessage")
    assert [p.params["text"] for p in posts] == [bot.answerer.text]
    assert len(bot.api.attempts(method, 0)) == TRIES_PER_CALL  # the fault did happen


# -- 3. an acked event is answered once Slack is back ------------------------------------------


def test_answer_is_posted_once_the_api_is_back(start_bot: Callable[..., Bot]) -> None:
    bot = start_bot(backoff=Backoff(attempts=4, first=0.05, cap=0.2))
    bot.api.drop["chat.postMessage"] = TRIES_PER_CALL + 2  # the first post fails, the second gets through
    bot.slack.event(bot.slack.mention("What does the AI Act ban?"))
    posts = bot.api.wait_for("chat.postMessage", timeout=30)
    assert [p.params["text"] for p in posts] == [bot.answerer.text]  # the answer, not an apology
    assert len(bot.api.attempts("chat.postMessage", 0)) == TRIES_PER_CALL + 2


def test_503s_are_retried_too(start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    bot.api.down["chat.postMessage"] = 2
    bot.slack.event(bot.slack.mention("What does the AI Act ban?"))
    posts = bot.api.wait_for("chat.postMessage", timeout=30)
    assert [p.params["text"] for p in posts] == [bot.answerer.text]
    assert len(bot.api.attempts("chat.postMessage", 503)) == 2


def test_event_not_delivered_while_slack_is_down_is_answered_on_slacks_retry(
    start_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = start_bot()
    bot.api.drop["*"] = 1_000_000  # the whole Web API is out of reach
    event = bot.slack.mention("What does the AI Act ban?", ts="1700002000.000100")
    with caplog.at_level(logging.INFO):
        assert bot.slack.event(event, event_id="Ev0SLACKDOWN").status == 200  # acked at once
        lost = wait_for_log(caplog, "could not deliver", "Ev0SLACKDOWN")
    assert lost and bot.answerer.text in lost[0].getMessage()  # the operator sees the event id and the answer
    assert len(bot.api.attempts("chat.postMessage", 0)) == FAST.attempts * TRIES_PER_CALL
    assert bot.api.named("chat.postMessage") == []
    bot.api.drop.clear()  # Slack is back, and delivers the event again
    assert bot.slack.event(event, event_id="Ev0SLACKDOWN", retry=1).status == 200
    posts = bot.api.wait_for("chat.postMessage", timeout=30)
    assert [(p.params["text"], p.params["thread_ts"]) for p in posts] == [(bot.answerer.text, "1700002000.000100")]
    assert len(bot.answerer.calls) == 2


# -- 4. the signature is checked first; bad framing gets 400 ------------------------------------


def test_forged_big_request_costs_one_short_log_line(start_bot: Callable[..., Bot],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    bot = start_bot()
    body = json.dumps(bot.slack.envelope(bot.slack.mention("forged " + "A" * 900_000)))
    with caplog.at_level(logging.DEBUG):
        caplog.clear()
        resp = bot.slack.send(body, "application/json", signature=sign(body, int(time.time()), "not-the-secret"))
    assert resp.status == 401
    assert "AAAAAAAA" not in caplog.text and len(caplog.text) < 2000, caplog.text[:500]
    assert len([r for r in caplog.records if r.levelno >= logging.INFO]) == 1, caplog.text[:500]
    assert bot.answerer.calls == []


def raw_post(url: str, head: list[str], body: bytes, *, close_write: bool = False) -> int:
    """Send bytes as they are (bad framing included); the response's status."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall("\r\n".join([f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", *head, "", ""]).encode()
                     + body)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        return response.status


def signed_head(body: bytes, length: str | None = None) -> list[str]:
    ts = int(time.time())
    return ["Content-Type: application/json", f"X-Slack-Request-Timestamp: {ts}",
            f"X-Slack-Signature: {sign(body, ts)}", f"Content-Length: {length if length is not None else len(body)}"]


BAD_UTF8 = b'{"type": "event_callback", "event": {"text": "\xff\xfe"}}'
GOOD = b'{"type": "event_callback", "event_id": "Ev0RAW", "event": {"type": "app_mention"}}'


@pytest.mark.parametrize(
    "case, head, body, close_write, status",
    [
        # Heads are built when the test runs, not when it is collected: a signature's timestamp
        # goes stale after five minutes, and a full run takes longer than that.
        ("signed, not UTF-8", lambda: signed_head(BAD_UTF8), BAD_UTF8, False, 400),
        ("unsigned, not UTF-8", lambda: ["Content-Type: application/json", f"Content-Length: {len(BAD_UTF8)}"], BAD_UTF8,
         False, 401),
        ("Content-Length not a number", lambda: signed_head(GOOD, "abc"), GOOD, False, 400),
        ("negative Content-Length", lambda: signed_head(GOOD, "-1"), GOOD, False, 400),
        ("two Content-Lengths", lambda: [*signed_head(GOOD), "Content-Length: 7"], GOOD, False, 400),
        ("body shorter than Content-Length", lambda: signed_head(GOOD, str(len(GOOD) + 50)), GOOD, True, 400),
        ("signed, not JSON", lambda: signed_head(b"{oops"), b"{oops", False, 400),
    ],
)
def test_malformed_requests_get_a_status_not_a_dropped_connection(
    start_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture, case: str, head: Callable[[], list[str]], body: bytes,
    close_write: bool, status: int,
) -> None:
    bot = start_bot()
    with caplog.at_level(logging.INFO):
        caplog.clear()
        assert raw_post(bot.slack.events_url, head(), body, close_write=close_write) == status, case
    assert len(caplog.records) == 1 and "Traceback" not in caplog.text, caplog.text
    assert bot.answerer.calls == []


# -- 5. start-up failures are one line ----------------------------------------------------------


def slack_env(tmp_path: Path, api_url: str) -> dict[str, str]:
    return {"POLICYBOT_DATA_DIR": str(tmp_path / "data"), "POLICYBOT_SLACK_API_URL": api_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": "xapp-1-A1-2-abc"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_start_up_with_the_slack_api_out_of_reach_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/"
    line = one_error_line(cli("slack", "--http", "--port", "0", env=slack_env(tmp_path, url), cwd=tmp_path))
    assert line.startswith(f"Error: Cannot reach the Slack API at {url}"), line


@pytest.mark.parametrize("mode, method, variable", [
    ("--http", "auth.test", "SLACK_BOT_TOKEN"),
    ("--socket", "apps.connections.open", "SLACK_APP_TOKEN"),
])
def test_start_up_with_a_refused_token_is_one_line(tmp_path: Path, slack_api: FakeSlackAPI, mode: str, method: str,
                                                   variable: str) -> None:
    slack_api.fail[method] = "invalid_auth"
    args = ["slack", "--http", "--port", "0"] if mode == "--http" else ["slack"]
    line = one_error_line(cli(*args, env=slack_env(tmp_path, slack_api.url), cwd=tmp_path))
    assert line == f"Error: Slack refused {variable} (invalid_auth).", line


@pytest.mark.parametrize("damage, reason", [
    ("corrupt file", "file is not a database"),
    ("folder in its place", "unable to open database file"),
])
def test_start_up_with_a_broken_state_database_is_one_line(tmp_path: Path, slack_api: FakeSlackAPI, damage: str,
                                                           reason: str) -> None:
    state = tmp_path / "data" / "slack_state.sqlite3"
    state.parent.mkdir()
    if damage == "corrupt file":
        state.write_bytes(b"this is not an SQLite database\n" * 200)
    else:
        state.mkdir()
    proc = cli("slack", "--http", "--port", "0", env=slack_env(tmp_path, slack_api.url), cwd=tmp_path)
    assert one_error_line(proc) == f"Error: {state} cannot be opened: {reason}.", proc.stderr
    assert f"mv {state} {state}.broken" in proc.stderr  # what to do


def test_a_slash_command_reply_is_retried_until_slack_takes_it(start_bot: Callable[..., Bot]) -> None:
    """/policy answers through the command's response_url: a 503 or a dropped connection there is tried again."""
    bot = start_bot()
    bot.api.down["response_url"] = 2
    bot.api.drop["response_url"] = 1
    bot.slack.command("What does the AI Act ban?")
    replies = bot.api.wait_for("response_url", timeout=30)
    assert [r.params["text"] for r in replies] == [bot.answerer.text]
    assert len(bot.api.attempts("response_url", 503)) == 2 and len(bot.api.attempts("response_url", 0)) >= 1


def test_a_slash_command_reply_that_cannot_be_delivered_is_logged_with_its_text(
    start_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = start_bot()
    bot.api.down["response_url"] = 1_000_000
    with caplog.at_level(logging.INFO):
        bot.slack.command("What does the AI Act ban?")
        lost = wait_for_log(caplog, "could not be delivered", "/policy")
    assert lost and bot.answerer.text[:100] in lost[0].getMessage()
    assert len(bot.api.attempts("response_url", 503)) == FAST.attempts
