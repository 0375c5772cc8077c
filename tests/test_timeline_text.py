"""Text as the Official Journal prints it (bot/text.py), on the real texts where it matters."""

from __future__ import annotations

import pytest

from tests.conftest import MIRROR, make_settings, needs_mirror


def test_amounts_in_digit_groups_and_quote_checks_close_them_up() -> None:
    from bot.citations import verify_quote
    from bot.text import close_digit_groups, group_digits

    assert group_digits("fines of up to EUR 35000000 or 7 %") == "fines of up to EUR 35 000 000 or 7 %"
    assert group_digits("EUR 7500000, 1500000 euro.") == "EUR 7 500 000, 1 500 000 euro."
    # References, CELEX numbers, years and decimals keep their form.
    kept = "Regulation (EU) 2024/1689, CELEX 32024R1689, OJ L 229, 2 August 2026, 12.5 %, 10000.5"
    assert group_digits(kept) == kept
    assert close_digit_groups("EUR 35 000 000 and 7\u00a0500\u00a0000") == "EUR 35000000 and 7500000"
    consolidated = "administrative fines of up to EUR 35000000 or, if the offender is an undertaking"
    assert verify_quote("administrative fines of up to EUR 35 000 000 or", consolidated)
    assert verify_quote("administrative fines of up to EUR 35000000 or", "fines of up to EUR 35 000 000 or".join(["administrative ", ""]))
    assert not verify_quote("administrative fines of up to EUR 3 500 000 or", consolidated)


@pytest.fixture(scope="module")
def omnibus_units(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bot.corpus import parse_version
    from bot.sources import load_manifest
    from bot.sync import sync
    from bot.versions import VersionStore

    settings = make_settings(tmp_path_factory.mktemp("text"))
    manifest = load_manifest(settings.manifest_path)
    assert all(r.ok for r in sync(manifest, settings, source="ai-omnibus", mirror=MIRROR))
    store = VersionStore(settings.versions_dir)
    return {u.unit: u for u in parse_version(store, store.list("ai-omnibus", "en")[-1])}


@needs_mirror
def test_amending_syntax_is_stripped_from_quoted_spans(omnibus_units) -> None:  # type: ignore[no-untyped-def]
    from bot.citations import verify_quote
    from bot.text import strip_amending_syntax

    point_1 = next(b.text for b in omnibus_units["art-1"].blocks if b.text.startswith("(1) in Article 1(2), point (g)"))
    span = point_1.split("including ")[-1]  # 'start-ups.’ ;' as an answer might cut it
    assert span.rstrip().endswith("’ ;") and strip_amending_syntax(span) == "start-ups."
    inserted = strip_amending_syntax(point_1)
    assert inserted.startswith("(g) measures to support innovation") and inserted.endswith("including start-ups.")
    assert "replaced by" not in inserted and verify_quote(inserted, omnibus_units["art-1"].text)
    joined = "including start-ups.’ ; (b) point (c) is replaced by the following: ‘(c) the"
    assert strip_amending_syntax(joined) == "including start-ups."
    plain = "Providers shall comply with Article 50(2)."
    assert strip_amending_syntax(plain) == plain


def test_titles_and_display_names() -> None:
    from bot.models import Citation
    from bot.slack.blocks import source_label
    from bot.sources import load_manifest
    from bot.text import clean_title, display_name_of, fix_acronyms

    assert clean_title("Subject matter'") == "Subject matter"
    assert clean_title("‘Real-time’ remote biometric identification") == "‘Real-time’ remote biometric identification"
    assert fix_acronyms("Chapter VIII Eu database for high-risk AI systems") == "Chapter VIII EU database for high-risk AI systems"
    manifest = load_manifest(make_settings(MIRROR).manifest_path)
    assert display_name_of("ai-omnibus", manifest) == "Regulation (EU) 2026/1744"
    assert display_name_of("data-act", manifest) == "Data Act"
    cite = Citation(n=1, source="data-act", unit="art-29", ref="Article 29(1)", quote="From 12 January 2027, providers")
    assert source_label(cite) == "Data Act, Article 29(1)"  # no names given: never the raw id
    assert source_label(cite, {"data-act": "EU Data Act"}) == "EU Data Act, Article 29(1)"
