"""The one workflow behind mentions, DMs, follow-ups and assistant threads.

Check access, show progress (a reaction, or the assistant status), read the
thread's earlier turns, ask the answerer, post the Block Kit answer, and on any
failure post a short friendly message instead of going silent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..errors import BotError
from .blocks import answer_blocks, fallback_text
from .context import SlackContext
from .history import thread_history

log = logging.getLogger(__name__)

PROGRESS_REACTION = "hourglass_flowing_sand"
WORKING_STATUS = "is reading the official texts…"
FAILED = "I could not answer that just now — something went wrong on my side. Please try again in a minute."
EMPTY = "Ask me a question about EU tech policy, e.g. _What does the AI Act ban?_ (`/policy help` lists more)."


@dataclass(frozen=True)
class Place:
    """Where a question was asked and where the answer goes."""

    channel: str
    user: str | None
    message_ts: str | None  # the question's own ts (gets the progress reaction)
    thread_ts: str | None  # reply in this thread (None: reply at top level)
    history: bool = False  # read the thread's earlier turns
    assistant: bool = False  # an assistant thread: use assistant.threads.setStatus


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, BotError):
        return f"I could not answer that just now: {exc.message}"
    return FAILED


def _post(client: WebClient, place: Place, text: str, blocks: list[dict] | None = None) -> None:
    client.chat_postMessage(
        channel=place.channel, thread_ts=place.thread_ts, text=text, blocks=blocks, unfurl_links=False,
        unfurl_media=False,
    )


def _start_progress(client: WebClient, place: Place) -> str | None:
    """Show that work is under way; returns 'status', 'reaction' or None."""
    if place.assistant and place.thread_ts:
        try:
            client.assistant_threads_setStatus(channel_id=place.channel, thread_ts=place.thread_ts, status=WORKING_STATUS)
            return "status"
        except SlackApiError as exc:
            log.info("assistant status unavailable (%s); using a reaction", exc.response.get("error"))
    if place.message_ts:
        try:
            client.reactions_add(channel=place.channel, timestamp=place.message_ts, name=PROGRESS_REACTION)
            return "reaction"
        except SlackApiError as exc:
            log.info("progress reaction failed: %s", exc.response.get("error"))
    return None


def _stop_progress(client: WebClient, place: Place, kind: str | None) -> None:
    try:
        if kind == "reaction" and place.message_ts:
            client.reactions_remove(channel=place.channel, timestamp=place.message_ts, name=PROGRESS_REACTION)
        elif kind == "status" and place.thread_ts:
            client.assistant_threads_setStatus(channel_id=place.channel, thread_ts=place.thread_ts, status="")
    except SlackApiError as exc:
        log.info("could not clear progress: %s", exc.response.get("error"))


def _history(ctx: SlackContext, client: WebClient, place: Place) -> list[tuple[str, str]]:
    if not (place.history and place.thread_ts):
        return []
    replies = client.conversations_replies(channel=place.channel, ts=place.thread_ts, limit=100)
    return thread_history(replies.get("messages", []), bot_user_id=ctx.bot_user_id, current_ts=place.message_ts)


def answer_in_slack(ctx: SlackContext, client: WebClient, place: Place, question: str) -> None:
    """Answer ``question`` at ``place``; never raises, never stays silent."""
    refusal = ctx.access.refusal(user=place.user, channel=place.channel)
    try:
        if refusal:
            _post(client, place, refusal)
            return
        if not question.strip():
            _post(client, place, EMPTY)
            return
    except SlackApiError:
        log.exception("could not reply in %s", place.channel)
        return
    if ctx.threads and place.thread_ts and not place.channel.startswith("D"):
        ctx.threads.add(place.channel, place.thread_ts)  # before replying: a quick follow-up must find it
    progress = _start_progress(client, place)
    try:
        history = _history(ctx, client, place)
        answer = ctx.answerer.ask(question, history=history or None)
        answer_id = ctx.feedback.remember(answer) if ctx.feedback else None
        _post(client, place, fallback_text(answer), answer_blocks(answer, answer_id=answer_id, names=ctx.names))
    except Exception as exc:  # noqa: BLE001 - the user must hear back whatever failed
        log.exception("answering failed in channel %s", place.channel)
        try:
            _post(client, place, failure_text(exc))
        except Exception:  # noqa: BLE001
            log.exception("could not post the failure message in %s", place.channel)
    finally:
        _stop_progress(client, place, progress)
