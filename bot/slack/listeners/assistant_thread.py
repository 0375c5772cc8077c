"""Slack's assistant threads: greet and offer suggested prompts when a thread starts.

The user's messages in the thread arrive as DMs with a thread_ts and are
answered by the direct_message listener (with the assistant status).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from ..context import SlackContext
from ..delivery import describe, with_retries
from .common import ack_now

log = logging.getLogger(__name__)

GREETING = "Hi! I answer questions on EU tech policy — the AI Act, Chips Act, Data Act, NIS2 — with links to the official texts."
SUGGESTED_PROMPTS = [
    {"title": "What does the AI Act ban?", "message": "What does the AI Act ban?"},
    {"title": "Brief me on the Chips Act", "message": "Brief me on the Chips Act"},
    {"title": "Who must comply with NIS2?", "message": "Which entities fall under NIS2?"},
    {"title": "Data Act and connected devices", "message": "What does the Data Act require from makers of connected products?"},
]


def register(app: App, ctx: SlackContext) -> None:
    def started(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        thread = event.get("assistant_thread", {})
        channel, thread_ts, event_id = thread.get("channel_id"), thread.get("thread_ts"), body.get("event_id")
        if not channel or not thread_ts:
            return
        try:
            with_retries(lambda: client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=GREETING),
                         ctx.backoff, f"greeting in {channel} (event {event_id or '-'})")
        except Exception as exc:  # noqa: BLE001 - a greeting failure must not crash the listener
            if ctx.deduper and event_id:
                ctx.deduper.release(event_id)  # Slack's next delivery of the event greets
            log.error("could not greet assistant thread in %s (event %s): %s", channel, event_id or "-", describe(exc))
            return
        if ctx.deduper and event_id:
            ctx.deduper.done(event_id)
        try:
            client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, title="Try one of these:", prompts=SUGGESTED_PROMPTS
            )
        except Exception as exc:  # noqa: BLE001 - the greeting is there; the prompts are a nicety
            log.info("could not set suggested prompts in %s: %s", channel, describe(exc))

    app.event("assistant_thread_started")(ack=ack_now, lazy=[started])
