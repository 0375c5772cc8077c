"""Markdown texts -> units.

* ``markdown-articles``: a folder of one file per article/recital/annex with YAML
  front matter (the Dutch AI Act): ``# Artikel N — titel``, ``**1.**`` paragraphs,
  ``- a)`` points, ``  - i)`` subpoints. Refs in Dutch: 'Artikel 5, lid 1, punt c',
  'Artikel 5, lid 1, punt h, onder iii', 'Artikel 3, punt 12', 'Overweging 47',
  'Bijlage III, punt 5, onder b', 'Bijlage VIII, afdeling B, punt 7'.
* ``markdown-act``: one cleaned file per act (``## Recitals``/``### Recital (N)``,
  ``## Chapter R — title``, ``#### Section N — title``, ``### Article N — title``,
  ``## Footnotes`` (skipped), ``## Annex R — title``); points are flat lines
  ``(a) ...``, so their nesting is inferred from the label type.
* ``markdown-article``: a non-legal article: ``intro`` plus one unit per ``##`` section.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.errors import ParseError
from bot.models import Block, Unit
from bot.parsing.common import (ROMAN_RE, BlockBuilder, Ctx, bare_label, heading_case, norm_ws, read_text,
                                roman_to_int, slugify)

_COMMENT = re.compile(r"<!--.*?-->", re.S)


# -- shared ---------------------------------------------------------------------------
def split_front_matter(text: str, path: Path) -> tuple[dict[str, str], str]:
    """Flat YAML front matter (key: value) and the body."""
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^---\s*$", text[3:], re.M)
    if not end:
        raise ParseError(path, "front matter is not closed with '---'")
    meta: dict[str, str] = {}
    for line in text[3:3 + end.start()].splitlines():
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if m:
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            meta[m.group(1)] = "" if value in ("null", "~") else value
    return meta, text[3 + end.end():]


def _inline(text: str) -> str:
    """Markdown inline markup to plain text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "").replace("\\-", "-").replace("\\", "")
    return text


def _url(base: str, anchor: str) -> str:
    return f"{base}#{anchor}" if base and anchor else base


# -- Dutch per-article folder -------------------------------------------------------------
_NL_ITEM = re.compile(r"^(\d+(?:\.\d+)*\.|\d+[a-z]?\)|\(?[a-z]{1,3}\)|\([0-9]+\))\s+(.*)$")


