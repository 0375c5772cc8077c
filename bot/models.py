"""Typed data that flows through policybot.

Parsing turns an official text into :class:`Unit` objects (recital, article,
annex, section) made of :class:`Block` objects (the paragraphs and points that
can be cited on their own). Chunking turns units into :class:`Chunk` objects
for the index. Answerers return one :class:`Answer` with numbered
:class:`Citation` objects, whatever the front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

UnitKind = Literal["recital", "article", "annex", "section", "preamble"]
Language = Literal["en", "nl"]

#: The one sentence every answerer, prompt file and test uses to say that the
#: sources do not answer a question. Prompts refer to it as {no_answer}.
NO_ANSWER_EN = "The indexed sources do not answer this question."
NO_ANSWER_NL = "De geïndexeerde bronnen beantwoorden deze vraag niet."
NO_ANSWER = {"en": NO_ANSWER_EN, "nl": NO_ANSWER_NL}


class Block(BaseModel):
    """A citable piece of a unit: its opening words, a paragraph or a point."""

    path: str = Field("", description="Position in the unit: '' (opening), '3', '1.a', '1.a.i', 'A.1' ...")
    ref: str = Field(..., description="Human reference in the unit's language, e.g. 'Article 99(3)'")
    text: str
    amended: bool = Field(False, description="Carries an amendment marker in a consolidated text")


@dataclass(frozen=True, slots=True)
class UnitHead:
    """What the index says about a unit without its text: enough to know which units exist."""

    source: str
    language: str
    unit: str
    kind: str
    number: str
    title: str = ""
    amended_by: str | None = None


class Unit(BaseModel):
    """A top-level structural unit of a text, addressed as in ../shared/eval/README.md."""

    source: str
    language: str
    unit: str = Field(..., description="'art-99', 'art-4a', 'rct-47', 'annex-iii', a section slug, 'intro'")
    kind: UnitKind
    number: str = Field("", description="'99', '4a', '47', 'III', or '' for sections")
    title: str = ""
    ref: str = Field(..., description="'Article 99', 'Recital 47', 'Annex III', 'Artikel 5', a section heading")
    headings: list[str] = Field(default_factory=list, description="Chapter, section ... above the unit")
    url: str = ""
    blocks: list[Block] = Field(default_factory=list)
    amended_by: str | None = Field(None, description="CELEX of the act that amended or inserted this unit")

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.unit}"

    @property
    def head(self) -> UnitHead:
        return UnitHead(self.source, self.language, self.unit, self.kind, self.number, self.title, self.amended_by)


class Chunk(BaseModel):
    """What goes into the index: a slice of one unit, never two."""

    id: str
    source: str
    language: str
    version: str
    unit: str
    kind: str
    ref: str
    unit_ref: str
    title: str = ""
    headings: str = ""
    url: str = ""
    text: str
    amended: bool = False
    amended_by: str = ""
    paths: str = Field("", description="Comma-separated paths of the blocks in this chunk")
    order: int = 0

    def metadata(self) -> dict[str, str | int | bool]:
        data = self.model_dump(exclude={"id", "text"})
        return {k: v for k, v in data.items() if v is not None}


class Hit(BaseModel):
    """One retrieved chunk with its scores."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None
    rank: int = 0


class Citation(BaseModel):
    n: int
    source: str
    unit: str
    ref: str
    title: str = ""
    url: str = ""
    quote: str
    language: str = "en"
    version: str = ""
    note: str | None = Field(None, description="e.g. 'as amended by Regulation (EU) 2026/1744'")
    applies: str | None = Field(None, description="From when the cited provision applies: 'applies since 2 February 2025'")


class SourceVersion(BaseModel):
    """The version of a source an answer was drawn from ("as of")."""

    source: str
    language: str
    version: str
    date: str = ""


class Answer(BaseModel):
    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    mode: str = "extractive"
    language: str = "en"
    notice: str | None = None
    retrieved: list[Hit] = Field(default_factory=list)
    nearest: list[Citation] = Field(default_factory=list, description="Shown when abstaining")
    timings: dict[str, float] = Field(default_factory=dict)
    as_of: list[SourceVersion] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=datetime.now)
