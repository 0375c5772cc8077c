"""The extractive answerer: the offline default.

From the retrieved units it picks the sentences and points that answer the
question (term overlap weighted by rarity, times the unit's retrieval rank),
quotes them verbatim with numbered citations, and checks every quote against
the unit's text in code. Where the evidence is too weak, it says so with the
shared sentinel and lists the nearest sources. Text in a question or a
document is only ever quoted, never followed.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache

from ..citations import verify_quote
from ..models import Answer, Block, Citation, Hit, Unit
from ..query import Query
from ..lexical import stem_tokens
from ..retrieval_cues import DEFINITIONS_TITLE, Result
from ..text import group_digits
from . import intent
from .citing import NOTES, Citer, nearest_citations
from .compose import Point, abstention, bottom_line, render
from .gate import NO_NUMBER
from .selection import Candidate, overlaps, select, titled_sides, unit_key
from .passages import (
    articles_referenced,
    items_shown,
    opening,
    passage,
    points_referenced,
    split_sentences,
    with_items,
)

__all__ = ["ExtractiveAnswerer"]

#: How fast trust falls with the retrieval rank of a unit (rank r weighs 1 / (1 + RANK_DECAY * r)).
RANK_DECAY = 0.35
#: Weight of the chunk's dense similarity (scaled to 0..1 among the retrieved units) in a sentence's score.
DENSE_WEIGHT = 0.15
#: Weight of the share of the question's terms in the unit's title.
TITLE_WEIGHT = 0.0
#: Sources whose Article 1 lists amendments to another, consolidated act.
AMENDING = {"ai-omnibus"}
#: Rank prior of a definitions article for a question that is not about what a term means.
DEFINITIONS_WEIGHT = 0.7
#: The heading of an article that amends another act ("Amendment to Directive (EU) 2020/1828").
AMENDS_ANOTHER_ACT = re.compile(
    r"^(?:Amendments?|Wijziging(?:en)?) (?:to|of|van) (?:Regulation|Directive|Decision|Verordening|Richtlijn|Besluit)\b")
#: Share of the question's (rarity-weighted) terms that the best sentence must contain to answer
#: without a high dense score.
MIN_OVERLAP = 0.2
#: Bonus for a sentence that gives the kind of fact asked for (a date, an amount, a period).
INTENT_BONUS = 0.15
#: Score a list's lead-in on the lead-in and the start of its points, as it is quoted.
LISTS_WHOLE = True
#: For a question asking for a kind of fact, quote only units whose passages give one.
FACT_UNITS_ONLY = True
#: Unknown words of the sentences that only set the scene do not count against the evidence.
SCENE = True
#: A question about what the law requires of someone quotes more of a unit's duties (selection.DUTY_SENTENCE_RATIO).
DUTY_BREADTH = True
#: Bonus of a named unit's opening paragraph for a question that asks what the unit is about.
ABOUT_WEIGHT = 0.3
#: At most this many quotes in an answer (a part of a question may add one beyond select()'s four).
MAX_QUOTES = 5
#: At most this many titles of articles a quote refers to are shown beside it.
MAX_REFERENCED = 4


@lru_cache(maxsize=100_000)
def sentence_terms(text: str, lang: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """A block's sentences with their stemmed terms; the texts do not change while a process
    serves, so each block is split and stemmed once, not on every question."""
    return tuple((sentence, frozenset(stem_tokens(sentence, lang))) for sentence in split_sentences(text))


class ExtractiveAnswerer(Citer):
    """Quotes the passages of the retrieved units that answer the question (see the module doc)."""

    select = staticmethod(select)

    def _blocks(self, hit: Hit) -> tuple[Unit | None, list[Block]]:
        c = hit.chunk
        unit = self.retriever.unit(c.source, c.language, c.unit)
        if unit is None:
            return None, []
        paths = c.paths.split(",") if c.paths else []
        blocks = [b for b in unit.blocks if b.path in paths] or unit.blocks
        return unit, blocks

    def candidates(self, q: Query, results: list[Result], k: int) -> list[Candidate]:
        topic = q.topic(self.retriever.sources)
        q_terms = {lang: set(stem_tokens(topic, lang)) for lang in ("en", "nl")}
        for lang in q_terms:
            if lang != q.lang:
                # A Dutch question read against an English-only text: in the words the law uses there.
                q_terms[lang] |= self.retriever.lexicon.translate(topic, q.lang, lang)
        wants = intent.wants(q.text)
        setting, asking = intent.scene(topic) if SCENE else ("", topic)
        scene = {lang: set(stem_tokens(setting, lang)) - set(stem_tokens(asking, lang)) for lang in q_terms}
        definitional = bool(intent.DEFINITIONAL.search(q.text))
        about = bool(intent.ABOUT.search(q.text))
        out: list[Candidate] = []
        dense = [max((h.dense or 0.0) for h in r.hits) for r in results[:k]]
        lo, hi = (min(dense), max(dense)) if dense else (0.0, 0.0)
        for rank, result in enumerate(results[:k]):
            prior = 1.0 / (1.0 + RANK_DECAY * rank)
            if (result.source in AMENDING and result.unit == "art-1") or self._amends_another_act(result):
                # The amending instructions ("in Article 63, paragraph 1 is replaced by ...") are a
                # worse citation than the provision they produced or the act they changed: an article
                # headed "Amendments to Regulation (EU) 2021/694" rules on another act, not this one.
                prior *= 0.5
            if not definitional and self._defines(result):
                # A definitions article says what a term means, not what the law requires or when:
                # it answers a question about a term, else the provisions that use the term do.
                prior *= DEFINITIONS_WEIGHT
            # Every block of a retrieved unit is a candidate, not only those of its retrieved chunks:
            # the paragraph that answers ("within 72 hours", point (b)) is often not the one that
            # matched best. A block's dense weight is that of its own chunk where one was retrieved.
            hit_of: dict[tuple[str, str], Hit] = {}
            for hit in result.hits:
                for path in (hit.chunk.paths.split(",") if hit.chunk.paths else [""]):
                    hit_of.setdefault((hit.chunk.language, path), hit)
            languages = list(dict.fromkeys(h.chunk.language for h in result.hits[:3]))
            for lang in languages:
                unit = self.retriever.unit(result.source, lang, result.unit)
                if unit is None:
                    continue
                first = next(h for h in result.hits if h.chunk.language == lang)
                lex = self.retriever.lexical.get(lang)
                terms = q_terms.get(lang, set())
                # Ranking compares sentences on the terms the corpus knows; whether the question is
                # answered at all also counts the terms no text contains ("EIB interest rate").
                known = sum(lex.weight(t) for t in terms if t in lex.idf) if lex else 0.0
                # ... except the unknown words of a part that only sets the scene ("We finance a plant in
                # Dresden; by when ...?"): an unknown name there is not what is asked.
                total = sum(lex.weight(t) for t in terms if t in lex.idf or t not in scene.get(lang, set())) if lex else 0.0
                # The unit's heading says what it rules on ("Right to explanation of individual
                # decision-making"): a question in its words is about that unit.
                title_terms = set(stem_tokens(unit.title, lang)) if unit.title else set()
                titled = (sum(lex.weight(t) for t in terms & title_terms) / known) if lex and known else 0.0
                for block in unit.blocks:
                    hit = hit_of.get((lang, block.path))
                    # The dense similarity of this block's chunk, scaled among the retrieved units.
                    dense_norm = max(0.0, ((hit.dense or lo) - lo) / (hi - lo)) if hit and hi > lo else 0.0
                    # A list's lead-in ("... submit to the CSIRT:") is quoted with the start of its
                    # points, so it is scored on the words the quote will show: the list as a whole.
                    shown = items_shown(unit, block) if LISTS_WHOLE else ""
                    shown_terms = frozenset(stem_tokens(shown, lang)) if shown else frozenset()
                    sentences = sentence_terms(block.text, lang)
                    for i, (sentence, s_terms) in enumerate(sentences):
                        if shown and i == len(sentences) - 1:
                            s_terms = s_terms | shown_terms
                        matched = sum(lex.weight(t) for t in terms & s_terms) if lex else 0.0
                        overlap = matched / known if known else 0.0
                        coverage = matched / total if total else 0.0
                        para = q.paragraphs.get(unit.unit)
                        exact = 0.3 if para and block.path.split(".")[0] == para else 0.0
                        if q.targeted and unit.unit in q.refs:
                            exact += 0.5  # the question names this unit: answer from it
                            if about and block is unit.blocks[0] and not para:
                                exact += ABOUT_WEIGHT  # "what is Article 60a about?": its opening says
                        base = DENSE_WEIGHT * dense_norm + TITLE_WEIGHT * titled + exact + 0.05
                        said = f"{sentence} {shown}" if shown and i == len(sentences) - 1 else sentence
                        bonus = sum(INTENT_BONUS for pattern in wants if pattern.search(said))
                        factor = prior * (1.0 if lang == q.lang else 0.8)
                        score = (overlap + base + bonus) * factor
                        out.append(
                            Candidate(
                                result, hit or first, unit, block, sentence, score, overlap, coverage,
                                frozenset(s_terms), base, factor,
                            )
                        )
        return out

    def _gives_rate(self, question: str, c: Candidate) -> bool:
        """Does the candidate's passage give a percentage, of the kind the question names ("interest
        rate": a passage that speaks of interest or "rente")?"""
        shown = self._shown(c)
        if not intent.PERCENT.search(shown):
            return False
        kind = intent.RATE_KIND.search(question)
        if kind is None:
            return True
        words = intent.RATE_WORDS[(kind.group(1) or kind.group(2)).lower()]
        return bool(re.search(r"\b(?:" + "|".join(words) + ")", shown, re.I))

    @staticmethod
    def _shown(c: Candidate) -> str:
        """The words a candidate's quote can show: its block, and a list's points after its lead-in."""
        return f"{c.block.text} {items_shown(c.unit, c.block)}".rstrip()

    def _title(self, result: Result) -> str:
        unit = self.retriever.unit(result.source, result.hits[0].chunk.language, result.unit) if result.hits else None
        return unit.title.strip() if unit and unit.title else ""

    def _defines(self, result: Result) -> bool:
        return bool(DEFINITIONS_TITLE.match(self._title(result)))

    def _amends_another_act(self, result: Result) -> bool:
        return bool(AMENDS_ANOTHER_ACT.match(self._title(result)))

    def _referenced(self, unit: Unit, quote: str) -> list[str]:
        """The titles of the articles of the same text that a quote refers to:
        "the measure provided for in Article 25, 26 or 27" -> "Article 25: Priority-rated orders", ...
        """
        out: list[str] = []
        for number in articles_referenced(quote):
            other = self.retriever.unit(unit.source, unit.language, f"art-{number}")
            if other is not None and other.unit != unit.unit and other.title:
                out.append(f"{other.ref}: {other.title}")
        return out[:MAX_REFERENCED]

    def _best_for(self, part: str, cands: list[Candidate]) -> Candidate | None:
        """The candidate that best answers one part of a question, if it answers it at all."""
        wants = intent.wants(part)
        best: tuple[float, Candidate] | None = None
        terms_by_lang = {lang: set(stem_tokens(part, lang)) for lang in self.retriever.lexical}
        for c in cands:
            lang = c.unit.language
            lex = self.retriever.lexical.get(lang)
            if lex is None:
                continue
            terms = terms_by_lang[lang]
            known = sum(lex.weight(t) for t in terms if t in lex.idf)
            if not known:
                continue
            overlap = sum(lex.weight(t) for t in terms & c.terms) / known
            bonus = sum(INTENT_BONUS for pattern in wants if pattern.search(c.text))
            if overlap < MIN_OVERLAP and not bonus:
                continue
            score = (overlap + c.base + bonus) * c.factor
            if best is None or score > best[0]:
                best = (score, c)
        return best[1] if best else None

    # -- answering ---------------------------------------------------------------
    def answer(self, q: Query, results: list[Result], *, k: int | None = None) -> Answer:
        start = time.perf_counter()
        k = k or self.settings.top_k
        lang = q.lang
        hits = [r.primary for r in results[:k]]
        named = [sid for sid in q.sources if sid in self.retriever.sources]
        # A question that names two sources asks about each ("the ABN article says X; what does the
        # Chips Act say?"), whether or not it says "compare".
        # An amending act named beside the act it amends ("the AI Act, as changed by the Omnibus")
        # is the same law, not a second side.
        amenders = {a for sid in named for a in self._amended_by(sid)}
        sides = [sid for sid in named if sid not in amenders]
        compare = sides if len(sides) > 1 else None
        pool = results[:k]
        for source in compare or []:
            # A comparison needs each side: the best unit of a named source joins the pool
            # even when it ranked below the cut-off.
            if not any(r.source == source for r in pool):
                pool = pool + [r for r in results if r.source == source][:1]
        cands = self.candidates(q, pool, len(pool))
        if not cands:
            return self._abstain(q, results, k)
        cands.sort(key=lambda c: -c.score)
        best = cands[0]
        top_dense = max((h.dense or 0.0) for h in hits) if hits else 0.0
        if not self._enough(q, best, top_dense):
            return self._abstain(q, results, k)

        topic = q.topic(self.retriever.sources)
        titled = titled_sides(q.compared, cands) if not compare else []
        asked = intent.wants(q.text)
        parts = intent.question_parts(topic)
        chosen = self.select(cands, compare=compare, wants=asked, reasons=bool(intent.WHY.search(q.text)),
                             sides=titled,
                             duties=DUTY_BREADTH and bool(intent.DUTIES.search(q.text)))
        for part in parts:
            # "How is a crisis declared, and how long can it last?": each part gets its best
            # sentence, where the whole question's best ones do not already answer it.
            extra = self._best_for(part, [c for c in cands if unit_key(c) in {unit_key(x) for x in chosen}])
            if extra is not None and len(chosen) < MAX_QUOTES and not any(overlaps(extra, c) for c in chosen):
                chosen.append(extra)
        # Parts that ask for something else ("how much, and who decides?") keep their units; a part that
        # only sets the scene ("We use an AI tool that screens applicants; from when ...?") asks nothing.
        other_asks = [p for p in parts if intent.ASKS.search(p) and not intent.wants(p)]
        if FACT_UNITS_ONLY and asked and not compare and not other_asks:
            # "How much ...?", "from when ...?": the units whose passages give that kind of fact answer
            # it; another unit quoted beside them ("suspend a certification") does not.
            giving = {unit_key(c) for c in chosen if any(p.search(self._shown(c)) for p in asked)}
            if giving:
                chosen = [c for c in chosen if unit_key(c) in giving]
        if intent.RATE.search(q.text) and not any(self._gives_rate(q.text, c) for c in chosen):
            # Asked for a rate, and no passage chosen to answer gives one: a figure from a passage
            # about something else does not answer it (the gate checks the retrieved units as a whole).
            return self._abstain(q, results, k, notice=NO_NUMBER[lang])
        # Keep the text's own order within a unit, units in rank order.
        units_used = []
        for c in chosen:
            if unit_key(c) not in units_used:
                units_used.append(unit_key(c))
        chosen.sort(key=lambda c: (units_used.index(unit_key(c)), c.unit.blocks.index(c.block)))

        top = max(c.score for c in chosen)  # the best passage quoted: the others' scores are relative to it
        citations: list[Citation] = []
        points: list[Point] = []
        terms = set(stem_tokens(topic, lang))
        quoted_blocks: set[int] = set()
        for c in chosen:
            if id(c.block) in quoted_blocks:
                continue  # each passage is quoted once
            quoted_blocks.add(id(c.block))
            # The passage that holds the fact: its whole point or paragraph, never cut before it.
            quote = passage(c.text, c.block, terms, c.unit.language)
            if quote.rstrip().endswith(":"):
                quote = with_items(quote, c.unit, c.block)
            if not verify_quote(quote, c.unit.text):
                continue
            quote = group_digits(quote)  # as the Official Journal prints amounts; the check closes groups up
            n = len(citations) + 1
            note = self._note(c.unit, c.block, lang)
            citations.append(self._citation(n, c.unit, c.block, quote, note))
            marks = f"[{n}]"
            if self._predates(c.unit):
                current = self._current_wording(c.unit, c.block)
                if current is not None:
                    cur_unit, cur_block, cur_quote = current
                    m = len(citations) + 1
                    cur_note = self._note(cur_unit, cur_block, lang) or NOTES["current"][lang]
                    citations.append(self._citation(m, cur_unit, cur_block, cur_quote, cur_note))
                    marks += f"[{m}]"
            label = f"{self.short(c.unit.source)}, {c.block.ref or c.unit.ref}"
            refs = self._referenced(c.unit, quote)
            for block in points_referenced(c.unit, quote):
                # "with the exception of paragraph 1, points (g), (h) and (i)": what those points say
                piece = opening(block.text)
                if any(x.unit == c.unit.unit and x.ref == block.ref for x in citations) or not verify_quote(piece, c.unit.text):
                    continue
                citations.append(self._citation(len(citations) + 1, c.unit, block, piece, None))
                refs.append(f"{block.ref}: “{piece}” [{len(citations)}]")
            points.append(Point(c.unit, c.block, quote, citations[n - 1], label, marks, extra="; ".join(refs),
                                score=c.score / top if top else 1.0))
        if not citations:
            return self._abstain(q, results, k)
        if intent.DATE in asked and not any(intent.DATE.search(p.quote) for p in points):
            # "From when ...?" answered by the provision asked about: the passage that dates it proves the answer.
            dating = self._date_point(points[0], len(citations) + 1, lang)
            if dating is not None:
                citations.append(dating.citation)
                points.append(dating)
        wants = {name for name, pattern in intent.KINDS.items() if pattern in asked}
        line = bottom_line(q.text, lang, points, wants, {t.lower() for t in re.findall(r"\w{4,}", q.text)})
        text = render(line, points)
        return Answer(
            question=q.text,
            text=text,
            citations=citations,
            abstained=False,
            mode="extractive",
            language=lang,
            retrieved=[r.primary for r in pool],
            timings={"answer_ms": (time.perf_counter() - start) * 1000},
        )

    def _date_point(self, first: Point, n: int, lang: str) -> Point | None:
        """The passage of the rule that sets from when ``first``'s provision applies (the timeline's), as a point."""
        rule = self.dated_by(first.citation) if self.dated_by is not None else None
        if rule is None or (rule.source, rule.unit, rule.ref) == (first.unit.source, first.unit.unit, first.citation.ref):
            return None
        unit = self.retriever.unit(rule.source, rule.language, rule.unit)
        if unit is None or not verify_quote(rule.quote, unit.text):
            return None
        block = next((b for b in unit.blocks if b.ref == rule.ref), None) or next(
            (b for b in unit.blocks if rule.quote[:40] in b.text), unit.blocks[0])
        citation = self._citation(n, unit, block, group_digits(rule.quote), self._note(unit, block, lang))
        return Point(unit, block, citation.quote, citation, f"{self.short(unit.source)}, {citation.ref}", f"[{n}]",
                     score=first.score)

    def _enough(self, q: Query, best: Candidate, top_dense: float) -> bool:
        """Is the best evidence strong enough to answer instead of abstaining?"""
        if q.refs and best.result.unit in q.refs:
            return True
        if best.hit.chunk.language != q.lang:
            # Term overlap means little across languages: rely on the multilingual dense score.
            return top_dense >= self.settings.min_evidence_crosslingual
        return best.coverage >= MIN_OVERLAP or top_dense >= self.settings.min_evidence

    def _abstain(self, q: Query, results: list[Result], k: int, notice: str | None = None) -> Answer:
        short = {s.id: s.short for s in self.manifest.sources}
        return abstention(
            q.text, q.lang, notice=notice, nearest=nearest_citations(self.retriever, self.manifest, results, q.lang),
            sources_line=None, retrieved=[r.primary for r in results[:k]], short=short,
        )
