"""The optional LLM answerer: the same :class:`~bot.models.Answer` as the extractive one, from a chat model.

The chain: the hits become keyed passages (:mod:`.llm_prompt`); ``ChatOpenAI``
answers with JSON (a JSON-schema ``response_format`` where the endpoint
accepts it, the prompt alone where it does not); :mod:`.stream` reads the
reply; :func:`bot.citations.control` keeps only verified citations. With
``on_token``, only sentences that passed that check are streamed
(:class:`.stream.CheckedStream`). ``llm_timeout`` is the budget of the whole
answer, retries included. On any fault the caller's extractive answer comes
back with a notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from ..citations import best_span, control, normalize, number
from ..config import Settings
from ..models import NO_ANSWER, Answer, Citation, Hit, SourceVersion
from ..prompts import check_prompts
from .llm_client import Fault, bound, chat_model, classify, complete, notice_for, stream_until
from .llm_prompt import ANSWER_SCHEMA, build_prompt
from .stream import CheckedStream, ReplyError, parse_reply

log = logging.getLogger(__name__)

MAX_BACKOFF = 4.0


class LLMAnswerer:
    """Answers from the retrieved hits with an LLM; same :class:`Answer` as the extractive answerer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prompts = check_prompts(settings)
        self.model = chat_model(settings)
        self.structured = True  # set to False when the endpoint refuses response_format

    def _model(self, timeout: float) -> object:
        return bound(self.model, timeout, ANSWER_SCHEMA if self.structured else None)

    def _run(self, parts: dict[str, str], deadline: float, stream: CheckedStream | None) -> str:
        """One reply within the budget, retrying transient faults with bounded backoff."""
        failures = 0
        budget = self.settings.llm_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                raise Fault(f"timeout after {budget:g} s")
            try:
                if stream is None:
                    return complete(self._model(remaining), parts)
                pieces: list[str] = []
                for piece in stream_until(self._model(remaining), parts, deadline, budget):
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
        """A cited answer in ``lang``; on any fault ``fallback()`` with a notice (never raises for model faults).

        ``on_token`` receives the answer's text as it streams, but only sentences whose
        citations have passed the check, with the final answer's ``[n]`` markers.
        """
        start = time.monotonic()
        if not hits:
            return fallback()
        keyed = {f"S{i}": hit for i, hit in enumerate(hits, 1)}
        passages = {k: h.chunk.text for k, h in keyed.items()}
        stream = CheckedStream(on_token, passages) if on_token else None
        try:
            parts = build_prompt(self.prompts, question, keyed, lang, history)
            reply = parse_reply(self._run(parts, start + self.settings.llm_timeout, stream))
        except (Fault, ReplyError) as fault:
            log.warning("LLM answer failed: %s", fault)
            return self._fallback(fallback, str(fault), start)
        except Exception as exc:  # noqa: BLE001 - a bug here must not cost the user the answer
            log.exception("LLM answerer crashed")
            return self._fallback(fallback, f"unexpected error: {type(exc).__name__}", start)
        ms = (time.monotonic() - start) * 1000
        checked = control(reply.answer, reply.quotes, passages)
        if checked.dropped_citations or checked.dropped_sentences:
            log.info("Dropped citations %s and %d unsupported sentence(s)", checked.dropped_citations, len(checked.dropped_sentences))
        if not checked.ok:
            if _is_no_answer(reply.answer):
                return self._abstain(question, hits, lang, ms)
            return self._fallback(fallback, "no verifiable citation", start)
        if stream is not None:
            stream.finish(checked)
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


def _as_of(hits: Iterable[Hit]) -> list[SourceVersion]:
    seen: dict[tuple[str, str, str], SourceVersion] = {}
    for h in hits:
        c = h.chunk
        seen.setdefault((c.source, c.language, c.version), SourceVersion(source=c.source, language=c.language, version=c.version))
    return list(seen.values())
