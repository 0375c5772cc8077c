"""Policy tracking: timeline, change sets (made-up and real), digest, watch, briefings."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import MIRROR, make_settings, needs_mirror
from tests.slack_fixtures import BOT_TOKEN, FakeSlackAPI, slack_api  # noqa: F401 - fixture

pytestmark = needs_mirror


# -- the real texts: AI Act (2024 + consolidated 2026), the amending act, the Chips Act --------------


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bot.sources import load_manifest
    from bot.sync import sync

    settings = make_settings(tmp_path_factory.mktemp("tracking-real"))
    manifest = load_manifest(settings.manifest_path)
    for source in ("ai-act", "ai-omnibus", "chips-act"):
        results = [r for r in sync(manifest, settings, source=source, mirror=MIRROR) if r.language == "en"]
        assert results and all(r.ok for r in results), results
    return settings


def _units(settings, source: str, edition: str | None = None):  # type: ignore[no-untyped-def]
    from bot.corpus import parse_version
    from bot.versions import VersionStore

    store = VersionStore(settings.versions_dir)
    metas = store.find(source, "en", edition)
    return {u.unit: u for u in parse_version(store, metas[-1])}


def test_timeline_dates_match_the_texts(real_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.citations import verify_quote
    from bot.tracking.timeline import load_timeline

    tl = load_timeline(real_settings)
    current = {(e.source, e.date.isoformat(), e.citation.ref): e for e in tl.select()}
    annex_iii = current[("ai-act", "2027-12-02", "Article 113, point (c)(i)")]
    assert "Chapter III, Sections 1, 2, and 3" in annex_iii.what and "Annex III" in annex_iii.what
    assert "Annex I" in current[("ai-act", "2028-08-02", "Article 113, point (c)(ii)")].what
    assert "Article 5(1a) and (1b)" in current[("ai-act", "2026-12-02", "Article 113, point (a)")].what
    chapters = [e for e in tl.select("ai-act") if e.date == date(2025, 2, 2)]
    assert [e.what.split(",")[0] for e in chapters] == ["Chapters I and II"]
    assert "Prohibited AI practices" in chapters[0].topics
    assert current[("ai-act", "2024-08-01", "Article 113")].kind == "entry into force"
    # The amending act's own entry into force: third day after publication (OJ 24.7.2026).
    omnibus = current[("ai-omnibus", "2026-07-27", "Article 4")]
    assert "third day" in (omnibus.computed or "") and omnibus.source_short == "Regulation (EU) 2026/1744"
    assert [e.date for e in tl.select("ai-omnibus")] == [date(2026, 7, 27)]  # nothing from the quoted amendments
    assert current[("chips-act", "2023-09-21", "Article 41")].kind == "entry into force"
    # The 2024 date for Article 6(1) systems is the earlier date of the rule that now covers them (Annex I).
    old = current[("ai-act", "2028-08-02", "Article 113, point (c)(ii)")].before
    assert old is not None and old.date == date(2027, 8, 2) and old.edition == "oj-2024"
    assert old.what.startswith("Article 6(1)") and old.amended_by == "Regulation (EU) 2026/1744"
    assert old.amendment is not None and old.amendment.ref == "Article 1, point (40)" and old.amendment.source == "ai-omnibus"
    assert verify_quote(old.citation.quote, _units(real_settings, "ai-act", "oj-2024")["art-113"].text)
    assert verify_quote(old.amendment.quote, _units(real_settings, "ai-omnibus")["art-1"].text)
    assert tl.select("ai-act", status="history") == []  # every dated rule of 2024 is paired with its successor


def test_answers_from_the_timeline(real_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.timeline import DateError, answer_from_timeline

    a = answer_from_timeline("What applies on 1 March 2026?", real_settings)
    assert a is not None and a.mode == "timeline" and a.citations
    applying, _, coming = a.text.partition("Still to come")
    assert "2 February 2025" in applying and "2 December 2027" not in applying and "2 August 2026" in coming
    bans = answer_from_timeline("Since when are the bans in force?", real_settings)
    assert bans is not None and bans.text.splitlines()[2].startswith("• 2 February 2025")
    # The bottom line states the first entry's date, and its citation [1] holds that date.
    assert bans.text.splitlines()[0] == f"From 2 February 2025 (AI Act, {bans.citations[0].ref}) [1]."
    assert "2 February 2025" in bans.citations[0].quote
    assert a.text.splitlines()[0] == "From the timeline in the texts:"  # a day asked about: the list, no single date
    assert {c.unit for c in bans.citations} == {"art-113"}
    high = answer_from_timeline("When do the high-risk rules of the AI Act apply?", real_settings)
    assert high is not None and "2 December 2027" in high.text and "2 August 2027" in high.text  # with the replaced date
    assert answer_from_timeline("What does the AI Act ban?", real_settings) is None
    with pytest.raises(DateError) as err:
        answer_from_timeline("What applies on 31 February 2026?", real_settings)
    assert "\n" not in err.value.message and '"2026-03-01"' in err.value.message and '"1 March 2026"' in err.value.message


def test_real_ai_act_change_set_is_exactly_what_the_amending_act_lists(real_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.changes import amended_points, change_sets, normalize_text

    points = amended_points(list(_units(real_settings, "ai-omnibus").values()), "2024/1689")
    assert [p.ref for _, _, p in points] == [f"Article 1, point ({n})" for n in range(1, 44)]
    named = {uid for _, _, p in points for uid in p.units}
    assert all(p.units for _, _, p in points)

    sets = change_sets(real_settings, "ai act")
    assert len(sets) == 1
    cs = sets[0]
    assert (cs.old.edition, cs.new.edition) == ("oj-2024", "consolidated-2026-07-27")
    assert cs.kinds == ["annex", "article"]  # recitals are not in the consolidated text: not compared
    touched = {c.unit for c in cs.changes}
    # The diff names exactly the units Article 1 of Regulation (EU) 2026/1744 lists, nothing else:
    # no consolidated-only editorial change showed up (77 articles identical after normalisation).
    assert touched == named
    assert {c.unit for c in cs.of_status("added")} == {"art-4a", "art-60a", "art-75a", "art-75b", "art-75c", "art-75d", "annex-xiv"}
    assert cs.of_status("removed") == []
    assert len(cs.of_status("changed")) == 38
    assert all(c.amended_by for c in cs.changes) and cs.amending_act == "Regulation (EU) 2026/1744"
    by_unit = {c.unit: c for c in cs.changes}
    g = next(b for b in by_unit["art-1"].blocks if b.path == "2.g")
    assert "SMEs, including start-ups" in (g.old or "") and "small mid-cap enterprises (SMCs)" in (g.new or "")
    assert {b.path for b in by_unit["annex-viii"].blocks if b.status == "removed"} == {"B.7", "B.9"}
    # Digit groups closed up ("35 000 000" vs "35000000") are not a change.
    assert normalize_text("up to 35 000 000 EUR") == normalize_text("up to 35\u00a0000\u00a0000 EUR") == normalize_text("up to 35000000 EUR")
    for c in cs.changes:
        for b in c.blocks:
            assert b.old is None or b.new is None or normalize_text(b.old) != normalize_text(b.new)
    assert (real_settings.data_dir / "changes" / f"{cs.id}.json").exists()


def test_change_set_reads_on_one_screen_and_keeps_every_difference(real_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.change_views import plain_diff, summary_lines
    from bot.tracking.changes import change_sets

    cs = change_sets(real_settings, "ai act")[0]
    summary = summary_lines(cs, width=100)
    assert len(summary) <= 40 and all(len(line) <= 100 for line in summary)
    assert "38 changed, 7 inserted, 0 deleted" in "\n".join(summary[:4])
    listed = " ".join(summary)
    for c in cs.changes:  # every unit named once, with its point of Article 1 of Regulation (EU) 2026/1744
        assert re.search(rf"\(\d+\) (?:\(\d+\) )*{re.escape(c.ref)}(?:\s+·|\s+\w+ \(\d+\):|$)", listed), c.ref
    assert "(22) Article 57" in listed and "(43) Annex XIV" in listed
    by_ref: dict = {}
    for b in (b for c in cs.changes for b in c.blocks):
        by_ref.setdefault(b.ref, b)
    # These looked unchanged when old and new were cut before the words that differ.
    expected = {
        "Article 10(1)": ("2 to 5", "2, 3 and 4 of this Article and in Article 4a(1)"),
        "Article 27(4)": ("Article shall complement", "deployer may, when conducting the"),
        "Article 3, point (14)": (None, "for the purposes of this definition, a component fulfils a safety function"),
        "Article 25(2)": ("regarding the", "with regard to"),
    }
    for ref, (old, new) in expected.items():
        d = plain_diff(by_ref[ref].old or "", by_ref[ref].new or "")
        assert old is None or f"[-{old}" in d, (ref, d)
        assert "{+" + new in d, (ref, d)
    assert next(c for c in cs.changes if c.unit == "art-1").title == "Subject matter"


# -- a source with versions made in the test -------------------------------------------------------


def _chips_sections() -> tuple[str, dict[str, str]]:
    text = (MIRROR / "chips-act" / "chips-act.md").read_text(encoding="utf-8")
    head = text.split("\n## Recitals", 1)[0]
    arts = {m[1]: m[0] for m in re.finditer(r"### Article (\d+) — .*?(?=\n#{2,4} |\Z)", text, re.S)}
    return head, arts


def _chips_text(articles: dict[str, str]) -> str:
    head, _ = _chips_sections()
    low = [a for n, a in articles.items() if int(n) <= 4]
    high = [a for n, a in articles.items() if int(n) > 4]
    return head + "\n\n## Chapter I\n\n" + "\n\n".join(low) + "\n\n## Chapter VIII — Final provisions\n\n" + "\n\n".join(high) + "\n"


def test_changes_index_digest_and_failed_sync(tmp_path: Path, slack_api: FakeSlackAPI) -> None:  # noqa: F811
    from bot.embeddings import get_embedder
    from bot.index import build_index, get_collection, load_snapshot, open_client
    from bot.sources import load_manifest
    from bot.sync import sync
    from bot.tracking.changes import change_sets
    from bot.tracking.digest import post_digests
    from bot.tracking.watch import run_once
    from bot.versions import VersionStore

    _, arts = _chips_sections()
    v1 = {n: arts[n] for n in ("1", "3", "4", "41")}
    v2 = dict(v1)
    v2["3"] = v1["3"].replace("The Initiative is established", "The Initiative is hereby established")
    assert v2["3"] != v1["3"]
    del v2["4"]
    v2 = {n: v2[n] for n in ("1", "3")} | {"40": arts["40"], "41": v1["41"]}
    mirror = tmp_path / "mirror"
    target = mirror / "chips-act" / "chips-act.md"
    target.parent.mkdir(parents=True)
    settings = make_settings(tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_api_url=slack_api.url, digest_channel="C0DIGEST")
    manifest = load_manifest(settings.manifest_path)
    store = VersionStore(settings.versions_dir)

    target.write_text(_chips_text(v1), encoding="utf-8")
    assert [r.status for r in sync(manifest, settings, source="chips-act", mirror=mirror)] == ["new"]
    build_index(settings)
    time.sleep(1.1)  # versions of the same date are ordered by the second they were fetched
    target.write_text(_chips_text(v2), encoding="utf-8")
    assert [r.status for r in sync(manifest, settings, source="chips-act", mirror=mirror)] == ["new"]
    old, new = store.list("chips-act", "en")

    sets = change_sets(settings, "chipwet")
    assert len(sets) == 1 and sets[0].id == f"chips-act-en-{old.version}-{new.version}"
    cs = sets[0]
    assert {c.unit: c.status for c in cs.changes} == {"art-3": "changed", "art-40": "added", "art-4": "removed"}
    art3 = cs.changes[[c.unit for c in cs.changes].index("art-3")]
    assert [(b.path, b.status) for b in art3.blocks] == [("1", "changed")]
    assert "is established" in (art3.blocks[0].old or "") and "is hereby established" in (art3.blocks[0].new or "")
    assert change_sets(settings, "chips-act", since=date(2100, 1, 1)) == []

    # The index holds only the new version afterwards.
    build_index(settings)
    name = get_embedder(settings.embeddings, settings).name
    snap = load_snapshot(settings, name)
    assert {k[2] for k in snap.units if k[0] == "chips-act"} == {"art-1", "art-3", "art-40", "art-41"}
    assert set(snap.unit_versions.values()) == {new.version}
    collection = get_collection(open_client(settings), snap.name, create=False)
    assert {m["version"] for m in collection.get(include=["metadatas"])["metadatas"]} == {new.version}

    # The digest goes out once per change set, however often it runs; the front end gives the Slack client.
    from bot.errors import SlackConfigError
    from bot.slack.app import make_client

    with pytest.raises(SlackConfigError):
        post_digests(settings, sets)
    factory = lambda: make_client(settings, BOT_TOKEN)  # noqa: E731
    assert post_digests(settings, sets, client_factory=factory) == [cs.id]
    assert post_digests(settings, sets, client_factory=factory) == []
    report = run_once(settings, manifest=manifest, mirror=mirror, source="chips-act", client_factory=factory)
    assert report.posted == [] and not report.new
    posts = slack_api.named("chat.postMessage")
    assert len(posts) == 1 and posts[0].params["channel"] == "C0DIGEST"
    blocks = posts[0].params["blocks"]
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    # The summary form: the units by status, then the date from which each applies (the timeline's date).
    assert "*Changed (1):* Article 3" in texts and "*Inserted (1):* Article 40" in texts and "*Deleted (1):* Article 4" in texts
    assert "*Applies since 21 September 2023:* Article 3 · Article 40" in texts
    assert blocks[0]["text"]["text"] == "Chips Act changed"

    # A sync that fails half-way (a truncated file): no version, no digest.
    target.write_text(_chips_text(v1)[:120], encoding="utf-8")
    report = run_once(settings, manifest=manifest, mirror=mirror, source="chips-act", client_factory=factory)
    assert [r.status for r in report.synced] == ["failed"] and report.posted == []
    assert [m.version for m in store.list("chips-act", "en")] == [old.version, new.version]
    assert not any(p.name.startswith(".partial") for p in (settings.versions_dir / "chips-act" / "en").iterdir())
    time.sleep(0.3)
    assert len(slack_api.named("chat.postMessage")) == 1


# -- briefings ---------------------------------------------------------------------------------


def _check_lines(b, assistant) -> None:  # type: ignore[no-untyped-def]
    from bot.citations import verify_quote

    numbers = [c.n for c in b.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    for s in b.sections:
        for line in s.lines:
            c = line.citation
            unit = assistant.retriever.unit(c.source, c.language, c.unit)
            assert unit is not None and c.quote == line.quote and verify_quote(c.quote, unit.text), line
            assert not line.quote.rstrip().endswith(":"), line  # never a bare lead-in


def test_chips_act_briefing_briefs(small_assistant) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.briefing import briefing_blocks, build_briefing, render_markdown, render_mrkdwn, render_rich

    b = build_briefing(small_assistant, "chipwet", day=date(2026, 12, 6))
    assert b.source == "chips-act" and b.short == "Chips Act" and b.url.startswith("https://eur-lex.europa.eu/")
    titles = [s.title for s in b.sections]
    assert titles == ["What changed or fell due recently", "Main obligations"]  # nothing in the Chips Act is dated later
    # Recent: the first review report, due 20 September 2026 (Article 40(1)).
    recent = b.sections[0].lines
    assert [(x.citation.ref, x.label) for x in recent] == [("Article 40(1)", "20 September 2026 — review")]
    key = b.sections[1].lines
    assert {"art-13", "art-23"} <= {line.citation.unit for line in key} and len(b.citations) >= 5
    assert all(line.applies == "applies since 21 September 2023" for line in key)  # entry into force, Article 41
    monitoring = next(line for line in key if line.label == "Pillar 3: monitoring")
    assert monitoring.quote.startswith("For the purposes of this Regulation, the monitoring shall consist of the following activities: … (a)")
    assert "Chapter IV Monitoring and crisis response (Article 19–27)" in b.contents
    _check_lines(b, small_assistant)
    blocks = briefing_blocks(b)
    assert len(blocks) <= 50 and all(len(x.get("text", {}).get("text", "")) <= 3000 for x in blocks)
    for text in (render_markdown(b), render_mrkdwn(b), render_rich(b)):
        assert "Main obligations" in text and "applies since 21 September 2023" in text
        assert "chips-act" not in text.replace(b.url, "")  # display names, never raw ids

    nl = build_briefing(small_assistant, "chipwet", language="nl", day=date(2026, 12, 6))
    assert [s.title for s in nl.sections] == ["Wat er recent veranderde of verstreek", "Belangrijkste verplichtingen"]
    assert nl.sections[1].lines[0].applies == "van toepassing sinds 21 september 2023"

    narrow = build_briefing(small_assistant, "chips act", topic="crisis", day=date(2026, 12, 6))
    on = next(s for s in narrow.sections if s.title == "On crisis")
    assert len(on.lines) >= 3
    assert all("crisis" in line.quote.lower() or "crisis" in line.label.lower() for line in on.lines[:3])


def test_article_briefing_has_figures_and_claims_that_state_something(small_assistant) -> None:  # type: ignore[no-untyped-def]
    from bot.tracking.briefing import build_briefing

    b = build_briefing(small_assistant, "abn amro", day=date(2026, 12, 6))
    assert b.short == "ABN AMRO article" and [s.title for s in b.sections] == ["Key points", "Main figures", "Main claims"]
    figures = b.sections[1].lines
    assert any("procent" in line.quote for line in figures) and any("miljard" in line.quote for line in figures)
    claims = b.sections[2].lines
    article = (Path(__file__).parents[1] / "knowledge" / "sovereignty-article.md").read_text(encoding="utf-8")
    assert "Toch is er beweging." in article  # an opening sentence that states nothing ...
    assert len(claims) >= 5 and all(line.quote != "Toch is er beweging." for line in claims)  # ... is never a claim
    for line in claims:
        assert len(line.quote.split()) >= 10 and not line.quote.endswith("?"), line.quote
    _check_lines(b, small_assistant)

    from bot.tracking.briefing import render_markdown, render_rich

    empty = build_briefing(small_assistant, "data act", day=date(2026, 12, 6))  # not in the small index
    assert empty.sections == [] and all("Nothing indexed for this source yet" in r(empty) for r in (render_markdown, render_rich))


def test_unknown_source_and_bad_date_errors(small_assistant) -> None:  # type: ignore[no-untyped-def]
    import typer
    from typer.testing import CliRunner

    from bot.errors import SourceError
    from bot.tracking.briefing import build_briefing
    from bot.tracking.timeline import DateError, parse_date
    from bot.cli.tracking import register

    with pytest.raises(SourceError) as err:
        build_briefing(small_assistant, "atlantis act")
    assert "chips-act" in (err.value.help or "") and "chips act" in (err.value.help or "")  # ids and their aliases

    assert parse_date("2026-03-01") == parse_date("1 March 2026") == parse_date("1 maart 2026") == date(2026, 3, 1)
    with pytest.raises(DateError) as bad:
        parse_date("next Tuesday")
    assert bad.value.message == 'Cannot read \'next Tuesday\' as a date: write it like "2026-03-01" or "1 March 2026".'

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["timeline", "--as-of", "31 Febtember 2026"])
    assert isinstance(result.exception, DateError)
    result = CliRunner().invoke(app, ["changes", "atlantis"])
    assert isinstance(result.exception, SourceError) and "ai-act" in (result.exception.help or "")


def test_a_briefing_on_the_amending_act_lists_what_it_changes(real_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.citations import verify_quote
    from bot.lexical import stem_tokens
    from bot.tracking.amendments import MAX_LINES, amendment_lines
    from bot.tracking.timeline import load_timeline

    omnibus = _units(real_settings, "ai-omnibus")
    ai_act = _units(real_settings, "ai-act")
    moved = {e.citation.unit for e in load_timeline(real_settings).select("ai-act") if e.before is not None}
    assert "art-113" in moved  # the application dates Regulation (EU) 2026/1744 moved
    lines = amendment_lines(list(omnibus.values()), target_name="AI Act", target_unit=ai_act.get, dated=moved, lang="en")
    assert 5 <= len(lines) <= MAX_LINES
    # The moved dates come first: point (40) replaces Article 113's dates (read from the Official Journal).
    first = next(line for line in lines if line.label.startswith("AI Act, Article 113 "))
    assert lines.index(first) < 3 and "2 December 2027" in first.quote and "2 August 2028" in first.quote
    assert any(line.label.startswith("AI Act, Article 4a ") and line.label.endswith("— inserted") for line in lines)
    for line in lines:
        assert not line.quote.rstrip().endswith(":")  # never a bare lead-in ("the following Annex is added:")
        assert verify_quote(line.quote, omnibus["art-1"].text), line.quote[:80]
    # A topic keeps the points about it: AI literacy is point (5), which replaces Article 4.
    literacy = amendment_lines(list(omnibus.values()), target_name="AI Act", target_unit=ai_act.get, dated=moved, lang="nl",
                               terms=set(stem_tokens("AI literacy", "en")), stems=lambda t: frozenset(stem_tokens(t, "en")))
    assert literacy and literacy[0].label == "AI Act, Article 4 (AI literacy) — vervangen", [x.label for x in literacy]
    # Weighted by rarity ("AI" is in every point), the topic keeps the point about AI literacy alone.
    rare = amendment_lines(list(omnibus.values()), target_name="AI Act", target_unit=ai_act.get, dated=moved, lang="en",
                           terms=set(stem_tokens("AI literacy", "en")), stems=lambda t: frozenset(stem_tokens(t, "en")),
                           weight=lambda t: 0.1 if t == "ai" else 3.0)
    assert [x.label for x in rare] == ["AI Act, Article 4 (AI literacy) — replaced"]
