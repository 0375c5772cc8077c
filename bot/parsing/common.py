"""Shared helpers for the parsers: reading files, whitespace, roman numerals,
slugs, heading case, and :class:`BlockBuilder`, which turns a stream of text
pieces tagged with a structural context (paragraph, point ...) into blocks.

Block paths (see also README of the eval set for unit ids):
    ''          opening words of a unit (text before any numbered paragraph or point)
    '3'         numbered paragraph 3                    ref 'Article 99(3)'
    '1.a.i'     paragraph 1, point (a), point (i)       ref 'Article 5(1)(a)(i)'
    '¶2'        second unnumbered paragraph             ref 'Article 113'
    '1.(12)'    point (12) of unnumbered paragraph 1    ref 'Article 3, point (12)'
    '5.b'       annex point 5(b)                        ref 'Annex III, point 5(b)'
    'B.7'       annex section B, point 7                ref 'Annex VIII, Section B, point 7'
    '3+2'       text of paragraph 3 that follows its list of points (same ref as '3')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ParseError
from bot.models import Block

_WS = re.compile(r"\s+")
_ROMAN_VALUES = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                 (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
ROMAN_RE = r"(?=[IVXLCDM])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_PROPER = re.compile(r"\b(union|member states?|commission|european|directive|regulation)\b")
_ACRONYMS = re.compile(r"\b(ai|eu|ec|ict|sme|smes|ecic|ecb|ip|it|csirt|csirts|enisa)\b")


def read_text(path: Path) -> str:
    """The file as text; ParseError if it is missing or not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ParseError(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None


def norm_ws(text: str) -> str:
    """Collapse whitespace (incl. U+00A0, U+202F) to single spaces and strip."""
    return _WS.sub(" ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def int_to_roman(n: int) -> str:
    out = ""
    for value, numeral in _ROMAN_VALUES:
        while n >= value:
            out, n = out + numeral, n - value
    return out


def roman_to_int(s: str) -> int:
    s, total, i = s.upper(), 0, 0
    for value, numeral in _ROMAN_VALUES:
        while s.startswith(numeral, i):
            total, i = total + value, i + len(numeral)
    if i != len(s) or not s:
        raise ValueError(f"not a roman numeral: {s!r}")
    return total


def slugify(heading: str) -> str:
    """Lower-case, accents removed, each run of chars other than a-z0-9 made one '-'."""
    s = unicodedata.normalize("NFKD", heading.lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def heading_case(text: str) -> str:
    """'HIGH-RISK AI SYSTEMS' -> 'High-risk AI systems'; mixed-case text is kept."""
    text = norm_ws(text)
    if not text or text != text.upper() or not any(c.isalpha() for c in text):
        return text
    s = text[0] + text[1:].lower()
    s = _ACRONYMS.sub(lambda m: m.group(1).upper().replace("SMES", "SMEs").replace("CSIRTS", "CSIRTs"), s)
    return _PROPER.sub(lambda m: m.group(0).title(), s)


def bare_label(label: str) -> str:
    """'(12)' -> '12', '1.' -> '1', '‘(g)' -> 'g', 'a)' -> 'a', '3.1.' -> '3.1'."""
    s = norm_ws(label).strip("‘’“”'\"")
    s = s.strip("()").rstrip(".)").lstrip("(")
    return s.strip()


def printed_label(label: str) -> str:
    """The label as printed, without quotes or a trailing dot: '(12)', '1', '3.1'."""
    s = norm_ws(label).strip("‘’“”'\"")
    return s[:-1] if s.endswith(".") else s


@dataclass(eq=False)
class Ctx:
    """A structural container whose text forms one block (plus continuations)."""

    path: str
    ref: str
    kind: str  # unit | para | alinea | point | section
    point_path: str = ""  # prefix for first-level points ('' or 'A.' or '1.(')
    point_ref: str = ""  # ref base for first-level points ('Annex III, point ')
    nosplit: bool = False  # everything below goes into this block (amending points)
    label: str = ""
    segments: int = 0
    children: int = 0


@dataclass
class _Draft:
    ctx: Ctx
    path: str
    parts: list[str] = field(default_factory=list)
    amended: bool = False


class BlockBuilder:
    """Collect text into blocks; a new block starts whenever text arrives for another context."""

    def __init__(self, unit_ref: str, *, point_word: str = "point") -> None:
        self.unit_ref = unit_ref
        self.point_word = point_word
        self.root = Ctx(path="", ref=unit_ref, kind="unit", point_ref=f"{unit_ref}, {point_word} ")
        self._drafts: list[_Draft] = []
        self._alineas = 0

    # -- contexts -------------------------------------------------------------------
    def para(self, label: str) -> Ctx:
        b = bare_label(label)
        return Ctx(path=b, ref=f"{self.unit_ref}({b})", kind="para", label=b)

    def alinea(self) -> Ctx:
        """An unnumbered paragraph of the unit (its first one is the opening, path '')."""
        self._alineas += 1
        k = self._alineas
        return Ctx(path="" if k == 1 else f"¶{k}", ref=self.unit_ref, kind="alinea",
                   point_path=f"{k}.(", point_ref=f"{self.unit_ref}, {self.point_word} ")

    def section(self, letter: str, ref: str) -> Ctx:
        return Ctx(path=letter, ref=ref, kind="section", point_path=f"{letter}.",
                   point_ref=f"{ref}, {self.point_word} ")

    def point(self, parent: Ctx, label: str, *, nosplit: bool = False) -> Ctx:
        b, shown = bare_label(label), printed_label(label)
        parent.children += 1
        if parent.kind == "point" and "." in b and parent.label and b.startswith(parent.label + "."):
            # dotted numbering ('3.1' under point '3'): a sibling-level point, not '3.3.1'
            return Ctx(path=b, ref=f"{parent.ref.rsplit(' ', 1)[0]} {shown}", kind="point",
                       label=b, nosplit=nosplit)
        if parent.kind in ("para", "point"):
            path = f"{parent.path}.{b}" if parent.path else b
            return Ctx(path=path, ref=f"{parent.ref}({b})", kind="point", label=b, nosplit=nosplit)
        if parent.point_path.endswith("("):
            path = f"{parent.point_path}{b})"
        else:
            path = f"{parent.point_path}{b}"
        return Ctx(path=path, ref=f"{parent.point_ref}{shown}", kind="point", label=b, nosplit=nosplit)

    # -- text -------------------------------------------------------------------------
    def text(self, ctx: Ctx, text: str | None, *, amended: bool = False) -> None:
        if not text:
            return
        cur = self._drafts[-1] if self._drafts else None
        if not text.strip():
            if cur is not None:
                cur.parts.append(" ")
            return
        if cur is None or cur.ctx is not ctx:
            ctx.segments += 1
            path = ctx.path if ctx.segments == 1 else f"{ctx.path}+{ctx.segments}"
            cur = _Draft(ctx=ctx, path=path)
            self._drafts.append(cur)
        cur.parts.append(text)
        cur.amended = cur.amended or amended

    def space(self) -> None:
        if self._drafts:
            self._drafts[-1].parts.append(" ")

    def blocks(self) -> list[Block]:
        out: list[Block] = []
        seen: dict[str, int] = {}
        for d in self._drafts:
            text = norm_ws("".join(d.parts))
            if not text:
                continue
            path = d.path
            if path in seen:  # duplicate labels in the source: keep paths unique
                seen[path] += 1
                path = f"{path}#{seen[path]}"
            else:
                seen[path] = 1
            out.append(Block(path=path, ref=d.ctx.ref, text=text, amended=d.amended))
        return out
