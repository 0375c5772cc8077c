"""A direct message: answered in the DM (in its thread, with history, when it is in one).

Threads in the bot's DM are also where Slack's assistant threads live, so the
assistant status is tried there first.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from ..answering import Place, answer_in_slack
from ..context import SlackContext
from ..history import clean_question
from .common import ack_now


def is_dm(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" and event.get("subtype") is None and not event.get("bot_id")


def register(app: App, ctx: SlackContext) -> None:
    def answer(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        thread_ts = event.get("thread_ts")
        place = Place(
            channel=event["channel"], user=event.get("user"), message_ts=event.get("ts"),
            thread_ts=thread_ts, event_id=body.get("event_id"), history=bool(thread_ts), assistant=bool(thread_ts),
        )
        answer_in_slack(ctx, client, place, clean_question(event.get("text", "")))

    app.event("message", matchers=[is_dm])(ack=ack_now, lazy=[answer])
