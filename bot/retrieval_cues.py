"""What retrieval reads in questions and unit headings, and what it returns.

The cues (a question about dates, about fines; a heading of entry into force, of penalties, of
definitions; a definition point) and :class:`Result`, one retrieved unit with its chunk hits.
Answering reads the same cues, so they live here, below both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .models import Hit, Unit
from .sources import fold

#: Questions that ask for a date of application or entry into force.
TIMELINE = re.compile(
    r"\b(since when|by when|from when|until when|what date|which date|appl(?:y|ies|ied) from|"
    r"start(?:s|ed)? to apply|becomes? applicable|applicable from|enter(?:s|ed)? into force|entry into force|in force|take effect|kick(?:s)? in|"
    r"when (?:do|does|did|will|would|are|is)\b[^?]*\b(?:apply|applies|start|begin|enter|kick in|take effect|in force)|"
    r"vanaf wanneer|sinds wanneer|per wanneer|tot wanneer|welke datum|van toepassing|in werking|"
    r"wanneer (?:gaat|gaan|treedt|treden|is|zijn|geldt|gelden)\b[^?]*\b(?:toepassing|werking|gelden|geldt))",
    re.I,
)
APPLICATION_TITLE = re.compile(r"entry into force|inwerkingtreding", re.I)
#: Questions about fines, and the articles that set them.
PENALTY = re.compile(r"\b(fines?|fined|penalt(?:y|ies)|sanctions?|\w*boetes?|\w*sancties?)\b", re.I)  # Dutch compounds: maximumboete
PENALTY_TITLE = re.compile(r"\b(penalties|fines|sanctions|sancties|geldboeten)\b", re.I)
DEFINITIONS_TITLE = re.compile(r"^(definitions|definities|begripsomschrijvingen)$", re.I)
#: A definition point: "(11) ‘first-of-a-kind facility’ means", "4) “gebruiksverantwoordelijke”:".
_DEFINED = re.compile(r"^\(?\d+[a-z]?\)\s*((?:[‘“'\"][^’”'\"]{1,80}[’”'\"](?:\s*(?:or|of|en)\s*)?)+)")
_TERM = re.compile(r"[‘“'\"]([^’”'\"]{1,80})[’”'\"]")


@dataclass
class Result:
    """One unit as retrieved: its best chunk hits, the question's language first."""

    source: str
    unit: str
    score: float
    hits: list[Hit] = field(default_factory=list)

    @property
    def primary(self) -> Hit:
        return self.hits[0]

    @property
    def key(self) -> str:
        return f"{self.source}:{self.unit}"

    def text(self) -> str:
        seen: list[str] = []
        for h in self.hits:
            if h.chunk.text not in seen:
                seen.append(h.chunk.text)
        return "\n".join(seen)


def add_definitions(unit: Unit, out: dict[str, list[tuple[str, str, str, str]]]) -> None:
    """Terms a definitions article defines: folded term -> (source, language, unit, block path)."""
    for block in unit.blocks:
        m = _DEFINED.match(block.text)
        if m:
            for term in _TERM.findall(m.group(1)):
                out.setdefault(fold(term), []).append((unit.source, unit.language, unit.unit, block.path))
