"""One-screen briefings on a source that brief: what changed, what falls due, what it requires.

:func:`build_briefing` assembles a :class:`Briefing` from the index and the timeline:

1. *What changed recently* — dated provisions an amendment moved (with their earlier date) and
   those that started to apply in the last year;
2. *Next dates* — what applies or falls due next;
3. *Main obligations* (or *On <topic>*) — the topics of ``briefing_topics.toml`` run through
   retrieval; each line quotes a whole paragraph or point (a lead-in ending in ':' is quoted with
   its best-matching point, never alone) and says from when it applies (:func:`provision_dates`);
4. for a research article: its figures, and its claims — the sentences of each section that state
   something (a figure, a cause, a judgement), chosen by content, not by position.

Every line carries a :class:`~bot.models.Citation` whose quote passed
:func:`~bot.citations.verify_quote`; names are display names ("Regulation (EU) 2026/1744").
Section titles follow the user's language (``language='nl'``).

Renderers: :func:`render_rich` (CLI), :func:`render_markdown`,
:func:`render_mrkdwn` and :func:`briefing_blocks` (Slack Block Kit).
"""

from __future__ import annotations

import re
import time
import tomllib
from functools import lru_cache
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any


from ..answering.passages import split_sentences
from ..citations import verify_quote
from ..models import Block, Citation, SourceVersion, Unit
from ..query import parse_query
from ..lexical import stem_tokens
from ..sources import SourceSpec, fold
from ..text import clean_title, display_name, display_name_of, fix_acronyms, group_digits, strip_amending_syntax
from .amendments import amendment_lines
from .applies import provision_dates
from .entries import KIND_NL, TimelineEntry, format_date_in
from .provisions import paragraph_of
from .briefing_view import BriefLine, Briefing, BriefSection, briefing_blocks, render_markdown, render_mrkdwn, render_rich
from .timeline import Timeline, load_timeline

if TYPE_CHECKING:
    from ..assistant import Assistant

TOPICS_PATH = Path(__file__).with_name("briefing_topics.toml")
MAX_WORDS = 45
MAX_BLOCK_WORDS = 110
TITLES = {
    "en": {"changed": "What changed or fell due recently", "changes": "What it changes in the {target}", "points": "Key points", "next": "Next dates", "key": "Main obligations", "on": "On {topic}",
           "dates": "Dates for these provisions", "figures": "Main figures", "claims": "Main claims",
           "was": "was {d}", "since": "since {d}"},
    "nl": {"changed": "Wat er recent veranderde of verstreek", "changes": "Wat het wijzigt in de {target}", "points": "Kernpunten", "next": "Wat eraan komt", "key": "Belangrijkste verplichtingen",
           "on": "Over {topic}", "dates": "Data voor deze bepalingen", "figures": "Belangrijkste cijfers",
           "claims": "Belangrijkste beweringen", "was": "was {d}", "since": "sinds {d}"},
}
_CLAIM_WORDS = re.compile(
    r"\b(omdat|doordat|daardoor|waardoor|dus|daarom|cruciaal|essentieel|belangrijk\w*|afhankelijk\w*|risico\w*|kwetsba\w+|"
    r"noodza\w+|moet|moeten|nodig|achterstand|voorsprong|concurrent\w*|autonom\w*|soeverein\w*|zelfstandig\w*|strategisch\w*|"
    r"investe\w+|because|therefore|must|should|need\w*|crucial|essential|dependen\w+|risk\w*|vulnerab\w+|lead\w*|lag\w*)\b",
    re.I,
)
_FIGURE = re.compile(r"\d[\d.,]*\s*(?:%|procent|miljard|miljoen|billion|million|keer|vijfmaal|euro)|€\s*\d|\b(?:19|20)\d{2}\b", re.I)


@lru_cache(maxsize=1)
def load_topics(path: Path = TOPICS_PATH) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _topics_for(spec: SourceSpec) -> dict[str, Any]:
    data = load_topics()
    return data.get("sources", {}).get(spec.id) or data.get("kinds", {}).get(spec.kind) or {"topics": []}


