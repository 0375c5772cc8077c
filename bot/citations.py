"""Citation control: pure functions shared by the extractive and LLM answerers.

The rules: a citation key must name a passage that was given; it needs a
non-trivial quote that is verbatim in that passage (:func:`verify_quote`, after
normalising whitespace and quote marks; :func:`verified` picks it); a key
without one is invalid and dropped; a sentence left without a valid citation
is dropped. :func:`control` applies them and
:func:`number` turns the surviving keys into ``[1]``, ``[2]`` markers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .text import close_digit_groups

_QUOTES = str.maketrans({c: "'" for c in "‘’‚‛′`´"} | {c: '"' for c in "“”„‟″«»"})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—−"})
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\s*(?:\.\.\.|…)\s*\])\s*")
_EDGE = " \t\n\"'"
MIN_QUOTE_CHARS = 8  # letters and digits a quote needs to prove anything
MIN_QUOTE_WORDS = 2
_WORD = re.compile(r"\w+")

#: A citation marker: [S1], [S1, S2], [S1; s3], [S1][S2] (each bracket matched separately).
MARKER = re.compile(r"\[\s*(S\d+(?:\s*[,;]\s*S?\d+)*)\s*\]", re.IGNORECASE)
_SENTENCE_END = re.compile(
    r"(?<=[.!?])((?:\s*\[\s*S\d+(?:\s*[,;]\s*S?\d+)*\s*\])*)(?:\s+|$)|\n+", re.IGNORECASE
)
_ABBREV = re.compile(r"\b(?:art|arts|para|no|nr|p|pp|e\.g|i\.e|cf|vs|ca|approx|reg|dir|bijv|o\.a|d\.w\.z)\.$", re.IGNORECASE)


def normalize(text: str) -> str:
    """NFKC, straight quote marks and hyphens, no soft hyphens, single spaces."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = text.translate(_QUOTES).translate(_DASHES)
    return re.sub(r"\s+", " ", text).strip()


def verify_quote(quote: str, text: str) -> bool:
    """True if ``quote`` occurs verbatim in ``text`` (whitespace and quote marks normalised).

    Amounts compare with digit groups closed up ("EUR 35 000 000" = "EUR 35000000").
    Leading/trailing ellipses and quote marks are ignored; an ellipsis inside the
    quote splits it into parts that must all occur, in order. A trivial quote (empty,
    whitespace or punctuation, fewer than :data:`MIN_QUOTE_CHARS` letters and digits
    or fewer than :data:`MIN_QUOTE_WORDS` words) proves nothing and is refused.
    """
    q = close_digit_groups(normalize(quote)).strip(_EDGE)
    q = _ELLIPSIS.sub(" … ", q).strip(" …")
    hay = close_digit_groups(normalize(text))
    words = _WORD.findall(q)
    if len(words) < MIN_QUOTE_WORDS or sum(map(len, words)) < MIN_QUOTE_CHARS:
        return False
    pos = 0
    for part in q.split(" … "):
        part = part.strip(_EDGE)
        if not part:
            continue
        found = hay.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def verified(offered: list[str], passage: str) -> str | None:
    """The first offered quote that passes :func:`verify_quote` against ``passage``, edges trimmed; None if none does."""
    good = next((q for q in offered if verify_quote(q, passage)), None)
    return None if good is None else good.strip().strip(_EDGE)


def markers(sentence: str) -> list[str]:
    """The passage keys a sentence cites, in order, upper-cased and without repeats."""
    keys: list[str] = []
    for m in MARKER.finditer(sentence):
        for raw in re.split(r"\s*[,;]\s*", m.group(1)):
            key = "S" + raw.upper().lstrip("S")
            if key not in keys:
                keys.append(key)
    return keys


def strip_markers(text: str) -> str:
    """``text`` without citation markers, spaces before punctuation tidied."""
    text = MARKER.sub("", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer; markers after a full stop stay with their sentence."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end(1) if m.group(1) is not None else m.start()
        head = text[start:m.start()].rstrip()
        if m.group(1) is not None and _ABBREV.search(head) and not m.group(1).strip():
            continue  # "Art. 5", "e.g. this": not a sentence end
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def best_span(sentence: str, passage: str, max_chars: int = 300) -> str:
    """The passage sentence sharing most words with ``sentence``: a quote verbatim by construction."""
    words = set(re.findall(r"\w{3,}", normalize(sentence).lower()))
    candidates = [s for s in re.split(r"(?<=[.;:!?])\s+|\n+", passage) if s.strip()] or [passage]
    best = max(candidates, key=lambda s: len(words & set(re.findall(r"\w{3,}", s.lower()))))
    best = best.strip()
    if len(best) > max_chars:
        cut = best.rfind(" ", 0, max_chars)
        best = best[: cut if cut > 0 else max_chars]
    return best


@dataclass
class Checked:
    """What survives citation control."""

    sentences: list[tuple[str, list[str]]] = field(default_factory=list)
    quotes: dict[str, str] = field(default_factory=dict)
    dropped_citations: list[str] = field(default_factory=list)
    dropped_sentences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.sentences)


def control(answer: str, quotes: dict[str, list[str]], passages: dict[str, str]) -> Checked:
    """Apply the citation rules to an answer with ``[S<n>]`` markers.

    ``quotes`` maps a key to the quotes offered for it; ``passages`` maps the
    keys that were given to their text. A key is valid only with a quote that
    :func:`verified` accepts: a key cited without a quote, or with only empty,
    trivial or non-verbatim ones, is invalid (our own choice of a passage
    sentence would prove nothing about the model's claim).
    """
    out = Checked()
    for key, offered in quotes.items():
        key = key.strip().upper()
        good = verified(offered, passages[key]) if key in passages else None
        if good is not None:
            out.quotes.setdefault(key, good)
    for sentence in split_sentences(answer):
        keys = markers(sentence)
        valid = [k for k in keys if k in out.quotes]
        out.dropped_citations += [k for k in keys if k not in valid and k not in out.dropped_citations]
        text = strip_markers(sentence)
        if not valid or not text:
            if text:
                out.dropped_sentences.append(text)
            continue
        out.sentences.append((text, valid))
    out.quotes = {k: q for k, q in out.quotes.items() if any(k in ks for _, ks in out.sentences)}
    return out


def numbered(text: str, keys: list[str], order: list[str]) -> str:
    """One checked sentence with ``[n]`` markers; new keys are appended to ``order`` (numbers are 1-based positions)."""
    nums = []
    for k in keys:
        if k not in order:
            order.append(k)
        nums.append(order.index(k) + 1)
    tags = "".join(f"[{n}]" for n in nums)
    return f"{text[:-1]} {tags}{text[-1]}" if text[-1:] in ".!?" else f"{text} {tags}"


def number(checked: Checked) -> tuple[str, list[str]]:
    """The answer text with ``[1]``, ``[2]`` markers, and the key behind each number (1-based order)."""
    order: list[str] = []
    parts = [numbered(text, keys, order) for text, keys in checked.sentences]
    return " ".join(parts), order
