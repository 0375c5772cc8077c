"""Parsers that turn official texts into :class:`~bot.models.Unit` objects.

    parse_text(path, fmt, source=..., language=..., url=...) -> list[Unit]

Formats: ``formex`` (OJ or consolidated Formex 4 XML: a package folder or one
file), ``eurlex-html`` (a EUR-Lex HTML page), ``markdown-articles`` (a folder
of one Markdown file per article/recital/annex, e.g. the Dutch AI Act),
``markdown-act`` (one cleaned Markdown file per act), ``markdown-article`` (a
non-legal article: ``intro`` plus one unit per ``##`` section). Bad input
raises :class:`~bot.errors.ParseError` naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import ParseError
from bot.models import Unit

FORMATS = ("formex", "eurlex-html", "markdown-articles", "markdown-act", "markdown-article")


def parse_text(path: Path, fmt: str, *, source: str, language: str, url: str) -> list[Unit]:
    """Parse the official text at ``path`` (file or folder) in format ``fmt`` into units."""
    path = Path(path)
    if fmt == "formex":
        from bot.parsing.formex import parse_formex as parse
    elif fmt == "eurlex-html":
        from bot.parsing.eurlex_html import parse_eurlex_html as parse
    elif fmt == "markdown-articles":
        from bot.parsing.markdown import parse_markdown_articles as parse
    elif fmt == "markdown-act":
        from bot.parsing.markdown import parse_markdown_act as parse
    elif fmt == "markdown-article":
        from bot.parsing.markdown import parse_markdown_article as parse
    else:
        raise ParseError(path, f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if not path.exists():
        raise ParseError(path, "no such file or folder")
    units = parse(path, source=source, language=language, url=url)
    if not units:
        raise ParseError(path, "no articles, recitals, annexes or sections found")
    return units


__all__ = ["FORMATS", "parse_text"]
