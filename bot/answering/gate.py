"""The answerability gate: can the indexed texts answer this question at all?

Every answer mode runs it, before any language model is called:

- :func:`screen` reads the message alone. Instructions addressed to the bot ("ignore your
  instructions", "SYSTEM: ...") are dropped, and a real question left beside them is answered on
  its own. Questions for facts that legal texts do not hold (live prices, what has happened so
  far, personal advice) are refused with one sentence saying so.
- :func:`check_references` compares the units a question names with the units the index holds
  ("Article 142 of the AI Act" -> its articles run from 1 to 113, with ...).
- :func:`check_foreign` names the acts a question asks about that policybot does not index, and
  lets the question through only where an indexed text itself speaks to it.
- :func:`check_fact_type` refuses a question asking for a number when no retrieved passage
  gives one.

The patterns and sentences are data (``knowledge/answerability.toml`` and
``knowledge/not_indexed.toml``); this module holds the logic.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from ..models import Unit, UnitHead
from ..query import Query
from ..lexical import stem_tokens
from ..retrieval import Retriever
from ..sources import ForeignAct, fold
from . import intent

Reason = Literal["instruction", "live", "advice", "no-unit", "not-indexed", "no-fact"]

#: Sentences of the gate's own, in the question's language.
NO_UNIT = {
    "en": "The {act} has no {ref}; {ranges}.",
    "nl": "De {act} heeft geen {ref}; {ranges}.",
}
NO_UNIT_ANY = {
    "en": "None of the indexed texts has a {ref}.",
    "nl": "Geen van de geïndexeerde teksten heeft een {ref}.",
}
RANGE = {
    "art": {"en": "its articles run from {lo} to {hi}", "nl": "de artikelen lopen van {lo} tot en met {hi}"},
    "annex": {"en": "its annexes run from {lo} to {hi}", "nl": "de bijlagen lopen van {lo} tot en met {hi}"},
    "rct": {"en": "its recitals run from {lo} to {hi}", "nl": "de overwegingen lopen van {lo} tot en met {hi}"},
}
INSERTED = {"en": "with {items} inserted by {act}", "nl": "met {items} ingevoegd bij {act}"}
AND = {"en": "and", "nl": "en"}
NOT_INDEXED = {
    "en": "policybot does not index the {acts}, so it cannot say what {it} requires.",
    "nl": "policybot indexeert de {acts} niet en kan dus niet zeggen wat {it} bepaalt.",
}
IT = {"en": ("it", "they"), "nl": ("die", "die")}
NOT_INDEXED_NOTE = {
    "en": "The {acts} itself is not indexed; this answer rests on what the indexed texts say about it.",
    "nl": "De {acts} zelf is niet geïndexeerd; dit antwoord steunt op wat de geïndexeerde teksten erover zeggen.",
}
NO_NUMBER = {
    "en": "The question asks for a figure, and none of the passages found gives one.",
    "nl": "De vraag vraagt om een getal, en geen van de gevonden passages geeft er een.",
}
UNIT_NAMES = {
    "art": {"en": "Article {n}", "nl": "artikel {n}"},
    "annex": {"en": "Annex {n}", "nl": "bijlage {n}"},
    "rct": {"en": "recital {n}", "nl": "overweging {n}"},
}

#: Beside the manifest, in the configured knowledge dir (``POLICYBOT_KNOWLEDGE_DIR``).
KINDS_FILE = "answerability.toml"
_SENTENCE_END = re.compile(r"(?<=[.?!:])\s+|\n+")
#: A question word or mark that shows a sentence asks something.
_ASKS = re.compile(r"\?|^\s*(what|which|who|when|how|is|are|does|do|can|could|may|must|should|wat|welke|wie|wanneer|hoe|"
                   r"is|zijn|mag|moet|kan|kunnen)\b", re.I)


@dataclass(frozen=True)
class Refusal:
    """Why the indexed texts cannot answer, as one sentence in the question's language."""

    reason: Reason
    notice: str
    #: Show the nearest sources below the refusal (not for instructions to the bot: nothing
    #: unrelated is quoted in reply to those).
    nearest: bool = True
    #: The acts not indexed that the question asks about.
    acts: tuple[ForeignAct, ...] = ()


@dataclass
class Screened:
    """A message after the gate's first look."""

    question: str
    refusal: Refusal | None = None
    dropped: list[str] = field(default_factory=list)  # sentences addressed to the bot


@dataclass(frozen=True)
class Kind:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    sentences: dict[str, str]


