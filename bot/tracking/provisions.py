"""Which provisions a dated rule governs, and which rule governs a provision.

"Chapter III, Sections 1, 2, and 3, with the exception of Article 6(5)" names
the articles under those headings minus one paragraph; "Article 5(1a) and (1b)"
names two paragraphs; "This Regulation" names the whole act. :func:`targets_of`
turns such words into :class:`Target` objects, read against the units of the
same version; :func:`governing` finds, for one unit (and paragraph), the rules
that apply to it — the most specific first — which is how the timeline and
:func:`bot.tracking.applies.provision_dates` agree on every date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel

from ..models import Unit
from ..parsing.common import roman_to_int

WHOLE_ACT = "*"
_WHOLE = re.compile(r"^(?:This|the) (?:Regulation|Directive)\b|^the measures adopted to comply with this Directive", re.I)
_TOKEN = re.compile(
    r"Chapters?\s+(?P<ch>[IVXLC]+(?:(?:\s*,\s*|\s+and\s+)(?:Chapter\s+)?[IVXLC]+\b)*)"
    r"|Sections?\s+(?P<sec>\d+(?:(?:\s*,\s*|,?\s+and\s+)\d+)*)"
    r"|Articles?\s+(?P<art>\d+[a-z]?)(?P<para>\(\d+[a-z]?\))?(?:\s+to\s+(?P<art_to>\d+))?"
    r"|points?\s+\((?P<pt>[a-z]+)\)(?:\s+and\s+\((?P<pt2>[a-z]+)\))?"
    r"|\band\s+\((?P<para2>\d+[a-z]?)\)"
    r"|Annex\s+(?P<annex>[IVXLC]+)\b"
)
_EXCEPT = re.compile(r",?\s*with the exception of\s+(?P<what>.+?)(?=\s*—|$)", re.I)


class Target(BaseModel):
    """A provision a rule governs: a unit, a paragraph or point of it, or the whole act (``unit == '*'``)."""

    unit: str
    path: str = ""
    level: int = 2  # 0 whole act, 1 by chapter or section, 2 a unit named, 3 a paragraph or point named


class Governed(Protocol):
    targets: list[Target]
    excepted: list[Target]


def paragraph_of(path: str) -> str:
    """'1.a' -> '1', '1a' -> '1a', '¶2' or '' -> ''."""
    m = re.match(r"\d+[a-z]?", path)
    return m[0] if m else ""


def _chapters(units: Sequence[Unit]) -> dict[int, list[tuple[int | None, str]]]:
    """chapter number -> [(section number or None, unit id)] of the articles under it."""
    out: dict[int, list[tuple[int | None, str]]] = {}
    for u in units:
        if u.kind != "article" or not u.headings:
            continue
        m = re.match(r"Chapter ([IVXLC]+)\b", u.headings[0])
        if not m:
            continue
        sec = next((int(s[1]) for h in u.headings[1:] for s in [re.match(r"Section (\d+)\b", h)] if s), None)
        out.setdefault(roman_to_int(m[1]), []).append((sec, u.unit))
    return out


def targets_of(words: str, units: Sequence[Unit]) -> list[Target]:
    """The provisions ``words`` names, against ``units`` (the same version's units)."""
    if _WHOLE.match(words.strip()):
        return [Target(unit=WHOLE_ACT, level=0)]
    chapters = _chapters(units)
    ids = {u.unit for u in units}
    out: list[Target] = []
    last_chapters: list[int] = []
    last_art: tuple[str, str] | None = None
    for m in _TOKEN.finditer(words):
        if m["ch"]:
            last_chapters = [roman_to_int(n) for n in re.findall(r"\b[IVXLC]+\b", m["ch"])]
            out += [Target(unit=u, level=1) for n in last_chapters for _, u in chapters.get(n, [])]
            last_art = None
        elif m["sec"] and last_chapters:
            secs = {int(n) for n in re.findall(r"\d+", m["sec"])}
            whole = {u for n in last_chapters for _, u in chapters.get(n, [])}
            out = [t for t in out if not (t.level == 1 and t.unit in whole)]
            out += [Target(unit=u, level=1) for n in last_chapters for s, u in chapters.get(n, []) if s in secs]
        elif m["art"]:
            last_chapters = []
            if m["art_to"]:
                out += [Target(unit=f"art-{n}") for n in range(int(m["art"]), int(m["art_to"]) + 1) if f"art-{n}" in ids]
                last_art = None
            else:
                para = (m["para"] or "").strip("()")
                out.append(Target(unit=f"art-{m['art']}", path=para, level=3 if para else 2))
                last_art = (f"art-{m['art']}", para)
        elif m["pt"] and last_art:
            unit, para = last_art
            if out and out[-1].unit == unit and out[-1].path == para:
                out.pop()
            for pt in filter(None, (m["pt"], m["pt2"])):
                out.append(Target(unit=unit, path=f"{para}.{pt}" if para else pt, level=3))
        elif m["para2"] and last_art:
            out.append(Target(unit=last_art[0], path=m["para2"], level=3))
        elif m["annex"]:
            out.append(Target(unit=f"annex-{m['annex'].lower()}"))
            last_art, last_chapters = None, []
    return out


def scope_of(what: str, units: Sequence[Unit]) -> tuple[list[Target], list[Target]]:
    """(targets, exceptions) of the words of a rule: 'Chapter XII …, with the exception of Article 101'."""
    main, _, condition = what.partition(" — ")
    exc = _EXCEPT.search(main)
    excepted = targets_of(exc["what"], units) if exc else []
    if exc:
        main = main[: exc.start()]
    targets = targets_of(main, units) + [t for t in targets_of(condition, units) if t.level >= 2]
    return targets, excepted


def _match(t: Target, unit: str, para: str) -> str:
    """'full' when ``t`` covers (unit, para) entirely, 'part' when it covers a part of it, '' otherwise."""
    if t.unit == WHOLE_ACT:
        return "full"
    if t.unit != unit:
        return ""
    if not t.path or para == t.path or para.startswith(t.path + "."):
        return "full"
    if not para or t.path.startswith(para + "."):
        return "part"
    return ""


def governing(rules: Sequence[Governed], unit: str, para: str = "") -> tuple[list[Governed], list[Governed]]:
    """(the most specific rules covering the whole provision, rules covering only a part of it)."""
    full: list[tuple[int, Governed]] = []
    part: list[Governed] = []
    for r in rules:
        if any(_match(x, unit, para) == "full" for x in r.excepted):
            continue
        kinds = [(t.level, _match(t, unit, para)) for t in r.targets]
        best_full = max((lv for lv, k in kinds if k == "full"), default=-1)
        if best_full >= 0:
            full.append((best_full, r))
        elif any(k == "part" for _, k in kinds):
            part.append(r)
    top = max((lv for lv, _ in full), default=-1)
    return [r for lv, r in full if lv == top], part


def exists(units: dict[str, Unit], target: Target) -> bool:
    """Does the version with these units have the provision ``target`` names?"""
    if target.unit == WHOLE_ACT:
        return True
    u = units.get(target.unit)
    if u is None:
        return False
    return not target.path or any(b.path == target.path or b.path.startswith(target.path + ".") for b in u.blocks)
