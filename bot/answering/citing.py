"""Citations of units: numbered, dated, with the amendment notes of consolidated and older texts,
and the nearest sources an abstention points to. Shared by the answerers of this package."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..citations import verify_quote
from ..config import Settings
from ..models import Block, Citation, Unit
from ..retrieval import Result, Retriever
from ..sources import Manifest
from .passages import shorten, split_sentences

NOTES = {
    "amended": {"en": "as amended by {act}", "nl": "zoals gewijzigd bij {act}"},
    "inserted": {"en": "inserted by {act}", "nl": "ingevoegd bij {act}"},
    "predates": {"en": "this language version predates {act}", "nl": "deze taalversie dateert van vóór {act}"},
    "current": {"en": "current wording", "nl": "huidige tekst"},
}
_KINDS = {"R": "Regulation", "L": "Directive", "D": "Decision"}


def act_name(celex: str) -> str:
    """'32026R1744' -> 'Regulation (EU) 2026/1744' (the CELEX itself when it reads otherwise)."""
    m = re.fullmatch(r"3(\d{4})([RLD])0*(\d+)", celex)
    return f"{_KINDS[m.group(2)]} (EU) {m.group(1)}/{m.group(3)}" if m else celex




class Citer:
    """Builds citations for units of the index, with notes and dates."""

    def __init__(
        self, settings: Settings, retriever: Retriever, manifest: Manifest, dates: Callable[[Citation], str] | None = None,
        dated_by: Callable[[Citation], Citation | None] | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.manifest = manifest
        #: From when a cited provision applies ("applies since 2 February 2025"), from the timeline.
        self.dates = dates
        #: The provision that sets that date (a final provision, an amending act's point), from the same timeline.
        self.dated_by = dated_by

    # -- helpers -----------------------------------------------------------------
    def short(self, source: str) -> str:
        try:
            return self.manifest.get(source).short
        except Exception:
            return source

    def _texts(self) -> list[dict]:  # type: ignore[type-arg]
        return list(self.retriever.snapshot.state.get("texts", []))

    def _predates(self, unit: Unit) -> bool:
        """Is the unit's language version older than the source's current text?"""
        return any(t["source"] == unit.source and t["language"] == unit.language and t.get("predates_current") for t in self._texts())

    def _current_language(self, source: str) -> str | None:
        for t in self._texts():
            if t["source"] == source and not t.get("predates_current"):
                return str(t["language"])
        return None

    def _amended_by(self, source: str) -> list[str]:
        try:
            return list(self.manifest.get(source).amended_by)
        except Exception:
            return []

    def _amender(self, source: str) -> str:
        """The act that made the current text (from the manifest), by name."""
        try:
            spec = self.manifest.get(source)
            return act_name(self.manifest.get(spec.amended_by[-1]).celex) if spec.amended_by else ""
        except Exception:
            return ""

    def _note(self, unit: Unit, block: Block, lang: str = "en") -> str | None:
        if self._predates(unit):
            act = self._amender(unit.source) or "the current text"
            return NOTES["predates"][lang].format(act=act)
        if unit.amended_by:
            act = act_name(unit.amended_by)
            # Letter-numbered articles (4a, 75b) and annexes missing from the older version were inserted.
            inserted = bool(re.fullmatch(r"art-\d+[a-z]", unit.unit)) or (
                unit.kind == "annex" and self._missing_in_older(unit)
            )
            if inserted:
                return NOTES["inserted"][lang].format(act=act)
            if block.amended:
                return NOTES["amended"][lang].format(act=act)
        return None

    def _missing_in_older(self, unit: Unit) -> bool:
        older = [t["language"] for t in self._texts() if t["source"] == unit.source and t.get("predates_current")]
        return bool(older) and all(self.retriever.unit(unit.source, lang, unit.unit) is None for lang in older)

    def _citation(self, n: int, unit: Unit, block: Block, quote: str, note: str | None) -> Citation:
        title = self.short(unit.source) + (f" — {unit.title}" if unit.title else "")
        citation = Citation(
            n=n,
            source=unit.source,
            unit=unit.unit,
            ref=block.ref or unit.ref,
            title=title,
            url=unit.url,
            quote=quote,
            language=unit.language,
            version=self.retriever.unit_version(unit.source, unit.language, unit.unit),
            note=note,
        )
        if self.dates is not None:
            citation.applies = self.dates(citation) or None
        return citation

    def _current_wording(self, old_unit: Unit, old_block: Block) -> tuple[Unit, Block, str] | None:
        """For a unit of an older language version that the amendment changed: the current block."""
        lang = self._current_language(old_unit.source)
        cur = self.retriever.unit(old_unit.source, lang, old_unit.unit) if lang else None
        if cur is None or not cur.amended_by:
            return None
        same = [b for b in cur.blocks if b.path == old_block.path]
        amended = [b for b in cur.blocks if b.amended]
        block = (same or amended or cur.blocks)[0]
        quote = shorten(split_sentences(block.text)[0] if block.text else block.text, set(), cur.language)
        if not quote or not verify_quote(quote, cur.text):
            return None
        return cur, block, quote


def nearest_citations(
    retriever: Retriever,
    manifest: Manifest,
    results: list[Result],
    lang: str,
    n: int = 3,
    about: Callable[[str], bool] | None = None,
) -> list[Citation]:
    """What an abstention points to: the opening of each of the best ``n`` retrieved units, or,
    with ``about``, the first sentence of each that ``about`` accepts (what the indexed texts say
    about an act that is not indexed)."""
    answerer = Citer(retriever.settings, retriever, manifest)
    nearest: list[Citation] = []
    for r in results[: n if about is None else 2 * n]:
        unit = retriever.unit(r.primary.chunk.source, r.primary.chunk.language, r.primary.chunk.unit)
        if unit is None or not unit.blocks or len(nearest) >= n:
            continue
        if about is None:
            block, sentence = unit.blocks[0], split_sentences(unit.blocks[0].text)[0]
        else:
            found = [(b, s) for b in unit.blocks for s in split_sentences(b.text) if about(s)]
            if not found:
                continue
            block, sentence = found[0]
        quote = shorten(sentence, set(), unit.language)
        if verify_quote(quote, unit.text):
            nearest.append(answerer._citation(len(nearest) + 1, unit, block, quote, answerer._note(unit, block, lang)))
    return nearest
