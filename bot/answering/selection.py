"""Choosing what to quote: among the scored sentences of the retrieved units (:class:`Candidate`),
the best unit's best sentences, other units only where they score close to it, each side of a
comparison, and a sentence that gives the kind of fact asked for (:func:`select`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..lexical import stem_tokens
from ..models import Block, Hit, Unit
from ..retrieval_cues import Result
from .passages import is_lead_in

#: Another unit is quoted only when its best sentence scores at least this share of the best one's.
UNIT_RATIO = 0.7
#: Within a unit, a second sentence is quoted when it scores at least this share of the unit's best.
SENTENCE_RATIO = 0.75
#: In a comparison of named sources, a source's best unit is quoted when it scores this share of the best.
COMPARE_RATIO = 0.3
#: A sentence giving the fact asked for joins the quotes when it scores this share of its unit's best.
SLOT_RATIO = 0.4
#: ... and from a unit not otherwise quoted, when it scores this share of the best sentence.
OTHER_SLOT_RATIO = 0.5
#: At most this many units quoted (a comparison may add one per side).
MAX_UNITS = 3
#: At most this many passages chosen by :func:`select`.
MAX_SELECTED = 4
#: A unit is a side of "X versus Y" when its heading holds this share of the side's words.
SIDE_TITLE_SHARE = 0.6
#: At most this many quotes from one unit.
QUOTES_PER_UNIT = 2
#: ... or this share, for a question about what the law requires of someone: a unit's duties come
#: in several paragraphs ("approve the measures" and "follow training"), each part of the answer.
DUTY_SENTENCE_RATIO = 0.5


@dataclass
class Candidate:
    """One sentence of a retrieved unit, scored for the question (by :mod:`.extractive`)."""

    result: Result
    hit: Hit
    unit: Unit
    block: Block
    text: str
    score: float = 0.0
    overlap: float = 0.0  # share of the question's known terms (weighted by rarity) in the sentence
    coverage: float = 0.0  # the same share of all the question's terms, known to the corpus or not
    terms: frozenset[str] = frozenset()  # the sentence's stemmed terms
    base: float = 0.0  # the score's parts that do not depend on the question's words
    factor: float = 1.0  # rank prior times the language factor


def unit_key(c: Candidate) -> str:
    """Which unit, in which language, a candidate is from."""
    return f"{c.unit.source}:{c.unit.language}:{c.unit.unit}"


def titled_sides(terms: list[str], cands: list[Candidate]) -> list[str]:
    """The units whose headings name the two things a question compares ("Integrated production
    facilities", "Open EU foundries"), one per side, or [] when a side has none."""
    sides: list[str] = []

    def share(term: str, c: Candidate) -> float:
        want = set(stem_tokens(term, c.unit.language))
        return len(want & set(stem_tokens(c.unit.title, c.unit.language))) / len(want) if want and c.unit.title else 0.0

    for i, term in enumerate(terms):
        best: tuple[float, str] | None = None
        for c in cands:
            mine, theirs = share(term, c), max((share(t, c) for j, t in enumerate(terms) if j != i), default=0.0)
            # A heading that names both ("Application for status as integrated production facility or
            # open EU foundry") is about the pair, not one side.
            if mine >= SIDE_TITLE_SHARE > theirs and unit_key(c) not in sides and (best is None or mine > best[0]):
                best = (mine, unit_key(c))
        if best is None:
            return []
        sides.append(best[1])
    return sides


def overlaps(a: Candidate, b: Candidate) -> bool:
    """Would quoting both show the same words? The same sentence or block, or a list's lead-in
    (quoted with the start of its points) and one of its points."""
    if a.text == b.text or a.block is b.block:
        return True
    if a.unit is not b.unit:
        return False
    for lead, item in ((a.block, b.block), (b.block, a.block)):
        if lead.path and item.path.startswith(lead.path + ".") and is_lead_in(lead):
            return True
    return False


def select(
    cands: list[Candidate],
    max_units: int | None = None,
    max_quotes: int | None = None,
    compare: list[str] | None = None,
    wants: list[re.Pattern[str]] | None = None,
    reasons: bool = False,
    duties: bool = False,
    sides: list[str] | None = None,
) -> list[Candidate]:
    """The best unit's best sentences, plus other units only where they score close to it.

    ``compare``: sources the question names side by side ("the AI Act's fines compared with
    NIS2's"); each gets its best unit, where that unit answers at least a little.
    ``wants``: the kinds of fact asked for (a date, an amount, a period); where no quote gives
    one, the quoted units' best sentence that does is added ("how is it declared, and how
    long can it last?" needs both sentences).
    ``reasons``: the question asks why the law rules as it does; recitals are kept beside articles.
    ``sides``: units (keys) headed by the two things a question compares ("X versus Y"); each is quoted.
    ``duties``: the question asks what the law requires of someone; a unit's second duty is quoted
    where it scores :data:`DUTY_SENTENCE_RATIO` of the first.
    """
    max_units = max_units or MAX_UNITS
    ratio = DUTY_SENTENCE_RATIO if duties else SENTENCE_RATIO
    max_quotes = max_quotes or MAX_SELECTED
    best_by_unit: dict[str, float] = {}
    for c in cands:
        best_by_unit[unit_key(c)] = max(best_by_unit.get(unit_key(c), 0.0), c.score)
    ranked = sorted(best_by_unit, key=lambda u: -best_by_unit[u])
    top = best_by_unit[ranked[0]]
    units = [u for i, u in enumerate(ranked[:max_units]) if i == 0 or best_by_unit[u] >= UNIT_RATIO * top]
    # Recitals explain, articles rule: an answer that quotes a text's operative provisions does
    # not also quote that text's recitals, unless the question asks why (``reasons``): the
    # recitals give the legislator's reasons.
    kind = {unit_key(c): c.unit.kind for c in cands}
    operative = {u.split(":")[0] for u in units if kind[u] != "recital"}
    if not reasons:
        units = [u for u in units if kind[u] != "recital" or u.split(":")[0] not in operative]
    for source in compare or []:
        if any(u.split(":")[0] == source for u in units):
            continue
        own = [u for u in ranked if u.split(":")[0] == source and best_by_unit[u] >= COMPARE_RATIO * top]
        if own:
            units = units[: max_units - 1] + [own[0]] if len(units) >= max_units else units + [own[0]]
    for side in sides or []:
        # "X versus Y" where a unit is headed by each: each side is quoted, ahead of other units.
        if side in best_by_unit and side not in units:
            others = [u for u in units if u not in (sides or [])]
            units = [u for u in units if u in (sides or [])] + [side] + others
    units = units[: max(max_units, len(sides or []))]
    chosen: list[Candidate] = []
    for u in units:
        picked = 0
        for c in cands:  # already sorted best first
            if unit_key(c) != u or c.score < ratio * best_by_unit[u]:
                continue
            if any(overlaps(c, x) for x in chosen):
                continue
            chosen.append(c)
            picked += 1
            if picked == QUOTES_PER_UNIT or len(chosen) >= max_quotes:
                break
        if len(chosen) >= max_quotes:
            break
    for pattern in wants or []:
        if any(pattern.search(c.text) for c in chosen):
            continue
        slot = next((c for c in cands if unit_key(c) in units and pattern.search(c.text)
                     and c.score >= SLOT_RATIO * best_by_unit[unit_key(c)]), None)
        if slot is None:
            # No quoted unit gives the fact asked for ("what maximum fine?"): another retrieved unit's
            # sentence that does, when it answers nearly as well as the best, of the same act as the
            # quoted units or a compared one (another law's figure does not answer a question about this one).
            acts = {u.split(":")[0] for u in units} | set(compare or [])
            slot = next((c for c in cands if pattern.search(c.text) and c.score >= OTHER_SLOT_RATIO * top
                         and c.unit.source in acts), None)
        if slot is not None and not any(overlaps(slot, x) for x in chosen):
            chosen.append(slot)
    return chosen
