"""Formex 4 (Official Journal XML) -> units.

Reads an OJ package folder (main body ``*.000101.fmx.xml`` plus one file per
annex; ``.doc``/``.toc`` metadata files are ignored), a single Formex file, or a
consolidated text (root ``CONS.ACT``). The whole document is walked once, in
document order, so that the consolidation change markers (processing
instructions ``<?CLG.MDFO ...?>`` ... ``<?CLG.MDFC ...?>``, which may sit outside
the element they change) can be tracked as open/closed state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from bot.errors import ParseError
from bot.models import Unit
from bot.parsing.common import (ROMAN_RE, BlockBuilder, Ctx, bare_label, heading_case, int_to_roman,
                                norm_ws, read_text)

INLINE = {"HT", "DATE", "FT", "REF.DOC.OJ", "REF.DOC", "LINK", "IE", "QUOT.START", "QUOT.END", "NO.P",
          "NO.PARAG", "SUP", "INF", "ABBR", "ACRONYM", "FORMULA"}
QUOTES = {"2018": "\u2018", "2019": "\u2019", "201C": "\u201c", "201D": "\u201d"}
#: act-level parts that are not units (citations, closing formula, metadata)
SKIP_TOP = {"BIB.INSTANCE", "BIB.INSTANCE.CONS", "INFO.CONSLEG", "INFO.PROD", "FAM.COMP", "PREAMBLE.INIT",
            "GR.VISA", "PREAMBLE.FINAL", "FINAL", "TITLE", "GR.CONSID.INIT", "NOTE", "INCLUSIONS",
            "BIB.DATA", "GR.MOD.ACT", "DOCUMENT.REF.CONS", "ANNOTATION"}


@dataclass
class _Markers:
    """Open CLG change markers: id -> (action, active doc)."""

    open: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def amended(self) -> bool:
        return bool(self.open)

    @property
    def deleted(self) -> bool:
        return any(action == "DELETED" for action, _ in self.open.values())

    @property
    def active_doc(self) -> str | None:
        return next((doc for _, doc in reversed(self.open.values()) if doc), None)


@dataclass
class _State:
    source: str
    language: str
    url: str
    markers: _Markers = field(default_factory=_Markers)
    headings: list[tuple[int, str]] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    annexes: int = 0


def _pi_attrs(node: etree._ProcessingInstruction) -> dict[str, str]:
    return dict(re.findall(r'([A-Z.]+)=["\']([^"\']*)["\']', node.text or ""))


def _plain(el: etree._Element) -> str:
    """Text of an element for titles (no markers, no notes)."""
    parts: list[str] = []

    def rec(e: etree._Element) -> None:
        if isinstance(e.tag, str) and e.tag != "NOTE":
            if e.tag in ("QUOT.START", "QUOT.END"):
                parts.append(QUOTES.get(e.get("CODE", ""), ""))
            parts.append(e.text or "")
            for c in e:
                rec(c)
                if not (isinstance(c.tag, str) and c.tag in INLINE):
                    parts.append(" ")
        parts.append(e.tail or "")

    rec(el)
    parts[-1] = ""  # drop the element's own tail
    return norm_ws("".join(parts))


class _UnitWalker:
    """Turns the content of one unit into blocks, honouring change markers."""

    def __init__(self, state: _State, unit: Unit, builder: BlockBuilder, *, amending: bool, annex: bool) -> None:
        self.state, self.unit, self.b = state, unit, builder
        self.amending, self.annex = amending, annex
        self.quoted = 0

    def marker(self, node: etree._ProcessingInstruction) -> None:
        attrs = _pi_attrs(node)
        if node.target == "CLG.MDFO":
            self.state.markers.open[attrs.get("ID", str(len(self.state.markers.open)))] = (
                attrs.get("ACTION", ""), attrs.get("ACTIVE.DOC", ""))
            if attrs.get("ACTIVE.DOC"):
                self.unit.amended_by = attrs["ACTIVE.DOC"]
        elif node.target == "CLG.MDFC":
            self.state.markers.open.pop(attrs.get("IDREF", ""), None)

    def add(self, ctx: Ctx, text: str | None) -> None:
        m = self.state.markers
        if text and not m.deleted:
            # text inside ACTION="DELETED" markers is still in the consolidated file; it is
            # no longer law, so it is dropped here (a block left empty disappears).
            self.b.text(ctx, text, amended=m.amended)

    def children(self, el: etree._Element, ctx: Ctx) -> None:
        self.add(ctx, el.text)
        for child in el:
            self.node(child, ctx)
            self.add(ctx, child.tail)

    def node(self, el: etree._Element, ctx: Ctx) -> None:
        if isinstance(el, etree._ProcessingInstruction):
            self.marker(el)
            return
        if not isinstance(el.tag, str):
            return
        tag = el.tag
        if tag == "NOTE":  # footnotes are left out
            return
        if tag in ("QUOT.START", "QUOT.END"):
            self.add(ctx, QUOTES.get(el.get("CODE", ""), ""))
            return
        if tag in INLINE:
            if tag == "SUP" or (tag == "HT" and el.get("TYPE") == "SUP"):
                self.add(ctx, "^")  # 10<HT TYPE="SUP">25</HT> is 10^25, not 1025
            self.children(el, ctx)
            return
        self.b.space()
        if tag in ("QUOT.S", "TITLE"):  # quoted (amending) text, headings: flat text of the block
            self.quoted += 1
            self.children(el, ctx)
            self.quoted -= 1
        elif ctx.nosplit or self.quoted:
            self.children(el, ctx)
        elif tag == "PARAG":
            self.children(el, self.b.para(_plain(el.find("NO.PARAG")) if el.find("NO.PARAG") is not None else ""))
        elif tag == "ALINEA" and ctx.kind == "unit" and not self.annex:
            self.children(el, self.b.alinea())
        elif tag == "NP" and el.find("NO.P") is not None and bare_label(_plain(el.find("NO.P"))):
            parent = ctx
            nosplit = self.amending and ctx.kind in ("unit", "alinea")
            self.children(el, self.b.point(parent, _plain(el.find("NO.P")), nosplit=nosplit))
        elif tag == "GR.SEQ":
            self.grseq(el, ctx)
        else:
            self.children(el, ctx)
        self.b.space()

    def grseq(self, el: etree._Element, ctx: Ctx) -> None:
        title = el.find("TITLE")
        np_ = title.find("TI/NP") if title is not None else None
        if np_ is not None and np_.find("NO.P") is not None:
            self.children(el, self.b.point(ctx, _plain(np_.find("NO.P"))))
            return
        m = re.match(r"Section\s+([A-Z0-9]+)\b", _plain(title.find("TI"))) if title is not None \
            and title.find("TI") is not None else None
        if m and ctx.kind in ("unit", "section"):
            self.children(el, self.b.section(m.group(1), f"{self.unit.ref}, Section {m.group(1)}"))
            return
        self.children(el, ctx)


def _division_label(text: str) -> str:
    """'CHAPTER III' -> 'Chapter III', 'SECTION 1' -> 'Section 1'."""
    m = re.match(r"(CHAPTER|SECTION|TITLE|PART)\s+(\S+)$", text, re.I)
    return f"{m.group(1).capitalize()} {m.group(2).upper()}" if m else heading_case(text)


def _headings(state: _State) -> list[str]:
    return [h for _, h in state.headings]


def _start_unit(state: _State, kind: str, unit_id: str, number: str, ref: str, title: str, anchor: str) -> Unit:
    unit = Unit(source=state.source, language=state.language, unit=unit_id, kind=kind, number=number,
                title=title, ref=ref, headings=_headings(state) if kind == "article" else [],
                url=f"{state.url}#{anchor}" if state.url else "")
    if state.markers.amended:
        unit.amended_by = state.markers.active_doc
    return unit


def _article(el: etree._Element, state: _State) -> None:
    ident = el.get("IDENTIFIER", "")
    m = re.fullmatch(r"0*(\d+)([A-Za-z]?)", ident) or re.search(r"(\d+)\s*([a-z]?)\s*$",
                                                                    _plain(el.find("TI.ART")) if el.find("TI.ART") is not None else "")
    if not m:
        return
    number = f"{int(m.group(1))}{m.group(2).lower()}"
    sti = el.find("STI.ART")
    unit = _start_unit(state, "article", f"art-{number}", number, f"Article {number}",
                       _plain(sti) if sti is not None else "", f"art_{number}")
    b = BlockBuilder(unit.ref)
    w = _UnitWalker(state, unit, b, amending=el.find(".//QUOT.S") is not None, annex=False)
    w.add(b.root, None)
    for child in el:
        if isinstance(child.tag, str) and child.tag in ("TI.ART", "STI.ART"):
            # change markers inside the title still count
            for pi in child.iter(etree.PI):
                w.marker(pi)
        else:
            w.node(child, b.root)
        w.add(b.root, child.tail)
    unit.blocks = b.blocks()
    state.units.append(unit)


def _recital(el: etree._Element, state: _State) -> None:
    no = el.find(".//NO.P")
    number = bare_label(_plain(no)) if no is not None else str(sum(u.kind == "recital" for u in state.units) + 1)
    unit = _start_unit(state, "recital", f"rct-{number}", number, f"Recital {number}", "", f"rct_{number}")
    b = BlockBuilder(unit.ref)
    w = _UnitWalker(state, unit, b, amending=False, annex=False)
    np_ = el.find("NP")
    for child in (np_ if np_ is not None else el):
        if isinstance(child.tag, str) and child.tag == "NO.P":
            w.add(b.root, child.tail)
            continue
        w.node(child, b.root)
        w.add(b.root, child.tail)
    unit.blocks = b.blocks()
    state.units.append(unit)


def _annex(el: etree._Element, state: _State) -> None:
    title = el.find("TITLE")
    paras = [_plain(p) for p in title.iter("P")] if title is not None else []
    state.annexes += 1
    m = re.match(rf"ANNEX\s+({ROMAN_RE})\b", paras[0] if paras else "", re.I)
    roman = m.group(1).upper() if m else int_to_roman(state.annexes)
    # an amending act's annex may be titled with the quoted heading of the annex it adds ('‘Annex XIV')
    rest = [p.strip("‘’“” ") for p in (paras[1:] if m else paras) if p.strip("‘’“” ")]
    unit = _start_unit(state, "annex", f"annex-{roman.lower()}", roman, f"Annex {roman}", " ".join(rest),
                       f"anx_{roman}")
    b = BlockBuilder(unit.ref)
    w = _UnitWalker(state, unit, b, amending=False, annex=True)
    for child in el:
        if isinstance(child, etree._ProcessingInstruction):
            w.marker(child)
        elif isinstance(child.tag, str) and child.tag == "CONTENTS":
            w.node(child, b.root)
    unit.blocks = b.blocks()
    state.units.append(unit)


def _walk(el: etree._Element, state: _State, level: int = 0) -> None:
    """Walk outside units: find units, track headings and markers."""
    for child in el:
        if isinstance(child, etree._ProcessingInstruction):
            attrs = _pi_attrs(child)
            if child.target == "CLG.MDFO":
                state.markers.open[attrs.get("ID", "")] = (attrs.get("ACTION", ""), attrs.get("ACTIVE.DOC", ""))
            elif child.target == "CLG.MDFC":
                state.markers.open.pop(attrs.get("IDREF", ""), None)
            continue
        if not isinstance(child.tag, str):
            continue
        tag = child.tag
        if tag == "ARTICLE":
            _article(child, state)
        elif tag == "CONSID":
            _recital(child, state)
        elif tag in ("CONS.ANNEX", "ANNEX"):
            _annex(child, state)
        elif tag == "DIVISION":
            title = child.find("TITLE")
            if title is not None:
                ti = title.find("TI")
                sti = title.find("STI")
                label = _division_label(_plain(ti)) if ti is not None else ""
                text = " ".join(x for x in (label, heading_case(_plain(sti)) if sti is not None else "") if x)
                state.headings = [h for h in state.headings if h[0] < level] + [(level, text)]
            _walk(child, state, level + 1)
            state.headings = [h for h in state.headings if h[0] < level]
        elif tag in SKIP_TOP:
            continue
        else:
            _walk(child, state, level)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        m = re.match(r"(.+)\.000101\.fmx\.xml$", path.name)
        if not m:
            return [path]
        # the main body of an OJ package: read its annex files (same prefix) too
        siblings = sorted(p for p in path.parent.glob(f"{m.group(1)}.*.fmx.xml")
                          if p != path and not re.search(r"\.(doc|toc)\.", p.name))
        return [path, *siblings]
    if not path.is_dir():
        raise ParseError(path, "no such file or folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".xml"
                   and ".doc." not in p.name and ".toc." not in p.name and not p.name.endswith(".doc.xml"))
    consolidated = [p for p in files if p.name.startswith("CL")]
    if consolidated:
        return consolidated[:1]
    body = [p for p in files if ".000101." in p.name]
    others = [p for p in files if p not in body]
    if not body and not others:
        raise ParseError(path, "no Formex files (*.fmx.xml) in this folder")
    return body + others


def parse_formex(path: Path, *, source: str, language: str, url: str) -> list[Unit]:
    state = _State(source=source, language=language, url=url)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    for f in _files(Path(path)):
        raw = read_text(f)
        try:
            root = etree.fromstring(raw.encode("utf-8"), parser)
        except etree.XMLSyntaxError as exc:
            raise ParseError(f, f"malformed or truncated XML ({exc.msg}, line {exc.lineno})") from None
        if root.tag in ("DOC", "PUBLICATION", "TOC"):
            continue
        if root.tag in ("ANNEX", "CONS.ANNEX"):
            _annex(root, state)
        elif root.tag in ("ACT", "CONS.ACT", "CONS.DOC"):
            _walk(root, state)
        else:
            raise ParseError(f, f"not a Formex act (root element {root.tag})")
    return state.units
