"""EUR-Lex HTML page -> units.

Only the act itself is read: ``div.eli-subdivision`` with ids ``rct_N`` and
``art_N`` and ``div.eli-container`` with ids ``anx_R``; the site's chrome
(menus, scripts, cookie banners) is never visited. Chapter and section titles
come from ``p.oj-ti-section-1``/``-2``. Points are two-cell tables (label, text);
numbered paragraphs are ``div`` elements with ids like ``005.001``.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree, html

from bot.errors import ParseError
from bot.models import Unit
from bot.parsing.common import ROMAN_RE, BlockBuilder, Ctx, heading_case, norm_ws, read_text

_LABEL = re.compile(r"^[‘“]?(\(?[0-9]{1,3}[a-z]{0,2}\)|\(?[a-z]{1,4}\)|[0-9]+(?:\.[0-9]+)*\.?|[a-z]\.)$")
_DASH = {"—", "–", "-", "•"}
_PARA_ID = re.compile(r"^\d{3}\.\d{3}[A-Z]?$")
_BLOCK_TAGS = {"p", "div", "td", "th", "tr", "table", "li", "ul", "ol", "br", "h1", "h2", "h3", "h4", "hr"}
_SKIP_TAGS = {"script", "style", "noscript", "button", "form", "nav", "col", "colgroup"}


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _text(el: etree._Element) -> str:
    return norm_ws(" ".join(el.itertext()))


def _is_note_ref(el: etree._Element) -> bool:
    return el.tag == "a" and ((el.get("href") or "").startswith("#ntr") or
                              bool(el.xpath(".//span[contains(@class,'oj-note-tag')]")))


def _point_cells(el: etree._Element) -> tuple[str, etree._Element] | None:
    """(label, content cell) if the table is a list item: one row, label cell + text cell."""
    rows = el.xpath("./tbody/tr | ./tr")
    if len(rows) != 1:
        return None
    cells = rows[0].xpath("./td")
    while len(cells) > 2 and not _text(cells[0]):  # indented items have an empty first cell
        cells = cells[1:]
    if len(cells) != 2:
        return None
    label = _text(cells[0])
    if label in _DASH or _LABEL.match(label):
        return label, cells[1]
    return None


class _Walker:
    def __init__(self, unit: Unit, *, amending: bool) -> None:
        self.unit = unit
        self.b = BlockBuilder(unit.ref)
        self.amending = amending
        self.quoted = 0

    def inline(self, el: etree._Element, ctx: Ctx) -> None:
        """Text of an element and its descendants into ctx (splitting points and paragraphs)."""
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS or _is_note_ref(el):
            return
        cls = _classes(el)
        if "oj-note" in cls:  # footnotes (also those inside quoted text) are left out
            return
        if cls & {"oj-ti-art", "oj-sti-art", "eli-title"} and not ctx.nosplit:
            return
        block = el.tag in _BLOCK_TAGS
        if block:
            self.b.space()
        if el.tag == "table" and not (ctx.nosplit or self.quoted):
            cells = _point_cells(el)
            if cells:
                label, content = cells
                if label[0] in "‘“":  # a quoted (amending) item: flat text of the enclosing block
                    self.quoted += 1
                    self.b.text(ctx, label)
                    self.b.space()
                    self.children(content, ctx)
                    self.quoted -= 1
                    return
                if label in _DASH:
                    self.b.text(ctx, label)
                    self.children(content, ctx)
                    return
                nosplit = self.amending and ctx.kind in ("unit", "alinea")
                point = self.b.point(ctx, label, nosplit=nosplit)
                self.b.text(point, label)
                self.b.space()
                self.children(content, point)
                return
        if (el.tag == "sup" or "oj-super" in cls) and (el.text or "").strip():
            self.b.text(ctx, "^")  # 10<span class="oj-super">25</span> is 10^25, not 1025
        if el.tag == "div" and "oj-enumeration-spacing" in cls and not (ctx.nosplit or self.quoted):
            m = re.match(r"^(\d+(?:\.\d+)*\.|\([a-z0-9]+\))\s", _text(el) + " ")
            if m:  # an inline-numbered point ('1.   text')
                self.children(el, self.b.point(ctx, m.group(1)))
                return
        if el.tag == "div" and _PARA_ID.match(el.get("id") or "") and not (ctx.nosplit or self.quoted):
            m = re.match(r"^(\d+[a-z]?)\.", _text(el))
            if m:
                self.children(el, self.b.para(m.group(1)))
                return
        self.children(el, ctx)
        if block:
            self.b.space()

    def children(self, el: etree._Element, ctx: Ctx) -> None:
        self.b.text(ctx, el.text)
        for child in el:
            self.inline(child, ctx)
            self.b.text(ctx, child.tail)


def _article(div: etree._Element, unit: Unit) -> None:
    w = _Walker(unit, amending=bool(re.match(r"^Amendments? (to|of)\b", unit.title)))
    alinea: Ctx | None = None
    for child in div:
        if isinstance(child.tag, str) and child.tag == "p" and not _classes(child) & {"oj-ti-art"}:
            alinea = w.b.alinea()
            w.inline(child, alinea)
        else:
            w.inline(child, alinea or w.b.root)
        w.b.text(alinea or w.b.root, child.tail)
    unit.blocks = w.b.blocks()


def _annex(div: etree._Element, unit: Unit) -> None:
    w = _Walker(unit, amending=False)
    base, numbered, section = w.b.root, None, w.b.root
    for child in div:
        cls = _classes(child) if isinstance(child.tag, str) else set()
        if "oj-doc-ti" in cls:
            continue
        if cls & {"oj-ti-grseq-1", "oj-ti-grseq-2"}:
            text = _text(child)
            m_sec = re.match(r"^Section\s+([A-Z0-9]+)\b", text)
            m_pt = re.match(r"^(\d+(?:\.\d+)*\.|[a-z]\.)\s", text)
            if m_sec:
                section = base = w.b.section(m_sec.group(1), f"{unit.ref}, Section {m_sec.group(1)}")
                numbered = None
            elif m_pt and m_pt.group(1)[0].isdigit():
                numbered = base = w.b.point(section, m_pt.group(1))
            elif m_pt and numbered is not None:
                base = w.b.point(numbered, m_pt.group(1))
            w.b.text(base, text)
            continue
        w.inline(child, base)
        w.b.text(base, child.tail)
    unit.blocks = w.b.blocks()


def _recital(div: etree._Element, unit: Unit) -> None:
    w = _Walker(unit, amending=False)
    cells = div.xpath(".//td")
    for el in (cells[1:] if len(cells) >= 2 else [div]):
        w.inline(el, w.b.root)
    unit.blocks = w.b.blocks()


def parse_eurlex_html(path: Path, *, source: str, language: str, url: str) -> list[Unit]:
    if path.is_dir():
        files = sorted(path.glob("*.htm*"))
        if len(files) != 1:
            raise ParseError(path, "expected exactly one HTML page in this folder")
        path = files[0]
    raw = read_text(path)
    try:
        root = html.document_fromstring(raw.encode("utf-8"), parser=html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(path, f"cannot read the HTML ({exc})") from None
    items = root.xpath(
        "//p[contains(concat(' ', @class, ' '), ' oj-ti-section-1 ')]"
        " | //p[contains(concat(' ', @class, ' '), ' oj-ti-section-2 ')]"
        " | //div[contains(concat(' ', @class, ' '), ' eli-subdivision ')]"
        "[starts-with(@id, 'art_') or starts-with(@id, 'rct_')]"
        " | //div[contains(concat(' ', @class, ' '), ' eli-container ')][starts-with(@id, 'anx_')]")
    if not any(el.get("id", "").startswith("art_") for el in items) and not root.xpath(
            "//p[contains(@class, 'oj-ti-art')]"):
        raise ParseError(path, "no article headings: this page is not an act (a EUR-Lex error or cookie page?)")
    units: list[Unit] = []
    headings: list[str] = []
    for el in items:
        cls, ident = _classes(el), el.get("id", "")
        if "oj-ti-section-1" in cls:
            label = _text(el)
            m = re.match(r"^(CHAPTER|SECTION|TITLE|PART)\s+(\S+)$", label, re.I)
            label = f"{m.group(1).capitalize()} {m.group(2).upper()}" if m else heading_case(label)
            headings = ([] if not label.startswith("Section") else headings[:1]) + [label]
        elif "oj-ti-section-2" in cls and headings:
            headings[-1] = f"{headings[-1]} {heading_case(_text(el))}"
        elif ident.startswith("art_"):
            n = ident[4:].lower()
            sti = el.xpath(".//p[contains(@class, 'oj-sti-art')]")
            unit = Unit(source=source, language=language, unit=f"art-{n}", kind="article", number=n,
                        title=_text(sti[0]) if sti else "", ref=f"Article {n}", headings=list(headings),
                        url=f"{url}#{ident}" if url else "")
            _article(el, unit)
            units.append(unit)
        elif ident.startswith("rct_"):
            n = ident[4:]
            unit = Unit(source=source, language=language, unit=f"rct-{n}", kind="recital", number=n,
                        ref=f"Recital {n}", url=f"{url}#{ident}" if url else "")
            _recital(el, unit)
            units.append(unit)
        elif ident.startswith("anx_"):
            titles = [_text(p) for p in el.xpath("./p[contains(@class, 'oj-doc-ti')]")]
            m = re.match(rf"^ANNEX\s+({ROMAN_RE})$", titles[0] if titles else "", re.I)
            r = m.group(1).upper() if m else ident[4:].upper()
            unit = Unit(source=source, language=language, unit=f"annex-{r.lower()}", kind="annex", number=r,
                        title=" ".join(titles[1:]), ref=f"Annex {r}", url=f"{url}#{ident}" if url else "")
            _annex(el, unit)
            units.append(unit)
    return units
