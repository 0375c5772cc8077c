"""One-screen briefings on a source, every line a verified quote.

:func:`build_briefing` assembles a :class:`Briefing` from the index: what the
source is (the manifest's identification), its structure (the chapters in the
units' headings), the key provisions (topic queries from
``briefing_topics.toml`` run through retrieval, the best-matching sentence of
the retrieved units quoted verbatim), the dates that matter (from the
timeline), and for a research article its figures and claims. Every line
carries a :class:`~bot.models.Citation` whose quote passed
:func:`~bot.citations.verify_quote` against the unit it cites.

Renderers: :func:`render_rich` (CLI), :func:`render_markdown`,
:func:`render_mrkdwn` and :func:`briefing_blocks` (Slack Block Kit).
"""

from __future__ import annotations

import re
import time
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ..answering.passages import shorten, split_sentences
from ..citations import verify_quote
from ..models import Block, Citation, SourceVersion, Unit
from ..query import parse_query
from ..retrieval import stem_tokens
from ..sources import SourceSpec, fold
from .timeline import Timeline, format_date, load_timeline

if TYPE_CHECKING:
    from ..assistant import Assistant

TOPICS_PATH = Path(__file__).with_name("briefing_topics.toml")
MAX_WORDS = 45
_FIGURE = re.compile(r"\d[\d.,]*\s*(?:%|procent|miljard|miljoen|billion|million|keer|vijfmaal|euro)|€\s*\d|\b(?:19|20)\d{2}\b", re.I)


class BriefLine(BaseModel):
    label: str = Field(..., description="What the line is about, e.g. 'Bans' or 'Chapter II Prohibited AI practices'")
    quote: str
    citation: Citation


class BriefSection(BaseModel):
    title: str
    lines: list[BriefLine] = Field(default_factory=list)


class Briefing(BaseModel):
    source: str
    short: str
    title: str
    kind: str
    date: str = ""
    url: str = ""
    author: str = ""
    publisher: str = ""
    amended_by: list[str] = Field(default_factory=list)
    topic: str | None = None
    sections: list[BriefSection] = Field(default_factory=list)
    as_of: list[SourceVersion] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def citations(self) -> list[Citation]:
        return [line.citation for s in self.sections for line in s.lines]


@lru_cache(maxsize=1)
def load_topics(path: Path = TOPICS_PATH) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _topics_for(spec: SourceSpec) -> dict[str, Any]:
    data = load_topics()
    return data.get("sources", {}).get(spec.id) or data.get("kinds", {}).get(spec.kind) or {"topics": []}


