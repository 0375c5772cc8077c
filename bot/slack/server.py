"""A small threaded HTTP server for HTTP mode: ``POST /slack/events`` into Bolt, ``GET /healthz``.

Every Slack request (events, slash commands, interactivity) goes to the same
path and is verified by Bolt's signature check before any listener runs.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1_000_000


def make_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 picks a free one); call ``serve_forever()``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, headers: dict[str, list[str]] | None = None) -> None:
            self.send_response(status)
            for name, values in (headers or {}).items():
                if name.lower() not in ("content-length", "connection"):
                    for value in values:
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if urlsplit(self.path).path == HEALTH_PATH:
                self._send(200, b"ok", {"Content-Type": ["text/plain"]})
            else:
                self._send(404, b"not found")

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if url.path != EVENTS_PATH or length > MAX_BODY:
                self._send(404 if url.path != EVENTS_PATH else 413, b"")
                return
            body = self.rfile.read(length).decode("utf-8")
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            response = app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
            self._send(response.status, response.body.encode("utf-8"), response.headers)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("%s %s", self.address_string(), format % args)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # Slack may send bursts; the default backlog of 5 resets connections

    server = Server((host, port), Handler)
    server.daemon_threads = True
    return server
