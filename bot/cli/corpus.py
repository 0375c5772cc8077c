"""The corpus commands: ``sync``, ``index`` and ``sources``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import BotError
from ..sources import load_manifest
from ..sync import SyncResult, sync as run_sync
from ..versions import VersionStore
from .common import JsonOpt, RichBar, SourceOpt, err, out, settings


def sync(
    source: SourceOpt = None,
    mirror: Annotated[Optional[Path], typer.Option("--mirror", help="A local mirror folder laid out like shared/corpus")] = None,
) -> None:
    """Fetch each official text (EUR-Lex, or a mirror folder) and keep new versions."""
    s = settings()
    manifest = load_manifest(s.manifest_path)
    styles = {"new": "green", "unchanged": "dim", "failed": "red", "skipped": "yellow"}

    def show(r: SyncResult) -> None:
        target = out if r.ok or r.status == "skipped" else err
        target.print(f"[{styles[r.status]}]{r.status:<9}[/] {r.source} ({r.language}, {r.edition}): {escape(r.detail)}", soft_wrap=True)

    results = run_sync(manifest, s, source=source, mirror=mirror, on_result=show)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        used = mirror if mirror is not None else s.mirror
        what = "Nothing could be synced" if not any(r.ok for r in results) else f"{len(failed)} of {len(results)} texts could not be synced"
        raise BotError(
            f"{what} ({', '.join(sorted({r.source for r in failed}))}); the last good versions stay current.",
            help=f"Check the files named above in the mirror {used}." if used is not None else "Check the network, or pass --mirror DIR.",
        )


def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the collection and embed everything again")] = False,
) -> None:
    """Build or update the Chroma index from the current versions (incremental)."""
    from ..index import build_index  # heavy (Chroma, numpy, openai: ~1 s); every other command starts without it
    from ..retrieval import warm_start

    s = settings()
    report = build_index(
        s,
        rebuild=rebuild,
        progress=lambda total: RichBar(total, "Embedding"),
        warn=lambda msg: err.print(f"[yellow]warning[/] {escape(msg)}", soft_wrap=True),
    )
    try:
        warm_start(s)  # bots on this data dir then start warm
    except BotError as exc:
        err.print(f"[yellow]warning[/] the start-up caches were not written ({escape(exc.message)}); bots derive them", soft_wrap=True)
    out.print(
        f"Indexed {report.units:,} units as {report.chunks:,} chunks in [bold]{report.collection}[/]: "
        f"{report.added - report.reused:,} embedded, {report.reused:,} reused from the previous version, "
        f"{report.removed:,} removed, {report.seconds:.1f} s."
    )


def sources(as_json: JsonOpt = False) -> None:
    """List the sources: language, version, date fetched, units, chunks."""
    # heavy (Chroma, numpy, openai: ~1 s); every other command starts without them
    from ..embeddings import get_embedder
    from ..index import current_state

    s = settings()
    manifest = load_manifest(s.manifest_path)
    store = VersionStore(s.versions_dir)
    indexed: dict[tuple[str, str], dict] = {}
    state = current_state(s, get_embedder(s.embeddings, s).name) or {}
    for t in state.get("texts", []):
        indexed[(t["source"], t["language"])] = t
    rows = []
    for spec in manifest.sources:
        for text in spec.texts:
            versions = store.find(spec.id, text.language, text.edition)
            latest = versions[-1] if versions else None
            idx = indexed.get((spec.id, text.language), {})
            current = bool(latest and idx.get("version") == latest.version)
            status = "current" if current else ("history" if latest else "not synced")
            if not latest and not text.mirror and not text.bundled:
                status = "online only"
            rows.append(
                {
                    "source": spec.id,
                    "title": spec.short,
                    "language": text.language,
                    "edition": text.edition,
                    "date": text.date,
                    "version": latest.version if latest else None,
                    "fetched_at": latest.fetched_at if latest else None,
                    "status": status,
                    "units": idx.get("units") if current else None,
                    "chunks": idx.get("chunks") if current else None,
                    "predates_current": spec.predates_current(text) and text.language != "en",
                    "url": text.url,
                }
            )
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("source", "lang", "edition", "version", "fetched", "status", "units", "chunks", title="Sources")
    for r in rows:
        status = r["status"] + (" (predates amendment)" if r["predates_current"] else "")
        table.add_row(
            f"{r['source']}\n[dim]{r['title']}[/]",
            r["language"],
            r["edition"],
            r["version"] or "-",
            (r["fetched_at"] or "-")[:16],
            status,
            str(r["units"] or "-"),
            str(r["chunks"] or "-"),
        )
    out.print(table)
    out.print("[dim]'online only': no mirror copy exists; `policybot sync` fetches it from EUR-Lex when online.[/]")


def register(app: typer.Typer) -> None:
    """Add the corpus commands to the ``policybot`` app."""
    app.command()(sync)
    app.command()(index)
    app.command()(sources)
