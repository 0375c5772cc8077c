"""The Slack digest: each change set posted to ``settings.digest_channel`` once, never twice.

Posted ids live in the state database (table ``digest_posted``: POLICYBOT_DATABASE_URL,
or unset ``data_dir/tracking.sqlite``). A change set is *claimed* (inserted) before
it is posted and the claim is dropped if Slack refuses the message, so two
watchers running at once (also on two machines sharing the database) cannot both
post it and a failed post is retried on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import delete, select, update

from ..config import Settings
from ..errors import BotError, SlackConfigError
from ..state import DB_ERRORS, StateDB, StoreError, open_state, reason
from ..state.ops import insert_ignore
from ..state.schema import digest_posted as T
from .applies import provision_dates
from .build import load_timeline
from .change_views import STATUS_WORDS, _points, _sort_key
from .changes import ChangeSet, UnitChange
from .entries import Timeline

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
DIGEST_DB = "tracking.sqlite"


class DigestError(BotError):
    pass


def _db(settings: Settings) -> StateDB:
    return open_state(settings.database_url, settings.data_dir / DIGEST_DB)


def posted_ids(settings: Settings) -> set[str]:
    db = _db(settings)
    try:
        with db.engine.connect() as conn:
            return set(conn.execute(select(T.c.id).where(T.c.state == "posted")).scalars())
    except DB_ERRORS as exc:
        raise StoreError(f"{db.label} cannot be read: {reason(exc)}.") from None


def _claim(settings: Settings, cid: str, channel: str) -> bool:
    """True when this process may post ``cid``: one atomic insert-if-absent, so of two watchers only one wins."""
    db = _db(settings)
    try:
        with db.engine.begin() as conn:
            return insert_ignore(conn, T, {"id": cid, "channel": channel, "posted_at": time.time(), "state": "posting"})
    except DB_ERRORS as exc:
        raise StoreError(f"{db.label} cannot be written: {reason(exc)}.") from None


def _finish(settings: Settings, cid: str, ts: str | None) -> None:
    db = _db(settings)
    try:
        with db.engine.begin() as conn:
            if ts is None:
                conn.execute(delete(T).where(T.c.id == cid, T.c.state == "posting"))
            else:
                conn.execute(update(T).where(T.c.id == cid).values(state="posted", ts=ts, posted_at=time.time()))
    except DB_ERRORS as exc:
        raise StoreError(f"{db.label} cannot be written: {reason(exc)}.") from None


# -- the message --------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _items(units: list[UnitChange]) -> str:
    return " · ".join(f"{' '.join(_points(c))} {c.ref}".strip() for c in sorted(units, key=_sort_key))


def _dates_text(cs: ChangeSet, timeline: Timeline | None, day: date | None) -> str:
    """The changed units grouped by the date from which they apply (the timeline's dates)."""
    if timeline is None:
        return ""
    groups: dict[str, list[str]] = {}
    for c in sorted(cs.changes, key=_sort_key):
        if c.status == "removed":
            continue
        label = provision_dates(cs.source, c.unit, day=day, timeline=timeline).label()
        if label:
            groups.setdefault(label, []).append(c.ref)
    return "\n".join(f"*{_esc(label[0].upper() + label[1:])}:* {_esc(' · '.join(refs))}" for label, refs in groups.items())


def digest_blocks(cs: ChangeSet, timeline: Timeline | None = None, day: date | None = None) -> list[dict[str, Any]]:
    """Block Kit for one change set, in summary form: counts, the units by status with the amending act's
    points, and (with ``timeline``) the date from which each applies."""
    counts = cs.counts
    intro = (f"*{counts['changed']}* changed, *{counts['added']}* inserted, *{counts['removed']}* deleted "
             f"({', '.join(cs.kinds)} compared) between the {cs.old.edition} text ({cs.old.day}) and the "
             f"{cs.new.edition} text ({cs.new.day})" + (f", as amended by {_esc(cs.amending_act)}" if cs.amending_act else "") + ".")
    if cs.amending_act:
        intro += " _(n)_ is the point of the amending act that makes the change."
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{cs.short or cs.source} changed"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": intro[:SECTION_LIMIT]}},
    ]
    for status, word in STATUS_WORDS.items():
        units = cs.of_status(status)  # type: ignore[arg-type]
        if units:
            text = f"*{word} ({len(units)}):* {_esc(_items(units))}"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}})
    dates = _dates_text(cs, timeline, day)
    if dates:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": dates[:SECTION_LIMIT]}})
    footer = f"Change set `{cs.id}` · `policybot changes {cs.source}` shows the words that differ."
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer[:SECTION_LIMIT]}]})
    return blocks[:MAX_BLOCKS]


def digest_text(cs: ChangeSet) -> str:
    """The notification text (and the fallback for clients without blocks)."""
    return cs.headline()[:3000]


# -- posting ------------------------------------------------------------------------------------


#: Makes the Slack Web API client when there is something to post; the front end (CLI, Slack app) gives it.
ClientFactory = Callable[[], Any]


def _client(client: Any | None, factory: ClientFactory | None) -> Any:
    if client is not None:
        return client
    if factory is None:
        raise SlackConfigError("No Slack client to post the digest with.",
                               help="Run `policybot watch`, which connects to Slack with SLACK_BOT_TOKEN.")
    return factory()


def post_digest(settings: Settings, cs: ChangeSet, client: Any | None = None, *,
                client_factory: ClientFactory | None = None, timeline: Timeline | None = None) -> str | None:
    """Post one change set unless it was posted before; returns the message ts, or None if skipped."""
    channel = settings.digest_channel
    if not channel:
        raise SlackConfigError(
            "POLICYBOT_DIGEST_CHANNEL is not set.", help="Set it to the channel id the digest goes to, e.g. C0123456789."
        )
    client = _client(client, client_factory)
    if not _claim(settings, cs.id, channel):
        return None
    ts: str | None = None
    try:
        resp = client.chat_postMessage(channel=channel, text=digest_text(cs), blocks=digest_blocks(cs, timeline), unfurl_links=False)
        ts = str(resp.get("ts") or "")
        return ts
    except Exception as exc:
        raise DigestError(f"Slack refused the digest for {cs.id}: {exc}", help="It will be posted on the next run.") from None
    finally:
        _finish(settings, cs.id, ts)


def post_digests(settings: Settings, sets: list[ChangeSet], client: Any | None = None, *,
                 client_factory: ClientFactory | None = None) -> list[str]:
    """Post every change set not posted yet; returns the ids posted now."""
    done = posted_ids(settings)
    todo = [cs for cs in sets if cs.id not in done and cs.changes]
    if not todo:
        return []
    client = _client(client, client_factory)
    try:
        timeline: Timeline | None = load_timeline(settings)
    except BotError:
        timeline = None
    posted: list[str] = []
    for cs in todo:
        if post_digest(settings, cs, client, timeline=timeline) is not None:
            posted.append(cs.id)
    return posted
