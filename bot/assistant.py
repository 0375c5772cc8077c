"""The one entry point every front end uses: ``Assistant.ask`` returns an ``Answer``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .answering import gate, intent
from .answering.compose import abstention, sources_sentence
from .answering.condense import condense_question
from .answering.citing import act_name, nearest_citations
from .answering.extractive import ExtractiveAnswerer
from .answering.llm import LLMAnswerer
from .config import Settings, get_settings
from .errors import BotError
from .generations import TIMELINE
from .models import Answer, Citation, SourceVersion, UnitHead
from .prompts import check_prompts
from .query import Query, clean_question, detect_language, parse_query
from .retrieval import Result, Retriever
from .sources import Manifest, load_manifest
from .tracking.applies import citation_dates
from .tracking.build import load_timeline
from .tracking.entries import Timeline
from .tracking.timeline import answer_from_timeline, dates_asked
from .versions import VersionStore


@dataclass
class Serving:
    """One loaded index generation and what is derived from it (replaced whole by a swap)."""

    retriever: Retriever
    units: dict[str, list[UnitHead]] | None = None
    amending_acts: dict[str, str] | None = None  # CELEX -> 'Regulation (EU) 2026/1744', of the acts that amended units
    timeline: Timeline | None = None


class Assistant:
    """Holds the loaded index, the retriever and the answerers; reuse one per process.

    The index generation that serves can be replaced while questions are being answered
    (:meth:`swap`, used by :mod:`bot.serving`): each question is answered from the generation
    that served when it arrived, whole.
    """

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None) -> None:
        self.settings = settings or get_settings()
        check_prompts(self.settings)  # a broken template fails at start-up, whatever the mode
        self.manifest: Manifest = load_manifest(self.settings.manifest_path)
        self._serving: Serving | None = Serving(retriever) if retriever else None
        self._load_lock = threading.Lock()
        self._pinned = threading.local()
        self._llm: LLMAnswerer | None = None
        self.before_question: Callable[[], None] | None = None  # e.g. a check for a newer generation

    @property
    def serving(self) -> Serving:
        pinned: Serving | None = getattr(self._pinned, "serving", None)
        if pinned is not None:
            return pinned
        serving = self._serving
        if serving is None:
            with self._load_lock:
                if self._serving is None:
                    self._serving = Serving(Retriever(self.settings))
                serving = self._serving
        return serving

    @property
    def retriever(self) -> Retriever:
        return self.serving.retriever

    def swap(self, retriever: Retriever) -> None:
        """Serve ``retriever`` from the next question on (questions being answered finish on the old one)."""
        self._serving = Serving(retriever)

    @contextmanager
    def pinned(self) -> Iterator[Serving]:
        """Answer everything inside from one generation, even if a swap happens meanwhile."""
        outer = getattr(self._pinned, "serving", None)
        self._pinned.serving = outer or self.serving
        try:
            yield self._pinned.serving
        finally:
            self._pinned.serving = outer

    def _timeline_of(self, serving: Serving) -> Timeline | None:
        """The timeline of the synced texts; on a host with none (a bot replica), the one its generation stores."""
        if serving.timeline is None:
            stored = serving.retriever.snapshot.folder / TIMELINE
            try:
                if stored.exists() and not VersionStore(self.settings.versions_dir).list():
                    serving.timeline = Timeline.model_validate_json(stored.read_text(encoding="utf-8"))
                else:
                    serving.timeline = load_timeline(self.settings, self.manifest)
            except (BotError, OSError, ValueError):
                return None
        return serving.timeline

    @property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.settings, self.retriever, self.manifest, dates=self.applies, dated_by=self.dated_by)

    def applies(self, citation: Citation) -> str:
        """From when a cited provision applies, and whether today, in the citation's language;
        from the same timeline as ``policybot timeline``, so the two never disagree."""
        timeline = self._timeline_of(self.serving)
        if timeline is None:
            return ""
        lang = "nl" if citation.language == "nl" else "en"
        return citation_dates(citation, timeline=timeline).label(lang)

    def dated_by(self, citation: Citation) -> Citation | None:
        """The citation of the rule that sets from when a cited provision applies (None: no date, or it dates itself)."""
        timeline = self._timeline_of(self.serving)
        if timeline is None:
            return None
        rules = citation_dates(citation, timeline=timeline).rules
        return rules[0].citation if rules else None

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
        return condense_question(history, question, self.settings)

    def _application_timeline(self, question: str) -> Timeline | None:
        """The timeline's dates of the kind ``question`` asks for (:func:`dates_asked`)."""
        timeline = self._timeline_of(self.serving)
        return None if timeline is None else dates_asked(timeline, question)

    def carried_source(self, question: str, history: list[tuple[str, str]] | None) -> str | None:
        """The one indexed act the latest earlier turn that names any names, when ``question`` names none."""
        if not history or self.manifest.find_in(question):
            return None
        for previous, _ in reversed(history):
            named = [s for s in self.manifest.find_in(previous) if s in self.retriever.sources]
            if named:
                return named[0] if len(named) == 1 else None
        return None

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
        """Answer one question. ``history`` holds earlier (question, answer text) turns, oldest first.

        ``on_token`` (LLM mode) receives the answer as it streams: only sentences whose
        citations have passed the check, so a front end may show each piece at once.
        """
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
        if self.before_question is not None:
            self.before_question()
        with self.pinned():
            return self._ask_full(question, source=source, lang=lang, k=k, mode=mode, history=history, on_token=on_token)

    def _ask_full(
        self,
        question: str,
        *,
        source: str | None,
        lang: str | None,
        k: int | None,
        mode: str | None,
        history: list[tuple[str, str]] | None,
        on_token: Callable[[str], None] | None,
    ) -> tuple[Answer, list[Result]]:
        start = time.perf_counter()
        k = k or self.settings.top_k
        text = clean_question(question)
        q_lang = lang or detect_language(text)
        # The gate runs before any answerer: instructions to the bot are dropped (a real question
        # beside them is answered alone), and what no legal text can answer is refused.
        screened = gate.screen(text, q_lang, self.settings.knowledge_dir)
        if screened.refusal is not None and not screened.refusal.nearest:
            return self._refuse(question, q_lang, screened.refusal, [], k), []
        asked = self.standalone(screened.question, history)
        # A follow-up that names no act keeps the act of the earlier turn ("and the fines?").
        source = source or self.carried_source(screened.question, history)
        q, results, timings = self.retrieve(asked, source=source, lang=q_lang, k=k)
        refusal = screened.refusal or self._check(q, results, k, source)
        if refusal is not None:
            answer = self._refuse(question, q.lang, refusal, results, k)
            answer.timings.update(timings)
            answer.timings["total_ms"] = (time.perf_counter() - start) * 1000
            return answer, results
        extractive = self.extractive
        passages = extractive.answer(q, results, k=k)
        # A question with another part that asks something else than a date ("since when does the duty
        # apply, and do we still have to guarantee …?") is answered by the passages, which date what they cite.
        other_part = any(intent.ASKS.search(p) and intent.DATE not in intent.wants(p) for p in intent.question_parts(asked))
        if not source and not other_part:
            # A date question ("since when are the bans in force?") is answered from the
            # application timeline extracted from the current texts, with citations.
            dated = answer_from_timeline(asked, self.settings, self._application_timeline(asked))
            # The timeline answers when it agrees with the passages on where the answer is: the
            # provision it dates first is one the passage answer cites. Else the passages answer
            # (a "by when?" about incident reports is not the CSIRTs network's own deadline).
            cited = {f"{c.source}:{c.unit}" for c in passages.citations}
            if dated is not None and dated.citations and f"{dated.citations[0].source}:{dated.citations[0].unit}" in cited:
                dated.question = question
                dated.retrieved = [r.primary for r in results[:k]]
                dated.timings.update(timings)
                dated.timings["total_ms"] = (time.perf_counter() - start) * 1000
                return dated, results
        effective = self.settings.effective_mode(mode)
        if effective == "llm":
            if self._llm is None:
                self._llm = LLMAnswerer(self.settings)
            hits = [r.primary for r in results[:k]]
            answer = self._llm.answer(
                q.text,
                hits,
                lang=q.lang,
                fallback=lambda: passages,
                history=history,
                on_token=on_token,
            )
        else:
            answer = passages
        if q.foreign and not answer.abstained:
            answer.notice = gate.not_indexed_notice(q.foreign, q.lang, answered=True)
            answer.text += "\n" + answer.notice
        for c in answer.citations:
            if c.applies is None:
                c.applies = self.applies(c) or None
        answer.question = question
        answer.as_of = self.as_of(answer)
        answer.timings.update(timings)
        answer.timings["total_ms"] = (time.perf_counter() - start) * 1000
        return answer, results

    # -- the answerability gate ----------------------------------------------------------
    def _current_units(self) -> dict[str, list[UnitHead]]:
        """Each indexed source's units in its current text(s) (not the older language versions)."""
        serving = self.serving
        if serving.units is None:
            snapshot = serving.retriever.snapshot
            old = {(t["source"], t["language"]) for t in snapshot.state.get("texts", []) if t.get("predates_current")}
            units: dict[str, list[UnitHead]] = {}
            for head in snapshot.units.heads.values():
                if (head.source, head.language) not in old:
                    units.setdefault(head.source, []).append(head)
            serving.units = units
        return serving.units

    def _short(self) -> dict[str, str]:
        return {s.id: s.short for s in self.manifest.sources}

    def _check(self, q: Query, results: list[Result], k: int, source: str | None) -> gate.Refusal | None:
        """The gate's checks that need the index: units that do not exist, acts not indexed,
        and a fact type that no retrieved passage supplies."""
        units = self._current_units()
        serving = self.serving
        if serving.amending_acts is None:
            serving.amending_acts = {c: act_name(c) for c in {u.amended_by for us in units.values() for u in us if u.amended_by}}
        family = {s.id: {*s.amended_by, *(o.id for o in self.manifest.sources if s.id in o.amended_by)} for s in self.manifest.sources}
        refusal = gate.check_references(q, units, self._short(), serving.amending_acts, family)
        if refusal is not None:
            return refusal
        top = [u for r in results[:k] if (u := self.retriever.unit(r.source, r.primary.chunk.language, r.unit))]
        if not source:
            refusal = gate.check_foreign(q, top, self.retriever)
            if refusal is not None:
                return refusal
        return gate.check_fact_type(q, [u.text for u in top])

    def _refuse(self, question: str, lang: str, refusal: gate.Refusal, results: list[Result], k: int) -> Answer:
        nearest: list = []
        if refusal.reason == "not-indexed" and refusal.acts:
            # What the indexed texts say about the act, where they mention it; else the nearest sources.
            about = lambda text: any(gate.mentions(text, act) for act in refusal.acts)  # noqa: E731
            nearest = nearest_citations(self.retriever, self.manifest, results, lang, about=about)
        if refusal.nearest and not nearest:
            nearest = nearest_citations(self.retriever, self.manifest, results, lang)
        texts = self.retriever.snapshot.state.get("texts", []) if refusal.nearest else []
        return abstention(
            question,
            lang,
            notice=refusal.notice,
            nearest=nearest,
            sources_line=sources_sentence(texts, self._short(), lang) if texts else None,
            retrieved=[r.primary for r in results[:k]],
            short=self._short(),
            bare=refusal.reason == "instruction",
        )

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
