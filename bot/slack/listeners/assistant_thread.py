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
    def started(event: dict[str, Any], client: WebClient) -> None:
        thread = event.get("assistant_thread", {})
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not channel or not thread_ts:
            return
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=GREETING)
            client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, title="Try one of these:", prompts=SUGGESTED_PROMPTS
            )
        except Exception:  # noqa: BLE001 - a greeting failure must not crash the listener
            log.exception("could not greet assistant thread in %s", channel)

    app.event("assistant_thread_started")(ack=ack_now, lazy=[started])
