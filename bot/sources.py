"""The manifest of sources (``knowledge/sources.toml``) and alias resolution."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from .errors import ConfigError, SourceError


class TextSpec(BaseModel):
    """One language version of one edition of a source."""

    model_config = {"extra": "forbid"}

    edition: str
    language: str
    celex: str = ""
    date: str = ""
    format: str
    url: str = ""
    fetch_url: str = ""
    fetch_format: str = ""
    mirror: list[str] = Field(default_factory=list)
    bundled: str = ""
    recitals_from: str = ""
    note: str = ""


class SourceSpec(BaseModel):
    model_config = {"extra": "forbid"}

    id: str
    title: str
    short: str
    aliases: list[str] = Field(default_factory=list)
    kind: str
    celex: str = ""
    date: str = ""
    author: str = ""
    publisher: str = ""
    amended_by: list[str] = Field(default_factory=list)
    amends: list[str] = Field(default_factory=list)
    texts: list[TextSpec]

    @property
    def url(self) -> str:
        for t in self.current_texts():
            if t.url:
                return t.url
        return ""

    def text(self, language: str, edition: str | None = None) -> TextSpec | None:
        for t in self.texts:
            if t.language == language and (edition is None or t.edition == edition):
                return t
        return None

    def current_texts(self) -> list[TextSpec]:
        """The newest edition of each language (by date of the text)."""
        best: dict[str, TextSpec] = {}
        for t in self.texts:
            if t.language not in best or t.date > best[t.language].date:
                best[t.language] = t
        return list(best.values())

    def current_date(self) -> str:
        return max((t.date for t in self.texts), default="")

    def predates_current(self, text: TextSpec) -> bool:
        """True for a language version older than the newest text of the source."""
        return bool(text.date) and text.date < self.current_date()

    def languages(self) -> list[str]:
        return sorted({t.language for t in self.texts})


class ForeignAct(BaseModel):
    """An act users ask about that policybot does not index (``knowledge/not_indexed.toml``)."""

    name: str
    number: str = Field("", description="Its number in the Official Journal: '2022/2554'")
    celex: str = ""
    aliases: list[str] = Field(default_factory=list)

    def named_in(self, folded: str) -> bool:
        """Does the (folded) text name the act, by a name or by its number?"""
        if self.number and re.search(r"(?<![\d/])" + re.escape(self.number) + r"(?!\d)", folded):
            return True
        return any(re.search(r"(?<![\w-])" + re.escape(fold(a)) + r"(?![\w-])", folded) for a in self.aliases)


#: "Regulation (EU) 2022/2554", "Directive 2013/36/EU", "Verordening (EU) nr. 575/2013": an act by its number.
ACT_NUMBER = re.compile(
    r"\b(?:regulation|directive|decision|verordening|richtlijn|besluit)\s*(?:\((?:eu|eg|ec|eec|eeg)\)\s*)?"
    r"(?:no\.?\s*|nr\.?\s*)?(\d{2,4}/\d{1,4})\b",
    re.I,
)


class Manifest(BaseModel):
    sources: list[SourceSpec]
    not_indexed: list[ForeignAct] = Field(default_factory=list)

    def foreign_in(self, text: str) -> list[ForeignAct]:
        """Acts ``text`` names that the manifest does not hold: the listed ones, by name or number,
        and any 'Regulation (EU) YYYY/NNNN' that is none of the manifest's acts."""
        folded = fold(text)
        found = [a for a in self.not_indexed if a.named_in(folded)]
        known = {celex_number(s.celex) for s in self.sources if s.celex}
        for m in ACT_NUMBER.finditer(text):
            number = m.group(1)
            if number not in known and not any(a.number == number for a in found):
                found.append(ForeignAct(name=re.sub(r"\s+", " ", m.group(0)).strip(), number=number))
        return found

    def ids(self) -> list[str]:
        return [s.id for s in self.sources]

    def get(self, source_id: str) -> SourceSpec:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise SourceError(
            f"Unknown source {source_id!r}.",
            help="Known sources: " + ", ".join(self.ids()) + ". See `policybot sources`.",
        )

    def resolve(self, name: str) -> SourceSpec:
        """A source from its id, short name or any alias, case- and accent-insensitive."""
        key = fold(name)
        for s in self.sources:
            if key in {fold(s.id), fold(s.short), *(fold(a) for a in s.aliases)}:
                return s
        listing = "; ".join(f"{s.id} ({', '.join([s.short, *s.aliases[:3]])})" for s in self.sources)
        raise SourceError(f"Unknown source {name!r}.", help=f"Known sources: {listing}.")

    def alias_patterns(self) -> list[tuple[re.Pattern[str], str]]:
        """Regexes that find a source's names in free text, longest first."""
        pairs: list[tuple[str, str]] = []
        for s in self.sources:
            for alias in {s.short, *s.aliases}:
                pairs.append((fold(alias), s.id))
        pairs.sort(key=lambda p: -len(p[0]))
        # An alias followed by a number names a unit, not a source: "the article 5" is not the ABN article.
        return [
            (re.compile(r"(?<![\w/])" + re.escape(a).replace(r"\ ", r"\s+") + r"(?![\w/])(?!\s*\d)"), sid)
            for a, sid in pairs
            if len(a) >= 3
        ]

    def name_spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where ``text`` names a source: (start, end, source id), in text order, longest names first."""
        folded = fold_same_length(text)
        found: list[tuple[int, int, str]] = []
        for pattern, sid in self.alias_patterns():
            for m in pattern.finditer(folded):
                if any(a < m.end() and m.start() < b for a, b, _ in found):
                    continue
                found.append((m.start(), m.end(), sid))
        return sorted(found)

    def find_in(self, text: str) -> list[str]:
        """Source ids named in ``text``, in order of first mention."""
        out: list[str] = []
        for _, _, sid in self.name_spans(text):
            if sid not in out:
                out.append(sid)
        return out


_SAME_LENGTH = {"’": "'", "‘": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-"}


def fold_same_length(text: str) -> str:
    """:func:`fold` one character for one, so that positions in the result are positions in ``text``."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[:1].lower()[:1] or ch
        out.append(_SAME_LENGTH.get(base, base if not base.isspace() else " "))
    return "".join(out)


def fold(text: str) -> str:
    """Lower-case, strip accents, collapse spaces: how names are compared."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"[\u2010-\u2013]", "-", text)  # hyphen variants: 'high‑risk' (U+2011) is 'high-risk'
    return re.sub(r"\s+", " ", text).strip().lower()


#: Beside the manifest: the acts users ask about that policybot does not index.
NOT_INDEXED_FILE = "not_indexed.toml"


def celex_number(celex: str) -> str:
    """'32022R2554' -> '2022/2554' ('' for a CELEX that is not an act's)."""
    m = re.fullmatch(r"3(\d{4})[RLD]0*(\d+)", celex)
    return f"{m.group(1)}/{m.group(2)}" if m else ""


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Manifest:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The source manifest {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The source manifest {path} is not valid TOML: {exc}") from None
    extra = Path(path).with_name(NOT_INDEXED_FILE)
    if extra.exists():
        try:
            data["not_indexed"] = tomllib.loads(extra.read_text(encoding="utf-8")).get("acts", [])
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The list of acts not indexed, {extra}, is not valid TOML: {exc}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"The source manifest {path} is invalid at {where}: {first['msg']}") from None


def load_manifest(path: Path) -> Manifest:
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load(str(path), mtime)
