"""Structure-aware chunking: units in, chunks out.

A chunk never spans two units. Blocks (paragraphs, points) of a unit are
packed in order until the next would push the chunk past ``max_tokens``; a
single block that is too long is split at sentence ends. Each chunk carries
the reference of its first block ("Article 99(3)") and its unit's metadata.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from .models import Block, Chunk, Unit

_SENTENCE_END = re.compile(r"(?<=[.;:])\s+(?=[(A-Z0-9‘'\"])")


def chunk_id(source: str, version: str, unit: str, text: str) -> str:
    return hashlib.sha256(f"{source}\0{version}\0{unit}\0{text}".encode()).hexdigest()[:32]


def header(unit: Unit) -> str:
    """Context that is embedded with each chunk (not part of the quoted text)."""
    return " — ".join(p for p in (unit.ref, unit.title) if p)


class TokenCounter:
    """Token counts by text, remembered (and saved with the index) because tokenising is slow.

    ``counts`` maps a short hash of a text to its token count (special tokens included, so a sum
    of pieces' counts over-estimates the count of the joined text: chunks stay in the window).
    """

    def __init__(self, count: Callable[[str], int], counts: dict[str, int] | None = None) -> None:
        self._count = count
        self.counts: dict[str, int] = counts or {}

    def __call__(self, text: str) -> int:
        key = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
        n = self.counts.get(key)
        if n is None:
            n = self.counts[key] = self._count(text)
        return n


def split_long(text: str, max_tokens: int, count: Callable[[str], int]) -> list[str]:
    """Split one over-long block at sentence ends (or, failing that, at words)."""
    pieces = _SENTENCE_END.split(text)
    out: list[str] = []
    cur, cur_n = "", 0
    for piece in pieces:
        n = count(piece)
        if cur and cur_n + n > max_tokens:
            out.append(cur)
            cur, cur_n = piece, n
        else:
            cur, cur_n = f"{cur} {piece}".strip(), cur_n + n
    if cur:
        out.append(cur)
    final: list[str] = []
    for part in out:
        if count(part) <= max_tokens:
            final.append(part)
            continue
        words = part.split(" ")
        step = max(16, int(len(words) * max_tokens / max(count(part), 1) * 0.9))
        final.extend(" ".join(words[i : i + step]) for i in range(0, len(words), step))
    return final


def chunk_unit(
    unit: Unit, version: str, max_tokens: int, count: Callable[[str], int], overlap: int = 0
) -> list[Chunk]:
    """Chunks of one unit; ``overlap`` pieces at the end of a chunk are repeated at the start of the next."""
    budget = max_tokens - count(header(unit)) - 4
    groups: list[list[tuple[Block, str]]] = []
    cur: list[tuple[Block, str]] = []
    cur_tokens = 0
    for block in unit.blocks:
        texts = [block.text] if count(block.text) <= budget else split_long(block.text, budget, count)
        for text in texts:
            n = count(text)
            if cur and cur_tokens + n > budget:
                groups.append(cur)
                carry = cur[-overlap:] if overlap else []
                while carry and sum(count(t) for _, t in carry) + n > budget:
                    carry = carry[1:]
                cur, cur_tokens = list(carry), sum(count(t) for _, t in carry)
            cur.append((block, text))
            cur_tokens += n
    if cur:
        groups.append(cur)
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for group in groups:
        text = "\n".join(t for _, t in group)
        if text in seen:  # the same words twice in one unit (a repeated point) are one chunk
            continue
        seen.add(text)
        order = len(chunks)
        first = group[0][0]
        paths = []
        for b, _ in group:
            if b.path not in paths:
                paths.append(b.path)
        chunk = Chunk(
            id="",
            source=unit.source,
            language=unit.language,
            version=version,
            unit=unit.unit,
            kind=unit.kind,
            ref=first.ref if first.path else unit.ref,
            unit_ref=unit.ref,
            title=unit.title,
            headings=" / ".join(unit.headings),
            url=unit.url,
            text=text,
            amended=any(b.amended for b, _ in group),
            amended_by=unit.amended_by or "",
            paths=",".join(paths),
            order=order,
        )
        # The id covers what is embedded (heading included), so a change there re-embeds the chunk.
        chunk.id = chunk_id(unit.source, version, unit.unit, embed_text(chunk))
        chunks.append(chunk)
    return chunks


def chunk_units(
    units: Iterable[Unit], version: str, max_tokens: int, count: Callable[[str], int], overlap: int = 0
) -> list[Chunk]:
    out: list[Chunk] = []
    for unit in units:
        out.extend(chunk_unit(unit, version, max_tokens, count, overlap))
    return out


def embed_text(chunk: Chunk) -> str:
    """What the embedding model sees: the reference and title, then the text.

    (Chapter headings were tried too: they lowered dense recall on the dev set.)
    """
    head = chunk.unit_ref + (f" — {chunk.title}" if chunk.title and chunk.title != chunk.unit_ref else "")
    return f"{head}\n{chunk.text}"
