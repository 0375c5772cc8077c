"""A small threaded HTTP server: ``POST /slack/events`` into Bolt; ``GET /healthz``, ``/readyz``, ``/metrics``.

``/healthz`` is liveness (``ok``, or 503 when Socket Mode's socket is down),
``/readyz`` answers 503 with a JSON body of its checks until the index is
loaded and the stores and Chroma answer, then 200; ``/metrics`` is Prometheus
text (:mod:`bot.slack.healthcheck` has the checks). In Socket Mode the same
server runs without an app, for the probes only.

Every Slack request (events, slash commands, interactivity) goes to the same
path. The server checks the framing and the signature on the raw bytes before
anything else reads the body: a request with a bad ``Content-Length`` or a body
that is not UTF-8 gets 400, one that is too big 413, a forged or stale one 401.
A refused request costs one log line that never includes its body. Only signed
requests reach Bolt (which checks the signature again) and its listeners.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

from ..metrics import CONTENT_TYPE_LATEST, render
from .healthcheck import Health

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
MAX_BODY = 1_000_000
MAX_AGE = 5 * 60  # Slack's rule: refuse requests signed more than five minutes ago (replays)
READ_TIMEOUT = 10.0  # seconds a client may take to send its request


def signature_ok(secret: str, body: bytes, timestamp: str, signature: str, *, now: float | None = None) -> bool:
    """Slack's v0 signature over the raw body, and a timestamp within five minutes."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    if age > MAX_AGE:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def content_length(values: list[str] | None) -> int | None:
    """The one Content-Length as a number, or None if it is missing, repeated differently or not a number."""
    if not values or len(set(values)) != 1 or not values[0].strip().isdigit():
        return None
    return int(values[0])


def make_server(app: App | None, host: str, port: int, *, signing_secret: str, health: Health | None = None
                ) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 picks a free one); call ``serve_forever()``.

    ``app`` None serves the probes only (Socket Mode). Without ``health``, ``/healthz`` says ``ok`` while the
    server runs and ``/readyz`` answers 503 (nothing can say the bot is ready).
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = READ_TIMEOUT

        def _send(self, status: int, body: bytes, headers: dict[str, list[str]] | None = None) -> None:
            self.send_response(status)
            for name, values in (headers or {}).items():
                if name.lower() not in ("content-length", "connection"):
                    for value in values:
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _refuse(self, status: int, why: str, size: int | str = "?") -> None:
            log.warning("refused %s %s from %s: %s (%s bytes)", self.command, urlsplit(self.path).path,
                        self.client_address[0], why, size)
            self.close_connection = True  # the rest of the body, if any, is not read
            self._send(status, why.encode(), {"Content-Type": ["text/plain"]})

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == HEALTH_PATH:
                live, why = health.live() if health else (True, "ok")
                self._send(200 if live else 503, why.encode(), {"Content-Type": ["text/plain"]})
            elif path == READY_PATH:
                ready, body = health.ready() if health else (False, {"ready": False, "checks": {}})
                self._send(200 if ready else 503, json.dumps(body).encode(), {"Content-Type": ["application/json"]})
            elif path == METRICS_PATH:
                self._send(200, health.metrics() if health else render(), {"Content-Type": [CONTENT_TYPE_LATEST]})
            else:
                self._send(404, b"not found")

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path != EVENTS_PATH or app is None:
                self.close_connection = True
                self._send(404, b"not found")
                return
            length = content_length(self.headers.get_all("Content-Length"))
            if length is None:
                return self._refuse(400, "missing or malformed Content-Length")
            if length > MAX_BODY:
                return self._refuse(413, "body too large", length)
            try:
                raw = self.rfile.read(length)
            except OSError:  # includes the read timeout
                raw = b""
            if len(raw) != length:
                return self._refuse(400, "body shorter than its Content-Length", len(raw))
            timestamp = self.headers.get("X-Slack-Request-Timestamp", "")
            if not signature_ok(signing_secret, raw, timestamp, self.headers.get("X-Slack-Signature", "")):
                return self._refuse(401, "invalid or stale signature", length)
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                return self._refuse(400, "body is not UTF-8", length)
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            try:
                request = BoltRequest(body=body, query=url.query, headers=headers)
            except ValueError:  # a signed body that is not JSON or a form (only a sender holding the secret)
                return self._refuse(400, "body cannot be parsed", length)
            response = app.dispatch(request)
            self._send(response.status, response.body.encode("utf-8"), response.headers)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("%s %s", self.address_string(), format % args)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # Slack may send bursts; the default backlog of 5 resets connections

    server = Server((host, port), Handler)
    server.daemon_threads = True
    return server
