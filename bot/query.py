"""Query understanding: language, explicit references, named sources, bad input.

``parse_query`` turns raw text into a :class:`Query`: the question's language
(English or Dutch), unit references it names ("art 99", "Article 6(3)",
"Artikel 5", "annex III", "recital 47", "overweging 12"), the sources it names
through their aliases ("chips act", "AI-verordening", "the ABN article"), and
acts it names that policybot does not index (``knowledge/not_indexed.toml``).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import QuestionError
from .sources import ForeignAct, Manifest

MAX_QUESTION_CHARS = 2000
TARGETED_MAX_WORDS = 15

_EN = set(
    "the a an of to in is are what which who when how does do did can could should must under for with and or "
    "not be by on our we us this that it as at from if any have has there their they i you".split()
)
_NL = set(
    "de het een van in is zijn wat welke wie wanneer hoe doet doen kan kunnen moet moeten mag mogen onder voor "
    "met en of niet door op ons wij we dit dat er hun zij ik je jullie als bij uit volgens naar ook nog om".split()
)
_OTHER = {
    "de (German)": set("der die das und ist nicht wie welche wer wann für mit auf ein eine einer werden gilt".split()),
    "fr (French)": set("le la les et est sont quelle quels qui quand comment pour avec dans une des du ce".split()),
    "es (Spanish)": set("el los las y es son qué cuál quién cuándo cómo para con una por del se".split()),
}

_ROMAN = r"(?:x{0,3})(?:ix|iv|v?i{0,3})"
_REF_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:art(?:icle|ikel|\.)?s?)\s*(\d{1,3}[a-z]?)\b(?:\s*\(\s*(\d{1,2}[a-z]?)\s*\))?", re.I), "art"),
    (re.compile(r"\b(?:annex|bijlage)\s+(" + _ROMAN + r")\b", re.I), "annex"),
    (re.compile(r"\b(?:recital|overweging)s?\s*\(?(\d{1,3})\)?", re.I), "rct"),
]

@dataclass
class Query:
    text: str
    lang: str
    refs: list[str] = field(default_factory=list)  # unit ids: 'art-99', 'annex-iii', 'rct-47'
    paragraphs: dict[str, str] = field(default_factory=dict)  # 'art-6' -> '3'
    sources: list[str] = field(default_factory=list)
    foreign: list[ForeignAct] = field(default_factory=list)  # acts it names that are not indexed
    names: list[tuple[int, int, str]] = field(default_factory=list)  # where the text names a source
    quoted: list[str] = field(default_factory=list)  # terms in quotes: 'provider', “gebruiksverantwoordelijke”
    compared: list[str] = field(default_factory=list)  # "X versus Y": ['X', 'Y']

    def topic(self, indexed: list[str] | set[str]) -> str:
        """The question without the names of indexed sources it names.

        A name picks the source ("per the ABN AMRO article"); as search terms it would only
        favour the passages that repeat it (the article's title, the Chips Act's amendments to
        other acts) over the passages that answer. Names of sources not in the index stay:
        there they are the topic ("the '28th regime'").
        """
        out, pos = [], 0
        for start, end, sid in self.names:
            if sid in indexed:
                out.append(self.text[pos:start])
                pos = end
        out.append(self.text[pos:])
        topic = re.sub(r"\s+", " ", " ".join(out)).strip() or self.text
        # An abbreviation is read with the long form the texts use ("CEO" -> "chief executive officer").
        expand = abbreviations()
        found = dict.fromkeys(_abbreviation_pattern().findall(topic)) if expand else {}
        return f"{topic} ({'; '.join(expand[short] for short in found)})" if found else topic

    @property
    def targeted(self) -> bool:
        """A short question that names a unit is about that unit ("What does Article 4a allow?");
        a long one that mentions it ("their Annex III tool …") only gives context."""
        return bool(self.refs) and len(self.text.split()) <= TARGETED_MAX_WORDS


def clean_question(raw: str | bytes) -> str:
    """Validate and normalise user input; raise QuestionError with a one-line reason."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise QuestionError("The question is not valid UTF-8 text.") from None
    if "\x00" in raw or sum(1 for c in raw if unicodedata.category(c) == "Cc" and c not in "\n\r\t") > 3:
        raise QuestionError("The question contains binary data; please type a question in English or Dutch.")
    text = re.sub(r"\s+", " ", raw).strip()
    if not text:
        raise QuestionError("The question is empty; ask something like “What does the AI Act ban?”.")
    if not any(c.isalnum() for c in text):
        raise QuestionError("The question has no words; ask something like “What does the AI Act ban?”.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"The question is too long ({len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}). "
            "Ask about one point at a time."
        )
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ']+", text.lower())


