"""Is a parsed act whole? Checks that catch a cut or damaged file that still parses.

A file cut at 80 % parses into fewer units, and a unit count alone lets much
through. An act's structure says more: its articles are numbered from 1 without
gaps up to a final provision (entry into force, or the addressees of a
directive), and the text ends with the signature block ("Done at ...").
A new version of an edition must be as whole as the last good version: if that
one had its articles without gaps, its final provision and its signature, so must
the new one, and it keeps every article the last good one had unless it is an
amended (consolidated) text. A first version is taken as it comes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.models import Unit

#: Titles of an act's last article: entry into force (and application), or the addressees of a directive.
FINAL_TITLE = re.compile(r"entry into force|addressees|inwerkingtreding|adressaten|final provisions|slotbepaling", re.I)
#: The signature block after the last article, in the texts' languages and in Formex.
SIGNATURE = re.compile(r"\bDone at\b|\bGedaan te\b|<SIGNATURE\b", re.I)


@dataclass
class Structure:
    articles: list[str] = field(default_factory=list)  # unit ids, e.g. "art-4a"
    numbers: list[int] = field(default_factory=list)  # their numbers without letter: 4a -> 4
    last: Unit | None = None
    signed: bool = False
    amended: bool = False

    @property
    def gaps(self) -> list[int]:
        """Article numbers missing between Article 1 and the last article."""
        return sorted(set(range(1, max(self.numbers) + 1)) - set(self.numbers)) if self.numbers else []

    @property
    def final_ok(self) -> bool:
        return self.last is not None and bool(FINAL_TITLE.search(self.last.title))


def describe(units: list[Unit], raw_text: str) -> Structure:
    """The structure of a parsed text; ``raw_text`` is the file's text (for the signature block)."""
    out = Structure(signed=bool(SIGNATURE.search(raw_text)))
    for unit in units:
        out.amended = out.amended or bool(unit.amended_by) or any(b.amended for b in unit.blocks)
        m = re.match(r"\d+", unit.number)
        if unit.kind != "article" or not m:
            continue
        out.articles.append(unit.unit)
        out.numbers.append(int(m.group()))
        if out.last is None or int(m.group()) >= max(out.numbers[:-1] or [0]):
            out.last = unit
    return out


def read_raw_text(path: Path) -> str:
    """The text of a file, or of every file under a folder (bytes that are not UTF-8 replaced)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)


def _ranges(numbers: list[int]) -> str:
    spans: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _ids(ids: set[str]) -> str:
    numbers = [int(m.group()) for i in ids if (m := re.search(r"\d+", i))]
    return _ranges(numbers) if len(numbers) == len(ids) else ", ".join(sorted(ids))


def structure_problems(new: Structure, previous: Structure) -> list[str]:
    """What shows that ``new`` is less whole than ``previous``, the last good version of its edition ([] when nothing does).

    Each check applies where the last good version passed it, so a text that never had a
    signature block (the Dutch AI Act folder) or an article numbering from 1 is held to what it had.
    """
    problems: list[str] = []
    if new.numbers and not previous.gaps:
        gaps = new.gaps
        if gaps:
            problems.append(f"Article{'s' if len(gaps) > 1 else ''} {_ranges(gaps)} missing between Article 1 and Article {max(new.numbers)}")
    if previous.final_ok and not new.final_ok:
        last = f"{new.last.ref} ({new.last.title})" if new.last else "no article"
        problems.append(f"the text ends at {last}, not at its final provision (entry into force or addressees)")
    if previous.signed and not new.signed:
        problems.append("the signature block ('Done at ...') is missing")
    if previous.articles and not previous.gaps and not new.amended:  # an amended (consolidated) text may drop articles
        lost = set(previous.articles) - set(new.articles)
        if lost:
            problems.append(f"Article{'s' if len(lost) > 1 else ''} {_ids(lost)} of the last good version {'are' if len(lost) > 1 else 'is'} missing")
    return problems