class _Builder:
    """Collects cited lines, numbering citations as it goes."""

    def __init__(self, assistant: Assistant, spec: SourceSpec, lang: str, timeline: Timeline | None, day: date,
                 tlang: str = "en") -> None:
        self.a = assistant
        self.spec = spec
        self.lang = lang  # the text's language (stemming)
        self.tlang = tlang  # the reader's language (labels)
        self.name = display_name(spec)
        self.tl = timeline
        self.day = day
        self.used: set[tuple[str, str]] = set()  # (unit, quote) already quoted
        self.n = 0

    def applies(self, unit: Unit, block: Block) -> str:
        if self.tl is None or unit.kind not in ("article", "annex"):
            return ""
        return provision_dates(self.spec.id, unit.unit, paragraph_of(block.path) or None, day=self.day, timeline=self.tl).label(self.tlang)

    # -- quoting --------------------------------------------------------------------
    def cite(self, unit: Unit, block: Block, quote: str, label: str, *, again: bool = False, dated: bool = True,
             raw: bool = False) -> BriefLine | None:
        """A cited line; ``raw``: an amending act's point quoted as it stands, its instructions included."""
        quote = group_digits(strip_amending_syntax(quote) if self.spec.amends and not raw else quote)
        if not verify_quote(quote, unit.text) or ((unit.unit, quote) in self.used and not again):
            return None
        self.used.add((unit.unit, quote))
        self.n += 1
        c = Citation(
            n=self.n, source=unit.source, unit=unit.unit, ref=block.ref or unit.ref,
            title=self.name + (f" — {clean_title(unit.title)}" if unit.title else ""), url=unit.url, quote=quote,
            language=unit.language, version=self.a.retriever.unit_version(unit.source, unit.language, unit.unit),
        )
        return BriefLine(label=label, quote=quote, citation=c, applies=self.applies(unit, block) if dated else "")

    def _score(self, text: str, terms: set[str], weight: Any, total: float) -> float:
        return sum(weight(t) for t in terms & _stems(text, self.lang)) / total

    def best_block(self, units: list[tuple[Unit, float]], query: str) -> tuple[Unit, Block, str] | None:
        """The paragraph or point of ``units`` (with priors) that best matches ``query``, quoted whole.

        A lead-in ending in ':' is quoted with its best-matching point; a paragraph longer than
        :data:`MAX_BLOCK_WORDS` words by its best whole sentence.
        """
        terms = set(stem_tokens(query, self.lang))
        lex = self.a.retriever.lexical.get(self.lang)
        weight = (lambda t: lex.weight(t)) if lex else (lambda t: 1.0)
        total = sum(weight(t) for t in terms) or 1.0
        best: tuple[float, Unit, Block] | None = None
        for unit, prior in units:
            for block in unit.blocks:
                if len(block.text.split()) < 6:
                    continue
                score = prior * self._score(block.text, terms, weight, total)
                if best is None or score > best[0]:
                    best = (score, unit, block)
        if best is None or best[0] <= 0:
            return None
        _, unit, block = best
        text = block.text.strip()
        if text.endswith(":"):
            children = [b for b in unit.blocks if _parent_path(b.path) == block.path and b.path != block.path]
            if not children:
                return None
            block = max(children, key=lambda b: self._score(b.text, terms, weight, total) - 0.001 * len(b.text.split()))
            text = block.text.strip()
        if len(text.split()) > MAX_BLOCK_WORDS:
            sentences = [s for s in split_sentences(text) if len(s.split()) >= 6]
            if not sentences:
                return None
            text = max(sentences, key=lambda s: self._score(s, terms, weight, total))
        by_path = {b.path: b for b in unit.blocks}
        parent = by_path.get(_parent_path(block.path)) or (by_path.get("") if "." in block.path and block.path.split(".")[0] not in by_path else None)
        parent = parent if parent is not block else None
        if parent is not None and parent.text.strip().endswith(":"):
            lead = parent.text.strip()
            if len(lead.split()) > 40:
                lead = split_sentences(lead)[-1]
            text = f"{lead} … {text}"
        return unit, block, text

    def retrieved(self, query: str, hints: list[str], k: int = 4) -> list[tuple[Unit, float]]:
        """Units for a topic: the hinted ones first, then what retrieval finds in this source."""
        out: list[tuple[Unit, float]] = []
        for uid in hints:
            unit = self.a.retriever.unit(self.spec.id, self.lang, uid)
            if unit is not None:
                out.append((unit, 1.2))
        if k <= 0 and out:
            return out
        q = parse_query(query, self.a.manifest, self.lang)
        results, _ = self.a.retriever.search(q, k=max(k, 4), sources=[self.spec.id], lang=self.lang)
        for rank, r in enumerate(results[:k]):
            unit = self.a.retriever.unit(r.source, self.lang, r.unit)
            if unit is not None and all(unit.unit != u.unit for u, _ in out):
                out.append((unit, 1.0 / (1.0 + 0.35 * rank)))
        return out

    def topic_line(self, label: str, query: str, hints: list[str]) -> BriefLine | None:
        """A topic's line: from its hinted units when the toml names them (no search needed), else retrieved."""
        found = self.best_block(self.retrieved(query, hints, k=0 if hints else 4), query)
        return self.cite(*found, label=label) if found else None

    # -- dated lines ----------------------------------------------------------------
    def dated(self, e: TimelineEntry, label: str) -> BriefLine | None:
        unit = self.a.retriever.unit(e.source, e.citation.language, e.citation.unit)
        if unit is None or e.citation.quote.rstrip().endswith(":"):  # a lead-in says nothing on its own
            return None
        block = next((x for x in unit.blocks if x.path == e.block), unit.blocks[0] if unit.blocks else None)
        return self.cite(unit, block, e.citation.quote, label=label, dated=False) if block else None

    def date_label(self, e: TimelineEntry) -> str:
        kind = KIND_NL.get(e.kind, e.kind) if self.tlang == "nl" else e.kind
        out = f"{format_date_in(e.date, self.tlang)} — {kind}"
        if e.before is not None:
            out += f" ({TITLES[self.tlang]['was'].format(d=format_date_in(e.before.date, self.tlang))}, {e.before.amended_by})"
        return out


