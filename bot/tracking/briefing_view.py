"""A briefing's data (:class:`Briefing`: sections of cited lines) and its renderers.

:func:`render_rich` (CLI), :func:`render_markdown`, :func:`render_mrkdwn` and
:func:`briefing_blocks` (Slack Block Kit). Links are printed whole (never an
empty link line, never a URL cut by wrapping): the CLI gives each citation as
a numbered source line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..models import Citation, SourceVersion

NOTHING_YET = "Nothing indexed for this source yet: run `policybot sync` and `policybot index`."


class BriefLine(BaseModel):
    label: str = Field(..., description="What the line is about, e.g. 'Bans' or '2 August 2027 — deadline'")
    quote: str
    citation: Citation
    applies: str = Field("", description="From when the cited provision applies: 'applies since 2 February 2025'")


class BriefSection(BaseModel):
    title: str
    lines: list[BriefLine] = Field(default_factory=list)


class Briefing(BaseModel):
    source: str
    short: str
    title: str
    kind: str
    date: str = ""
    url: str = ""
    author: str = ""
    publisher: str = ""
    amended_by: list[str] = Field(default_factory=list, description="Display names: 'Regulation (EU) 2026/1744'")
    language: str = "en"
    contents: list[str] = Field(default_factory=list, description="Chapters and annexes, one line each (not quotes)")
    topic: str | None = None
    sections: list[BriefSection] = Field(default_factory=list)
    as_of: list[SourceVersion] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def citations(self) -> list[Citation]:
        return [line.citation for s in self.sections for line in s.lines]


# -- renderers ----------------------------------------------------------------------------------


def _header_lines(b: Briefing) -> list[str]:
    meta = [b.kind]
    if b.date:
        meta.append(b.date)
    if b.author:
        meta.append(b.author)
    if b.amended_by:
        meta.append("amended by " + ", ".join(b.amended_by))
    return [b.title, " · ".join(meta)]


def render_markdown(b: Briefing) -> str:
    out = [f"# Briefing: {b.short}" + (f" — {b.topic}" if b.topic else ""), "", *(f"{x}  " for x in _header_lines(b))]
    if b.url:
        out.append(f"[Official text]({b.url})")
    for s in b.sections:
        out += ["", f"## {s.title}", ""]
        out += [f"- **{line.label}**: “{line.quote}” [{line.citation.n}]" + (f" _({line.applies})_" if line.applies else "")
                for line in s.lines]
    if b.citations:
        out += ["", "## Sources", ""]
        out += [f"{c.n}. " + (f"[{c.title.split(' — ')[0]}, {c.ref}]({c.url})" if c.url else f"{c.title.split(' — ')[0]}, {c.ref}")
                + (f" ({c.note})" if c.note else "") for c in b.citations]
    if b.contents:
        out += ["", "## Contents", "", *(f"- {line}" for line in b.contents)]
    if not b.sections:
        out += ["", NOTHING_YET]
    if b.as_of:
        out += ["", "_As of: " + ", ".join(f"{b.short} ({v.language}) {v.date or v.version}" for v in b.as_of) + "_"]
    return "\n".join(out)


def _rich_escape(text: str) -> str:
    return text.replace("[", "\\[")


def render_rich(b: Briefing) -> str:
    """Rich console markup for ``policybot brief``."""
    out = [f"[bold]{_rich_escape(b.short)}[/]" + (f" — [italic]{_rich_escape(b.topic)}[/]" if b.topic else "")]
    out += [f"[dim]{_rich_escape(x)}[/]" for x in _header_lines(b)]
    if b.url:
        out.append(f"[link={b.url}]{_rich_escape(b.url)}[/link]")
    for s in b.sections:
        out += ["", f"[bold underline]{_rich_escape(s.title)}[/]"]
        for line in s.lines:
            c = line.citation
            when = f" · {_rich_escape(line.applies)}" if line.applies else ""
            out.append(f" • [cyan]{_rich_escape(line.label)}[/] “{_rich_escape(line.quote)}” [dim]\\[{c.n}] {_rich_escape(c.ref)}{when}[/]")
    if b.contents:
        out += ["", "[dim]" + _rich_escape(" · ".join(b.contents)) + "[/]"]
    if not b.sections:
        out += ["", _rich_escape(NOTHING_YET)]
    if b.as_of:
        out += ["", "[dim]as of: " + ", ".join(f"{b.short} ({v.language}) {v.date or v.version}" for v in b.as_of) + f" · {b.seconds * 1000:.0f} ms[/]"]
    return "\n".join(out)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn_line(line: BriefLine) -> str:
    c = line.citation
    ref = f"<{c.url}|{_esc(c.ref)}>" if c.url else _esc(c.ref)
    when = f" _{_esc(line.applies)}_" if line.applies else ""
    return f"• *{_esc(line.label)}*: “{_esc(line.quote)}” ({ref}){when}"


def render_mrkdwn(b: Briefing) -> str:
    """Slack mrkdwn (what ``/policy brief`` returns; the listener splits it into sections)."""
    name = f"<{b.url}|{_esc(b.short)}>" if b.url else _esc(b.short)
    out = [f"*Briefing: {name}*" + (f" — _{_esc(b.topic)}_" if b.topic else ""), "_" + _esc(" · ".join(_header_lines(b))) + "_"]
    for s in b.sections:
        out += ["", f"*{_esc(s.title)}*", *(_mrkdwn_line(line) for line in s.lines)]
    if not b.sections:
        out += ["", NOTHING_YET]
    return "\n".join(out)


def briefing_blocks(b: Briefing, *, section_limit: int = 3000, max_blocks: int = 50) -> list[dict[str, Any]]:
    """Block Kit: a header, the identification, then each section split to fit 3,000 chars, at most 50 blocks."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Briefing: {b.short}"[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(" · ".join(_header_lines(b)))[:section_limit]}]},
    ]
    for s in b.sections:
        chunk = f"*{_esc(s.title)}*"
        for line in s.lines:
            text = _mrkdwn_line(line)[: section_limit - 1]
            if len(chunk) + 1 + len(text) > section_limit:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = text
            else:
                chunk += "\n" + text
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if len(blocks) > max_blocks:
        blocks = blocks[: max_blocks - 1] + [{"type": "context", "elements": [{"type": "mrkdwn", "text": "_… shortened to fit in Slack_"}]}]
    return blocks
