"""Global middleware: drop Slack's re-deliveries and every message written by a bot.

A re-delivery is dropped while its event is being answered or once it was
answered; an event whose answer could not be delivered is released (see
:mod:`.dedupe`), so Slack's next delivery of it is answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from .context import SlackContext

log = logging.getLogger(__name__)


def is_bot_event(body: dict[str, Any]) -> bool:
    event = body.get("event") or {}
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def make_dedupe(ctx: SlackContext) -> Callable[..., BoltResponse | None]:
    def dedupe(body: dict[str, Any], request: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and ctx.deduper and not ctx.deduper.claim(event_id):
            retry = request.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("event %s delivered again (retry %s): answered or being answered", event_id, retry)
            return BoltResponse(status=200, body="")
        return next()

    return dedupe


def ignore_bots(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
    if is_bot_event(body):
        return BoltResponse(status=200, body="")
    return next()
