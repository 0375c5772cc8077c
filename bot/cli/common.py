"""What the command groups share: the consoles, option types, input checks and a progress bar."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from ..config import Settings, get_settings
from ..errors import ConfigError, QuestionError

out = Console()
err = Console(stderr=True)

SourceOpt = Annotated[Optional[str], typer.Option("--source", "-s", help="Source id or alias, e.g. ai-act, 'chips act'")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Question language: en or nl (default: detected)")]
KOpt = Annotated[Optional[int], typer.Option("-k", help="How many retrieved units to answer from")]
ModeOpt = Annotated[Optional[str], typer.Option("--mode", help="auto, extractive or llm (default: POLICYBOT_ANSWER_MODE)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]

LANGS = ("en", "nl")
MODES = ("auto", "extractive", "llm")


def settings() -> Settings:
    return get_settings()


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


def indented(markup: str, indent: int) -> None:
    """Print rich markup wrapped to the console width, every line indented, no trailing spaces."""
    for part in Text.from_markup(markup).wrap(out, max(20, out.size.width - indent)):
        part.rstrip()
        out.print(Text(" " * indent) + part, highlight=False, soft_wrap=True)


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
