"""The timeline of every dated provision, checked against dates read by a person from the texts.

Every date below was read from the texts in ../shared/corpus (and the publication dates in
knowledge/sources.toml), never produced by the code under test:

- AI Act (OJ 12.7.2024; consolidated text as amended by Regulation (EU) 2026/1744), Article 113: entry into
  force on the twentieth day after publication (1 August 2024); applies from 2 August 2026; Chapters I and II
  from 2 February 2025 except Article 5(1)(ba), (bb), 5(1a), (1b) from 2 December 2026; Chapter III Section 4,
  Chapters V, VII, XII and Article 78 from 2 August 2025 "with the exception of Article 101"; Chapter III
  Sections 1-3 from 2 December 2027 (Article 6(2) and Annex III) and 2 August 2028 (Article 6(1) and Annex I);
  Articles 102 to 110 from 27 July 2026. The 2024 text: Article 6(1) from 2 August 2027, the rest of Chapter III
  (so Annex III) from 2 August 2026.
- AI Act Article 111: (1) by 31 December 2030, (2) by 2 August 2030, (3) general-purpose AI models placed on
  the market before 2 August 2025 comply by 2 August 2027, (4) by 2 December 2026.
- AI Act Article 57(1): a sandbox operational by 2 August 2027 (2 August 2026 in the 2024 text).
- Data Act (OJ 22.12.2023) Article 29: no switching charges from 12 January 2027; reduced charges from
  11 January 2024 to 12 January 2027. Article 50: entry into force 11 January 2024, applies from 12 September
  2025, Article 3(1) for products placed on the market after 12 September 2026.
- NIS2 (OJ 27.12.2022) Article 41: transposition by 17 October 2024, measures applied from 18 October 2024;
  Article 45: entry into force 16 January 2023.
- Chips Act (OJ 18.9.2023) Article 40(1): report by 20 September 2026; Article 41: entry into force on the third
  day, 21 September 2023.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import MIRROR, ROOT, make_settings, needs_mirror

pytestmark = needs_mirror
D = date.fromisoformat


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bot.sources import load_manifest
    from bot.sync import sync

    s = make_settings(tmp_path_factory.mktemp("timeline"))
    manifest = load_manifest(s.manifest_path)
    for source in ("ai-act", "ai-omnibus", "chips-act", "data-act", "nis2"):
        results = [r for r in sync(manifest, s, source=source, mirror=MIRROR) if r.language == "en"]
        assert results and all(r.ok for r in results), results
    return s


@pytest.fixture(scope="module")
def tl(settings):  # type: ignore[no-untyped-def]
    from bot.tracking.timeline import load_timeline

    return load_timeline(settings)


def _dates(tl, source: str, unit: str) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {(e.date.isoformat(), e.kind, e.citation.ref) for e in tl.select(source) if e.citation.unit == unit}


def test_ai_act_article_113(tl) -> None:  # type: ignore[no-untyped-def]
    assert _dates(tl, "ai-act", "art-113") == {
        ("2024-08-01", "entry into force", "Article 113"),
        ("2026-08-02", "applies", "Article 113"),
        ("2025-02-02", "applies", "Article 113, point (a)"),
        ("2026-12-02", "applies", "Article 113, point (a)"),
        ("2025-08-02", "applies", "Article 113, point (b)"),
        ("2027-12-02", "applies", "Article 113, point (c)(i)"),
        ("2028-08-02", "applies", "Article 113, point (c)(ii)"),
        ("2026-07-27", "applies", "Article 113, point (d)"),
    }
    by_date = {e.date: e for e in tl.select("ai-act") if e.citation.unit == "art-113"}
    assert "with the exception of Article 101" in by_date[D("2025-08-02")].what
    annex_iii = by_date[D("2027-12-02")]
    assert "Annex III" in annex_iii.condition
    # The earlier date of the SAME provisions: Annex III applied from 2 August 2026 in the 2024 text,
    # Article 6(1) from 2 August 2027; each cites the 2024 text's own words.
    assert annex_iii.before is not None and annex_iii.before.date == D("2026-08-02")
    assert annex_iii.before.edition == "oj-2024" and annex_iii.before.amended_by == "Regulation (EU) 2026/1744"
    annex_i = by_date[D("2028-08-02")]
    assert annex_i.before is not None and annex_i.before.date == D("2027-08-02")
    assert "Article 6(1)" in annex_i.before.citation.quote
    assert by_date[D("2026-12-02")].before is None  # Article 5(1a) and (1b) did not exist in 2024
    assert by_date[D("2025-02-02")].before is None  # same date then and now


def test_ai_act_article_111_and_57(tl) -> None:  # type: ignore[no-untyped-def]
    assert {(d, k) for d, k, _ in _dates(tl, "ai-act", "art-111")} == {
        ("2030-12-31", "deadline"), ("2030-08-02", "deadline"), ("2027-08-02", "deadline"), ("2026-12-02", "deadline"),
    }
    gpai = next(e for e in tl.select("ai-act") if e.citation.unit == "art-111" and e.date == D("2027-08-02"))
    assert gpai.citation.ref == "Article 111(3)" and gpai.concerns.startswith("Providers of general-purpose AI models")
    assert "before 2 August 2025" in gpai.concerns  # the cut-off qualifies whom; it is not a date of its own
    sandbox = [e for e in tl.select("ai-act") if e.citation.unit == "art-57"]
    assert [(e.date, e.kind, e.citation.ref, e.concerns) for e in sandbox] == [
        (D("2027-08-02"), "deadline", "Article 57(1)", "Member States")
    ]
    assert sandbox[0].before is not None and sandbox[0].before.date == D("2026-08-02")


def test_data_act_articles_29_and_50(tl) -> None:  # type: ignore[no-untyped-def]
    assert _dates(tl, "data-act", "art-29") == {
        ("2027-01-12", "applies", "Article 29(1)"),
        ("2024-01-11", "applies", "Article 29(2)"),
        ("2027-01-12", "ends", "Article 29(2)"),
    }
    no_charges = next(e for e in tl.select("data-act") if e.citation.ref == "Article 29(1)")
    assert no_charges.concerns == "providers of data processing services" and "switching charges" in no_charges.what
    assert _dates(tl, "data-act", "art-50") == {
        ("2024-01-11", "entry into force", "Article 50"),
        ("2025-09-12", "applies", "Article 50"),
        ("2026-09-12", "applies", "Article 50"),
    }


def test_nis2_article_41_and_chips_act_final_provisions(tl) -> None:  # type: ignore[no-untyped-def]
    assert {(d, k) for d, k, _ in _dates(tl, "nis2", "art-41")} == {("2024-10-17", "transposition"), ("2024-10-18", "applies")}
    transposition = next(e for e in tl.select("nis2") if e.kind == "transposition")
    assert transposition.concerns == "Member States"
    assert _dates(tl, "nis2", "art-45") == {("2023-01-16", "entry into force", "Article 45")}
    assert _dates(tl, "chips-act", "art-40") == {("2026-09-20", "review", "Article 40(1)")}
    assert _dates(tl, "chips-act", "art-41") == {("2023-09-21", "entry into force", "Article 41")}


def test_every_quote_is_verbatim(settings, tl) -> None:  # type: ignore[no-untyped-def]
    from bot.citations import verify_quote
    from bot.corpus import parse_version
    from bot.versions import VersionStore

    store = VersionStore(settings.versions_dir)
    units = {m.version: {u.unit: u for u in parse_version(store, m)} for m in store.list() if m.language == "en"}
    entries = [*tl.entries, *(e.before for e in tl.entries if e.before)]
    assert len(entries) > 60
    for e in entries:
        assert verify_quote(e.citation.quote, units[e.citation.version][e.citation.unit].text), e


@pytest.mark.parametrize(
    ("source", "unit", "paragraph", "applies_from", "applies_on_6_12_2026"),
    [
        ("ai-act", "annex-iii", None, "2027-12-02", False),
        ("ai-act", "art-5", None, "2025-02-02", True),
        ("ai-act", "art-5", "1a", "2026-12-02", True),
        ("ai-act", "art-99", None, "2025-08-02", True),
        ("ai-act", "art-101", None, "2026-08-02", True),  # "with the exception of Article 101"
        ("ai-act", "art-6", "5", "2026-08-02", True),
        ("ai-act", "art-6", "1", "2028-08-02", False),
        ("ai-act", "art-104", None, "2026-07-27", True),
        ("data-act", "art-29", "1", "2027-01-12", False),
        ("data-act", "art-3", "1", "2026-09-12", True),
        ("nis2", "art-21", None, "2024-10-18", True),
        ("chips-act", "art-26", None, "2023-09-21", True),
    ],
)
def test_dates_on_citations_agree_with_the_texts(tl, source, unit, paragraph, applies_from, applies_on_6_12_2026) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.applies import provision_dates

    d = provision_dates(source, unit, paragraph, day=D("2026-12-06"), timeline=tl)
    assert (d.applies_from, d.applies) == (D(applies_from), applies_on_6_12_2026)
    assert all(r.citation.source == source for r in d.rules) and d.rules


def test_provision_dates_ends_and_unknown_units(tl) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.applies import provision_dates

    reduced = provision_dates("data-act", "art-29", "2", day=D("2027-06-01"), timeline=tl)
    assert (reduced.applies_from, reduced.until, reduced.applies) == (D("2024-01-11"), D("2027-01-12"), False)
    assert "no longer" in reduced.label()
    assert provision_dates("ai-act", "art-999", day=D("2026-12-06"), timeline=tl).applies is None
    annex = provision_dates("ai-act", "annex-iii", day=D("2026-12-06"), timeline=tl)
    assert annex.label() == "applies from 2 December 2027 (not yet)"
    assert annex.label("nl") == "van toepassing vanaf 2 december 2027 (nog niet)"


def test_annex_iii_question_pairs_the_same_provision_and_dutch_gets_dutch(settings, tl) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.timeline import answer_from_timeline

    a = answer_from_timeline("When does Annex III of the AI Act apply?", settings, tl)
    assert a is not None and a.language == "en"
    assert "2 December 2027" in a.text and "Before Regulation (EU) 2026/1744: 2 August 2026" in a.text
    assert "2 August 2027" not in a.text
    nl = answer_from_timeline("Wanneer is bijlage III van de AI-verordening van toepassing?", settings, tl)
    assert nl is not None and nl.language == "nl"
    # The date asked for first, in Dutch, with where it is set; then the timeline's lines.
    assert nl.text.startswith("Vanaf 2 december 2027 (AI Act, ") and nl.text.splitlines()[0].endswith("[1].")
    assert nl.text.splitlines()[1].startswith("Volgens de tijdlijn") and nl.text.splitlines()[2].startswith("• 2 december 2027")
    assert a.text.startswith("From 2 December 2027 (AI Act, ")
    assert "(van toepassing)" in nl.text and "Vóór Regulation (EU) 2026/1744: 2 augustus 2026" in nl.text


def test_until_when_asks_for_the_deadline_and_since_when_for_the_application_date(settings, tl) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.timeline import answer_from_timeline, dates_asked

    q = "By when do providers of general-purpose AI models that were already on the market before August 2025 have to comply?"
    a = answer_from_timeline(q, settings, dates_asked(tl, q))
    assert a is not None and "Article 111(3)" in [c.ref for c in a.citations]
    assert any("2 August 2027" in line and "Article 111(3)" in line for line in a.text.splitlines())
    assert a.text.splitlines()[0].startswith("By ")  # a deadline asked "by when" is answered "By <date>"
    # Asked "since when", the same words ask when the rules apply: the deadline is not offered.
    since = "Since when do the rules for providers of general-purpose AI models apply?"
    assert {e.kind for e in dates_asked(tl, since).entries} == {"applies", "entry into force"}
    s = answer_from_timeline(since, settings, dates_asked(tl, since))
    assert s is not None and all(c.unit != "art-111" for c in s.citations) and "2 August 2025" in s.text
    nl = "Tot wanneer mogen aanbieders nog overstapkosten rekenen?"
    assert "deadline" in {e.kind for e in dates_asked(tl, nl).entries}


def _cli(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLICYBOT_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_cli_as_of_and_between(settings) -> None:  # type: ignore[no-untyped-def]
    proc = _cli("timeline", "data act", "--between", "2027-01-01", "2027-12-31", "--format", "json", data=settings.data_dir)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {(r["date"], r["citation"]["ref"], r["kind"]) for r in rows} == {
        ("2027-01-12", "Article 29(1)", "applies"), ("2027-01-12", "Article 29(2)", "ends")
    }
    assert all(r["source_short"] == "Data Act" and "data-act" not in r["citation"]["title"] for r in rows)
    proc = _cli("timeline", "nis2", "--as-of", "17 October 2024", "--format", "json", data=settings.data_dir)
    states = {(r["date"], r["kind"]): r["state"] for r in json.loads(proc.stdout)}
    assert states[("2024-10-17", "transposition")] == "passed" and states[("2024-10-18", "applies")] == "upcoming"
    bad = _cli("timeline", "--between", "2027-12-31", "2027-01-01", data=settings.data_dir)
    assert bad.returncode != 0 and bad.stderr.startswith("Error: ") and "first date is after" in bad.stderr


def test_slack_timeline_keeps_when_each_act_applies(tl) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.timeline import timeline_mrkdwn

    text = timeline_mrkdwn(tl, as_of=D("2026-12-06"))
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) <= 30 and "more dated provisions" in text.splitlines()[-1]
    for day in ("2 December 2027", "2 August 2026", "18 October 2024", "12 January 2027", "21 September 2023"):
        assert any(f"*{day}*" in line for line in lines), day
    assert not any(raw in text for raw in ("ai-act,", "data-act,", "ai-omnibus"))
