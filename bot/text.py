"""Text as the Official Journal prints it, and names as readers know them.

Pure functions, shared by every front end:

- :func:`group_digits` — "EUR 35000000" -> "EUR 35 000 000" (the consolidated Formex
  closes the digit groups up; the Official Journal prints them with thin spaces);
  :func:`close_digit_groups` undoes it, so a quote check compares like with like;
- :func:`strip_amending_syntax` — "’; (b) point (c) is replaced by the following: ‘…" is how an
  amending act wraps the words it inserts, not words of the provision itself;
- :func:`clean_title` — "Subject matter'" -> "Subject matter" (a quote mark left by the amending act);
- :func:`display_name` — "Data Act", and for an amending act its number: "Regulation (EU) 2026/1744".
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .errors import BotError, SourceError
from .sources import Manifest, SourceSpec, load_manifest

BUNDLED_MANIFEST = Path(__file__).resolve().parents[1] / "knowledge" / "sources.toml"

#: Five digits or more, not part of a reference like "2024/1689", "L 229" or a year.
_LONG_NUMBER = re.compile(r"(?<![\w/.,\-])(\d{5,})(?![\w/\-]|[.,]\d)")
_GROUPED = re.compile(r"(?<=\d)[ \u00a0\u202f\u2009](?=\d{3}\b)")
_AMENDING_HEAD = re.compile(
    r"^\s*(?:\([a-z0-9]+\)\s*)?(?:(?:in\s+)?(?:point|paragraph|subparagraph|Article|Annex|the following)\b[^‘]{0,160}?"
    r"(?:is|are) (?:replaced|inserted|added|amended|deleted)\b[^‘]{0,60}?‘)"
)
_AMENDING_ACT = re.compile(r"\b(Regulation|Directive|Decision) \((?:EU|EC|EEC|Euratom)\) (?:No )?\d{2,4}/\d+\b")


def group_digits(text: str) -> str:
    """Amounts of five digits or more in digit groups of three: 'EUR 35000000' -> 'EUR 35 000 000'."""

    def grouped(m: re.Match[str]) -> str:
        digits = m[1]
        head = len(digits) % 3 or 3
        return " ".join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])

    return _LONG_NUMBER.sub(grouped, text)


def close_digit_groups(text: str) -> str:
    """'EUR 35 000 000' -> 'EUR 35000000': how a quote check compares amounts."""
    return _GROUPED.sub("", text)


def strip_amending_syntax(quote: str) -> str:
    """A quoted span without the amending act's wrapping ('’ ; (b) point (c) is replaced by …: ‘')."""
    text = quote
    m = re.search(r"[’'”]\s*[;,.]\s*(?:\([a-z0-9]+\)\s+)?(?:(?:in\s+)?(?:point|paragraph|subparagraph|Article|Annex|the following)\b)", text)
    if m and m.start() > 0:
        text = text[: m.start()]
    text = _AMENDING_HEAD.sub("", text)
    text = text.strip().strip("‘’").strip()
    text = re.sub(r"\s*[’]\s*[;,]?\s*$", "", text)
    return text or quote


def clean_title(title: str) -> str:
    """A unit title without quote marks left over from an amending act: "Subject matter'" -> "Subject matter"."""
    t = title.strip().rstrip(";")
    opens, closes = t.count("‘") + t.count("“"), t.count("’") + t.count("”") + t.count("'")
    if closes > opens:
        t = t.rstrip("’”'\" ")
    elif opens > closes:
        t = t.lstrip("‘“\" ")
    return t.strip()


def fix_acronyms(text: str) -> str:
    """Headings whose case was lost: 'Eu database' -> 'EU database'."""
    return re.sub(r"\b(Eu|Ai|Ict|Sme|Smes|Gpai)\b", lambda m: m[1].upper() if m[1] != "Smes" else "SMEs", text)


def display_name(spec: SourceSpec) -> str:
    """How readers name a source: 'Data Act'; an amending act by its number, 'Regulation (EU) 2026/1744'."""
    if spec.amends:
        m = _AMENDING_ACT.search(spec.title)
        if m:
            return m[0]
    return spec.short


@lru_cache(maxsize=1)
def bundled_display_names() -> dict[str, str]:
    """Source id -> display name from the bundled manifest (``knowledge/sources.toml``); empty if unreadable."""
    try:
        return {s.id: display_name(s) for s in load_manifest(BUNDLED_MANIFEST).sources}
    except (BotError, OSError):
        return {}


def display_name_of(source_id: str, manifest: Manifest) -> str:
    """:func:`display_name` for an id ('data-act' -> 'Data Act'); an unknown id is returned as it is."""
    try:
        return display_name(manifest.get(source_id))
    except SourceError:
        return source_id
