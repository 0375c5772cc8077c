"""Small helpers shared by the listeners."""

from __future__ import annotations

from typing import Any


def ack_now(ack: Any) -> None:
    """The first, immediate half of a lazy listener: acknowledge and return."""
    ack()


def mentions(text: str, user_id: str | None) -> bool:
    return bool(user_id) and f"<@{user_id}" in (text or "")
