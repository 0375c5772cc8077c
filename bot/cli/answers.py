"""The answer commands: ``ask``, ``chat`` and ``eval``.

``Assistant`` and ``bot.evaluate`` load Chroma, numpy and the OpenAI client
(about 1 s), so they are imported inside the commands that use them: the
other commands (``timeline``, ``changes``, ``config``, ``--help``) start
without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import BotError
from .common import KOpt, LangOpt, ModeOpt, RichBar, SourceOpt, check_options, check_question, err, out, settings

if TYPE_CHECKING:
    from ..models import Answer


def render_answer(answer: Answer, show_trace: bool = False) -> None:
    style = "yellow" if answer.abstained else "bold"
    if answer.notice and not answer.abstained:
        err.print(f"[yellow]notice[/] {escape(answer.notice)}")
    out.print(f"[{style}]{escape(answer.text)}[/]")
    cites = answer.citations or answer.nearest
    if cites:
        out.print()
        out.print("[bold]Sources[/]" if answer.citations else "[bold]Nearest sources[/]")
    shown = " ".join(answer.text.split())
    for c in cites:
        note = f" [dim]({escape(c.note)})[/]" if c.note else ""
        out.print(f" [{c.n}] [cyan]{escape(c.title.split(' — ')[0])}, {escape(c.ref)}[/]{note}")
        if c.url:  # unwrapped, so that a long link is never broken in the middle
            out.print(f"     [link={c.url}]{escape(c.url)}[/link]", soft_wrap=True)
        if " ".join(c.quote.split()) not in shown:  # each quote is shown once: the answer may quote it already
            quote = c.quote if len(c.quote) < 300 else c.quote[:297] + "…"
            out.print(f"     [dim]“{escape(quote)}”[/]")
    if answer.as_of:
        versions = ", ".join(f"{v.source} ({v.language}) {v.date or v.version}" for v in answer.as_of)
        out.print(f"[dim]mode: {answer.mode} · as of: {versions} · {answer.timings.get('total_ms', 0):.0f} ms[/]")


def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or Dutch")],
    source: SourceOpt = None,
    lang: LangOpt = None,
    k: KOpt = None,
    mode: ModeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON")] = False,
) -> None:
    """Answer one question with numbered citations."""
    from ..desk import Desk  # heavy: see the module docstring

    check_options(lang, mode)
    check_question(question)
    assistant = Desk(settings())
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


def chat(source: SourceOpt = None, lang: LangOpt = None, k: KOpt = None, mode: ModeOpt = None) -> None:
    """An interactive session; follow-up questions use the conversation. Ctrl-D to quit."""
    from ..desk import Desk  # heavy: see the module docstring

    check_options(lang, mode)
    assistant = Desk(settings())
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


def eval_cmd(
    questions: Annotated[Path, typer.Argument(help="A .jsonl question file (shared/eval format)")],
    k: Annotated[int, typer.Option("-k", help="Cut-off for hit@k and recall@k")] = 5,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write one result line per question")] = None,
    mode: ModeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Run a question file and print retrieval and answer metrics."""
    # heavy: see the module docstring
    from ..desk import Desk
    from ..evaluate import KIND_METRICS, load_questions, run_eval

    check_options(mode=mode)
    items = load_questions(questions)
    assistant = Desk(settings())
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
    print_summary(summary, k, questions.name, KIND_METRICS)


def print_summary(summary: dict, k: int, name: str, kind_metrics: tuple[str, ...]) -> None:  # type: ignore[type-arg]
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
            cells = ["-" if m.get(key) is None else f"{m[key]:.2f}" for key in kind_metrics]
            by_kind.add_row(kind, str(m["questions"]), *cells)
        out.print(by_kind)


def register(app: typer.Typer) -> None:
    """Add the answer commands to the ``policybot`` app."""
    app.command()(ask)
    app.command()(chat)
    app.command("eval")(eval_cmd)
