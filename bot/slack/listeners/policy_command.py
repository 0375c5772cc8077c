"""``/policy``: ``<question>``, ``brief <source>``, ``timeline``, ``sources`` and ``help``.

Replies go back through the command's response_url as messages only the user
sees; the command is acknowledged at once and the work done afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from ...errors import BotError
from ...models import Answer
from ...sources import load_manifest
from ..answering import answer_message, failure_text
from ..blocks import escape, text_blocks
from ..briefings import NOT_YET, NOT_YET_TIMELINE
from ..context import SlackContext
from ..delivery import respond_with_retries

log = logging.getLogger(__name__)

HELP = """*policybot* answers questions on EU tech policy with links to the official texts.
• `/policy <question>` — e.g. `/policy What does the AI Act ban?`
• `/policy brief <source>` — a briefing on one source, e.g. `/policy brief chips act`
• `/policy timeline` — key dates across the sources
• `/policy sources` — what I have read
• `/policy help` — this message
You can also @mention me in a channel or send me a direct message; reply in my thread to follow up."""
WORKING = ":hourglass_flowing_sand: Looking that up…"


Reply = Callable[..., None]


def _reply(respond: Reply, result: Any, ctx: SlackContext) -> None:
    if isinstance(result, Answer):
        text, blocks = answer_message(ctx, result)
        respond(text=text, blocks=blocks)
    else:
        text = str(result)
        respond(text=text[:3000], blocks=text_blocks(text))


def sources_text(ctx: SlackContext) -> str:
    manifest = load_manifest(ctx.settings.manifest_path)
    lines = ["*The sources I have read:*"]
    for s in manifest.sources:
        name = f"<{s.url}|{escape(s.short)}>" if s.url else escape(s.short)
        lines.append(f"• {name} (`{s.id}`) — {escape(s.title)}")
    return "\n".join(lines)


def register(app: App, ctx: SlackContext) -> None:
    def acknowledge(ack: Ack, command: dict[str, Any]) -> None:
        word = (command.get("text") or "").strip().split(" ", 1)[0].lower()
        if word in ("", "help", "sources"):
            ack()
        else:
            ack(WORKING)

    def run(command: dict[str, Any], respond: Respond) -> None:
        text = " ".join((command.get("text") or "").split())
        word, _, rest = text.partition(" ")
        # The reply is all the user gets: retried while Slack (or the network) fails, like a posted answer.
        reply = respond_with_retries(respond, ctx.backoff, f"replying to /policy {word or 'help'}")
        refusal = ctx.access.refusal(user=command.get("user_id"), channel=command.get("channel_id"))
        try:
            if refusal:
                reply(text=refusal)
            elif word.lower() in ("", "help"):
                reply(text=HELP, blocks=text_blocks(HELP))
            elif word.lower() == "sources":
                _reply(reply, sources_text(ctx), ctx)
            elif word.lower() == "brief":
                _brief(rest, reply)
            elif word.lower() == "timeline":
                _call(ctx.briefings.timeline, (), NOT_YET_TIMELINE, reply)
            else:
                _reply(reply, ctx.answerer.ask(text), ctx)
        except Exception as exc:  # noqa: BLE001 - always answer the user
            log.exception("/policy %s failed", word or "help")
            reply(text=failure_text(exc))

    def _brief(name: str, respond: Reply) -> None:
        if not name:
            respond(text="Which source? Try `/policy brief ai act` — `/policy sources` lists them all.")
            return
        try:
            source = load_manifest(ctx.settings.manifest_path).resolve(name)
        except BotError as exc:
            respond(text=f"{exc.message} {exc.help or ''}".strip())
            return
        _call(ctx.briefings.brief, (source.id,), NOT_YET, respond)

    def _call(func: Callable[..., Any] | None, args: tuple[Any, ...], missing: str, respond: Reply) -> None:
        if func is None:
            respond(text=missing)
        else:
            _reply(respond, func(*args), ctx)

    app.command("/policy")(ack=acknowledge, lazy=[run])
