"""The tracking commands: ``brief``, ``timeline``, ``changes`` and ``watch``.

Errors are ``BotError``s: the CLI's ``main`` prints them as one line plus help.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..config import get_settings
from ..errors import BotError
from ..slack.app import make_client
from ..slack.tokens import bot_token
from ..sources import load_manifest
from ..tracking.change_views import render_ops, summary_lines, unit_diff_lines, unit_heading
from ..tracking.changes import change_sets
from ..tracking.timeline import before_text, format_date, load_timeline, parse_date, timeline_markdown, timeline_rows
from ..tracking.watch import parse_every, watch as run_watch
from .common import err, indented, out


def brief(
    source: Annotated[str, typer.Argument(help="Source id or alias, e.g. 'ai act', chipwet")],
    topic: Annotated[Optional[str], typer.Option("--topic", help="Narrow the briefing, e.g. banking")] = None,
    fmt: Annotated[str, typer.Option("--format", help="rich (default), md or json")] = "rich",
    lang: Annotated[str, typer.Option("--lang", help="Language of the briefing's headings and dates: en or nl")] = "en",
) -> None:
    """A one-screen briefing on a source: what changed, what falls due, what it requires; every line cited."""
    # heavy (the briefing retrieves: Chroma, numpy, openai, ~1 s); every other command starts without them
    from ..assistant import Assistant
    from ..tracking.briefing import build_briefing, render_markdown, render_rich

    if fmt not in ("rich", "md", "json"):
        raise BotError(f"Unknown format {fmt!r}.", help="Use --format rich, md or json.")
    if lang not in ("en", "nl"):
        raise BotError(f"Unknown language {lang!r}.", help="Use --lang en or --lang nl.")
    assistant = Assistant(get_settings())
    assistant.manifest.resolve(source)  # unknown source: the list of sources and aliases
    b = build_briefing(assistant, source, topic=topic, language=lang)
    if fmt == "md":
        print(render_markdown(b))
    elif fmt == "json":
        print(b.model_dump_json(indent=2))
    else:
        out.print(render_rich(b), highlight=False, soft_wrap=True)  # links stay whole at any width


def timeline(
    source: Annotated[Optional[str], typer.Argument(help="Source id or alias (default: all)")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="A date: 2026-03-01 or '1 March 2026'")] = None,
    between: Annotated[Optional[tuple[str, str]], typer.Option("--between", help="Two dates: only what falls between them")] = None,
    history: Annotated[bool, typer.Option("--history/--no-history", help="Show dates an amendment removed")] = True,
    fmt: Annotated[str, typer.Option("--format", help="rich (default), md or json")] = "rich",
) -> None:
    """Every dated provision: when it applies, falls due or ends, read from the texts."""
    if fmt not in ("rich", "md", "json"):
        raise BotError(f"Unknown format {fmt!r}.", help="Use --format rich, md or json.")
    s = get_settings()
    manifest = load_manifest(s.manifest_path)
    sid = manifest.resolve(source).id if source else None
    day = parse_date(as_of) if as_of else None
    span = (parse_date(between[0]), parse_date(between[1])) if between else None
    if span and span[0] > span[1]:
        raise BotError(f"--between {between[0]} {between[1]}: the first date is after the second.",  # type: ignore[index]
                       help="Give the earlier date first, e.g. --between 2026-01-01 2026-12-31.")
    tl = load_timeline(s, manifest)
    rows = timeline_rows(tl, sid, day, history, between=span)
    if fmt == "json":
        print(json.dumps([{"state": st, **e.model_dump(mode="json", exclude={"targets", "excepted"})} for st, e in rows],
                         indent=2, ensure_ascii=False))
        return
    if fmt == "md":
        print(timeline_markdown(tl, sid, day, between=span))
        return
    if not rows:
        if span:
            out.print(f"Nothing dated between {format_date(span[0])} and {format_date(span[1])}.")
            return
        raise BotError("No dates found.", help="Sync the texts first: `policybot sync`.")
    styles = {"in force": "green", "passed": "green", "upcoming": "yellow", "current": "bold", "history": "dim strike"}
    for state, e in rows:
        c = e.citation
        extra = f" [dim](removed by {escape(e.amended_by)})[/]" if state == "history" and e.amended_by else ""
        out.print(f"[{styles[state]}]{format_date(e.date):>18}[/]  [cyan]{escape(e.source_short)}, {escape(c.ref)}[/] "
                  f"[dim]{state} · {e.kind}[/]{extra}")
        lines = [escape(e.summary()), f"[dim]“{escape(c.quote)}”[/]"]
        lines += [f"[dim]({escape(e.computed)})[/]"] if e.computed else []
        lines += [f"[dim]{escape(before_text(e))}: “{escape(e.before.citation.quote)}”[/]"] if e.before is not None else []
        for line in lines:
            indented(line, 20)


def changes(
    source: Annotated[Optional[str], typer.Argument(help="Source id or alias (default: all)")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only change sets whose newer text is dated on/after this date")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the change sets as JSON")] = False,
    full: Annotated[bool, typer.Option("--full", help="Print every changed passage in full")] = False,
) -> None:
    """Units added, removed or changed between consecutive versions of each text."""
    s = get_settings()
    sets = change_sets(s, source, since=parse_date(since) if since else None)
    if as_json:
        print(json.dumps([cs.model_dump(mode="json") for cs in sets], indent=2, ensure_ascii=False))
        return
    if not sets:
        why = f"none whose newer text is dated on or after {since}" if since else "every text has a single version (or none is synced)"
        out.print(f"No change sets: {why}.")
        return
    width = min(out.size.width, 100)
    for cs in sets:
        for i, line in enumerate(summary_lines(cs, width=width)):
            out.print(f"[bold]{escape(line)}[/]" if i == 0 else escape(line), highlight=False, soft_wrap=True)
        out.print(f"[dim]id {cs.id}{'' if full else ' · --full prints every changed passage whole'}[/]")
        out.print()
        for c in cs.changes:
            mark = {"added": "[green]+[/]", "removed": "[red]-[/]", "changed": "[yellow]~[/]"}[c.status]
            out.print(f"{mark} [bold]{escape(unit_heading(c))}[/]", highlight=False)
            rows = unit_diff_lines(c, full=full)
            shown = rows if full or c.status == "changed" else rows[:1]
            for status, ref, ops in shown:
                if out.is_terminal:
                    text = render_ops(ops, lambda t: f"[red strike]{escape(t)}[/]", lambda t: f"[green bold]{escape(t)}[/]", escape)
                else:
                    text = escape(render_ops(ops, lambda t: f"[-{t}-]", lambda t: f"{{+{t}+}}"))
                indented(f"[dim]{escape(ref)}:[/] {text}", 4)
            if len(shown) < len(rows):
                indented(f"[dim]… {len(rows) - len(shown)} more passages (--full)[/]", 4)
        out.print()


def watch(
    every: Annotated[str, typer.Option("--every", help="Interval: 6h, 30m, 1d")] = "6h",
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit")] = False,
    mirror: Annotated[Optional[Path], typer.Option("--mirror", help="Sync from a local mirror folder")] = None,
) -> None:
    """Sync on a schedule, then index, then post new change sets to POLICYBOT_DIGEST_CHANNEL."""
    seconds = parse_every(every)
    s = get_settings()
    run_watch(s, every=seconds, once=once, mirror=mirror, log=lambda m: err.print(f"[dim]watch[/] {escape(m)}"),
              client_factory=lambda: make_client(s, bot_token(s)))


def register(app: typer.Typer) -> None:
    """Add the tracking commands to the ``policybot`` app."""
    app.command()(brief)
    app.command()(timeline)
    app.command()(changes)
    app.command()(watch)
