"""The ``policybot`` command line: one typer app, a module per command group.

``corpus`` (sync, index, sources), ``answers`` (ask, chat, eval), ``slack``
(slack, feedback), ``tracking`` (brief, timeline, changes, watch) and ``ops``
(config); ``common`` holds what they share.

Expected failures (a ``BotError``) print one line, ``Error: ...``, and the
help that goes with it, and exit 1. Set ``POLICYBOT_DEBUG=1`` to see the
traceback instead.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape

from ..errors import BotError
from . import answers, corpus, ops, slack, tracking
from .common import err

__all__ = ["app", "main"]

app = typer.Typer(
    name="policybot",
    help="A cited, offline-first assistant for EU tech-sovereignty policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (ops, corpus, answers, slack, tracking):  # the order of `policybot --help`
    group.register(app)


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
