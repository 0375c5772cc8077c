"""A local OpenAI-compatible HTTP server for tests, on 127.0.0.1 only.

It serves ``POST /v1/chat/completions`` (plain JSON, or SSE when the request
says ``"stream": true``), ``GET /v1/models`` and ``POST /v1/embeddings``,
records every request and answers chat requests from a script::

    server.script(Reply.error(429, headers={"Retry-After": "1"}), Reply.text('{"answer": ...}'))

Each chat request takes the next scripted :class:`Reply`; when the script is
empty, ``server.default`` answers (a 500 saying so, unless a test sets it).
Import the ``openai_server`` fixture into a test module to use it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

EMBED_DIM = 16


@dataclass
class Reply:
    """One scripted answer to a chat request."""

    status: int = 200
    content: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0  # pause after each streamed event
    chunk_size: int = 7
    pieces: list[str] | None = None  # stream exactly these pieces (``content`` is ignored when streaming)
    role: bool = True  # False: the first delta has no "role", as vLLM and Ollama send it

    @classmethod
    def text(cls, content: str, **kw: Any) -> Reply:
        return cls(content=content, **kw)

    @classmethod
    def json(cls, obj: Any, **kw: Any) -> Reply:
        return cls(content=json.dumps(obj, ensure_ascii=False), **kw)

    @classmethod
    def error(cls, status: int, message: str = "scripted error", **kw: Any) -> Reply:
        return cls(status=status, body={"error": {"message": message, "type": "server_error", "code": status}}, **kw)


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def message(self, role: str) -> str:
        """The text of the first message with this role ('' if none)."""
        for m in self.messages:
            if m.get("role") == role:
                content = m.get("content")
                if isinstance(content, list):
                    return "".join(part.get("text", "") for part in content)
                return str(content)
        return ""


def embedding_for(text: str, dim: int = EMBED_DIM) -> list[float]:
    """A deterministic unit vector for ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (vec / np.linalg.norm(vec)).tolist()


class OpenAIServer:
    """The server; ``base_url`` ends in ``/v1``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.replies: deque[Reply | Callable[[Request], Reply]] = deque()
        self.default: Reply = Reply.error(500, "no scripted reply left")
        self.model_ids = ["test-model", "test-embed"]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply | Callable[[Request], Reply]) -> None:
        self.replies.extend(replies)

    @property
    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- request handling -------------------------------------------------
    def _next(self, req: Request) -> Reply:
        with self._lock:
            item = self.replies.popleft() if self.replies else self.default
        return item(req) if callable(item) else item

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _record(self) -> Request:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                with server._lock:
                    server.requests.append(req)
                return req

            def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._record()
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in server.model_ids]
                    self._send_json(200, {"object": "list", "data": data})
                else:
                    self._send_json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                req = self._record()
                try:
                    if self.path.endswith("/chat/completions"):
                        self._chat(req)
                    elif self.path.endswith("/embeddings"):
                        self._embeddings(req)
                    else:
                        self._send_json(404, {"error": {"message": "not found"}})
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _embeddings(self, req: Request) -> None:
                texts = req.body.get("input", [])
                texts = [texts] if isinstance(texts, str) else texts
                dim = int(req.body.get("dimensions") or EMBED_DIM)
                data = []
                for i, text in enumerate(texts):
                    vec = embedding_for(str(text), dim)
                    if req.body.get("encoding_format") == "base64":
                        emb: Any = base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()
                    else:
                        emb = vec
                    data.append({"object": "embedding", "index": i, "embedding": emb})
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                self._send_json(200, {"object": "list", "data": data, "model": req.body.get("model"), "usage": usage})

            def _chat(self, req: Request) -> None:
                reply = server._next(req)
                if reply.delay and server._stop.wait(reply.delay):
                    return
                if reply.status != 200 or reply.body is not None:
                    self._send_json(reply.status, reply.body or {}, reply.headers)
                    return
                model = req.body.get("model", "test-model")
                if req.body.get("stream"):
                    self._stream(req, reply, model)
                    return
                self._send_json(200, completion(model, reply.content), reply.headers)

            def _stream(self, req: Request, reply: Reply, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                usage = bool((req.body.get("stream_options") or {}).get("include_usage"))
                pieces = reply.pieces if reply.pieces is not None else split(reply.content, reply.chunk_size)
                for event in sse_events(model, pieces, usage, role=reply.role):
                    self.wfile.write(event)
                    self.wfile.flush()
                    if reply.chunk_delay and server._stop.wait(reply.chunk_delay):
                        return
                self.close_connection = True

        return Handler


def completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def split(content: str, size: int) -> list[str]:
    return [content[i : i + size] for i in range(0, len(content), size)]


def sse_events(model: str, pieces: list[str], usage: bool, role: bool = True) -> Iterator[bytes]:
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
        return b"data: " + json.dumps({**base, "choices": choices, **extra}).encode() + b"\n\n"

    yield event({"role": "assistant", "content": ""} if role else {"content": ""})
    for piece in pieces:
        yield event({"content": piece})
    yield event({}, "stop")
    if usage:
        yield b"data: " + json.dumps({**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    server = OpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
