"""The OpenAI embedder (embeddings from an OpenAI-compatible endpoint).

The LLM answerer, its prompt, stream parsing and follow-up condensing live in
:mod:`bot.answering` (``llm``, ``llm_client``, ``llm_prompt``, ``stream``,
``condense``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import openai

from .answering.llm_client import NO_KEY, classify
from .answering.llm_prompt import approx_tokens
from .config import Settings, get_settings
from .errors import LLMError

# --- embeddings -------------------------------------------------------------------------

KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
EMBED_BATCH = 64


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (sends the texts there)."""

    def __init__(self, model: str, settings: Settings | Any | None = None) -> None:
        self.settings: Settings = settings if isinstance(settings, Settings) else get_settings()
        key = self.settings.llm_key()
        self.model = model
        self.name = f"openai-{model}"
        self.max_tokens = 8191 if model.startswith("text-embedding-") else 512
        self._dim: int | None = KNOWN_DIMS.get(model)
        self._client = openai.OpenAI(
            base_url=self.settings.llm_base_url or None,
            api_key=key or NO_KEY,
            timeout=max(self.settings.llm_timeout, 30.0),
            max_retries=self.settings.llm_retries,
        )

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._embed(["dimension probe"]).shape[1])
        return self._dim

    def _embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), EMBED_BATCH):
            batch = [t if t.strip() else " " for t in texts[i : i + EMBED_BATCH]]
            try:
                resp = self._client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as exc:
                raise LLMError(
                    f"The embedding endpoint failed ({classify(exc, self.settings.llm_timeout)}).",
                    help="Check POLICYBOT_LLM_BASE_URL, the API key and the model name, or use the local default embeddings.",
                ) from exc
            rows += [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
        arr = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.where(norms == 0, 1, norms)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        arr = self._embed(list(texts))
        self._dim = arr.shape[1]
        return arr

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)
