"""The Slack digest: each change set posted to ``settings.digest_channel`` once, never twice.

Posted ids live in SQLite (``data_dir/tracking.sqlite``). A change set is
*claimed* (inserted) before it is posted and the claim is dropped if Slack
refuses the message, so two watchers running at once cannot both post it and
a failed post is retried on the next run.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..config import Settings
from ..errors import BotError, SlackConfigError
from .changes import ChangeSet, UnitChange

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
SNIPPET = 280


class DigestError(BotError):
    pass


@contextmanager
def _db(settings: Settings) -> Iterator[sqlite3.Connection]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(settings.data_dir / "tracking.sqlite", timeout=30, isolation_level=None)
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS posted (id TEXT PRIMARY KEY, channel TEXT, ts TEXT, posted_at REAL, state TEXT)"
        )
        yield con
    finally:
        con.close()


def posted_ids(settings: Settings) -> set[str]:
    with _db(settings) as con:
        return {row[0] for row in con.execute("SELECT id FROM posted WHERE state = 'posted'")}


def _claim(settings: Settings, cid: str, channel: str) -> bool:
    with _db(settings) as con:
        cur = con.execute(
            "INSERT OR IGNORE INTO posted (id, channel, posted_at, state) VALUES (?, ?, ?, 'posting')", (cid, channel, time.time())
        )
        return cur.rowcount == 1


def _finish(settings: Settings, cid: str, ts: str | None) -> None:
    with _db(settings) as con:
        if ts is None:
            con.execute("DELETE FROM posted WHERE id = ? AND state = 'posting'", (cid,))
        else:
            con.execute("UPDATE posted SET state = 'posted', ts = ?, posted_at = ? WHERE id = ?", (ts, time.time(), cid))


# -- the message --------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _snip(text: str | None, n: int = SNIPPET) -> str:
    text = " ".join((text or "").split())
    return _esc(text if len(text) <= n else text[: n - 1].rstrip() + "…")


def _unit_text(c: UnitChange) -> str:
    name = f"<{c.url}|{_esc(c.ref)}>" if c.url else _esc(c.ref)
    head = f"*{name}*" + (f" — {_esc(c.title)}" if c.title else "")
    if c.amended_by:
        head += f" _({_esc('; '.join(c.amended_by))})_"
    lines = [head]
    for b in c.blocks[:2]:
        if b.status == "changed":
            lines.append(f"~{_snip(b.old, 140)}~\n→ {_snip(b.new)}")
        elif b.status == "added" and c.status == "changed":
            lines.append(f"+ {_snip(b.new)}")
        elif b.status == "removed" and c.status == "changed":
            lines.append(f"− ~{_snip(b.old, 140)}~")
    if c.status == "added" and c.blocks:
        lines.append(f"+ {_snip(c.blocks[0].new)}")
    if c.status == "removed" and c.blocks:
        lines.append(f"− ~{_snip(c.blocks[0].old, 140)}~")
    if len(c.blocks) > 2 and c.status == "changed":
        lines.append(f"_… and {len(c.blocks) - 2} more changed passages_")
    return "\n".join(lines)


def digest_blocks(cs: ChangeSet) -> list[dict[str, Any]]:
    """Block Kit for one change set: a header, a summary, one section per unit (within Slack's limits)."""
    counts = cs.counts
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{cs.short or cs.source} changed"[:150]}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*{counts['changed']}* changed, *{counts['added']}* added, *{counts['removed']}* removed "
                    f"({', '.join(cs.kinds)} compared) between the {cs.old.edition} text ({cs.old.day}) and the "
                    f"{cs.new.edition} text ({cs.new.day})"
                    + (f", as amended by {_esc(cs.amending_act)}" if cs.amending_act else "")
                    + "."
                ),
            },
        },
    ]
    room = MAX_BLOCKS - len(blocks) - 1
    units = cs.changes
    for c in units[:room]:
        label = {"added": ":heavy_plus_sign:", "removed": ":heavy_minus_sign:", "changed": ":pencil2:"}[c.status]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"{label} {_unit_text(c)}"[:SECTION_LIMIT]}})
    rest = units[room:]
    footer = f"Change set `{cs.id}` · `policybot changes {cs.source}` shows every changed passage."
    if rest:
        footer = f"… and {len(rest)} more units: " + ", ".join(c.ref for c in rest)[:1500] + ". " + footer
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer[:SECTION_LIMIT]}]})
    return blocks


def digest_text(cs: ChangeSet) -> str:
    """The notification text (and the fallback for clients without blocks)."""
    return cs.headline()[:3000]


# -- posting ------------------------------------------------------------------------------------


def _client(settings: Settings) -> Any:
    from ..slack.app import make_client
    from ..slack.tokens import bot_token

    return make_client(settings, bot_token(settings))


def post_digest(settings: Settings, cs: ChangeSet, client: Any | None = None) -> str | None:
    """Post one change set unless it was posted before; returns the message ts, or None if skipped."""
    channel = settings.digest_channel
    if not channel:
        raise SlackConfigError(
            "POLICYBOT_DIGEST_CHANNEL is not set.", help="Set it to the channel id the digest goes to, e.g. C0123456789."
        )
    client = client or _client(settings)
    if not _claim(settings, cs.id, channel):
        return None
    ts: str | None = None
    try:
        resp = client.chat_postMessage(channel=channel, text=digest_text(cs), blocks=digest_blocks(cs), unfurl_links=False)
        ts = str(resp.get("ts") or "")
        return ts
    except Exception as exc:
        raise DigestError(f"Slack refused the digest for {cs.id}: {exc}", help="It will be posted on the next run.") from None
    finally:
        _finish(settings, cs.id, ts)


def post_digests(settings: Settings, sets: list[ChangeSet], client: Any | None = None) -> list[str]:
    """Post every change set not posted yet; returns the ids posted now."""
    done = posted_ids(settings)
    todo = [cs for cs in sets if cs.id not in done and cs.changes]
    if not todo:
        return []
    client = client or _client(settings)
    posted: list[str] = []
    for cs in todo:
        if post_digest(settings, cs, client) is not None:
            posted.append(cs.id)
    return posted
