"""Web API calls an answer depends on, retried with bounded backoff.

Slack or the network can fail for a while: a dropped connection, a 5xx, a
``ratelimited`` that outlasted the client's own retries. Such *transient*
failures are retried ``Backoff.attempts`` times, waiting ``first``, ``2·first``,
… (at most ``cap``) seconds in between; anything else (``channel_not_found``,
``invalid_blocks``) is raised at once, since trying again would not help.
Cosmetic calls (reactions, the assistant status) do not come here: they get one
try and may fail quietly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently to retry: by default 6 tries over about 30 s."""

    attempts: int = 6
    first: float = 1.0
    cap: float = 16.0

    def delays(self) -> Iterator[float]:
        """The waits between tries (one fewer than ``attempts``)."""
        for n in range(max(self.attempts, 1) - 1):
            yield min(self.first * 2**n, self.cap)


def is_transient(exc: BaseException) -> bool:
    """True for failures that may pass: no connection, a timeout, a 5xx or 429, Slack's own transient errors."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        return status >= 500 or status == 429 or error in TRANSIENT_ERRORS
    return isinstance(exc, (OSError, HTTPException))  # URLError, ConnectionError, timeouts, RemoteDisconnected


def describe(exc: BaseException) -> str:
    """A one-line reason: Slack's error code, or the connection failure."""
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        return error or f"HTTP {getattr(exc.response, 'status_code', '?')}"
    inner = getattr(exc, "reason", None)  # URLError wraps the socket error
    return f"{type(exc).__name__}: {inner if inner is not None else exc}"


class ResponseURLError(HTTPException):
    """A slash command's response_url answered with a server error or 429 (transient: retried)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"response_url answered HTTP {status}")
        self.status = status


def respond_with_retries(respond: Callable[..., Any], backoff: Backoff, what: str) -> Callable[..., None]:
    """``respond`` (Bolt's response_url sender), retried like a Web API call: a dropped connection, a 5xx or
    a 429 is tried again; a reply that still cannot be delivered is logged once, with its text."""

    def send(**kwargs: Any) -> None:
        def once() -> Any:
            response = respond(**kwargs)
            status = int(getattr(response, "status_code", 200) or 200)
            if status >= 500 or status == 429:
                raise ResponseURLError(status)
            if status >= 400:
                log.error("%s was refused (HTTP %s); the reply is lost: %.300s", what, status, kwargs.get("text", ""))
            return response

        try:
            with_retries(once, backoff, what)
        except Exception as exc:  # noqa: BLE001 - the reply is all that was left to do
            log.error("%s could not be delivered (%s): %.300s", what, describe(exc), kwargs.get("text", ""))

    return send


def with_retries(call: Callable[[], T], backoff: Backoff, what: str) -> T:
    """``call()``, tried again after transient failures; the last failure is raised."""
    for delay in backoff.delays():
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - sorted by is_transient
            if not is_transient(exc):
                raise
            log.warning("%s failed (%s); trying again in %.1f s", what, describe(exc), delay)
        time.sleep(delay)
    return call()
