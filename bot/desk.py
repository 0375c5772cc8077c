"""The front desk: what every front end asks (the CLI's ``ask``, ``chat`` and ``eval``, the Slack bot).

A :class:`Desk` is an :class:`~bot.assistant.Assistant` that also knows the tracking outputs built on
top of it. A question that asks for a briefing on one indexed text ("Quick briefing for our board on
NIS2", "Geef me een korte briefing over het ABN AMRO-artikel") gets that text's briefing (the same
as ``policybot brief``: what falls due next, the main obligations, each a cited passage), as an
:class:`~bot.models.Answer`; every other question goes to the assistant. Data flows one way:
assistant → tracking → desk → front ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from .answering import gate
from .assistant import Assistant
from .lexical import stem_tokens
from .models import Answer
from .query import clean_question, detect_language, parse_query
from .retrieval_cues import Result
from .tracking.briefing import build_briefing
from .tracking.briefing_view import Briefing

#: A question that asks for a briefing, an overview or a summary (not "brief" as in "brief period").
BRIEFING = re.compile(
    r"\b(?:briefing|brief me|overview|summary|summari[sz]e|rundown|run-down|overzicht|samenvatting|samenvatten|"
    r"vat\b[^?.]*\bsamen)\b",
    re.I,
)
#: A question that asks what a text changed ("what did the Omnibus change in the AI Act?"): about an
#: amending act, it is answered by that act's briefing, which lists what it changes.
CHANGES = re.compile(
    r"\bwhat (?:did|does|has|will)\b[^?]{0,80}?\bchange|\bwhat(?:'s| is| has)? (?:changed|new)\b|\bwhich changes\b|"
    r"\bwat (?:heeft|is|zijn)\b[^?]{0,80}?\b(?:veranderd|gewijzigd)\b|\bwat (?:verandert|veranderde|wijzigt|wijzigde)\b|"
    r"\bwelke wijzigingen\b",
    re.I,
)
#: The answer's first line, per language: which text is briefed, from what.
LEAD = {
    "en": "Briefing on {name}, from the indexed official text:",
    "nl": "Briefing over {name}, uit de geïndexeerde tekst:",
}
LEAD_ARTICLE = {
    "en": "Briefing on {name}:",
    "nl": "Briefing over {name}:",
}


class Desk(Assistant):
    """An assistant that answers a request for a briefing with the briefing (see the module doc)."""

    def briefing_target(self, question: str, source: str | None = None) -> str | None:
        """The one indexed source a question asks a briefing on, if it asks for one.

        An amending act named beside the act it amends ("a briefing on what the Omnibus changed in the AI
        Act") is the one briefed; so is an amending act asked what it changed, without the word "briefing".
        """
        q = parse_query(question, self.manifest)
        if q.refs:
            return None  # "summarise Article 52" is about that unit: the assistant answers (or says it does not exist)
        indexed = set(self.retriever.sources)
        named = [s for s in self.manifest.find_in(question) if s in indexed]
        if source:
            named = [self.manifest.resolve(source).id]
        amending = [s for s in named if self.manifest.resolve(s).amends]
        if amending and set(named) <= set(amending) | {a for s in amending for a in self.manifest.resolve(s).amends}:
            if BRIEFING.search(question):
                return amending[0]
            # "What did the Omnibus change in the AI Act?" asks for the whole list; "... change about AI
            # literacy?" names a subject, which the assistant answers from the provisions on it.
            if CHANGES.search(question) and not stem_tokens(CHANGES.sub(" ", q.topic(indexed)), q.lang):
                return amending[0]
        if not BRIEFING.search(question):
            return None
        return named[0] if len(named) == 1 else None

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
        """Called by :meth:`Assistant.ask_full` (after its hook, with the generation pinned)."""
        def assistant() -> tuple[Answer, list[Result]]:  # every question that is not a briefing request
            return Assistant._ask_full(self, question, source=source, lang=lang, k=k, mode=mode, history=history,
                                       on_token=on_token)

        text = clean_question(question)
        q_lang = lang or detect_language(text)
        screened = gate.screen(text, q_lang, self.settings.knowledge_dir)
        target = None if screened.refusal is not None else self.briefing_target(text, source)
        if target is None:
            return assistant()
        start = time.perf_counter()
        _, results, timings = self.retrieve(text, source=target, lang=q_lang, k=k or self.settings.top_k)
        brief = build_briefing(self, target, topic=focus(text), language=q_lang)
        if not brief.citations:  # nothing to brief from: the question is answered as any other
            return assistant()
        answer = briefing_answer(brief, question, q_lang)
        answer.retrieved = [r.primary for r in results[: k or self.settings.top_k]]
        answer.timings.update(timings)
        answer.timings["total_ms"] = (time.perf_counter() - start) * 1000
        return answer, results


def focus(question: str) -> str | None:
    """What a briefing request narrows to, after its colon: "Quick briefing on NIS2: who is covered, ...
    and the fines" -> "who is covered, ... and the fines"; None for a briefing on the whole text."""
    _, colon, rest = question.partition(":")
    rest = rest.strip(" ?.!")
    return rest if colon and len(rest.split()) >= 3 else None


def briefing_answer(brief: Briefing, question: str, lang: str) -> Answer:
    """A briefing as an answer: a first line naming the text, then each section's cited lines."""
    lang = lang if lang in LEAD else "en"
    lead = (LEAD if brief.kind in ("regulation", "directive") else LEAD_ARTICLE)[lang]
    # "Chips Act (Regulation (EU) 2023/1781 …)"; a title that starts with the short name is said once.
    name = brief.title if brief.title.startswith(brief.short) else f"{brief.short} ({brief.title})"
    lines = [lead.format(name=name)]
    for section in brief.sections:
        lines.append(f"{section.title}:")
        for line in section.lines:
            applies = f" — {line.applies}" if line.applies else ""
            where = f" ({brief.short}, {line.citation.ref})" if line.citation.ref not in line.label else ""
            lines.append(f"• {line.label}{where}: “{line.quote}” [{line.citation.n}]{applies}")
    return Answer(question=question, text="\n".join(lines), citations=brief.citations, mode="briefing",
                  language=lang, as_of=brief.as_of)