class _Builder:
    """Collects cited lines, numbering citations as it goes."""

    def __init__(self, assistant: Assistant, spec: SourceSpec, lang: str) -> None:
        self.a = assistant
        self.spec = spec
        self.lang = lang
        self.used: set[tuple[str, str]] = set()  # (unit, quote) already quoted
        self.n = 0

    # -- quoting --------------------------------------------------------------------
    def cite(self, unit: Unit, block: Block, quote: str, label: str, note: str | None = None, *, again: bool = False) -> BriefLine | None:
        if not verify_quote(quote, unit.text) or ((unit.unit, quote) in self.used and not again):
            return None
        self.used.add((unit.unit, quote))
        self.n += 1
        c = Citation(
            n=self.n, source=unit.source, unit=unit.unit, ref=block.ref or unit.ref,
            title=self.spec.short + (f" — {unit.title}" if unit.title else ""), url=unit.url, quote=quote,
            language=unit.language, version=self.a.retriever.unit_version(unit.source, unit.language, unit.unit), note=note,
        )
        return BriefLine(label=label, quote=quote, citation=c)

    def best_sentence(self, units: list[tuple[Unit, float]], query: str) -> tuple[Unit, Block, str] | None:
        """The sentence of ``units`` (with priors) that best matches ``query``, shortened verbatim."""
        terms = set(stem_tokens(query, self.lang))
        lex = self.a.retriever.lexical.get(self.lang)
        weight = (lambda t: lex.weight(t)) if lex else (lambda t: 1.0)
        total = sum(weight(t) for t in terms) or 1.0
        best: tuple[float, Unit, Block, str] | None = None
        for unit, prior in units:
            for block in unit.blocks:
                for sentence in split_sentences(block.text):
                    if len(sentence) < 25 or (unit.unit, sentence) in self.used:
                        continue
                    s_terms = set(stem_tokens(sentence, self.lang))
                    score = prior * sum(weight(t) for t in terms & s_terms) / total
                    if best is None or score > best[0]:
                        best = (score, unit, block, sentence)
        if best is None or best[0] <= 0:
            return None
        _, unit, block, sentence = best
        return unit, block, _trim(shorten(sentence, terms, self.lang))

    def retrieved(self, query: str, hints: list[str], k: int = 4) -> list[tuple[Unit, float]]:
        """Units for a topic: the hinted ones first, then what retrieval finds in this source."""
        out: list[tuple[Unit, float]] = []
        for uid in hints:
            unit = self.a.retriever.unit(self.spec.id, self.lang, uid)
            if unit is not None:
                out.append((unit, 1.2))
        q = parse_query(query, self.a.manifest, self.lang)
        results, _ = self.a.retriever.search(q, k=k, sources=[self.spec.id], lang=self.lang)
        for rank, r in enumerate(results[:k]):
            unit = self.a.retriever.unit(r.source, self.lang, r.unit)
            if unit is not None and all(unit.unit != u.unit for u, _ in out):
                out.append((unit, 1.0 / (1.0 + 0.35 * rank)))
        return out

    def topic_line(self, label: str, query: str, hints: list[str]) -> BriefLine | None:
        found = self.best_sentence(self.retrieved(query, hints), query)
        return self.cite(*found, label=label) if found else None


def _trim(quote: str, words: int = MAX_WORDS) -> str:
    """A verbatim prefix of at most ``words`` words (quotes stay short on one screen)."""
    parts = quote.split()
    return quote if len(parts) <= words else " ".join(parts[:words])


def _first_quote(unit: Unit) -> tuple[Block, str] | None:
    for block in unit.blocks:
        sentences = split_sentences(block.text)
        if sentences and len(sentences[0]) >= 12:
            return block, _trim(sentences[0], 30)
    return None


def _units(assistant: Assistant, source: str, lang: str) -> list[Unit]:
    return [u for (s, lg, _), u in assistant.retriever.snapshot.units.items() if s == source and lg == lang]


def _structure(b: _Builder, units: list[Unit]) -> BriefSection:
    section = BriefSection(title="Structure")
    chapters: dict[str, list[Unit]] = {}
    for u in units:
        if u.kind == "article":
            chapters.setdefault(u.headings[0] if u.headings else "Articles", []).append(u)
    for heading, members in chapters.items():
        first = _first_quote(members[0])
        if first:
            span = members[0].ref + (f"–{members[-1].number}" if len(members) > 1 else "")
            line = b.cite(members[0], first[0], first[1], label=f"{heading} ({span})", again=True)
            if line:
                section.lines.append(line)
    annexes = [u for u in units if u.kind == "annex"]
    if annexes and (first := _first_quote(annexes[0])):
        names = "; ".join(f"{u.ref}" + (f" {u.title}" if u.title else "") for u in annexes)
        line = b.cite(annexes[0], first[0], first[1], label=f"Annexes: {names}")
        if line:
            section.lines.append(line)
    return section


def _article_sections(b: _Builder, units: list[Unit]) -> list[BriefSection]:
    """For a research article: its main figures and, per section, its main claim."""
    figures = BriefSection(title="Main figures")
    claims = BriefSection(title="Main claims")
    for u in units:
        picked = 0
        for block in u.blocks:
            for sentence in split_sentences(block.text):
                if picked < 1 and _FIGURE.search(sentence) and re.search(r"\d", sentence):
                    line = b.cite(u, block, _trim(sentence), label=u.title or u.ref)
                    if line:
                        figures.lines.append(line)
                        picked += 1
        first = _first_quote(u)
        if first and u.unit != "intro":
            line = b.cite(u, first[0], _trim(first[1], 35), label=u.title or u.ref)
            if line:
                claims.lines.append(line)
    return [s for s in (figures, claims) if s.lines]


