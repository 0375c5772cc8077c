"""Readable change sets: a one-screen summary, then the words that differ.

:func:`summary_lines` gives the counts and the units changed, inserted and deleted,
grouped by the point of the amending act that changes them ("(12) Article 26"), wrapped
to a width (≤ 40 lines at 100 columns for Regulation (EU) 2026/1744's 45 units).
:func:`word_diff` compares two wordings word by word (:mod:`difflib`); :func:`diff_excerpt`
keeps every difference with a few words around it, so nothing that differs is ever cut.
Renderers mark the differences as ``[-old-]{+new+}`` (plain text), strike/bold (mrkdwn) or
red/green (rich).
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Callable

from ..text import clean_title, group_digits
from .changes import ChangeSet, UnitChange

Op = tuple[str, str]  # ("=", words) | ("-", removed words) | ("+", inserted words)
CONTEXT_WORDS = 8


def word_diff(old: str, new: str) -> list[Op]:
    """The two wordings as runs of equal, removed and inserted words."""
    a, b = old.split(), new.split()
    out: list[Op] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(b[j1:j2])))
    return out


def diff_excerpt(ops: list[Op], context: int = CONTEXT_WORDS) -> list[Op]:
    """``ops`` with long equal runs shortened to ``context`` words each side of a difference ('…' between)."""
    out: list[Op] = []
    for i, (op, text) in enumerate(ops):
        if op != "=":
            out.append((op, text))
            continue
        words = text.split()
        first, last = i == 0, i == len(ops) - 1
        if len(words) <= 2 * context + 1 or (first and len(words) <= context) or (last and len(words) <= context):
            out.append((op, text))
        elif first:
            out.append(("=", "… " + " ".join(words[-context:])))
        elif last:
            out.append(("=", " ".join(words[:context]) + " …"))
        else:
            out.append(("=", " ".join(words[:context]) + " … " + " ".join(words[-context:])))
    return out


def render_ops(ops: list[Op], removed: Callable[[str], str], inserted: Callable[[str], str],
               same: Callable[[str], str] = lambda s: s) -> str:
    parts = [same(t) if op == "=" else removed(t) if op == "-" else inserted(t) for op, t in ops]
    return " ".join(p for p in parts if p)


def plain_diff(old: str, new: str, full: bool = False) -> str:
    """'… the AI Office [-shall-]{+may+} …': the differences marked, for plain text and tests."""
    ops = word_diff(old, new)
    return render_ops(ops if full else diff_excerpt(ops), lambda t: f"[-{t}-]", lambda t: f"{{+{t}+}}")


def _points(c: UnitChange) -> list[str]:
    """'Regulation (EU) 2026/1744, Article 1, point (12)' -> '(12)'."""
    out = []
    for p in c.amended_by:
        m = re.search(r"point \((\d+[a-z]*)\)", p)
        out.append(f"({m[1]})" if m else p)
    return out


def _sort_key(c: UnitChange) -> tuple[int, str]:
    pts = _points(c)
    m = re.match(r"\((\d+)", pts[0]) if pts else None
    return (int(m[1]) if m else 10_000, c.unit)


STATUS_WORDS = {"changed": "Changed", "added": "Inserted", "removed": "Deleted"}


def unit_label(c: UnitChange) -> str:
    return c.ref


def summary_lines(cs: ChangeSet, width: int = 100) -> list[str]:
    """The change set on one screen: counts, then the units by status, each with the amending act's point(s)."""
    counts = cs.counts
    head = f"{cs.short or cs.source} ({cs.language}): {cs.old.edition} ({cs.old.day}) → {cs.new.edition} ({cs.new.day})"
    out = textwrap.wrap(head, width)
    if cs.amending_act:
        arts = {m[1] for c in cs.changes for p in c.amended_by if (m := re.search(r", (Article \d+\w*), point", p))}
        where = f"{' and '.join(sorted(arts))} of {cs.amending_act}" if arts else cs.amending_act
        out += textwrap.wrap(f"(n): the point of {where} that makes the change.", width)
    out.append(f"{counts['changed']} changed, {counts['added']} inserted, {counts['removed']} deleted "
               f"(compared: {', '.join(cs.kinds)}).")
    for status in ("changed", "added", "removed"):
        units = sorted(cs.of_status(status), key=_sort_key)  # type: ignore[arg-type]
        if not units:
            continue
        items = [f"{' '.join(_points(c))} {unit_label(c)}".strip().replace(" ", "\u00a0") for c in units]
        body = " · ".join(items)
        out.append(f"{STATUS_WORDS[status]} ({len(units)}):")
        wrapped = textwrap.wrap(body, width=width, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
        out += [line.replace("\u00a0", " ") for line in wrapped]
    return out


def unit_diff_lines(c: UnitChange, full: bool = False) -> list[tuple[str, str, list[Op]]]:
    """Per block of a changed unit: (status, block ref, word-diff ops); additions and removals as one op."""
    out: list[tuple[str, str, list[Op]]] = []
    for b in c.blocks:
        if b.status == "changed" and b.old is not None and b.new is not None:
            ops = word_diff(group_digits(b.old), group_digits(b.new))
            out.append(("changed", b.ref, ops if full else diff_excerpt(ops)))
        elif b.new is not None:
            out.append(("added", b.ref, [("+", group_digits(b.new))]))
        elif b.old is not None:
            out.append(("removed", b.ref, [("-", group_digits(b.old))]))
    return out


def unit_heading(c: UnitChange) -> str:
    title = clean_title(c.title)
    pts = " ".join(_points(c))
    return f"{c.ref}{' — ' + title if title else ''}{' ' + pts if pts else ''}"
