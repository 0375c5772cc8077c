"""Fixtures for the Slack tests: a local Slack Web API server and signed Slack requests.

``FakeSlackAPI`` is a real HTTP server on 127.0.0.1 that answers the Web API
methods policybot uses like Slack does and records every call (and every POST
to a slash command's response_url). Faults are injected per method, or for
every method with the key ``"*"``: ``ratelimit`` (429s), ``down`` (503s),
``drop`` (the connection is closed without an answer) count down one per call;
``fail`` answers ``ok: false`` with an error code for as long as it is set. ``SlackRequests`` builds correctly signed
requests in Slack's wire formats and sends them to the app under test.
``ScriptedAnswerer`` stands in for the answering side (``Assistant.ask``'s signature).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from bot.models import Answer, Citation, SourceVersion

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0000TEST"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "xoxb-1111-2222-testtoken"
AI_ACT_URL = "https://eur-lex.europa.eu/eli/reg/2024/1689/oj"


class ScriptedAnswerer:
    """Test double of the answering side (Assistant.ask's signature): builds Answer objects, records calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.text = "The AI Act bans social scoring and manipulative AI [1]."
        self.fail: Exception | None = None
        self.abstain = False
        self.lock = threading.Lock()

    def ask(self, question: str, *, source: str | None = None, lang: str | None = None, k: int | None = None,
            mode: str | None = None, history: list[tuple[str, str]] | None = None) -> Answer:
        with self.lock:
            self.calls.append({"question": question, "history": history})
        if self.fail:
            raise self.fail
        citation = Citation(n=1, source="ai-act", unit="art-5", ref="Article 5(1)", title="Prohibited AI practices",
                            url=AI_ACT_URL, quote="The following AI practices shall be prohibited: " + "x " * 200)
        if self.abstain:
            return Answer(question=question, text="The indexed sources do not answer this question.",
                          abstained=True, nearest=[citation])
        return Answer(question=question, text=self.text, citations=[citation], mode="extractive",
                      as_of=[SourceVersion(source="ai-act", language="en", version="oj-2024", date="2024-07-12")])


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.perf_counter)  # when the server received it


