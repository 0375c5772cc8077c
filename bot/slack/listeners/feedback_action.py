"""👍/👎 clicks under an answer: stored with the question and answer, thanked ephemerally."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..blocks import FEEDBACK_DOWN, FEEDBACK_UP
from ..context import SlackContext

log = logging.getLogger(__name__)

THANKS = {"up": "Thanks for the feedback — glad it helped! 👍", "down": "Thanks — noted. I'll use this to improve. 👎"}
UNKNOWN = "Thanks! I could not match this to a stored answer, so it was not recorded."
UNAVAILABLE = "Thanks! Feedback is unavailable right now, so it was not recorded."


def register(app: App, ctx: SlackContext) -> None:
    def store(body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        vote = "up" if action.get("action_id") == FEEDBACK_UP else "down"
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        try:
            ok = ctx.feedback.record(action.get("value", ""), vote, user_id=user, channel_id=channel) if ctx.feedback else False
            text = THANKS[vote] if ok else UNKNOWN
        except Exception as exc:  # noqa: BLE001
            log.warning("could not store feedback: %s", exc)
            text = UNAVAILABLE
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as exc:  # e.g. not in the channel: fall back to the response_url
            log.info("postEphemeral failed (%s); using response_url", exc.response.get("error"))
            respond(text=text, response_type="ephemeral", replace_original=False)

    def ack_action(ack: Ack) -> None:
        ack()

    for action_id in (FEEDBACK_UP, FEEDBACK_DOWN):
        app.action(action_id)(ack=ack_action, lazy=[store])