@lru_cache(maxsize=20_000)
def _stems(text: str, lang: str) -> frozenset[str]:
    return frozenset(stem_tokens(text, lang))


def _parent_path(path: str) -> str:
    """'1.a' -> '1', '1.b.i' -> '1.b', 'a' -> '' (the opening words), '1' -> None-like '\0'."""
    if "." in path:
        return path.rsplit(".", 1)[0]
    return "" if re.fullmatch(r"[a-z]+|\([a-z]+\)", path) else "\0"


def _trim(quote: str, words: int = MAX_WORDS) -> str:
    """A verbatim prefix of at most ``words`` words (a figure or claim stays short on one screen)."""
    parts = quote.split()
    return quote if len(parts) <= words else " ".join(parts[:words])


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _units(assistant: Assistant, source: str, lang: str) -> list[Unit]:
    units = assistant.retriever.snapshot.units
    return [units[key] for key in units if key[0] == source and key[1] == lang]


def _contents(units: list[Unit]) -> list[str]:
    """'Chapter II Prohibited AI practices (Article 5)', …, then the annexes: a table of contents, not quotes."""
    chapters: dict[str, list[Unit]] = {}
    for u in units:
        if u.kind == "article":
            chapters.setdefault(fix_acronyms(u.headings[0]) if u.headings else "Articles", []).append(u)
    out = [f"{h} ({m[0].ref}" + (f"–{m[-1].number})" if len(m) > 1 else ")") for h, m in chapters.items()]
    annexes = [u for u in units if u.kind == "annex"]
    if annexes:
        out.append("Annexes: " + ", ".join(u.number or u.ref for u in annexes))
    return out


