"""The chat endpoint: the client, one-shot and streamed calls within a deadline, and faults.

The only answering module that imports LangChain's or OpenAI's clients
(:mod:`bot.embeddings`, the embedder, imports ``openai`` too). It works with any
OpenAI-compatible endpoint (``POLICYBOT_LLM_BASE_URL``). Faults: every client
exception becomes a :class:`Fault` that says whether a retry may help.

LangChain and OpenAI take seconds to import on a busy machine, so they are
imported by the functions below on first use (``_clients``): an offline,
extractive ``policybot ask`` never pays for them. No cycle is involved.
"""

from __future__ import annotations

import email.utils
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..config import Settings

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_openai import ChatOpenAI

NO_KEY = "not-needed"  # local endpoints (vLLM, Ollama) take any key; the client needs one


def _clients() -> SimpleNamespace:
    """The client libraries, imported on first use: ``openai``, ``messages``, ``parsers``, ``chat`` (langchain_openai)."""
    import langchain_core.messages
    import langchain_core.output_parsers
    import langchain_openai
    import openai

    return SimpleNamespace(
        openai=openai, messages=langchain_core.messages, parsers=langchain_core.output_parsers, chat=langchain_openai
    )


# --- faults -------------------------------------------------------------------


@dataclass(eq=False)
class Fault(Exception):
    """Why the model gave no usable answer; ``reason`` goes into the user's notice."""

    reason: str
    retryable: bool = False
    retry_after: float | None = None
    structured_unsupported: bool = False

    def __str__(self) -> str:
        return self.reason


def notice_for(reason: str) -> str:
    """The one-line notice shown above a fallback answer."""
    if reason.startswith(("timeout", "connection", "HTTP", "rate-limited")):
        return f"The language model did not answer ({reason}); showing the extractive answer."
    return f"The language model's reply could not be used ({reason}); showing the extractive answer."


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    if ms := headers.get("retry-after-ms"):
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return max(0.0, email.utils.mktime_tz(parsed) - time.time()) if parsed else None


def classify(exc: BaseException, budget: float) -> Fault:
    """Turn a client exception into a :class:`Fault` (retryable or not)."""
    names = {c.__name__ for c in type(exc).__mro__}
    if isinstance(exc, Fault):
        return exc
    openai = _clients().openai
    if isinstance(exc, openai.APITimeoutError) or any("Timeout" in n for n in names):
        return Fault(f"timeout after {budget:g} s", retryable=True)
    if isinstance(exc, openai.APIConnectionError) or names & {"ConnectError", "ReadError", "RemoteProtocolError"}:
        return Fault("connection error", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return Fault("rate-limited, HTTP 429", retryable=True, retry_after=_retry_after(exc.response.headers))
        if status >= 500:
            return Fault(f"HTTP {status}", retryable=True, retry_after=_retry_after(exc.response.headers))
        text = str(getattr(exc, "message", "")).lower()
        unsupported = status in (400, 422) and any(w in text for w in ("response_format", "json_schema", "structured"))
        return Fault(f"HTTP {status}", structured_unsupported=unsupported)
    return Fault(f"unexpected error: {type(exc).__name__}")


# --- the client -------------------------------------------------------------------


def chat_model(settings: Settings) -> ChatOpenAI:
    """ChatOpenAI for the configured endpoint; retries are the caller's, so the client's are off."""
    key = settings.llm_key()
    return _clients().chat.ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url or None,
        api_key=key or NO_KEY,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=0,
    )


def bound(model: ChatOpenAI, timeout: float, response_format: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """``model`` with this call's timeout and, if given, a ``response_format``.

    The format travels in the request body (``extra_body``), not as LangChain's own
    ``response_format``: that routes streams through the client's structured-output
    parser, which fails on the deltas without a ``role`` that vLLM and Ollama send.
    """
    if response_format is not None:
        kwargs["extra_body"] = {"response_format": response_format}
    return model.bind(timeout=timeout, **kwargs)


def to_messages(parts: dict[str, str]) -> list[BaseMessage]:
    """The system and user prompt as chat messages (a missing system part is left out)."""
    messages = _clients().messages
    system = [messages.SystemMessage(parts["system"])] if parts.get("system") else []
    return [*system, messages.HumanMessage(parts["user"])]


def complete(model: Any, parts: dict[str, str]) -> str:
    """One reply as text (no streaming)."""
    return str((model | _clients().parsers.StrOutputParser()).invoke(to_messages(parts)))


def _chunk_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content or [])


def stream_until(model: Any, parts: dict[str, str], deadline: float, budget: float) -> Iterator[str]:
    """Text pieces of a streamed reply, read in a worker thread so a stalled stream cannot outlive the deadline.

    The model is streamed directly: closing a RunnableSequence's stream early drains it to the end.
    """
    pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for chunk in model.stream(to_messages(parts)):
                if stop.is_set():
                    return
                pieces.put(("piece", _chunk_text(chunk.content)))
            pieces.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            pieces.put(("error", exc))

    threading.Thread(target=work, name="policybot-llm-stream", daemon=True).start()
    try:
        while True:
            try:
                kind, value = pieces.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Fault(f"timeout after {budget:g} s") from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