def _dates(b: _Builder, tl: Timeline, source: str, topic_terms: set[str] | None) -> BriefSection:
    section = BriefSection(title="Dates that matter")
    for e in tl.select(source, status=None):
        if topic_terms is not None:
            hay = set(stem_tokens(f"{e.what} {' '.join(e.topics)}", "en"))
            if not topic_terms & hay:
                continue
        unit = b.a.retriever.unit(source, e.citation.language, e.citation.unit)
        label = f"{format_date(e.date)} — {e.kind}: {e.what}"
        if e.status == "history":
            label = f"(was) {label}" + (f" — replaced by {e.amended_by}" if e.amended_by else "")
            b.n += 1
            section.lines.append(BriefLine(label=label, quote=e.citation.quote, citation=e.citation.model_copy(update={"n": b.n})))
            continue
        if unit is None:
            continue
        block = next((x for x in unit.blocks if x.ref == e.citation.ref), unit.blocks[0])
        line = b.cite(unit, block, e.citation.quote, label=label)
        if line:
            section.lines.append(line)
    return section


def build_briefing(assistant: Assistant, source: str, *, topic: str | None = None) -> Briefing:
    """The briefing for ``source`` (any alias); ``topic`` narrows it ("banking")."""
    start = time.perf_counter()
    spec = assistant.manifest.resolve(source)
    langs = spec.languages()
    lang = "en" if "en" in langs else langs[0]
    b = _Builder(assistant, spec, lang)
    units = _units(assistant, spec.id, lang)
    brief = Briefing(
        source=spec.id, short=spec.short, title=spec.title, kind=spec.kind, date=spec.date, url=spec.url,
        author=spec.author, publisher=spec.publisher, amended_by=spec.amended_by, topic=topic,
    )
    if not units:
        brief.seconds = time.perf_counter() - start
        return brief
    conf = _topics_for(spec)
    topics = conf.get("topics", [])
    if topic:
        expand = load_topics().get("expand", {})
        query = " ".join([topic, *(expand.get(w, "") for w in fold(topic).split())]).strip()
        terms = set(stem_tokens(query, lang))
        section = BriefSection(title=f"On {topic}")
        for t in topics:
            if terms & set(stem_tokens(f"{t['label']} {t['query']}", lang)) and (line := b.topic_line(t["label"], t["query"], t.get("units", []))):
                section.lines.append(line)
        hits = b.retrieved(query, [], k=6)
        for unit, prior in hits:
            if len(section.lines) >= 8:
                break
            found = b.best_sentence([(unit, prior)], query)
            if found and (line := b.cite(*found, label=unit.title or unit.ref)):
                section.lines.append(line)
        brief.sections.append(section)
    else:
        key = BriefSection(title="Key provisions")
        for t in topics:
            line = b.topic_line(t["label"], t["query"], t.get("units", []))
            if line:
                key.lines.append(line)
        if spec.kind in ("regulation", "directive"):
            brief.sections.append(_structure(b, units))
            brief.sections.append(key)
        else:
            brief.sections.append(key)
            brief.sections.extend(_article_sections(b, units))
    try:
        tl = load_timeline(assistant.settings, assistant.manifest)
        topic_terms = set(stem_tokens(topic, "en")) if topic else None
        dates = _dates(b, tl, spec.id, topic_terms)
        if dates.lines:
            brief.sections.append(dates)
    except OSError:
        pass
    brief.sections = [s for s in brief.sections if s.lines]
    for n, line in enumerate((line for s in brief.sections for line in s.lines), start=1):
        line.citation = line.citation.model_copy(update={"n": n})
    for text in assistant.retriever.snapshot.state.get("texts", []):
        if text["source"] == spec.id:
            brief.as_of.append(SourceVersion(source=spec.id, language=text["language"], version=text["version"], date=text.get("date", "")))
    brief.seconds = time.perf_counter() - start
    return brief


# -- renderers ----------------------------------------------------------------------------------