class _NlBody:
    """Blocks of one Dutch unit; contexts built with Dutch refs."""


    def _t(self, ctx: Ctx, text: str) -> None:
        """Each Markdown line is its own piece of text: separate it by a space."""
        self.b.text(ctx, " " + text)

    def __init__(self, unit: Unit, *, annex: bool) -> None:
        self.unit, self.annex = unit, annex
        self.b = BlockBuilder(unit.ref, point_word="punt")
        self.base: Ctx = self.b.root
        self.has_paras = False
        self.levels: list[Ctx] = []

    def point(self, parent: Ctx, label: str) -> Ctx:
        b = bare_label(label)
        if parent.kind == "point" and parent.label and b.startswith(parent.label + "."):
            return Ctx(path=b, ref=f"{self.unit.ref}, punt {b}", kind="point", label=b)
        if parent.kind == "para":
            return Ctx(path=f"{parent.path}.{b}", ref=f"{parent.ref}, punt {b}", kind="point", label=b)
        if parent.kind == "point":
            return Ctx(path=f"{parent.path}.{b}", ref=f"{parent.ref}, onder {b}", kind="point", label=b)
        path = f"{parent.point_path}{b})" if parent.point_path.endswith("(") else f"{parent.point_path}{b}"
        return Ctx(path=path, ref=f"{parent.point_ref}{b}", kind="point", label=b)

    def line(self, raw: str) -> None:
        if not raw.strip():
            return
        indent = len(raw) - len(raw.lstrip(" "))
        line = _inline(raw.strip())
        if raw.startswith("#"):
            self.heading(line)
            return
        m = re.match(r"^(\d+[a-z]?)\.\s*(.*)$", line) if raw.startswith("**") else None
        if m and not self.annex:
            self.has_paras = True
            self.base = Ctx(path=m.group(1), ref=f"{self.unit.ref}, lid {m.group(1)}", kind="para",
                            label=m.group(1))
            self.levels = []
            self._t(self.base, f"{m.group(1)}. {m.group(2)}")
            return
        if line.startswith("- "):
            level, item = indent // 2, line[2:].strip()
            self.levels = self.levels[:level]
            parent = self.levels[-1] if self.levels else self.base
            im = _NL_ITEM.match(item)
            if im is None:  # '- — ...' dash items: text of the enclosing point/paragraph
                self._t(parent, item)
                return
            ctx = self.point(parent, im.group(1))
            self.levels.append(ctx)
            self._t(ctx, item)
            return
        if indent >= 2 and self.levels:  # continuation of a point
            level = max(0, indent // 2 - 1)
            self._t(self.levels[min(level, len(self.levels) - 1)], line)
            return
        self.levels = []
        if self.unit.kind == "article" and not self.has_paras:
            self.base = self.b.alinea()
        self._t(self.base, line)

    def heading(self, line: str) -> None:
        text = line.lstrip("#").strip()
        if line.startswith("# ") or norm_ws(text).lower() == norm_ws(self.unit.title).lower():
            return
        self.levels = []
        m = re.match(r"^Afdeling\s+(\S+?)(?:\s+—\s+(.*))?$", text)
        if m:
            self.base = Ctx(path=m.group(1), ref=f"{self.unit.ref}, afdeling {m.group(1)}", kind="section",
                            point_path=f"{m.group(1)}.", point_ref=f"{self.unit.ref}, afdeling {m.group(1)}, punt ")
            self._t(self.base, text)
            return
        m = re.match(r"^(\d+)\.\s+(.*)$", text)
        if m:
            parent = self.base if self.base.kind == "section" else self.b.root
            self.base = self.point(parent, m.group(1) + ".")
            self._t(self.base, text)
            return
        self._t(self.base, text)


def _nl_unit(path: Path, *, source: str, language: str, url: str) -> tuple[tuple[int, int], Unit] | None:
    meta, body = split_front_matter(read_text(path), path)
    if meta.get("recital_number"):
        n = meta["recital_number"]
        unit = Unit(source=source, language=language, unit=f"rct-{n}", kind="recital", number=n,
                    ref=f"Overweging {n}", url=_url(url, f"rct_{n}"))
        order = (0, int(n))
    elif meta.get("article_number"):
        n = meta["article_number"].lower()
        headings = []
        if meta.get("chapter_number_roman"):
            headings.append(norm_ws(f"Hoofdstuk {meta['chapter_number_roman']} "
                                    f"{heading_case(meta.get('chapter_title', ''))}"))
        if meta.get("section_number"):
            headings.append(norm_ws(f"Afdeling {meta['section_number']} {heading_case(meta.get('section_title', ''))}"))
        unit = Unit(source=source, language=language, unit=f"art-{n}", kind="article", number=n,
                    title=meta.get("article_title", ""), ref=f"Artikel {n}", headings=headings,
                    url=_url(url, f"art_{n}"))
        order = (1, int(re.match(r"\d+", n).group()) * 100 + (ord(n[-1]) - 96 if n[-1].isalpha() else 0))
    elif meta.get("annex_number_roman"):
        r = meta["annex_number_roman"].upper()
        unit = Unit(source=source, language=language, unit=f"annex-{r.lower()}", kind="annex", number=r,
                    title=meta.get("annex_title", ""), ref=f"Bijlage {r}", url=_url(url, f"anx_{r}"))
        order = (2, roman_to_int(r))
    else:
        return None
    nl = _NlBody(unit, annex=unit.kind == "annex")
    for raw in _COMMENT.sub("", body).splitlines():
        nl.line(raw)
    unit.blocks = nl.b.blocks()
    return order, unit


def parse_markdown_articles(path: Path, *, source: str, language: str, url: str) -> list[Unit]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.md") if p.name.lower() != "readme.md")
    found = [r for f in files if (r := _nl_unit(f, source=source, language=language, url=url))]
    return [u for _, u in sorted(found, key=lambda r: r[0])]


# -- one cleaned Markdown file per act -------------------------------------------------------
_POINT = re.compile(r"^\((\d+[a-z]?|[a-z]{1,3})\)\s+(.*)$")


def _label_type(label: str, stack: list[tuple[str, Ctx]]) -> str:
    if label[0].isdigit():
        return "num"
    if re.fullmatch(r"[ivx]+", label):
        top = stack[-1] if stack else None
        prev = chr(ord(label) - 1) if len(label) == 1 else ""
        if top and top[0] == "alpha" and top[1].label == prev:
            return "alpha"  # (h) -> (i), (u) -> (v), (w) -> (x)
        if any(t == "roman" for t, _ in stack) or (top and top[0] == "alpha"):
            return "roman"
    return "alpha"


class _ActBody:

    def _t(self, ctx: Ctx, text: str) -> None:
        """Each Markdown line is its own piece of text: separate it by a space."""
        self.b.text(ctx, " " + text)

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.b = BlockBuilder(unit.ref)
        self.base: Ctx = self.b.root
        self.has_paras = False
        self.stack: list[tuple[str, Ctx]] = []

    def line(self, line: str) -> None:
        line = _inline(line.strip())
        if not line:
            return
        kind = self.unit.kind
        m = re.match(r"^(\d+[a-z]?)\.\s+(.*)$", line)
        if m and kind == "article":
            self.has_paras, self.stack = True, []
            self.base = self.b.para(m.group(1))
            self._t(self.base, line)
            return
        part = re.match(r"^Part\s+([IVX]+)\b", line) if kind == "annex" else None
        if part:  # 'Part IV A network of ...': a section of the annex
            self.stack = []
            self.base = self.b.section(part.group(1), f"{self.unit.ref}, Part {part.group(1)}")
            self._t(self.base, line)
            return
        if m and kind == "annex":
            self.stack = []
            self.base = self.b.point(self.b.root, m.group(1) + ".")
            self._t(self.base, line)
            return
        pm = _POINT.match(line) if kind != "recital" else None
        if pm:
            t = _label_type(pm.group(1), self.stack)
            if any(st == t for st, _ in self.stack):
                while self.stack and self.stack[-1][0] != t:
                    self.stack.pop()
                self.stack.pop()
            parent = self.stack[-1][1] if self.stack else self.base
            ctx = self.b.point(parent, f"({pm.group(1)})")
            self.stack.append((t, ctx))
            self._t(ctx, line)
            return
        if line[0] in "—–" and self.stack:  # indents: text of the enclosing point
            self._t(self.stack[-1][1], line)
            return
        if kind == "article" and not self.has_paras:
            self.stack = []
            self.base = self.b.alinea()
        elif not (line[0] in "—–" and self.stack):
            self.stack = []
        self._t(self.base, line)


def parse_markdown_act(path: Path, *, source: str, language: str, url: str) -> list[Unit]:
    if path.is_dir():
        files = sorted(path.glob("*.md"))
        if len(files) != 1:
            raise ParseError(path, "expected exactly one Markdown file in this folder")
        path = files[0]
    meta, body = split_front_matter(read_text(path), path)
    units: list[Unit] = []
    current: _ActBody | None = None
    headings: list[str] = []
    mode = ""

    def close() -> None:
        nonlocal current
        if current is not None:
            current.unit.blocks = current.b.blocks()
            units.append(current.unit)
        current = None

    for raw in _COMMENT.sub("", body).splitlines():
        line = raw.strip()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            text = norm_ws(line[level:])
            title = re.split(r"\s+—\s+", text, maxsplit=1)
            rest = title[1] if len(title) > 1 else ""
            if level == 1:
                continue
            m_rct = re.match(r"^Recital\s+\(?(\d+)\)?$", text)
            m_art = re.match(r"^Article\s+(\d+[a-z]?)\b", title[0])
            m_anx = re.match(rf"^Annex\s+({ROMAN_RE})$", title[0], re.I)
            if level == 2:
                close()
                if m_anx:
                    r = m_anx.group(1).upper()
                    current = _ActBody(Unit(source=source, language=language, unit=f"annex-{r.lower()}",
                                            kind="annex", number=r, title=heading_case(rest), ref=f"Annex {r}",
                                            url=_url(url, f"anx_{r}")))
                    mode = "annex"
                elif text.lower().startswith("chapter"):
                    headings, mode = [norm_ws(f"{title[0]} {heading_case(rest)}")], "articles"
                elif text.lower() == "recitals":
                    mode = "recitals"
                else:  # Footnotes and anything else that is not a unit
                    mode = "skip"
                continue
            if m_rct and mode == "recitals":
                close()
                n = m_rct.group(1)
                current = _ActBody(Unit(source=source, language=language, unit=f"rct-{n}", kind="recital",
                                        number=n, ref=f"Recital {n}", url=_url(url, f"rct_{n}")))
                continue
            if m_art:
                close()
                n = m_art.group(1)
                current = _ActBody(Unit(source=source, language=language, unit=f"art-{n}", kind="article",
                                        number=n, title=rest, ref=f"Article {n}", headings=list(headings),
                                        url=_url(url, f"art_{n}")))
                mode = "articles"
                continue
            if text.lower().startswith("section") and mode == "articles":
                close()
                headings = headings[:1] + [norm_ws(f"{title[0]} {heading_case(rest)}")]
                continue
            if current is not None:  # any other heading inside a unit: its text
                current.line(text)
            continue
        if current is not None and mode != "skip":
            current.line(line)
    close()
    return units


# -- a non-legal article ------------------------------------------------------------------
def parse_markdown_article(path: Path, *, source: str, language: str, url: str) -> list[Unit]:
    meta, body = split_front_matter(read_text(path), path)
    doc_title = meta.get("title", "")
    sections: list[tuple[str, list[str]]] = [("", [])]
    for raw in _COMMENT.sub("", body).splitlines():
        line = raw.rstrip()
        if re.match(r"^# ", line):
            doc_title = doc_title or norm_ws(line[2:])
            continue
        if re.match(r"^## ", line):
            sections.append((norm_ws(line[3:]), []))
            continue
        sections[-1][1].append(line)
    units: list[Unit] = []
    for heading, lines in sections:
        paras = [_inline(norm_ws(p)) for p in re.split(r"\n\s*\n", "\n".join(lines))]
        paras = [norm_ws(p.lstrip("#").strip()) if p.startswith("#") else p for p in paras]
        paras = [p for p in paras if p]
        if not heading and not paras:
            continue
        uid = slugify(heading) if heading else "intro"
        ref = heading or doc_title or "Intro"
        units.append(Unit(source=source, language=language, unit=uid, kind="section", number="",
                          title=heading or doc_title, ref=ref, headings=[doc_title] if heading and doc_title else [],
                          url=_url(url, uid) if heading else url,
                          blocks=[Block(path=str(i), ref=ref, text=p) for i, p in enumerate(paras, 1)]))
    return units
