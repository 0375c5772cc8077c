"""The ``config`` command: the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from .common import JsonOpt, out, settings


def config(as_json: JsonOpt = False) -> None:
    """Print the effective settings (secrets masked)."""
    data = settings().masked()
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    table = Table("setting", "value", title="policybot settings (env prefix POLICYBOT_)")
    for key, value in data.items():
        table.add_row(key, escape(str(value)))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``config`` to the ``policybot`` app."""
    app.command()(config)
