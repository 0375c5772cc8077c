"""An @mention in a channel: answered in the mention's thread (a follow-up if already in one)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from ..answering import Place, answer_in_slack
from ..context import SlackContext
from ..history import clean_question
from .common import ack_now


def register(app: App, ctx: SlackContext) -> None:
    def answer(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        thread_ts = event.get("thread_ts")
        place = Place(
            channel=event["channel"], user=event.get("user"), message_ts=event.get("ts"),
            thread_ts=thread_ts or event.get("ts"), event_id=body.get("event_id"), history=bool(thread_ts),
        )
        answer_in_slack(ctx, client, place, clean_question(event.get("text", "")))

    app.event("app_mention")(ack=ack_now, lazy=[answer])
