"""A bilingual word list learnt from the corpus itself: the texts indexed in two languages.

The AI Act is indexed in English and in Dutch, paragraph for paragraph: the same unit, the same
block path. Words that keep appearing in the same aligned paragraphs translate each other
("geldboete" and "fine", "toezichthouder" and "supervisor", "essentiële" and "essential"). The
lexicon pairs each stemmed term with the terms of the other language it co-occurs with most
(the Dice coefficient over aligned paragraphs), so that a Dutch question can be compared with the
English-only texts (NIS2, the Data Act, the Chips Act) and an English question with the Dutch
ABN AMRO article, on the words the law uses rather than on the question's own language.

Built by the index run from the generation's units and saved with it (``lexicon.json``); nothing
is written by hand, and it grows with every text indexed in two languages.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .lexical import stem_tokens
from .models import Unit
from .unitstore import UnitStore

log = logging.getLogger(__name__)

FILE = "lexicon.json"
#: A pair of terms translates when they share at least this Dice coefficient over aligned paragraphs ...
MIN_DICE = 0.4
#: ... and appear together in at least this many of them (one or two shared paragraphs is chance).
MIN_SHARED = 3
#: At most this many translations of a term ("besluit" -> "decision", "decide").
PER_TERM = 2

Aligned = tuple[str, str, str, str]  # (language a, text a, language b, text b)


@dataclass
class Lexicon:
    """Stemmed term -> stemmed terms of the other language, per direction ("nl>en", "en>nl")."""

    pairs: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def translate(self, text: str, src: str, dst: str) -> set[str]:
        """The ``dst`` terms that translate the terms of ``text`` (a question in ``src``)."""
        table = self.pairs.get(f"{src}>{dst}")
        if not table:
            return set()
        return {t for term in stem_tokens(text, src) for t in table.get(term, ())}

    def __len__(self) -> int:
        return sum(len(t) for t in self.pairs.values())

    def save(self, folder: Path) -> None:
        (folder / FILE).write_text(json.dumps(self.pairs, ensure_ascii=False, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Lexicon | None:
        """The lexicon saved in ``folder``; None if there is none (a generation of an older policybot)."""
        path = folder / FILE
        if not path.exists():
            return None
        try:
            pairs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Ignoring the unreadable lexicon in %s (%s)", folder, type(exc).__name__)
            return None
        return cls({d: {t: list(v) for t, v in table.items()} for d, table in pairs.items()})


def aligned_blocks(units: Iterable[Unit]) -> Iterator[Aligned]:
    """The paragraphs and points that a text has in two languages: same source, unit and block path."""
    by_key: dict[tuple[str, str], dict[str, Unit]] = {}
    for unit in units:
        by_key.setdefault((unit.source, unit.unit), {})[unit.language] = unit
    for versions in by_key.values():
        langs = sorted(versions)
        for i, a in enumerate(langs):
            for b in langs[i + 1 :]:
                other = {blk.path: blk.text for blk in versions[b].blocks}
                for blk in versions[a].blocks:
                    if blk.path in other and blk.text.strip() and other[blk.path].strip():
                        yield a, blk.text, b, other[blk.path]


def lexicon_of(units: UnitStore) -> Lexicon:
    """Build the lexicon from a snapshot's unit store: only the units a text has in two languages are read."""
    langs = Counter((source, unit) for source, _, unit in units)
    return build_lexicon(aligned_blocks(units[k] for k in units if langs[(k[0], k[2])] > 1))


def build_lexicon(aligned: Iterable[Aligned]) -> Lexicon:
    """Pair the terms that co-occur in aligned paragraphs (see the module doc), both directions."""
    rows: dict[tuple[str, str], list[tuple[frozenset[str], frozenset[str]]]] = {}
    for la, ta, lb, tb in aligned:
        rows.setdefault((la, lb), []).append((frozenset(stem_tokens(ta, la)), frozenset(stem_tokens(tb, lb))))
    pairs: dict[str, dict[str, list[str]]] = {}
    for (la, lb), docs in rows.items():
        df_a: Counter[str] = Counter()
        df_b: Counter[str] = Counter()
        for a, b in docs:
            df_a.update(a)
            df_b.update(b)
        both: Counter[tuple[str, str]] = Counter()
        for a, b in docs:
            a_terms = [t for t in a if df_a[t] >= MIN_SHARED]
            b_terms = [t for t in b if df_b[t] >= MIN_SHARED]
            both.update((s, t) for s in a_terms for t in b_terms)
        forward: dict[str, list[tuple[float, str]]] = {}
        backward: dict[str, list[tuple[float, str]]] = {}
        for (s, t), n in both.items():
            if n < MIN_SHARED:
                continue
            dice = 2 * n / (df_a[s] + df_b[t])
            if dice >= MIN_DICE:
                forward.setdefault(s, []).append((dice, t))
                backward.setdefault(t, []).append((dice, s))
        pairs[f"{la}>{lb}"] = _best(forward)
        pairs[f"{lb}>{la}"] = _best(backward)
    return Lexicon(pairs)


def _best(table: dict[str, list[tuple[float, str]]]) -> dict[str, list[str]]:
    return {s: [t for _, t in sorted(found, key=lambda x: (-x[0], x[1]))[:PER_TERM]] for s, found in sorted(table.items())}
