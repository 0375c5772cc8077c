"""The bilingual lexicon learnt from the texts indexed in two languages (bot/lexicon.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.lexical import stem_tokens
from bot.lexicon import FILE, Lexicon, aligned_blocks, build_lexicon
from bot.models import Block, Unit
from bot.parsing import parse_text

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")


def _unit(lang: str, unit: str, texts: dict[str, str]) -> Unit:
    return Unit(source="act", language=lang, unit=unit, kind="article", ref=unit,
                blocks=[Block(path=p, ref=f"{unit}({p})", text=t) for p, t in texts.items()])


def test_blocks_align_by_source_unit_and_path_only() -> None:
    en = _unit("en", "art-1", {"1": "Fines apply.", "2": "Supervisors decide.", "3": "Only in English."})
    nl = _unit("nl", "art-1", {"1": "Geldboeten zijn van toepassing.", "2": "Toezichthouders besluiten."})
    other = _unit("nl", "art-2", {"1": "Een ander artikel."})
    aligned = list(aligned_blocks([en, nl, other]))
    assert aligned == [("en", "Fines apply.", "nl", "Geldboeten zijn van toepassing."),
                       ("en", "Supervisors decide.", "nl", "Toezichthouders besluiten.")]


def test_terms_that_keep_sharing_paragraphs_translate_each_other_and_chance_does_not() -> None:
    en = {"A": "supervisor", "B": "fine", "C": "provider"}
    nl = {"A": "toezichthouder", "B": "geldboete", "C": "aanbieder"}
    rows = [("en", " ".join(en[x] for x in mix), "nl", " ".join(nl[x] for x in mix))
            for mix in ("AB", "AC", "A", "A", "BC", "B", "B", "C", "C")]
    rows.append(("en", "The market is large.", "nl", "De markt is groot."))  # twice only: chance
    rows.append(("en", "The market grows.", "nl", "De markt groeit."))
    lexicon = build_lexicon(rows)
    assert "supervisor" in lexicon.translate("toezichthouder", "nl", "en")
    assert lexicon.translate("Welke geldboete?", "nl", "en") == {"fine"}
    assert lexicon.translate("fine", "en", "nl") == set(stem_tokens("geldboete", "nl"))
    assert lexicon.translate("fine", "en", "en") == set()  # no table within one language
    assert lexicon.translate("markt", "nl", "en") == set()


def test_the_lexicon_round_trips_and_an_unreadable_one_is_ignored(tmp_path: Path) -> None:
    lexicon = Lexicon({"nl>en": {"toezichthouder": ["supervisor"]}})
    lexicon.save(tmp_path)
    assert Lexicon.load(tmp_path) == lexicon
    (tmp_path / FILE).write_text("{not json", encoding="utf-8")
    assert Lexicon.load(tmp_path) is None
    assert Lexicon.load(tmp_path / "none") is None


@cache
def _ai_act_lexicon() -> Lexicon:
    en = parse_text(CORPUS / "eu-ai-act-2024-1689-en/formex", "formex", source="ai-act", language="en", url="")
    nl = parse_text(CORPUS / "eu-ai-act-2024-1689-nl/regulation", "markdown-articles", source="ai-act", language="nl", url="")
    return build_lexicon(aligned_blocks([*en, *nl]))


@needs_corpus
@pytest.mark.parametrize(("dutch", "english"), [
    ("toezichthouder", "supervisor"),
    ("geldboete", "fine"),
    ("essentiële", "essenti"),
    ("besluit", "decis"),
])
def test_the_ai_acts_two_languages_teach_legal_words(dutch: str, english: str) -> None:
    assert english in _ai_act_lexicon().translate(dutch, "nl", "en")
