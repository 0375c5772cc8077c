"""Earlier turns of a Slack thread as ``(question, answer text)`` pairs for ``Assistant.ask``."""

from __future__ import annotations

import re
from typing import Any

_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
MAX_TURNS = 10


def clean_question(text: str) -> str:
    """The question without bot mentions and surrounding blanks."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def is_bot_message(message: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message" or (
        bot_user_id is not None and message.get("user") == bot_user_id
    )


def thread_history(
    messages: list[dict[str, Any]], *, bot_user_id: str | None, current_ts: str | None
) -> list[tuple[str, str]]:
    """Pair each human message with the bot's next reply, oldest first; skips the current message."""
    turns: list[tuple[str, str]] = []
    pending: str | None = None
    for message in messages:
        if current_ts is not None and message.get("ts") == current_ts:
            continue
        if is_bot_message(message, bot_user_id):
            if pending:
                turns.append((pending, message.get("text", "")))
                pending = None
        elif message.get("subtype") is None:
            pending = clean_question(message.get("text", "")) or pending
    return turns[-MAX_TURNS:]
