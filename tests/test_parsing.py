"""Parsers: completeness and content on the real corpus (skipped if absent), bad input, evidence."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.models import Unit
from bot.parsing import FORMATS, parse_text
from bot.parsing.common import norm_ws, slugify

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SEED = SHARED / "seeds" / "abn-amro-europa-technologische-zelfredzaamheid.md"
DEV = SHARED / "eval" / "dev.jsonl"
DATA = Path(__file__).resolve().parent / "data" / "parsing"
AI_URL = "https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32024R1689"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")

TEXTS = {  # name -> (path, format, source, language)
    "ai-en-html": ("eu-ai-act-2024-1689-en/eu_ai_act_32024R1689_eurlex_html_2026-07-08.html", "eurlex-html",
                   "ai-act", "en"),
    "ai-en-formex": ("eu-ai-act-2024-1689-en/formex", "formex", "ai-act", "en"),
    "ai-nl": ("eu-ai-act-2024-1689-nl/regulation", "markdown-articles", "ai-act", "nl"),
    "ai-consolidated": ("ai-act-amendments/CL2024R1689EN0010010.0001.xml", "formex", "ai-act", "en"),
    "omnibus-formex": ("ai-act-amendments/L_202601744EN.000101.fmx.xml", "formex", "ai-omnibus", "en"),
    "omnibus-html": ("ai-act-amendments/digital_omnibus_ai_32026R1744_eurlex_html_2026-09-02.html", "eurlex-html",
                     "ai-omnibus", "en"),
    "chips-act": ("chips-act/chips-act.md", "markdown-act", "chips-act", "en"),
    "data-act": ("data-act/data-act.md", "markdown-act", "data-act", "en"),
    "nis2": ("nis2/nis2.md", "markdown-act", "nis2", "en"),
}


@cache
def parsed(name: str) -> tuple[Unit, ...]:
    if name == "sovereignty":
        if not SEED.is_file():
            pytest.skip("seed article not available")
        return tuple(parse_text(SEED, "markdown-article", source="sovereignty-article", language="nl",
                                url="https://www.abnamro.com/research/nl/onze-inzichten/x"))
    rel, fmt, source, language = TEXTS[name]
    return tuple(parse_text(CORPUS / rel, fmt, source=source, language=language, url=AI_URL))


def by_id(name: str) -> dict[str, Unit]:
    return {u.unit: u for u in parsed(name)}


def count(name: str, kind: str) -> int:
    return sum(u.kind == kind for u in parsed(name))


def cmp_norm(s: str) -> str:
    return re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", norm_ws(s))


# -- completeness ----------------------------------------------------------------------
@needs_corpus
@pytest.mark.parametrize("name", ["ai-en-html", "ai-en-formex", "ai-nl"])
def test_ai_act_2024_complete(name: str) -> None:
    assert (count(name, "article"), count(name, "recital"), count(name, "annex")) == (113, 180, 13)
    ids = by_id(name)
    assert {f"art-{n}" for n in range(1, 114)} <= set(ids)
    assert {f"rct-{n}" for n in range(1, 181)} <= set(ids)
    assert "annex-xiii" in ids and "annex-iii" in ids


@needs_corpus
def test_consolidated_complete() -> None:
    ids = by_id("ai-consolidated")
    assert (count("ai-consolidated", "article"), count("ai-consolidated", "annex"),
            count("ai-consolidated", "recital")) == (119, 14, 0)
    assert {"art-4a", "art-60a", "art-75a", "art-75b", "art-75c", "art-75d", "annex-xiv"} <= set(ids)
    assert "2 December 2027" in ids["art-113"].text
    assert ids["art-4"].amended_by == "32026R1744"
    assert ids["art-4a"].amended_by == "32026R1744"
    assert ids["art-4"].blocks and all(b.amended for b in ids["art-4"].blocks)
    assert ids["art-12"].amended_by is None
    # deleted items (Art. 10(5), Annex I Section A point 1, Annex VIII Section B points 7 and 9) are dropped
    assert "5" not in {b.path for b in ids["art-10"].blocks}
    assert "A.1" not in {b.path for b in ids["annex-i"].blocks}
    assert not {"B.7", "B.9"} & {b.path for b in ids["annex-viii"].blocks}
    assert "B.8" in {b.path for b in ids["annex-viii"].blocks}
    assert by_id("ai-en-formex")["art-5"].amended_by is None


@needs_corpus
@pytest.mark.parametrize("name", ["omnibus-formex", "omnibus-html"])
def test_amending_act_complete(name: str) -> None:
    ids = by_id(name)
    assert (count(name, "recital"), count(name, "article")) == (47, 4)
    assert {f"art-{n}" for n in range(1, 5)} <= set(ids)
    art1 = ids["art-1"]
    points = [b for b in art1.blocks if re.fullmatch(r"1\.\(\d+\)", b.path)]
    assert [b.path for b in points] == [f"1.({n})" for n in range(1, 44)]
    assert len(art1.blocks) == 44  # the opening words + 43 points; quoted text stays inside its point
    assert points[11].ref == "Article 1, point (12)"
    assert "Article 4a" in points[5].text and "art-4a" not in ids


@needs_corpus
def test_amending_act_annex() -> None:
    ids = by_id("omnibus-formex")
    assert count("omnibus-formex", "annex") == 1 and "annex-i" in ids
    assert "AIP 0102" in ids["annex-i"].text


@needs_corpus
def test_other_acts_complete() -> None:
    assert (count("chips-act", "article"), count("chips-act", "recital"), count("chips-act", "annex")) == (41, 83, 4)
    assert (count("data-act", "article"), count("data-act", "recital")) == (50, 119)
    assert (count("nis2", "article"), count("nis2", "recital"), count("nis2", "annex")) == (46, 144, 3)


def test_sovereignty_article_sections() -> None:
    if not SEED.is_file():
        pytest.skip("seed article not available")
    slugs = [slugify(h) for h in re.findall(r"^## +(.+?)\s*$", SEED.read_text(encoding="utf-8"), re.M)]
    units = parsed("sovereignty")
    assert [u.unit for u in units] == ["intro", *slugs] and len(slugs) == 11
    assert "europa-als-hekkensluiter-in-de-ai-race" in slugs
    for u in units[1:]:
        assert u.kind == "section" and u.url.endswith("#" + u.unit)
        assert [b.path for b in u.blocks] == [str(i) for i in range(1, len(u.blocks) + 1)]


# -- content ----------------------------------------------------------------------------
@needs_corpus
def test_article_99_and_refs() -> None:
    art99 = by_id("ai-en-html")["art-99"]
    para3 = next(b for b in art99.blocks if b.path == "3")
    assert para3.ref == "Article 99(3)" and "EUR 35 000 000" in para3.text
    assert art99.headings == ["Chapter XII Penalties"] and art99.title == "Penalties"
    art5 = by_id("ai-en-formex")["art-5"]
    refs = {b.path: b.ref for b in art5.blocks}
    assert refs["1.a"] == "Article 5(1)(a)" and refs["1.c.i"] == "Article 5(1)(c)(i)"
    assert by_id("ai-en-html")["annex-iii"].blocks[6].ref.startswith("Annex III, point 3")


@needs_corpus
@pytest.mark.parametrize("name", ["ai-en-html", "ai-en-formex", "ai-consolidated"])
def test_superscripts_keep_their_power(name: str) -> None:
    """10<sup>25</sup> FLOPs is 10^25, not 1025 (Formex HT TYPE="SUP", EUR-Lex span.oj-super)."""
    text = by_id(name)["art-51"].text
    assert "greater than 10^25." in text and "1025" not in text


@needs_corpus
def test_dutch_refs() -> None:
    art5 = by_id("ai-nl")["art-5"]
    assert art5.ref == "Artikel 5" and art5.title == "Verboden AI-praktijken"
    assert {b.path: b.ref for b in art5.blocks}["1.c"] == "Artikel 5, lid 1, punt c"
    assert by_id("ai-nl")["rct-47"].ref == "Overweging 47"
    annex3 = {b.path: b.ref for b in by_id("ai-nl")["annex-iii"].blocks}
    assert annex3["5.b"] == "Bijlage III, punt 5, onder b"


@needs_corpus
@pytest.mark.parametrize("name", list(TEXTS))
def test_clean_text_and_urls(name: str) -> None:
    anchors = {"article": "art_", "recital": "rct_", "annex": "anx_"}
    for u in parsed(name):
        if u.key != "nis2:art-17":  # an empty placeholder in the source (see PROVENANCE.md)
            assert u.blocks, u.key
        expected = anchors[u.kind] + (u.number if u.kind != "annex" else u.number.upper())
        assert u.url == f"{AI_URL}#{expected}", u.url
        text = u.text
        for bad in ("cookies", "javascript", "EUR-Lex - ", "\u00a0", "\u202f", "  "):
            assert bad not in text, (u.key, bad)
        paths = [b.path for b in u.blocks]
        assert len(paths) == len(set(paths)), u.key


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,name,data", [
    ("formex", "bad.fmx.xml", b"<ACT><ENACTING.TERMS>\xff\xfe</ENACTING.TERMS></ACT>"),
    ("formex", "trunc.fmx.xml", b"<ACT><ENACTING.TERMS><ARTICLE IDENTIFIER='001'><TI.ART>Article 1</TI"),
    ("eurlex-html", "cookies.html", b"<html><head><title>EUR-Lex - cookies</title></head><body><p>This site uses "
                                    b"cookies. Please enable javascript.</p></body></html>"),
    ("eurlex-html", "latin1.html", "<html><body><p>caf\u00e9</p></body></html>".encode("latin-1")),
    ("markdown-act", "empty.md", b"---\ntitle: x\n---\n\n# Nothing here\n"),
    ("markdown-article", "bad.md", b"## Kop\n\nTekst \xe9\n"),
])
def test_bad_input_raises_parse_error(tmp_path: Path, fmt: str, name: str, data: bytes) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(ParseError) as info:
        parse_text(f, fmt, source="x", language="en", url="")
    assert name in str(info.value)


def test_unknown_format_and_missing_path(tmp_path: Path) -> None:
    assert "formex" in FORMATS
    with pytest.raises(ParseError):
        parse_text(tmp_path / "nope.xml", "formex", source="x", language="en", url="")
    with pytest.raises(ParseError):
        parse_text(tmp_path, "pdf", source="x", language="en", url="")


def test_change_markers_on_small_input() -> None:
    units = {u.unit: u for u in parse_text(DATA / "consolidated_mini.xml", "formex", source="t", language="en",
                                           url="u")}
    assert list(units) == ["art-1", "art-1a", "art-2"]
    art1 = units["art-1"]
    assert art1.amended_by == "32026R9999" and art1.headings == ["Chapter I General provisions"]
    assert [(b.path, b.amended) for b in art1.blocks] == [("1", False), ("3", True), ("3.a", True)]
    assert "Deleted" not in art1.text and art1.blocks[2].text == "(a) first point amounting to EUR 35000000;"
    assert units["art-1a"].amended_by == "32026R9999" and units["art-1a"].url == "u#art_1a"
    assert units["art-2"].amended_by is None


# -- evidence of the dev questions ------------------------------------------------------
def _evidence_units(ref: str) -> list[Unit]:
    source, _, unit = ref.partition(":")
    if source == "ai-act":
        names = ["ai-en-html"] if unit.startswith("rct-") else ["ai-consolidated", "ai-nl"]
    elif source == "ai-omnibus":
        names = ["omnibus-formex", "omnibus-html"]
    elif source == "sovereignty-article":
        names = ["sovereignty"]
    else:
        names = [source]
    return [u for n in names for u in parsed(n) if u.unit == unit]


@needs_corpus
def test_dev_evidence_found_in_parsed_units() -> None:
    if not DEV.is_file():
        pytest.skip("dev questions not available")
    missing = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line) if line.strip() else {}
        units = [u for ref in rec.get("refs", []) for u in _evidence_units(ref)]
        texts = [cmp_norm(u.text) for u in units]
        for snippet in rec.get("evidence", []):
            if not any(cmp_norm(snippet) in t for t in texts):
                missing.append(f"{rec['id']}: {snippet!r} not in {rec['refs']}")
    assert not missing, "\n".join(missing)
