"""The ``policybot`` command line.

Expected failures (a ``BotError``) print one line, ``Error: ...``, and the
help that goes with it, and exit 1. Set ``POLICYBOT_DEBUG=1`` to see the
traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .config import Settings, get_settings
from .errors import BotError, ConfigError, QuestionError
from .evaluate import KIND_METRICS

app = typer.Typer(
    name="policybot",
    help="A cited, offline-first assistant for EU tech-sovereignty policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

SourceOpt = Annotated[Optional[str], typer.Option("--source", "-s", help="Source id or alias, e.g. ai-act, 'chips act'")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Question language: en or nl (default: detected)")]
KOpt = Annotated[Optional[int], typer.Option("-k", help="How many retrieved units to answer from")]
ModeOpt = Annotated[Optional[str], typer.Option("--mode", help="auto, extractive or llm (default: POLICYBOT_ANSWER_MODE)")]


def settings() -> Settings:
    return get_settings()


LANGS = ("en", "nl")
MODES = ("auto", "extractive", "llm")


def check_options(lang: str | None = None, mode: str | None = None) -> None:
    """Refuse an unknown --lang or --mode with one line, before any work."""
    if lang is not None and lang not in LANGS:
        raise QuestionError(f"Unknown language {lang!r}.", help=f"Use --lang {' or --lang '.join(LANGS)} (or leave it out to detect it).")
    if mode is not None and mode not in MODES:
        raise ConfigError(f"Unknown answer mode {mode!r}.", help=f"Use --mode {', '.join(MODES)}.")


def check_question(question: str) -> str:
    """A question that is not valid text (bytes that are not UTF-8 reach us as lone surrogates) is refused."""
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QuestionError(
            f"The question is not valid UTF-8 text (a bad byte at character {exc.start + 1}).",
            help="Retype it, or set your terminal to UTF-8.",
        ) from None
    return question


class RichBar:
    """A rich progress bar behind the index's small progress interface."""

    def __init__(self, total: int, label: str) -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total)
        self.progress.start()

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def close(self) -> None:
        self.progress.stop()


# ----------------------------------------------------------------------------- config
@app.command()
def config(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Print the effective settings (secrets masked)."""
    data = settings().masked()
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    table = Table("setting", "value", title="policybot settings (env prefix POLICYBOT_)")
    for key, value in data.items():
        table.add_row(key, escape(str(value)))
    out.print(table)


# ----------------------------------------------------------------------------- corpus
@app.command()
def sync(
    source: SourceOpt = None,
    mirror: Annotated[Optional[Path], typer.Option("--mirror", help="A local mirror folder laid out like shared/corpus")] = None,
) -> None:
    """Fetch each official text (EUR-Lex, or a mirror folder) and keep new versions."""
    from .sources import load_manifest
    from .sync import SyncResult, sync as run_sync

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


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the collection and embed everything again")] = False,
) -> None:
    """Build or update the Chroma index from the current versions (incremental)."""
    from .index import build_index

    s = settings()
    report = build_index(
        s,
        rebuild=rebuild,
        progress=lambda total: RichBar(total, "Embedding"),
        warn=lambda msg: err.print(f"[yellow]warning[/] {escape(msg)}", soft_wrap=True),
    )
    out.print(
        f"Indexed {report.units:,} units as {report.chunks:,} chunks in [bold]{report.collection}[/]: "
        f"{report.added - report.reused:,} embedded, {report.reused:,} reused from the previous version, "
        f"{report.removed:,} removed, {report.seconds:.1f} s."
    )


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List the sources: language, version, date fetched, units, chunks."""
    from .embeddings import get_embedder
    from .index import current_state
    from .sources import load_manifest
    from .versions import VersionStore

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


# ----------------------------------------------------------------------------- answers
def render_answer(answer, show_trace: bool = False) -> None:  # type: ignore[no-untyped-def]
    style = "yellow" if answer.abstained else "bold"
    if answer.notice and not answer.abstained:
        err.print(f"[yellow]notice[/] {escape(answer.notice)}")
    out.print(f"[{style}]{escape(answer.text)}[/]")
    cites = answer.citations or answer.nearest
    if cites:
        out.print()
        out.print("[bold]Sources[/]" if answer.citations else "[bold]Nearest sources[/]")
    for c in cites:
        note = f" [dim]({escape(c.note)})[/]" if c.note else ""
        out.print(f" [{c.n}] [cyan]{escape(c.title.split(' — ')[0])}, {escape(c.ref)}[/]{note}")
        out.print(f"     [link={c.url}]{escape(c.url)}[/link]")
        quote = c.quote if len(c.quote) < 300 else c.quote[:297] + "…"
        out.print(f"     [dim]“{escape(quote)}”[/]")
    if answer.as_of:
        versions = ", ".join(f"{v.source} ({v.language}) {v.date or v.version}" for v in answer.as_of)
        out.print(f"[dim]mode: {answer.mode} · as of: {versions} · {answer.timings.get('total_ms', 0):.0f} ms[/]")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or Dutch")],
    source: SourceOpt = None,
    lang: LangOpt = None,
    k: KOpt = None,
    mode: ModeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON")] = False,
) -> None:
    """Answer one question with numbered citations."""
    from .assistant import Assistant

    check_options(lang, mode)
    check_question(question)
    assistant = Assistant(settings())
    streamed: list[str] = []

    def on_token(tok: str) -> None:
        if not as_json:
            streamed.append(tok)
            err.print(tok, end="", markup=False, highlight=False)

    answer = assistant.ask(question, source=source, lang=lang, k=k, mode=mode, on_token=on_token)
    if streamed:
        err.print()
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    render_answer(answer)


