"""A plain reply in a channel thread the bot answered in: a follow-up, answered with the thread's history.

Replies that @mention the bot are left to the app_mention listener, so one
message never gets two answers.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from ..answering import Place, answer_in_slack
from ..context import SlackContext
from ..history import clean_question
from .common import ack_now, mentions


def register(app: App, ctx: SlackContext) -> None:
    def is_followup(event: dict[str, Any]) -> bool:
        thread_ts = event.get("thread_ts")
        return (
            event.get("channel_type") in ("channel", "group")
            and event.get("subtype") is None
            and not event.get("bot_id")
            and bool(thread_ts)
            and thread_ts != event.get("ts")
            and not mentions(event.get("text", ""), ctx.bot_user_id)
            and ctx.threads is not None
            and ctx.threads.knows(event["channel"], thread_ts)
        )

    def answer(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        place = Place(
            channel=event["channel"], user=event.get("user"), message_ts=event.get("ts"),
            thread_ts=event["thread_ts"], event_id=body.get("event_id"), history=True,
        )
        answer_in_slack(ctx, client, place, clean_question(event.get("text", "")))

    app.event("message", matchers=[is_followup])(ack=ack_now, lazy=[answer])
