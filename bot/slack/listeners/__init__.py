"""All Slack listeners, one per file, registered by :func:`register_listeners`."""

from __future__ import annotations

from slack_bolt import App

from ..context import SlackContext
from ..middleware import ignore_bots, make_dedupe
from . import app_mention, assistant_thread, direct_message, feedback_action, policy_command, thread_followup


def register_listeners(app: App, ctx: SlackContext) -> None:
    app.use(ignore_bots)
    app.use(make_dedupe(ctx))
    app_mention.register(app, ctx)
    assistant_thread.register(app, ctx)
    direct_message.register(app, ctx)
    thread_followup.register(app, ctx)
    policy_command.register(app, ctx)
    feedback_action.register(app, ctx)
    # Any other message (edits, joins, channel chatter): acknowledged and ignored.
    app.event("message")(lambda ack: ack())