def _changed_and_next(b: _Builder, entries: list[TimelineEntry]) -> tuple[BriefSection, BriefSection]:
    t = TITLES[b.tlang]
    changed, coming = BriefSection(title=t["changed"]), BriefSection(title=t["next"])
    year_ago = b.day - timedelta(days=365)
    recent = [e for e in entries if e.before is not None or year_ago <= e.date <= b.day]
    recent.sort(key=lambda e: (e.before is None, -e.date.toordinal()))
    for e in recent:
        if len(changed.lines) >= 5:
            break
        if (line := b.dated(e, b.date_label(e))) is not None:
            changed.lines.append(line)
    for e in sorted((e for e in entries if e.date > b.day), key=lambda e: (e.date, e.kind != "applies")):
        if len(coming.lines) >= 5:
            break
        if (line := b.dated(e, b.date_label(e))) is not None:
            coming.lines.append(line)
    return changed, coming


def _amending_sections(b: _Builder, units: list[Unit], topic: str | None, tl: Timeline | None) -> list[BriefSection]:
    """What an amending act changes in the act it amends (:mod:`.amendments`), after its own dates."""
    target = b.a.manifest.resolve(b.spec.amends[0])
    entries = tl.select(target.id) if tl is not None else []
    moved = {e.citation.unit for e in entries if e.before is not None}  # dates this act moved
    terms = set(stem_tokens(topic, b.lang)) if topic else None
    lines = amendment_lines(
        units, target_name=display_name(target), dated=moved, lang=b.tlang, terms=terms,
        target_unit=lambda uid: b.a.retriever.unit(target.id, b.lang, uid), stems=lambda text: _stems(text, b.lang),
        weight=lex.weight if (lex := b.a.retriever.lexical.get(b.lang)) else None,
    )
    section = BriefSection(title=TITLES[b.tlang]["changes"].format(target=display_name(target)))
    for line in lines:
        if (cited := b.cite(line.unit, line.block, line.quote, label=line.label, dated=False, raw=True)) is not None:
            section.lines.append(cited)
    changed, _ = _changed_and_next(b, tl.select(b.spec.id) if tl is not None else [])
    return [changed, section]


def _claim_score(sentence: str) -> float:
    """How much a sentence states: figures, causes and judgements count; questions and openers do not."""
    words = sentence.split()
    if len(words) < 10 or len(words) > 60 or sentence.rstrip().endswith("?"):
        return 0.0
    figures = len(_FIGURE.findall(sentence))
    cues = len(_CLAIM_WORDS.findall(sentence))
    names = len(re.findall(r"(?<!^)(?<![.!?] )\b[A-Z][a-zA-Z]{2,}", sentence))
    return 2.0 * min(figures, 2) + 1.5 * min(cues, 3) + 0.3 * min(names, 3) + min(len(words), 30) / 30


def _article_sections(b: _Builder, units: list[Unit], tlang: str) -> list[BriefSection]:
    """For a research article: its figures and, per section, the sentence that states most."""
    t = TITLES[tlang]
    figures, claims = BriefSection(title=t["figures"]), BriefSection(title=t["claims"])
    for u in units:
        scored = [(_claim_score(s), block, s) for block in u.blocks for s in split_sentences(block.text)]
        with_figure = [x for x in scored if x[0] > 0 and _FIGURE.search(x[2]) and re.search(r"\d", x[2])]
        if with_figure:
            _, block, sentence = max(with_figure, key=lambda x: x[0])
            if (line := b.cite(u, block, _trim(sentence), label=u.title or u.ref, dated=False)) is not None:
                figures.lines.append(line)
        ranked = sorted((x for x in scored if x[0] > 0), key=lambda x: -x[0])
        for _, block, sentence in ranked[:3]:
            if (line := b.cite(u, block, _trim(sentence), label=u.title or u.ref, dated=False)) is not None:
                claims.lines.append(line)
                break
    return [s for s in (figures, claims) if s.lines]


