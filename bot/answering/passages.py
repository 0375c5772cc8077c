"""Verbatim pieces of a unit's text: sentences, shortened sentences, a list with its points, the
sentence after, the points and articles a quote refers to. Everything returned here is text of the
unit itself (pieces joined by an ellipsis), so that :func:`bot.citations.verify_quote` accepts it.
"""

from __future__ import annotations

import re

from ..models import Block, Unit
from ..lexical import stem_tokens

MAX_QUOTE_WORDS = 70
#: A list's lead-in is quoted with its first MAX_ITEMS points, ITEM_WORDS words of each.
MAX_ITEMS = 6
ITEM_WORDS = 16
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z‘“(])")
_CLAUSE = re.compile(r"(?<=[,;:])\s+")
_LABEL = re.compile(r"^(?:\(?[0-9a-zA-Z]{1,5}[.)]|[0-9]+(?:\.[0-9]+)*\.?|[ivxlc]+\))$")


def split_sentences(text: str) -> list[str]:
    """Sentences of a block; a label such as '1.' or '(a)' stays with what follows it."""
    out: list[str] = []
    carry = ""
    for piece in _SENTENCE.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if _LABEL.match(piece) or len(piece) < 12:
            carry = f"{carry} {piece}".strip()
            continue
        out.append(f"{carry} {piece}".strip() if carry else piece)
        carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def shorten(sentence: str, terms: set[str], lang: str) -> str:
    """A verbatim piece of an over-long sentence: the clauses around the best match."""
    words = sentence.split()
    if len(words) <= MAX_QUOTE_WORDS:
        return sentence
    clauses = _CLAUSE.split(sentence)
    best_i = max(range(len(clauses)), key=lambda i: len(terms & set(stem_tokens(clauses[i], lang))))
    lo = hi = best_i
    size = len(clauses[best_i].split())
    while size < MAX_QUOTE_WORDS * 0.6 and (lo > 0 or hi < len(clauses) - 1):
        if hi < len(clauses) - 1:
            hi += 1
            size += len(clauses[hi].split())
        elif lo > 0:
            lo -= 1
            size += len(clauses[lo].split())
    piece = " ".join(clauses[lo : hi + 1])
    if len(piece.split()) > MAX_QUOTE_WORDS * 1.5:
        piece = " ".join(piece.split()[: MAX_QUOTE_WORDS])
    return piece


def opening(text: str) -> str:
    """The start of a point, with an ellipsis where it goes on: the whole point when it is short,
    else up to the end of the clause that runs past :data:`ITEM_WORDS` words (at most twice that),
    so that a point is not cut inside its fact ("which shall not exceed two …")."""
    words = text.split()
    if len(words) <= ITEM_WORDS * 3 // 2:
        return " ".join(words)
    end = next((i + 1 for i in range(ITEM_WORDS - 1, min(len(words), 2 * ITEM_WORDS))
                if words[i][-1] in ",;:"), ITEM_WORDS)
    return " ".join(words[:end]) + (" …" if len(words) > end else "")


#: "Article 25, 26 or 27", "Articles 19 and 20", "artikel 5": references to articles of a text.
ARTICLE_REFS = re.compile(
    r"\b(?:Articles?|artikelen|artikel)\s+(\d+[a-z]?(?:\s*(?:,|and|or|en|of|to|tot)\s*\d+[a-z]?)*)",
    re.I,
)
#: ... unless they are articles of another act ("Article 74(9) of Regulation (EU) 2024/1689").
OTHER_ACT = re.compile(
    r"[^.;]{0,40}?\b(?:of|van)\s+(?:Regulation|Directive|Decision|Verordening|Richtlijn|Besluit|Uitvoeringsverordening)\b",
    re.I,
)


def articles_referenced(quote: str) -> list[str]:
    """Numbers of the articles of the same text a quote refers to ("Article 25, 26 or 27" ->
    ['25', '26', '27']); articles of another act ("Article 74(9) of Regulation ...") are left out."""
    out: list[str] = []
    for m in ARTICLE_REFS.finditer(quote):
        if OTHER_ACT.match(quote[m.end() :]):
            continue
        for number in re.findall(r"\d+[a-z]?", m.group(1)):
            if number not in out:
                out.append(number)
    return out


#: "paragraph 1, points (g), (h) and (i)", "point (a) of paragraph 2": points of the same article.
POINTS = re.compile(
    r"paragraph (\d+[a-z]?),? points? ((?:\([a-z]+\)(?:,\s*|\s+(?:and|or)\s+)?)+)"
    r"|points? ((?:\([a-z]+\)(?:,\s*|\s+(?:and|or)\s+)?)+)\s*of paragraph (\d+[a-z]?)",
)