@lru_cache(maxsize=4)
def load_kinds(path: Path) -> tuple[Kind, ...]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Kind(k["id"], tuple(re.compile(p, re.I) for p in k["patterns"]), {"en": k["en"], "nl": k["nl"]})
        for k in data["kinds"]
    )


def _matches(kind: Kind, text: str) -> bool:
    folded = fold(text)
    return any(p.search(folded) for p in kind.patterns)


def screen(text: str, lang: str, knowledge_dir: Path) -> Screened:
    """Drop instructions to the bot; refuse what no legal text can answer."""
    kinds = {k.id: k for k in load_kinds(knowledge_dir / KINDS_FILE)}
    instruction = kinds.get("instruction")
    kept, dropped = [], []
    for sentence in _SENTENCE_END.split(text):
        if not sentence.strip():
            continue
        (dropped if instruction and _matches(instruction, sentence) else kept).append(sentence.strip())
    rest = " ".join(kept).strip()
    if dropped and (not rest or not _ASKS.search(rest) or len(rest.split()) < 3):
        assert instruction is not None
        return Screened(text, Refusal("instruction", instruction.sentences[lang], nearest=False), dropped)
    question = rest if dropped else text
    for kid in ("live", "advice"):
        kind = kinds.get(kid)
        if kind and _matches(kind, question):
            return Screened(question, Refusal(kid, kind.sentences[lang]), dropped)  # type: ignore[arg-type]
    return Screened(question, None, dropped)


# -- references to units ------------------------------------------------------------------

def _roman_value(text: str) -> int:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    total = 0
    for i, ch in enumerate(text):
        v = values.get(ch, 0)
        total += -v if i + 1 < len(text) and values.get(text[i + 1], 0) > v else v
    return total


def _split(number: str) -> tuple[int, str]:
    m = re.fullmatch(r"(\d+)([a-z]*)", number)
    return (int(m.group(1)), m.group(2)) if m else (0, number)


