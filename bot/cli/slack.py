"""The Slack commands: ``slack`` runs the bot, ``feedback`` lists the votes given in it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..slack.app import run_slack
from ..slack.feedback import list_feedback
from .common import JsonOpt, out, settings


def slack(
    http: Annotated[bool, typer.Option("--http", help="HTTP mode (SLACK_SIGNING_SECRET) instead of Socket Mode")] = False,
    host: Annotated[str, typer.Option("--host", help="HTTP mode: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="HTTP mode: port to listen on")] = 3000,
) -> None:
    """Run the Slack bot (Socket Mode by default; --http behind a load balancer)."""
    run_slack(settings(), http=http, host=host, port=port)


def feedback(as_json: JsonOpt = False) -> None:
    """List the 👍/👎 feedback given in Slack."""
    # heavy (it reads the index snapshot: Chroma, numpy, openai, ~1 s); every other command starts without it
    from ..staleness import current_unit_versions, stale_citations

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


def register(app: typer.Typer) -> None:
    """Add the Slack commands to the ``policybot`` app."""
    app.command()(slack)
    app.command()(feedback)