def build_briefing(assistant: Assistant, source: str, *, topic: str | None = None, language: str = "en",
                   day: date | None = None) -> Briefing:
    """The briefing for ``source`` (any alias); ``topic`` narrows it ("banking"); titles in ``language``."""
    start = time.perf_counter()
    spec = assistant.manifest.resolve(source)
    langs = spec.languages()
    lang = "en" if "en" in langs else langs[0]
    tlang = language if language in TITLES else "en"
    day = day or date.today()
    try:
        tl: Timeline | None = load_timeline(assistant.settings, assistant.manifest)
    except OSError:
        tl = None
    b = _Builder(assistant, spec, lang, tl, day, tlang)
    units = _units(assistant, spec.id, lang)
    brief = Briefing(
        source=spec.id, short=display_name(spec), title=spec.title, kind=spec.kind, date=spec.date, url=spec.url,
        author=spec.author, publisher=spec.publisher, amended_by=[display_name_of(a, assistant.manifest) for a in spec.amended_by],
        topic=topic, language=tlang, contents=_contents(units) if spec.kind in ("regulation", "directive") else [],
    )
    if not units:
        brief.seconds = time.perf_counter() - start
        return brief
    if spec.amends:  # a briefing on an amending act: what it changes, point by point
        brief.sections = _amending_sections(b, units, topic, tl)
        return _finish(assistant, brief, start)
    conf = _topics_for(spec)
    topics = conf.get("topics", [])
    plain = TITLES[tlang]["key" if spec.kind in ("regulation", "directive") else "points"]
    key = BriefSection(title=TITLES[tlang]["on"].format(topic=topic) if topic else plain)
    if topic:
        expand = load_topics().get("expand", {})
        query = " ".join([topic, *(expand.get(w, "") for w in fold(topic).split())]).strip()
        terms = set(stem_tokens(query, lang))
        for t in topics:
            if terms & set(stem_tokens(f"{t['label']} {t['query']}", lang)) and (line := b.topic_line(t["label"], t["query"], t.get("units", []))):
                key.lines.append(line)
        for unit, prior in b.retrieved(query, [], k=6):
            if len(key.lines) >= 8:
                break
            found = b.best_block([(unit, prior)], query)
            if found and (line := b.cite(*found, label=clean_title(unit.title) or unit.ref)):
                key.lines.append(line)
    else:
        for t in topics:
            if (line := b.topic_line(t["label"], t["query"], t.get("units", []))) is not None:
                key.lines.append(line)
    entries = tl.select(spec.id) if tl is not None else []
    if topic:  # the dates of the provisions quoted, and those that name them
        quoted = {c.unit for c in (line.citation for line in key.lines)}
        entries = [e for e in entries if e.citation.unit in quoted or any(t.unit in quoted for t in e.targets)
                   or (e.kind == "applies" and any(t.unit == "*" for t in e.targets))]
    changed, coming = _changed_and_next(b, entries)
    brief.sections = [changed, coming, key]
    if spec.kind not in ("regulation", "directive") and not topic:  # a topic narrows the briefing to it
        brief.sections.extend(_article_sections(b, units, tlang))
    return _finish(assistant, brief, start)


def _finish(assistant: Assistant, brief: Briefing, start: float) -> Briefing:
    """Drop empty sections, number the citations in reading order, and say which versions were read."""
    brief.sections = [s for s in brief.sections if s.lines]
    for n, line in enumerate((line for s in brief.sections for line in s.lines), start=1):
        line.citation = line.citation.model_copy(update={"n": n})
    for text in assistant.retriever.snapshot.state.get("texts", []):
        if text["source"] == brief.source:
            brief.as_of.append(SourceVersion(source=brief.source, language=text["language"], version=text["version"], date=text.get("date", "")))
    brief.seconds = time.perf_counter() - start
    return brief


__all__ = ["BriefLine", "BriefSection", "Briefing", "briefing_blocks", "build_briefing", "render_markdown", "render_mrkdwn", "render_rich"]