def _join(items: list[str], lang: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {AND[lang]} " + items[-1]


def describe_range(kind: str, units: list[UnitHead], act_of: dict[str, str], lang: str) -> str:
    """'its articles run from 1 to 113, with 4a, 60a and 75a–75d inserted by Regulation (EU) 2026/1744'."""
    if kind == "annex":
        numbers = sorted(_roman_value(u.unit.split("-", 1)[1]) for u in units)
        names = {_roman_value(u.unit.split("-", 1)[1]): u.unit.split("-", 1)[1].upper() for u in units}
        return RANGE[kind][lang].format(lo=names[numbers[0]], hi=names[numbers[-1]])
    plain = sorted(_split(u.unit.split("-", 1)[1])[0] for u in units if not _split(u.unit.split("-", 1)[1])[1])
    text = RANGE[kind][lang].format(lo=plain[0], hi=plain[-1]) if plain else ""
    lettered: dict[str, list[tuple[int, str]]] = {}
    for u in units:
        n, letter = _split(u.unit.split("-", 1)[1])
        if letter:
            lettered.setdefault(act_of.get(u.unit, ""), []).append((n, letter))
    parts = []
    for act, items in lettered.items():
        groups: list[list[tuple[int, str]]] = []
        for n, letter in sorted(items):
            if groups and groups[-1][-1][0] == n and ord(letter) == ord(groups[-1][-1][1]) + 1:
                groups[-1].append((n, letter))
            else:
                groups.append([(n, letter)])
        shown = [f"{g[0][0]}{g[0][1]}" if len(g) == 1 else f"{g[0][0]}{g[0][1]}–{g[-1][0]}{g[-1][1]}" for g in groups]
        parts.append(INSERTED[lang].format(items=_join(shown, lang), act=act) if act else _join(shown, lang))
    return ", ".join([text, *parts]) if text else ", ".join(parts)


def check_references(
    q: Query,
    units_of: dict[str, list[UnitHead]],
    short: dict[str, str],
    act_name_of: dict[str, str],
    family: dict[str, set[str]] | None = None,
) -> Refusal | None:
    """A reference to a unit that no named (or no indexed) text holds.

    ``units_of``: source id -> its current units; ``short``: source id -> display name;
    ``act_name_of``: CELEX -> 'Regulation (EU) 2026/1744'; ``family``: source id -> the acts it
    amends or is amended by ("Annex III, now that the Omnibus applies" is the AI Act's Annex III).
    """
    named = [s for s in q.sources if s in units_of]
    scope = [s for s in units_of if any(s == n or s in (family or {}).get(n, set()) for n in named)] or list(units_of)
    for ref in q.refs:
        kind, number = ref.split("-", 1)
        if any(u.unit == ref for s in scope for u in units_of[s]):
            continue
        label = UNIT_NAMES[kind][q.lang].format(n=number.upper() if kind == "annex" else number)
        if len(named) != 1:
            if named or not q.foreign:
                return Refusal("no-unit", NO_UNIT_ANY[q.lang].format(ref=label))
            continue
        source = named[0]
        same_kind = [u for u in units_of[source] if u.unit.startswith(kind + "-")]
        if not same_kind:
            return Refusal("no-unit", NO_UNIT[q.lang].format(act=short.get(source, source), ref=label, ranges="").rstrip("; ."))
        act_of = {u.unit: act_name_of.get(u.amended_by or "", "") for u in same_kind}
        ranges = describe_range(kind, same_kind, act_of, q.lang)
        return Refusal("no-unit", NO_UNIT[q.lang].format(act=short.get(source, source), ref=label, ranges=ranges))
    return None


# -- acts that are not indexed ------------------------------------------------------------


def mentions(text: str, act: ForeignAct) -> bool:
    """Does a passage refer to the act (by its number or a name)?"""
    return act.named_in(fold(text))


def not_indexed_notice(acts: list[ForeignAct], lang: str, *, answered: bool) -> str:
    names = _join([a.name for a in acts], lang)
    if answered:
        return NOT_INDEXED_NOTE[lang].format(acts=names)
    return NOT_INDEXED[lang].format(acts=names, it=IT[lang][len(acts) > 1])



#: A term whose rarity (idf) is at least this share of the rarest possible is specific enough to
#: say what a question is about ("gegevensbeschermingseffectbeoordeling").
RARE_SHARE = 0.8


def shares_rare_term(q: Query, units: list[Unit], retriever: Retriever) -> bool:
    """Does a passage of ``units`` that names one of the question's foreign acts share a rare
    term with the question? Then the question is about what that passage says
    ("... verwijzen naar de gegevensbeschermingseffectbeoordeling die we onder de AVG deden")."""
    folded_q = fold(q.text)
    for unit in units:
        lex = retriever.lexical.get(unit.language)
        if lex is None:
            continue
        rare = {t for t in stem_tokens(folded_q, unit.language) if lex.idf.get(t, 0.0) >= RARE_SHARE * lex.max_idf}
        if not rare:
            continue
        for block in unit.blocks:
            if any(mentions(block.text, act) for act in q.foreign) and rare & set(stem_tokens(block.text, unit.language)):
                return True
    return False


_TITLE_HEAD = re.compile(r"^(.+?)(?:\s+(?:for|of|on|in|to|by|with|from|under|and|van|voor|op|met|door|bij|en)\b|$)", re.I)


def title_head(title: str) -> str:
    """The noun phrase a unit's title opens with: 'Fundamental rights impact assessment for
    high-risk AI systems' -> 'fundamental rights impact assessment'."""
    m = _TITLE_HEAD.match(title.strip())
    return fold(m.group(1)) if m else ""


def names_instrument(q: Query, units: list[Unit]) -> bool:
    """Does the question name, by the head of its title, a provision of an indexed act that refers
    to one of the question's foreign acts ("our fundamental rights impact assessment ... the
    DPIA under the GDPR")? Then the question is about that provision."""
    folded = fold(q.text)
    for unit in units:
        head = title_head(unit.title)
        if len(head.split()) < 2 or not any(mentions(unit.text, act) for act in q.foreign):
            continue
        if re.search(r"(?<![\w-])" + re.escape(head) + r"(?![\w-])", folded):
            return True
    return False


def check_foreign(q: Query, units: list[Unit], retriever: Retriever) -> Refusal | None:
    """A question about an act that is not indexed is refused, unless it also names an indexed
    act, an indexed provision that refers to the act (by its title), or a rare term of an indexed
    passage that refers to the act: then it is about that indexed text."""
    if not q.foreign or any(s in retriever.sources for s in q.sources):
        return None
    if names_instrument(q, units) or shares_rare_term(q, units, retriever):
        return None
    return Refusal("not-indexed", not_indexed_notice(q.foreign, q.lang, answered=False), acts=tuple(q.foreign))


def check_fact_type(q: Query, texts: list[str]) -> Refusal | None:
    """A question that asks for a number is not answered from passages that give none."""
    if intent.RATE.search(q.text):
        # Asked for a rate: only a passage giving a percentage answers it, whatever else it says.
        if not any(intent.PERCENT.search(t) for t in texts):
            return Refusal("no-fact", NO_NUMBER[q.lang])
    elif intent.QUANTITY.search(q.text) and not any(intent.NUMBER.search(t) or intent.NUMBER_WORD.search(t) for t in texts):
        return Refusal("no-fact", NO_NUMBER[q.lang])
    return None