@app.command()
def chat(source: SourceOpt = None, lang: LangOpt = None, k: KOpt = None, mode: ModeOpt = None) -> None:
    """An interactive session; follow-up questions use the conversation. Ctrl-D to quit."""
    from .assistant import Assistant

    check_options(lang, mode)
    assistant = Assistant(settings())
    history: list[tuple[str, str]] = []
    out.print("[dim]policybot chat — ask in English or Dutch; empty line or Ctrl-D to quit.[/]")
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        if not question:
            break
        try:
            answer = assistant.ask(check_question(question), source=source, lang=lang, k=k, mode=mode, history=history[-4:])
        except BotError as exc:
            err.print(f"[red]Error:[/] {escape(exc.message)}")
            continue
        render_answer(answer)
        history.append((question, answer.text))


@app.command("eval")
def eval_cmd(
    questions: Annotated[Path, typer.Argument(help="A .jsonl question file (shared/eval format)")],
    k: Annotated[int, typer.Option("-k", help="Cut-off for hit@k and recall@k")] = 5,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write one result line per question")] = None,
    mode: ModeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Run a question file and print retrieval and answer metrics."""
    from .assistant import Assistant
    from .evaluate import load_questions, run_eval

    check_options(mode=mode)
    items = load_questions(questions)
    assistant = Assistant(settings())
    assistant.retriever  # load before timing
    bar = RichBar(len(items), "Evaluating")
    try:
        summary = run_eval(
            items,
            lambda q: assistant.ask_full(q.question, lang=q.lang, k=k, mode=mode),
            k=k,
            output=output,
            on_progress=lambda: bar.advance(1),
        )
    finally:
        bar.close()
    if as_json:
        print(json.dumps({k2: v for k2, v in summary.items() if k2 != "per_question"}, indent=2))
        return
    print_summary(summary, k, questions.name)


def print_summary(summary: dict, k: int, name: str) -> None:  # type: ignore[type-arg]
    table = Table("metric", "value", "n", title=f"{name}: {summary['questions']} questions, k={k}")
    labels = [
        ("evidence_hit", f"evidence hit@{k}"),
        ("ref_hit", f"reference hit@{k}"),
        ("ref_recall", f"reference recall@{k}"),
        ("mrr", "MRR@10"),
        ("citation_precision", "citation precision"),
        ("gold_cited", "answerable citing a gold unit"),
        ("must_include", "must-include recall"),
        ("abstained", "abstention on unanswerable"),
        ("false_abstention", "false abstention on answerable"),
    ]
    for key, label in labels:
        value = summary.get(key)
        table.add_row(label, "-" if value is None else f"{value:.3f}", str(summary.get(f"{key}_n", "")))
    if "latency_p50_ms" in summary:
        table.add_row("latency p50 / p95", f"{summary['latency_p50_ms']:.0f} / {summary['latency_p95_ms']:.0f} ms", "")
    out.print(table)
    kinds = summary.get("per_kind") or {}
    if len(kinds) > 1:
        cols = ["kind", "n", "ref hit", "cit. prec.", "gold cited", "must-incl.", "abstained", "false abst."]
        by_kind = Table(*cols, title="per kind")
        for kind, m in kinds.items():
            cells = ["-" if m.get(key) is None else f"{m[key]:.2f}" for key in KIND_METRICS]
            by_kind.add_row(kind, str(m["questions"]), *cells)
        out.print(by_kind)


# ----------------------------------------------------------------------------- slack
@app.command()
def slack(
    http: Annotated[bool, typer.Option("--http", help="HTTP mode (SLACK_SIGNING_SECRET) instead of Socket Mode")] = False,
    host: Annotated[str, typer.Option("--host", help="HTTP mode: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="HTTP mode: port to listen on")] = 3000,
) -> None:
    """Run the Slack bot (Socket Mode by default; --http behind a load balancer)."""
    from .slack.app import run_slack

    run_slack(settings(), http=http, host=host, port=port)


@app.command()
def feedback(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List the 👍/👎 feedback given in Slack."""
    from .slack.feedback import list_feedback
    from .staleness import current_unit_versions, stale_citations

    rows = list_feedback(settings())
    current = current_unit_versions(settings())
    for r in rows:
        cites = r.get("citations") or []
        r["changed_since"] = stale_citations(cites if isinstance(cites, list) else [], current)
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        out.print("No feedback yet.")
        return
    table = Table("when", "vote", "question", "answer", "user", "channel", "source changed since", title=f"Feedback ({len(rows)})")
    for r in rows:
        table.add_row(
            str(r.get("created_at", ""))[:16],
            "👍" if r.get("vote") in ("up", "+1", 1) else "👎",
            escape(str(r.get("question", ""))[:60]),
            escape(str(r.get("answer", ""))[:60]),
            str(r.get("user_id", "")),
            str(r.get("channel_id", "")),
            escape("; ".join(r["changed_since"])) or "-",
        )
    out.print(table)


# ----------------------------------------------------------------------------- tracking
from .tracking_cli import register as _register_tracking  # noqa: E402

_register_tracking(app)


# ----------------------------------------------------------------------------- entry
def main() -> None:
    try:
        app()
    except BotError as exc:
        if os.environ.get("POLICYBOT_DEBUG"):
            raise
        err.print(f"[red]Error:[/] {escape(exc.message)}", soft_wrap=True)
        if exc.help:
            err.print(f"[dim]{escape(exc.help)}[/]", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)


if __name__ == "__main__":
    main()