def _header_lines(b: Briefing) -> list[str]:
    meta = [b.kind]
    if b.date:
        meta.append(b.date)
    if b.author:
        meta.append(b.author)
    if b.amended_by:
        meta.append("amended by " + ", ".join(b.amended_by))
    return [b.title, " · ".join(meta)]


def render_markdown(b: Briefing) -> str:
    out = [f"# Briefing: {b.short}" + (f" — {b.topic}" if b.topic else ""), "", *(f"{x}  " for x in _header_lines(b))]
    if b.url:
        out.append(f"[Official text]({b.url})")
    for s in b.sections:
        out += ["", f"## {s.title}", ""]
        out += [f"- **{line.label}**: “{line.quote}” [{line.citation.n}]" for line in s.lines]
    if b.citations:
        out += ["", "## Sources", ""]
        out += [f"{c.n}. " + (f"[{c.title.split(' — ')[0]}, {c.ref}]({c.url})" if c.url else f"{c.title.split(' — ')[0]}, {c.ref}")
                + (f" ({c.note})" if c.note else "") for c in b.citations]
    if b.as_of:
        out += ["", "_As of: " + ", ".join(f"{v.source} ({v.language}) {v.date or v.version}" for v in b.as_of) + "_"]
    return "\n".join(out)


def _rich_escape(text: str) -> str:
    return text.replace("[", "\\[")


def render_rich(b: Briefing) -> str:
    """Rich console markup for ``policybot brief``."""
    out = [f"[bold]{_rich_escape(b.short)}[/]" + (f" — [italic]{_rich_escape(b.topic)}[/]" if b.topic else "")]
    out += [f"[dim]{_rich_escape(x)}[/]" for x in _header_lines(b)]
    if b.url:
        out.append(f"[link={b.url}]{_rich_escape(b.url)}[/link]")
    for s in b.sections:
        out += ["", f"[bold underline]{_rich_escape(s.title)}[/]"]
        for line in s.lines:
            c = line.citation
            out.append(f" • [cyan]{_rich_escape(line.label)}[/] “{_rich_escape(line.quote)}” [dim]\\[{c.n}] {_rich_escape(c.ref)}[/]")
    if b.as_of:
        out += ["", "[dim]as of: " + ", ".join(f"{v.source} ({v.language}) {v.date or v.version}" for v in b.as_of) + f" · {b.seconds * 1000:.0f} ms[/]"]
    return "\n".join(out)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn_line(line: BriefLine) -> str:
    c = line.citation
    ref = f"<{c.url}|{_esc(c.ref)}>" if c.url else _esc(c.ref)
    return f"• *{_esc(line.label)}*: “{_esc(line.quote)}” ({ref})"


def render_mrkdwn(b: Briefing) -> str:
    """Slack mrkdwn (what ``/policy brief`` returns; the listener splits it into sections)."""
    name = f"<{b.url}|{_esc(b.short)}>" if b.url else _esc(b.short)
    out = [f"*Briefing: {name}*" + (f" — _{_esc(b.topic)}_" if b.topic else ""), "_" + _esc(" · ".join(_header_lines(b))) + "_"]
    for s in b.sections:
        out += ["", f"*{_esc(s.title)}*", *(_mrkdwn_line(line) for line in s.lines)]
    if not b.sections:
        out += ["", "Nothing indexed for this source yet: run `policybot sync` and `policybot index`."]
    return "\n".join(out)


def briefing_blocks(b: Briefing, *, section_limit: int = 3000, max_blocks: int = 50) -> list[dict[str, Any]]:
    """Block Kit: a header, the identification, then each section split to fit 3,000 chars, at most 50 blocks."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Briefing: {b.short}"[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(" · ".join(_header_lines(b)))[:section_limit]}]},
    ]
    for s in b.sections:
        chunk = f"*{_esc(s.title)}*"
        for line in s.lines:
            text = _mrkdwn_line(line)[: section_limit - 1]
            if len(chunk) + 1 + len(text) > section_limit:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = text
            else:
                chunk += "\n" + text
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if len(blocks) > max_blocks:
        blocks = blocks[: max_blocks - 1] + [{"type": "context", "elements": [{"type": "mrkdwn", "text": "_… shortened to fit in Slack_"}]}]
    return blocks
