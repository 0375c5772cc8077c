"""The one entry point every front end uses: ``Assistant.ask`` returns an ``Answer``."""

from __future__ import annotations

import time
from collections.abc import Callable

from .answering.extractive import ExtractiveAnswerer
from .config import Settings, get_settings
from .models import Answer, SourceVersion
from .prompts import check_prompts
from .query import Query, parse_query
from .retrieval import Result, Retriever
from .sources import Manifest, load_manifest


class Assistant:
    """Holds the loaded index, the retriever and the answerers; reuse one per process."""

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None) -> None:
        self.settings = settings or get_settings()
        check_prompts(self.settings)  # a broken template fails at start-up, whatever the mode
        self.manifest: Manifest = load_manifest(self.settings.manifest_path)
        self._retriever = retriever
        self._llm: object | None = None

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.settings)
        return self._retriever

    @property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.settings, self.retriever, self.manifest)

    def retrieve(
        self, question: str, *, source: str | None = None, lang: str | None = None, k: int | None = None
    ) -> tuple[Query, list[Result], dict[str, float]]:
        q = parse_query(question, self.manifest, lang)
        sources = [self.manifest.resolve(source).id] if source else None
        # ``lang`` is the question's language (it sets the answer's language), not a filter.
        results, timings = self.retriever.search(q, k=max(k or self.settings.top_k, 10), sources=sources)
        return q, results, timings

    def standalone(self, question: str, history: list[tuple[str, str]] | None) -> str:
        """A follow-up rewritten as a standalone question (LLM when configured, else a simple carry-over)."""
        if not history:
            return question
        from .llm import condense_question

        return condense_question(history, question, self.settings)

    def ask(
        self,
        question: str,
        *,
        source: str | None = None,
        lang: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        history: list[tuple[str, str]] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer one question. ``history`` holds earlier (question, answer text) turns, oldest first."""
        return self.ask_full(question, source=source, lang=lang, k=k, mode=mode, history=history, on_token=on_token)[0]

    def ask_full(
        self,
        question: str,
        *,
        source: str | None = None,
        lang: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        history: list[tuple[str, str]] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> tuple[Answer, list[Result]]:
        """Like :meth:`ask`, also returning the unit-level retrieval results (for eval)."""
        start = time.perf_counter()
        k = k or self.settings.top_k
        asked = self.standalone(question, history)
        q, results, timings = self.retrieve(asked, source=source, lang=lang, k=k)
        if not source:
            # A date question ("since when are the bans in force?") is answered from the
            # application timeline extracted from the current texts, with citations.
            from .tracking.timeline import answer_from_timeline

            dated = answer_from_timeline(asked, self.settings)
            if dated is not None:
                dated.question = question
                dated.retrieved = [r.primary for r in results[:k]]
                dated.timings.update(timings)
                dated.timings["total_ms"] = (time.perf_counter() - start) * 1000
                return dated, results
        extractive = self.extractive
        effective = self.settings.effective_mode(mode)
        if effective == "llm":
            from .llm import LLMAnswerer

            if self._llm is None:
                self._llm = LLMAnswerer(self.settings)
            hits = [r.primary for r in results[:k]]
            answer = self._llm.answer(  # type: ignore[attr-defined]
                q.text,
                hits,
                lang=q.lang,
                fallback=lambda: extractive.answer(q, results, k=k),
                history=history,
                on_token=on_token,
            )
        else:
            answer = extractive.answer(q, results, k=k)
        answer.question = question
        answer.as_of = self.as_of(answer)
        answer.timings.update(timings)
        answer.timings["total_ms"] = (time.perf_counter() - start) * 1000
        return answer, results

    def as_of(self, answer: Answer) -> list[SourceVersion]:
        """The versions of the sources the answer drew from."""
        used = {(c.source, c.language) for c in [*answer.citations, *answer.nearest]}
        out = []
        for text in self.retriever.snapshot.state.get("texts", []):
            if (text["source"], text["language"]) in used:
                out.append(
                    SourceVersion(source=text["source"], language=text["language"], version=text["version"], date=text.get("date", ""))
                )
        return out
