"""The optional LLM answerer and follow-up condensation.

This is the only module that imports LangChain's or OpenAI's clients. It works
with any OpenAI-compatible endpoint (``POLICYBOT_LLM_BASE_URL``).

The chain: retrieved hits become passages under stable keys ``S1``, ``S2`` ...
inside a delimited, escaped ``<passages>`` block; the templates in
``prompts/`` frame them; ``ChatOpenAI`` answers with JSON (a JSON-schema
``response_format`` where the endpoint accepts it, the prompt alone where it
does not); a tolerant parser reads the reply; :mod:`bot.citations` keeps only
verified citations. ``llm_timeout`` is the budget of the whole answer, retries
included. On any fault the caller's extractive answer comes back with a notice.
"""

from __future__ import annotations

import email.utils
import html
import json
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI

from .citations import best_span, control, normalize, number
from .config import Settings
from .models import NO_ANSWER, Answer, Citation, Hit, SourceVersion
from .prompts import check_prompts

log = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "nl": "Dutch (Nederlands)"}
HISTORY_TURNS = 4
HISTORY_TOKENS = 1000
MAX_BACKOFF = 4.0
CONDENSE_BUDGET = 10.0
NO_KEY = "not-needed"  # local endpoints (vLLM, Ollama) take any key; the client needs one

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "cited_answer",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["answer", "citations"],
            "properties": {
                "answer": {"type": "string"},
                "citations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["key", "quote"],
                        "properties": {"key": {"type": "string"}, "quote": {"type": "string"}},
                    },
                },
            },
        },
    },
}


def approx_tokens(text: str) -> int:
    """A cheap token estimate (no tokenizer download): the larger of chars/4 and words*4/3."""
    return max(math.ceil(len(text) / 4), math.ceil(len(text.split()) * 4 / 3))


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


# --- prompt parts ---------------------------------------------------------------


def passage_block(keyed: dict[str, Hit]) -> str:
    """The passages as delimited elements; text and attributes are HTML-escaped so no passage can close its element."""
    parts = []
    for key, hit in keyed.items():
        c = hit.chunk
        attrs = f'key="{key}" source="{html.escape(c.source)}" ref="{html.escape(c.ref)}"'
        if c.title:
            attrs += f' title="{html.escape(c.title)}"'
        parts.append(f"<passage {attrs}>\n{html.escape(c.text, quote=False)}\n</passage>")
    return "\n".join(parts)


def history_block(history: list[tuple[str, str]] | None, max_tokens: int = HISTORY_TOKENS) -> str:
    """The last turns, newest kept first, within ``max_tokens`` (answers trimmed, markers removed)."""
    lines: list[str] = []
    used = 0
    for question, answer in reversed((history or [])[-HISTORY_TURNS:]):
        answer = re.sub(r"\s*\[\d+\]", "", answer).strip()
        turn = f"User: {question.strip()}\nAssistant: {answer}"
        cost = approx_tokens(turn)
        if used + cost > max_tokens:
            room = (max_tokens - used - approx_tokens(question) - 8) * 4
            if room < 80:
                break
            turn = f"User: {question.strip()}\nAssistant: {answer[:room].rsplit(' ', 1)[0]} …"
            cost = approx_tokens(turn)
        lines.insert(0, turn)
        used += cost
    return "\n\n".join(lines) or "(none)"


# --- reading the reply ------------------------------------------------------------


@dataclass
class Reply:
    """What the model said: answer text with [S<n>] markers and the quotes offered per key."""

    answer: str
    quotes: dict[str, list[str]] = field(default_factory=dict)
    structured: bool = True


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_QUOTE_LINE = re.compile(r'^\s*[-*]?\s*\[(S\d+)\]\s*[:\-–]?\s*["“„](.+)["”]\s*$', re.IGNORECASE | re.MULTILINE)