@dataclass
class FakeSlackAPI:
    """A local Slack Web API. ``url`` is the base URL to give WebClient."""

    calls: list[Call] = field(default_factory=list)
    threads: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    ratelimit: dict[str, int] = field(default_factory=dict)  # method -> number of 429s still to send
    fail: dict[str, str] = field(default_factory=dict)  # method -> Slack error code to answer with
    down: dict[str, int] = field(default_factory=dict)  # method or "*" -> number of 503s still to send
    drop: dict[str, int] = field(default_factory=dict)  # method or "*" -> connections still to close unanswered
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _cond: threading.Condition = field(default_factory=threading.Condition)

    # -- recording --------------------------------------------------------------
    def record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def take(self, faults: dict[str, int], method: str) -> bool:
        """True (and one fewer left) if ``faults`` still holds a fault for ``method`` or for every method."""
        with self._lock:
            for key in (method, "*"):
                if faults.get(key, 0) > 0:
                    faults[key] -= 1
                    return True
        return False

    def attempts(self, method: str, status: int) -> list[Call]:
        """Calls of ``method`` answered with ``status`` (0: the connection was dropped)."""
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == status]

    def named(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until ``count`` successful calls of ``method`` were received (the app works after the ack)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method and c.status == 200]
                if len(found) >= count or time.monotonic() > deadline:
                    return found
                self._cond.wait(timeout=0.05)

    def add_message(self, channel: str, thread_ts: str, message: dict[str, Any]) -> None:
        with self._lock:
            self.threads.setdefault((channel, thread_ts), []).append(message)

    # -- answering ------------------------------------------------------------------
    def next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "policybot",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = self.next_ts()
            message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": params.get("text", ""),
                       "ts": ts, "thread_ts": params.get("thread_ts")}
            if params.get("thread_ts"):
                self.add_message(params["channel"], params["thread_ts"], message)
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.replies":
            with self._lock:
                messages = list(self.threads.get((params.get("channel", ""), params.get("ts", "")), []))
            return {"ok": True, "messages": messages, "has_more": False}
        if method in ("reactions.add", "reactions.remove", "assistant.threads.setStatus",
                      "assistant.threads.setSuggestedPrompts", "assistant.threads.setTitle"):
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    text = body.decode("utf-8")
    if "json" in content_type:
        return json.loads(text or "{}")
    params: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    for key in ("blocks", "prompts", "attachments"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _handler(api: FakeSlackAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - slack_sdk sends some read methods as GET
            self._handle(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._handle(_parse(body, self.headers.get("Content-Type", "")))

        def _handle(self, params: dict[str, Any]) -> None:
            path = urlsplit(self.path).path
            headers = {k.lower(): v for k, v in self.headers.items()}
            # A slash command's or action's response_url takes faults as "response_url", like a method.
            method = "response_url" if path.startswith("/response/") else path.removeprefix("/api/")
            if api.take(api.drop, method):
                api.record(Call(method, params, headers, status=0))
                self.close_connection = True  # closed without a status line: the client sees RemoteDisconnected
                return None
            if api.take(api.down, method):
                api.record(Call(method, params, headers, status=503))
                return self._send(503, b"<html>Service Unavailable</html>", "text/html")
            if api.take(api.ratelimit, method):
                api.record(Call(method, params, headers, status=429))
                return self._send(429, b'{"ok":false,"error":"ratelimited"}', "application/json", {"Retry-After": "1"})
            api.record(Call(method, params, headers))
            if method == "response_url":
                return self._send(200, b"ok", "text/plain")
            self._send(200, json.dumps(api.answer(method, params)).encode(), "application/json")

        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def start_fake_slack_api() -> tuple[FakeSlackAPI, ThreadingHTTPServer]:
    api = FakeSlackAPI()
    server = _Server(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    return api, server


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    api, server = start_fake_slack_api()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


# -- signed requests in Slack's wire formats ---------------------------------------------------


def sign(body: str | bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Response:
    status: int
    body: str
    seconds: float


class SlackRequests:
    """Builds and sends requests the way Slack does, to ``events_url``."""

    _ids = itertools.count(1)

    def __init__(self, events_url: str, api_url: str, secret: str = SIGNING_SECRET) -> None:
        self.events_url = events_url
        self.response_base = api_url.removesuffix("api/") + "response/"
        self.secret = secret

    def send(self, body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
             headers: dict[str, str] | None = None) -> Response:
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(body, ts, self.secret),
            **(headers or {}),
        }
        req = urllib.request.Request(self.events_url, data=body.encode(), headers=all_headers, method="POST")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return Response(resp.status, resp.read().decode(), time.perf_counter() - start)
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read().decode(), time.perf_counter() - start)

    # -- payloads -------------------------------------------------------------------
    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0000TEST",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
            "event_context": "4-eyJldCI6ImFwcF9tZW50aW9uIn0",
        }

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None,
              **kw: Any) -> Response:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self.send(json.dumps(self.envelope(event, event_id)), "application/json", headers=headers, **kw)

    @staticmethod
    def mention(text: str, *, channel: str = "C0000CHAN", user: str = "U0000USER", ts: str = "1700000001.000100",
                thread_ts: str | None = None) -> dict[str, Any]:
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
                 "channel": channel, "event_ts": ts, "team": TEAM_ID}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    @staticmethod
    def message(text: str, *, channel: str = "D0000DMCH", channel_type: str = "im", user: str = "U0000USER",
                ts: str = "1700000002.000100", thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
        event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel,
                 "channel_type": channel_type, "event_ts": ts, "team": TEAM_ID, **extra}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def command(self, text: str, *, channel: str = "C0000CHAN", user: str = "U0000USER", **kw: Any) -> Response:
        form = {
            "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "test",
            "channel_id": channel, "channel_name": "policy", "user_id": user, "user_name": "ana",
            "command": "/policy", "text": text, "api_app_id": "A0000TEST", "is_enterprise_install": "false",
            "response_url": self.response_base + f"cmd{next(self._ids)}",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
        return self.send(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def block_action(self, action_id: str, value: str, *, channel: str = "C0000CHAN", user: str = "U0000USER",
                     message_ts: str = "1700000003.000100") -> Response:
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "ana", "name": "ana", "team_id": TEAM_ID},
            "api_app_id": "A0000TEST",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "team": {"id": TEAM_ID, "domain": "test"},
            "channel": {"id": channel, "name": "policy"},
            "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": message_ts, "text": "…"},
            "response_url": self.response_base + f"act{next(self._ids)}",
            "actions": [{"action_id": action_id, "block_id": "feedback", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": "👍"}, "action_ts": str(time.time())}],
        }
        return self.send(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def serve_app(app: Any, host: str = "127.0.0.1") -> tuple[str, Any]:
    """Serve a Bolt app with policybot's HTTP-mode server on a free port; returns (events URL, server)."""
    from bot.slack.server import make_server

    server = make_server(app, host, 0, signing_secret=SIGNING_SECRET)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://{host}:{server.server_address[1]}/slack/events", server
