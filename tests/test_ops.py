"""Operations: /healthz, /readyz, /metrics and the JSON question log, through the running bot.

``policybot slack --http --port 0`` runs as a subprocess against the local Slack
Web API server (tests/slack_fixtures.py); its probes are read over HTTP and its
log lines from its stderr. The in-process tests serve the Bolt app with the
same server and read the same endpoints.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Settings
from bot.metrics import record_watch_run
from bot.retrieval import Retriever
from bot.slack import build_app
from bot.slack.healthcheck import Health
from bot.slack.server import make_server
from slack_fixtures import (  # noqa: F401 - slack_api is a fixture
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    ScriptedAnswerer,
    SlackRequests,
    slack_api,
)

ROOT = Path(__file__).resolve().parents[1]
WAIT = 240.0  # seconds to wait for a state on a loaded machine (a bound, not a measurement)


def get(url: str) -> tuple[int, str, str]:
    """(status, body, content type) of a GET, also for 4xx/5xx."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), err.headers.get("Content-Type", "")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text, keyed by (name, sorted labels), read with prometheus_client's parser."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and all((k, val) in ls for k, val in labels.items()))


class Bot:
    """``policybot slack --http`` in a subprocess; its stderr lines are collected as they come."""

    def __init__(self, data_dir: Path, api: FakeSlackAPI, **env: str) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYBOT_")}
        full_env.update({
            "POLICYBOT_DATA_DIR": str(data_dir), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "POLICYBOT_SLACK_API_URL": api.url, "ANONYMIZED_TELEMETRY": "False", **env,
        })
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "slack", "--http", "--port", "0"], cwd=ROOT,
                                     env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_line(lambda text: "listening on http://" in text)
        port = re.search(r"127\.0\.0\.1:(\d+)/slack/events", line)
        assert port, line
        self.base = f"http://127.0.0.1:{port.group(1)}"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, match: Any) -> str:
        deadline = time.monotonic() + WAIT
        with self._cond:
            while True:
                found = [line for line in self.lines if match(line)]
                if found:
                    return found[0]
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    pytest.fail("no such log line; stderr:\n" + "\n".join(self.lines[-30:]))
                self._cond.wait(timeout=0.2)

    def readiness(self, done: Any) -> tuple[int, dict[str, Any]]:
        """Poll /readyz until ``done(status, body)``."""
        deadline = time.monotonic() + WAIT
        while True:
            status, body, ctype = get(self.base + "/readyz")
            assert ctype == "application/json"
            data = json.loads(body)
            if done(status, data):
                return status, data
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"/readyz stayed {status} {body}; stderr:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.2)

    def question_line(self, event_id: str) -> dict[str, Any]:
        line = self.wait_line(lambda text: '"question"' in text and event_id in text)
        return json.loads(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def bot_factory(slack_api: FakeSlackAPI) -> Iterator[Any]:
    bots: list[Bot] = []

    def start(data_dir: Path, **env: str) -> Bot:
        bots.append(Bot(data_dir, slack_api, **env))
        return bots[-1]

    yield start
    for bot in bots:
        bot.stop()


def test_not_ready_without_an_index_but_live_and_logging_the_question_when_asked(
    tmp_path: Path, slack_api: FakeSlackAPI, bot_factory: Any
) -> None:
    data = tmp_path / "empty"
    data.mkdir()
    (data / "feedback.sqlite3").write_bytes(b"this is not an SQLite database" * 100)  # a damaged feedback store
    bot = bot_factory(data, POLICYBOT_LOG_QUESTIONS="1")
    assert get(bot.base + "/healthz")[:2] == (200, "ok")  # live: a restart would not help
    status, ready = bot.readiness(lambda _s, body: body["checks"]["index"]["detail"] != "loading")
    assert status == 503 and ready["ready"] is False
    assert ready["checks"]["index"]["ok"] is False and "index" in ready["checks"]["index"]["detail"].lower()
    assert ready["checks"]["chroma"]["ok"] is False
    state_db = ready["checks"]["state_db"]
    assert state_db["ok"] is False and "feedback.sqlite3" in state_db["detail"] and "slack_state" not in state_db["detail"]
    assert ready["last_watch_run"] is None

    slack = SlackRequests(bot.base + "/slack/events", slack_api.url)
    pasted = "xoxb-4242-pastedbyuser"  # a token pasted into a question never reaches the logs
    question = f"What does the AI Act ban? My token is {pasted}"
    assert slack.event(slack.mention(question), event_id="EvOPSFAIL01").status == 200
    assert slack_api.wait_for("chat.postMessage", timeout=WAIT)  # the user hears that it failed
    line = bot.question_line("EvOPSFAIL01")
    assert line["outcome"] == "failed" and line["question"] == "What does the AI Act ban? My token is xoxb-***"
    assert line["level"] == "info" and line["logger"] == "policybot.questions" and line["cited_units"] == []

    status, text, ctype = get(bot.base + "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    found = samples(text)
    assert total(found, "policybot_questions_total", front_end="slack", outcome="failed") == 1
    assert total(found, "policybot_index_loaded") == 0
    for line in bot.lines:  # every line the bot wrote is one JSON object, and no secret is in any
        assert isinstance(json.loads(line), dict), line
        assert BOT_TOKEN not in line and SIGNING_SECRET not in line and pasted not in line


def test_ready_with_an_index_metrics_and_one_question_line(
    tmp_path: Path, small_data_dir: Path, slack_api: FakeSlackAPI, bot_factory: Any
) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    bot = bot_factory(data)
    status, ready = bot.readiness(lambda s, _body: s == 200)
    index = ready["checks"]["index"]
    # The generation that serves is the one the pointer names (other tests may have built more).
    pointer = json.loads(next(data.glob("index/*/current.json")).read_text())
    state = json.loads(next(data.glob(f"index/*/g{pointer['generation']}/state.json")).read_text())
    assert index["ok"] and index["generation"] == state["generation"] and index["chunks"] == state["chunks"]
    assert index["age_seconds"] >= 0 and ready["checks"]["chroma"]["ok"] and ready["checks"]["state_db"]["ok"]

    before = samples(get(bot.base + "/metrics")[1])
    assert total(before, "policybot_questions_total") == 0
    assert total(before, "policybot_answer_seconds_count") == 0
    assert total(before, "policybot_index_loaded") == 1
    assert total(before, "policybot_index_generation") == state["generation"]
    assert total(before, "policybot_index_chunks") == state["chunks"]
    assert total(before, "policybot_last_sync_new_version_timestamp_seconds") > 0

    question = "What is a pilot line under the Chips Act?"
    slack = SlackRequests(bot.base + "/slack/events", slack_api.url)
    assert slack.event(slack.mention(question), event_id="EvOPSANSWER1").status == 200
    posted = slack_api.wait_for("chat.postMessage", timeout=WAIT)
    assert posted
    line = bot.question_line("EvOPSANSWER1")
    assert line["outcome"] == "answered", line
    assert "question" not in line and question not in json.dumps(line)  # POLICYBOT_LOG_QUESTIONS is not set
    assert line["cited_units"] and len(set(line["cited_units"])) == len(line["cited_units"])
    assert all(u.startswith(("chips-act:", "sovereignty-article:")) for u in line["cited_units"])
    assert line["latency_ms"] > 0 and line["channel"] == "C0000CHAN"

    after = samples(get(bot.base + "/metrics")[1])
    assert total(after, "policybot_questions_total", front_end="slack", outcome="answered") == 1
    assert total(after, "policybot_questions_total") == 1
    assert total(after, "policybot_answer_seconds_count", front_end="slack") == 1
    assert total(after, "policybot_answer_seconds_sum") == pytest.approx(line["latency_ms"] / 1000, abs=0.01)


def test_container_healthcheck_asks_healthz(tmp_path: Path, slack_api: FakeSlackAPI) -> None:
    settings = Settings(data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, _env_file=None)  # type: ignore[call-arg]
    app, _ = build_app(settings, answerer=ScriptedAnswerer(), http=True)
    connected = {"up": True}
    server = make_server(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET,
                         health=Health(settings, socket_connected=lambda: connected["up"]))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = server.server_address[1]

    def healthcheck(on: int) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "POLICYBOT_HEALTH_PORT": str(on)}
        return subprocess.run([sys.executable, "-m", "bot.slack.healthcheck"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    try:
        assert healthcheck(port).returncode == 0
        connected["up"] = False  # Socket Mode's socket dropped: not live
        assert get(f"http://127.0.0.1:{port}/healthz")[:2] == (503, "socket disconnected")
        dropped = healthcheck(port)
        assert dropped.returncode == 1 and "503" in dropped.stderr
        status, body, _ = get(f"http://127.0.0.1:{port}/readyz")  # no index loader: never ready
        assert status == 503 and json.loads(body)["checks"]["socket"]["ok"] is False
        assert json.loads(body)["last_watch_run"] is None
        record_watch_run(settings, ok=True, synced=3)  # what a watch run leaves in the data dir
        ready = json.loads(get(f"http://127.0.0.1:{port}/readyz")[1])
        assert ready["last_watch_run"] and ready["last_watch_ok"] is True
        found = samples(get(f"http://127.0.0.1:{port}/metrics")[1])
        assert total(found, "policybot_last_watch_success_timestamp_seconds") == \
            total(found, "policybot_last_watch_run_timestamp_seconds") > 0
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck(port).returncode == 1  # nothing listens any more


def test_slack_api_errors_are_counted(tmp_path: Path, slack_api: FakeSlackAPI) -> None:
    settings = Settings(data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, _env_file=None)  # type: ignore[call-arg]
    app, _ = build_app(settings, answerer=ScriptedAnswerer(), http=True)
    server = make_server(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET, health=Health(settings))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        refused = {"method": "reactions.add", "error": "missing_scope"}
        limited = {"method": "chat.postMessage", "error": "http_429"}
        before = samples(get(base + "/metrics")[1])
        slack_api.fail["reactions.add"] = "missing_scope"  # the progress reaction fails; the answer still goes out
        slack_api.ratelimit["chat.postMessage"] = 1  # one 429, then the client's own retry posts it
        slack = SlackRequests(base + "/slack/events", slack_api.url)
        assert slack.event(slack.mention("What does the AI Act ban?")).status == 200
        assert slack_api.wait_for("chat.postMessage", timeout=WAIT)
        after = samples(get(base + "/metrics")[1])
        for labels in (refused, limited):
            assert total(after, "policybot_slack_api_errors_total", **labels) == \
                total(before, "policybot_slack_api_errors_total", **labels) + 1, labels
        assert total(after, "policybot_questions_total", outcome="answered") == \
            total(before, "policybot_questions_total", outcome="answered") + 1
    finally:
        server.shutdown()
        server.server_close()


def test_an_index_built_after_start_up_is_loaded_by_readyz(tmp_path: Path, small_data_dir: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    health = Health(settings, load=lambda: Retriever(settings), retry_seconds=0)
    assert health.load_index() is False  # no index yet
    server = make_server(None, "127.0.0.1", 0, signing_secret="", health=health)  # the probes alone (Socket Mode)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, body, _ = get(base + "/readyz")
        assert status == 503 and json.loads(body)["checks"]["index"]["ok"] is False
        shutil.copytree(small_data_dir, data, dirs_exist_ok=True)  # an indexer finished meanwhile
        deadline = time.monotonic() + WAIT
        while not (index := json.loads(get(base + "/readyz")[1])["checks"]["index"])["ok"]:
            assert time.monotonic() < deadline, index
            time.sleep(0.2)
        assert index["chunks"] > 0
        assert total(samples(get(base + "/metrics")[1]), "policybot_index_loaded") == 1
    finally:
        server.shutdown()
        server.server_close()