def _json_object(raw: str) -> dict[str, Any] | None:
    candidates = [raw] + _FENCE.findall(raw)
    for text in candidates:
        text = text.strip()
        start = text.find("{")
        if start < 0:
            continue
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def parse_reply(raw: str) -> Reply:
    """Read a reply: strict JSON, JSON in a fence or before trailing text, or plain text with [S1] markers.

    A reply that starts like JSON but cannot be read raises a non-retryable Fault.
    """
    raw = (raw or "").strip()
    if not raw:
        raise Fault("empty reply")
    obj = _json_object(raw)
    if obj is not None:
        answer = obj.get("answer", obj.get("text"))
        if not isinstance(answer, str):
            raise Fault("reply without an answer field")
        quotes: dict[str, list[str]] = {}
        cites = obj.get("citations") or []
        if isinstance(cites, dict):
            cites = [{"key": k, "quote": v} for k, v in cites.items()]
        for item in cites if isinstance(cites, list) else []:
            if not isinstance(item, dict):
                continue
            key = str(item.get("key") or item.get("source") or item.get("id") or "").strip().strip("[]").upper()
            quote = item.get("quote")
            if key:
                quotes.setdefault(key, [])
                if isinstance(quote, str) and quote.strip():
                    quotes[key].append(html.unescape(quote))
        return Reply(answer.strip(), quotes, structured=True)
    if raw.startswith(("{", "[", "```")):
        raise Fault("malformed JSON")
    quotes = {}
    for m in _QUOTE_LINE.finditer(raw):
        quotes.setdefault(m.group(1).upper(), []).append(html.unescape(m.group(2)))
    text = _QUOTE_LINE.sub("", raw)
    text = re.sub(r"(?im)^\s*(quotes|sources|citations|bronnen)\s*:\s*$", "", text).strip()
    return Reply(text, quotes, structured=False)


class AnswerStream:
    """Turns streamed reply pieces into displayable text: the JSON "answer" string, or plain text."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._buf = ""
        self._mode: str | None = None  # "json" | "text" | "done"
        self._pos = 0
        self.emitted = False

    def _out(self, text: str) -> None:
        if text:
            self.emitted = True
            self._emit(text)

    def feed(self, piece: str) -> None:
        self._buf += piece
        if self._mode is None:
            head = self._buf.lstrip()
            if not head:
                return
            self._mode = "json" if head[0] in "{`[" else "text"
        if self._mode == "text":
            self._out(piece if self._pos else self._buf)
            self._pos = len(self._buf)
        elif self._mode == "json":
            self._json()

    def _json(self) -> None:
        if not self._pos:
            m = re.search(r'"(?:answer|text)"\s*:\s*"', self._buf)
            if not m:
                return
            self._pos = m.end()
        out = []
        i = self._pos
        while i < len(self._buf):
            ch = self._buf[i]
            if ch == '"':
                self._mode = "done"
                break
            if ch == "\\":
                esc = self._buf[i + 1 : i + 2]
                if not esc or (esc == "u" and len(self._buf) < i + 6):
                    break  # wait for the rest of the escape
                if esc == "u":
                    out.append(chr(int(self._buf[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                out.append({"n": "\n", "t": "\t", "r": "", "b": "", "f": ""}.get(esc, esc))
                i += 2
                continue
            out.append(ch)
            i += 1
        self._pos = i
        self._out("".join(out))


# --- the chat model -------------------------------------------------------------------


def chat_model(settings: Settings) -> ChatOpenAI:
    """ChatOpenAI for the configured endpoint; retries are ours (see LLMAnswerer), so the client's are off."""
    key = settings.llm_key()
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url or None,
        api_key=key or NO_KEY,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=0,
    )


def _chunk_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content or [])


def _stream_until(model: Any, parts: dict[str, str], deadline: float, budget: float) -> Iterator[str]:
    """Text pieces of a streamed reply, read in a worker thread so a stalled stream cannot outlive the deadline.

    The model is streamed directly: closing a RunnableSequence's stream early drains it to the end.
    """
    pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for chunk in model.stream(_to_messages(parts)):
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


def _to_messages(parts: dict[str, str]) -> list[BaseMessage]:
    return [SystemMessage(parts["system"]), HumanMessage(parts["user"])]