def points_referenced(unit: Unit, quote: str) -> list[Block]:
    """The blocks of ``unit`` that a quote refers to as points of one of its paragraphs, unless
    the reference continues to another article or act ("... of Article 9", "... of Regulation")."""
    out: list[Block] = []
    by_path = {b.path: b for b in unit.blocks}
    for m in POINTS.finditer(quote):
        if re.match(r"\s*,?\s*(?:of|in)\s+(?:Article|Regulation|Directive)", quote[m.end() :]):
            continue
        para, letters = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        for letter in re.findall(r"\(([a-z]+)\)", letters):
            block = by_path.get(f"{para}.{letter}")
            if block is not None and block not in out:
                out.append(block)
    return out[:MAX_ITEMS]


def with_next(sentence: str, block: Block) -> str:
    """The sentence with the one after it in the same block, when that one is short enough."""
    sentences = split_sentences(block.text)
    if sentence not in sentences:
        return sentence
    i = sentences.index(sentence)
    if i + 1 < len(sentences) and len((sentence + " " + sentences[i + 1]).split()) <= MAX_QUOTE_WORDS:
        return f"{sentence} {sentences[i + 1]}"
    return sentence


def list_items(unit: Unit, block: Block) -> list[Block]:
    """The points directly under ``block`` ("(a)", "(b)" under paragraph 4), in the text's order."""
    if not block.path:
        return []
    depth = block.path.count(".") + 1
    return [
        b
        for b in unit.blocks
        if b.path.startswith(block.path + ".") and b.path.count(".") == depth and b.text.strip()
    ]


def is_lead_in(block: Block) -> bool:
    """A list's lead-in: a block ending in ':' ("… submit to the CSIRT:"), quoted with its points."""
    return block.text.rstrip().endswith(":")


def items_shown(unit: Unit, block: Block) -> str:
    """What :func:`with_items` shows of a lead-in's points: the start of each of the first few ('' for
    a block that is no lead-in)."""
    if not is_lead_in(block):
        return ""
    return " … ".join(opening(b.text) for b in list_items(unit, block)[:MAX_ITEMS])


def with_items(lead_in: str, unit: Unit, block: Block) -> str:
    """A list's lead-in ("Providers ... shall:") with the start of each of its points.

    A lead-in alone answers nothing; the points hold the facts. Each point is quoted from
    its start, up to :data:`ITEM_WORDS` words, and the pieces are joined by an ellipsis,
    so that the whole still checks as a verbatim quote (in order, gaps marked).
    """
    items = list_items(unit, block)
    if not items:
        return lead_in
    pieces = [opening(b.text) for b in items[:MAX_ITEMS]]
    tail = " …" if len(items) > MAX_ITEMS else ""
    return re.sub(r"\s*…\s*…", " …", f"{lead_in} " + " … ".join(pieces) + tail)


#: A passage longer than this is quoted from the sentence before the fact, not whole.
MAX_PASSAGE_WORDS = 110


def passage(sentence: str, block: Block, terms: set[str], lang: str) -> str:
    """The passage that holds ``sentence``: its whole point or paragraph where that is short
    enough, else the sentence with its neighbours up to :data:`MAX_PASSAGE_WORDS` words, never cut
    before the sentence's end. Over-long single sentences are shortened around the question's terms.
    """
    text = block.text.strip()
    if len(text.split()) <= MAX_PASSAGE_WORDS:
        return text
    sentences = split_sentences(text)
    if sentence not in sentences:
        return shorten(sentence, terms, lang)
    i = sentences.index(sentence)
    if len(sentence.split()) > MAX_PASSAGE_WORDS:
        return shorten(sentence, terms, lang)
    lo = hi = i
    size = len(sentence.split())
    while True:
        grown = False
        if lo > 0 and size + len(sentences[lo - 1].split()) <= MAX_PASSAGE_WORDS and lo == i:
            lo -= 1  # the sentence before often names the subject ("Providers shall ...")
            size += len(sentences[lo].split())
            grown = True
        if hi + 1 < len(sentences) and size + len(sentences[hi + 1].split()) <= MAX_PASSAGE_WORDS:
            hi += 1
            size += len(sentences[hi].split())
            grown = True
        if not grown:
            break
    return " ".join(sentences[lo : hi + 1])
