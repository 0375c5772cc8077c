"""The one workflow behind mentions, DMs, follow-ups and assistant threads.

Check access, show progress (a reaction, or the assistant status), read the
thread's earlier turns, ask the answerer, post the Block Kit answer, and on any
failure post a short friendly message instead of going silent.

What may fail without stopping an answer: the progress reaction or status (one
try, logged at info) and the feedback and thread stores (one warning). What the
answer needs, the thread's history and the post itself, is retried with bounded
backoff (:mod:`.delivery`). The event counts as handled only once its reply is
posted; if the reply cannot be delivered, the event id and the reply are logged
and the event is released so that Slack's next delivery of it is answered.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from ..errors import BotError
from ..logs import record_question
from ..models import Answer
from .blocks import Block, answer_blocks, fallback_text, shorten
from .context import SlackContext
from .delivery import describe, is_transient, with_retries
from .history import thread_history
from .redact import redact

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
    event_id: str | None = None  # Slack's event id: marked done once the reply is posted


@dataclass(frozen=True)
class Undelivered:
    """A reply that could not be posted, and why."""

    text: str
    error: BaseException


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, BotError):
        return f"I could not answer that just now: {exc.message}"
    return FAILED


def answer_message(ctx: SlackContext, answer: Answer) -> tuple[str, list[Block]]:
    """The text and blocks of an answer, with feedback buttons if the feedback store works."""
    answer_id = ctx.feedback.try_remember(answer) if ctx.feedback else None
    blocks = answer_blocks(answer, answer_id=answer_id, names=ctx.names,
                           feedback_unavailable=ctx.feedback is not None and answer_id is None)
    return fallback_text(answer), blocks


def _post(ctx: SlackContext, client: WebClient, place: Place, text: str, blocks: list[Block] | None = None) -> None:
    with_retries(
        lambda: client.chat_postMessage(channel=place.channel, thread_ts=place.thread_ts, text=text, blocks=blocks,
                                        unfurl_links=False, unfurl_media=False),
        ctx.backoff, f"posting to {place.channel} (event {place.event_id or '-'})",
    )


def _quietly(what: str, call: Any, **kwargs: Any) -> bool:
    """A cosmetic call: one try (plus the client's own retries); any failure is logged and ignored."""
    try:
        call(**kwargs)
        return True
    except Exception as exc:  # noqa: BLE001 - a reaction or status must never stop an answer
        log.info("%s failed: %s", what, describe(exc))
        return False


def _start_progress(client: WebClient, place: Place) -> str | None:
    """Show that work is under way; returns 'status', 'reaction' or None."""
    if place.assistant and place.thread_ts and _quietly(
        "assistant status", client.assistant_threads_setStatus, channel_id=place.channel, thread_ts=place.thread_ts,
        status=WORKING_STATUS,
    ):
        return "status"
    if place.message_ts and _quietly(
        "progress reaction", client.reactions_add, channel=place.channel, timestamp=place.message_ts,
        name=PROGRESS_REACTION,
    ):
        return "reaction"
    return None


def _stop_progress(client: WebClient, place: Place, kind: str | None) -> None:
    if kind == "reaction" and place.message_ts:
        _quietly("clearing the reaction", client.reactions_remove, channel=place.channel, timestamp=place.message_ts,
                 name=PROGRESS_REACTION)
    elif kind == "status" and place.thread_ts:
        _quietly("clearing the status", client.assistant_threads_setStatus, channel_id=place.channel,
                 thread_ts=place.thread_ts, status="")


def _history(ctx: SlackContext, client: WebClient, place: Place) -> list[tuple[str, str]]:
    if not (place.history and place.thread_ts):
        return []
    replies = with_retries(
        lambda: client.conversations_replies(channel=place.channel, ts=place.thread_ts, limit=100),
        ctx.backoff, f"reading thread {place.thread_ts} in {place.channel}",
    )
    return thread_history(replies.get("messages", []), bot_user_id=ctx.bot_user_id, current_ts=place.message_ts)


def _reply(ctx: SlackContext, client: WebClient, place: Place, text: str, blocks: list[Block] | None = None
           ) -> Undelivered | None:
    try:
        _post(ctx, client, place, text, blocks)
        return None
    except Exception as exc:  # noqa: BLE001 - reported by finish()
        return Undelivered(text, exc)


def _answer(ctx: SlackContext, client: WebClient, place: Place, question: str) -> Undelivered | None:
    refusal = ctx.access.refusal(user=place.user, channel=place.channel)
    if refusal or not question.strip():
        return _reply(ctx, client, place, refusal or EMPTY)
    if ctx.threads and place.thread_ts and not place.channel.startswith("D"):
        ctx.threads.add(place.channel, place.thread_ts)  # before replying: a quick follow-up must find it
    progress = _start_progress(client, place)
    try:
        try:
            history = _history(ctx, client, place)
        except Exception as exc:  # noqa: BLE001
            if is_transient(exc):  # Slack is out of reach: a failure message would not arrive either
                return Undelivered(FAILED, exc)
            log.exception("could not read the thread in %s", place.channel)
            return _reply(ctx, client, place, failure_text(exc))
        started = time.perf_counter()
        try:
            answer = ctx.answerer.ask(question, history=history or None)
        except Exception as exc:  # noqa: BLE001 - the user must hear back whatever failed
            log.exception("answering failed in channel %s", place.channel)
            record_question("slack", question=redact(question), answer=None, seconds=time.perf_counter() - started,
                            event_id=place.event_id, channel=place.channel)
            return _reply(ctx, client, place, failure_text(exc))
        record_question("slack", question=redact(question), answer=answer, seconds=time.perf_counter() - started,
                        event_id=place.event_id, channel=place.channel)
        text, blocks = answer_message(ctx, answer)
        undelivered = _reply(ctx, client, place, text, blocks)
        if undelivered is None or is_transient(undelivered.error):
            return undelivered
        # Slack refused the message itself (e.g. its blocks): say so in plain text rather than stay silent.
        log.error("Slack refused the answer in %s: %s", place.channel, describe(undelivered.error))
        return _reply(ctx, client, place, FAILED)
    finally:
        _stop_progress(client, place, progress)


def finish(ctx: SlackContext, place: Place, undelivered: Undelivered | None) -> None:
    """Mark the event done once its reply is posted; else release it and log the reply that did not arrive."""
    if ctx.deduper and place.event_id:
        if undelivered is None:
            ctx.deduper.done(place.event_id)
        else:
            ctx.deduper.release(place.event_id)
    if undelivered is not None:
        log.error(
            "could not deliver the reply to event %s in %s (thread %s): %s; Slack's next delivery of the event "
            "will be answered. The reply was: %s", place.event_id or "-", place.channel, place.thread_ts or "-",
            describe(undelivered.error), shorten(undelivered.text, 300),
        )


def answer_in_slack(ctx: SlackContext, client: WebClient, place: Place, question: str) -> None:
    """Answer ``question`` at ``place``; never raises, never silent while Slack can be reached."""
    undelivered: Undelivered | None = Undelivered(FAILED, RuntimeError("unexpected failure"))
    try:
        undelivered = _answer(ctx, client, place, question)
    except Exception:  # noqa: BLE001 - a listener must not die with its claim held
        log.exception("answering in %s failed unexpectedly", place.channel)
    finally:
        finish(ctx, place, undelivered)