class LLMAnswerer:
    """Answers from the retrieved hits with an LLM; same :class:`Answer` as the extractive answerer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prompts = check_prompts(settings)
        self.model = chat_model(settings)
        self.structured = True  # set to False when the endpoint refuses response_format

    def _model(self, timeout: float, structured: bool) -> Any:
        kwargs: dict[str, Any] = {"timeout": timeout}
        if structured:
            kwargs["response_format"] = ANSWER_SCHEMA
        return self.model.bind(**kwargs)

    def _chain(self, timeout: float, structured: bool) -> Any:
        """The chain: prompt parts -> messages -> model (with this attempt's timeout) -> text."""
        return RunnableLambda(_to_messages) | self._model(timeout, structured) | StrOutputParser()

    def build_prompt(self, question: str, keyed: dict[str, Hit], lang: str, history: list[tuple[str, str]] | None) -> dict[str, str]:
        values = {
            "language": LANGUAGES.get(lang, lang),
            "no_answer": NO_ANSWER.get(lang, NO_ANSWER["en"]),
            "passages": passage_block(keyed),
            "question": question.strip(),
            "history": history_block(history),
        }
        system = self.prompts["system"].render(**values) + "\n\n" + self.prompts["no_answer"].render(**values)
        return {"system": system, "user": self.prompts["answer"].render(**values)}

    def _run(self, parts: dict[str, str], deadline: float, on_token: Callable[[str], None] | None) -> str:
        """One reply within the budget, retrying transient faults with bounded backoff."""
        failures = 0
        budget = self.settings.llm_timeout
        stream = AnswerStream(on_token) if on_token else None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                raise Fault(f"timeout after {budget:g} s")
            try:
                if stream is None:
                    return str(self._chain(remaining, self.structured).invoke(parts))
                pieces: list[str] = []
                for piece in _stream_until(self._model(remaining, self.structured), parts, deadline, budget):
                    pieces.append(piece)
                    stream.feed(piece)
                return "".join(pieces)
            except Exception as exc:  # noqa: BLE001 - every fault is classified, none escapes
                fault = classify(exc, budget)
                cause = None if fault is exc else exc
                if fault.structured_unsupported and self.structured:
                    log.info("The endpoint refuses response_format; asking for JSON through the prompt only.")
                    self.structured = False
                    continue
                failures += 1
                if not fault.retryable or failures > self.settings.llm_retries or (stream and stream.emitted):
                    if failures > 1 and fault.retryable and "timeout" not in fault.reason:
                        fault.reason += f" after {failures} attempts"
                    raise fault from cause
                wait = fault.retry_after if fault.retry_after is not None else min(MAX_BACKOFF, 0.25 * 2 ** (failures - 1))
                if time.monotonic() + wait + 0.1 >= deadline:
                    if fault.retry_after is not None:
                        fault.reason += f", retry after {fault.retry_after:g} s"
                    raise fault from cause
                log.info("LLM attempt %d failed (%s); retrying in %.2f s", failures, fault.reason, wait)
                time.sleep(wait)

    def answer(
        self,
        question: str,
        hits: list[Hit],
        *,
        lang: str,
        fallback: Callable[[], Answer],
        history: list[tuple[str, str]] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """A cited answer in ``lang``; on any fault ``fallback()`` with a notice (never raises for model faults)."""
        start = time.monotonic()
        if not hits:
            return fallback()
        keyed = {f"S{i}": hit for i, hit in enumerate(hits, 1)}
        try:
            parts = self.build_prompt(question, keyed, lang, history)
            reply = parse_reply(self._run(parts, start + self.settings.llm_timeout, on_token))
        except Fault as fault:
            log.warning("LLM answer failed: %s", fault.reason)
            return self._fallback(fallback, fault.reason, start)
        except Exception as exc:  # noqa: BLE001 - a bug here must not cost the user the answer
            log.exception("LLM answerer crashed")
            return self._fallback(fallback, f"unexpected error: {type(exc).__name__}", start)
        ms = (time.monotonic() - start) * 1000
        checked = control(reply.answer, reply.quotes, {k: h.chunk.text for k, h in keyed.items()})
        if checked.dropped_citations or checked.dropped_sentences:
            log.info("Dropped citations %s and %d unsupported sentence(s)", checked.dropped_citations, len(checked.dropped_sentences))
        if not checked.ok:
            if _is_no_answer(reply.answer):
                return self._abstain(question, hits, lang, ms)
            return self._fallback(fallback, "no verifiable citation", start)
        text, order = number(checked)
        citations = [_citation(n, keyed[key], checked.quotes[key]) for n, key in enumerate(order, 1)]
        return Answer(
            question=question,
            text=text,
            citations=citations,
            mode="llm",
            language=lang,
            retrieved=hits,
            timings={"llm_ms": round(ms, 1)},
            as_of=_as_of(keyed[k] for k in order),
        )

    def _fallback(self, fallback: Callable[[], Answer], reason: str, start: float) -> Answer:
        answer = fallback()
        timings = {**answer.timings, "llm_ms": round((time.monotonic() - start) * 1000, 1)}
        return answer.model_copy(update={"notice": notice_for(reason), "mode": "extractive", "timings": timings})

    def _abstain(self, question: str, hits: list[Hit], lang: str, ms: float) -> Answer:
        nearest = [_citation(n, h, best_span(question, h.chunk.text)) for n, h in enumerate(hits[:3], 1)]
        return Answer(
            question=question,
            text=NO_ANSWER.get(lang, NO_ANSWER["en"]),
            abstained=True,
            mode="llm",
            language=lang,
            retrieved=hits,
            nearest=nearest,
            timings={"llm_ms": round(ms, 1)},
        )


def _is_no_answer(text: str) -> bool:
    folded = normalize(text).lower()
    return any(normalize(s).lower().rstrip(".") in folded for s in NO_ANSWER.values())


def _citation(n: int, hit: Hit, quote: str) -> Citation:
    c = hit.chunk
    return Citation(
        n=n, source=c.source, unit=c.unit, ref=c.ref, title=c.title, url=c.url,
        quote=quote, language=c.language, version=c.version,
    )


def _as_of(hits: Iterator[Hit] | Any) -> list[SourceVersion]:
    seen: dict[tuple[str, str, str], SourceVersion] = {}
    for h in hits:
        c = h.chunk
        seen.setdefault((c.source, c.language, c.version), SourceVersion(source=c.source, language=c.language, version=c.version))
    return list(seen.values())


# --- follow-up questions -------------------------------------------------------------

_ELLIPTICAL = re.compile(
    r"^\s*(and|what about|how about|also|or|but|en|maar|of|ook|wat met|hoe zit het met|en wat|en de|en het)\b", re.IGNORECASE
)


def simple_condense(history: list[tuple[str, str]] | None, question: str, settings: Settings) -> str:
    """Without an LLM: carry over the act named in the previous turn ("AI Act: and the fines?")."""
    if not history:
        return question
    from .sources import load_manifest  # local: only needed for follow-ups

    try:
        manifest = load_manifest(settings.manifest_path)
    except Exception:  # noqa: BLE001 - a broken manifest is reported elsewhere
        return question
    if manifest.find_in(question):
        return question
    for previous, _ in reversed(history[-HISTORY_TURNS:]):
        ids = manifest.find_in(previous)
        if ids:
            return f"{manifest.get(ids[0]).short}: {question.strip()}"
    previous = history[-1][0].strip()
    if _ELLIPTICAL.match(question) and previous:
        return f"{previous.rstrip('?')} — {question.strip()}"
    return question


def condense_question(history: list[tuple[str, str]] | None, question: str, settings: Settings) -> str:
    """A standalone question for retrieval: LLM rewrite when configured, else :func:`simple_condense`."""
    if not history:
        return question
    if settings.effective_mode() != "llm":
        return simple_condense(history, question, settings)
    start = time.monotonic()
    try:
        prompt = check_prompts(settings)["condense"].render(
            history=history_block(history), question=question.strip(), language="", no_answer="", passages=""
        )
        budget = min(settings.llm_timeout, CONDENSE_BUDGET)
        model = chat_model(settings).bind(timeout=budget, max_tokens=120)
        text = str((model | StrOutputParser()).invoke([HumanMessage(prompt)]))
    except Exception as exc:  # noqa: BLE001 - condensation is best effort
        log.warning("Follow-up condensation failed (%s); using the simple rewrite", classify(exc, settings.llm_timeout))
        return simple_condense(history, question, settings)
    line = next((ln.strip().strip("\"'“”") for ln in text.splitlines() if ln.strip()), "")
    log.debug("Condensed in %.0f ms", (time.monotonic() - start) * 1000)
    if not line or len(line) > 500:
        return simple_condense(history, question, settings)
    return line