def detect_language(text: str) -> str:
    """'en' or 'nl' by function words; raises QuestionError for a clearly third language."""
    words = _words(text)
    en = sum(w in _EN for w in words)
    nl = sum(w in _NL for w in words)
    if len(words) >= 5 and max(en, nl) <= 1:
        for label, vocab in _OTHER.items():
            if sum(w in vocab for w in words) >= 3:
                raise QuestionError(
                    f"This looks like {label.split(' ')[1].strip('()')}; policybot answers questions in English or Dutch."
                )
    if nl > en:
        return "nl"
    if re.search(r"[ëïéèö]|\bij\b|ij[a-z]", text.lower()) and nl == en and nl > 0:
        return "nl"
    return "en"


def find_refs(text: str) -> tuple[list[str], dict[str, str]]:
    refs: list[str] = []
    paragraphs: dict[str, str] = {}
    for pattern, kind in _REF_PATTERNS:
        for m in pattern.finditer(text):
            value = m.group(1).lower()
            if not value:
                continue
            unit = f"{kind}-{value}"
            if unit not in refs:
                refs.append(unit)
            if kind == "art" and m.lastindex and m.lastindex >= 2 and m.group(2):
                paragraphs[unit] = m.group(2)
    return refs, paragraphs


ABBREVIATIONS = Path(__file__).resolve().parents[1] / "knowledge" / "abbreviations.toml"


@lru_cache(maxsize=1)
def abbreviations(path: Path = ABBREVIATIONS) -> dict[str, str]:
    """Abbreviations and the long forms the indexed texts use (``knowledge/abbreviations.toml``)."""
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("abbreviations", {}))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


#: A term in quotes: the opening quote follows a space or starts the text ("What's" has none).
_QUOTED = re.compile(r"(?:(?<=[\s(])|^)['‘\"“„]([^'’\"”]{2,60}?)['’\"”](?![a-zA-Z])")


def quoted_terms(text: str) -> list[str]:
    """Terms a question puts in quotes: "What counts as a 'first-of-a-kind' facility?" -> ['first-of-a-kind']."""
    return [m.group(1).strip() for m in _QUOTED.finditer(text) if m.group(1).strip()]


@lru_cache(maxsize=1)
def _abbreviation_pattern() -> re.Pattern[str]:
    """One pattern for every abbreviation, as a whole word ("CEO", not the "CEO" of "CEOS")."""
    names = sorted(abbreviations(), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w-])")


#: "X versus Y", "X vs Y", "the difference between X and Y", "X compared with Y", "verschil tussen X en Y".
_SIDES = re.compile(
    r"(?:differences? between|verschil(?:len)? tussen)\s+(?P<a>[^,;:?.()]+?)\s+(?:and|en)\s+(?P<b>[^,;:?.()]+)"
    r"|(?P<c>[^,;:?.()]+?)\s+(?:versus|vs\.?|compared (?:with|to)|tegenover)\s+(?P<d>[^,;:?.()]+)",
    re.I,
)
_DETERMINER = re.compile(r"^(?:an?|the|een|de|het)\s+", re.I)
#: At most this many words of each side (the words nearest the connector).
SIDE_WORDS = 5


def compared_terms(text: str) -> list[str]:
    """The two things a question sets side by side ("Integrated production facility versus open EU
    foundry: ..." -> ['Integrated production facility', 'open EU foundry']), or []."""
    m = _SIDES.search(text)
    if not m:
        return []
    a, b = (m.group("a"), m.group("b")) if m.group("a") else (m.group("c"), m.group("d"))
    return [_DETERMINER.sub("", " ".join(a.split()[-SIDE_WORDS:])), _DETERMINER.sub("", " ".join(b.split()[:SIDE_WORDS]))]


def parse_query(raw: str, manifest: Manifest, lang: str | None = None) -> Query:
    text = clean_question(raw)
    language = lang or detect_language(text)
    refs, paragraphs = find_refs(text)
    names = manifest.name_spans(text)
    return Query(
        text=text,
        lang=language,
        refs=refs,
        paragraphs=paragraphs,
        sources=list(dict.fromkeys(sid for _, _, sid in names)),
        foreign=manifest.foreign_in(text),
        names=names,
        quoted=quoted_terms(text),
        compared=compared_terms(text),
    )
