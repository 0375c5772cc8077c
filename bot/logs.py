"""Structured logs: one JSON object a line for the Slack bot, one line per question.

``configure_json_logging`` (called by ``policybot slack``) sends every log
record, policybot's own and its libraries', to stderr as one JSON object a line
with ``timestamp``, ``level``, ``logger`` and ``event``. The CLI does not call
it, so its plain text output stays as it is.

``record_question`` is the one hook a front end calls per question: it counts
the question in :mod:`bot.metrics` and writes one ``question`` line with the
event id, latency, outcome and cited units. The question's text is in the line
only when ``POLICYBOT_LOG_QUESTIONS=1``: questions may hold personal or
confidential details, so they stay out of log stores unless an operator asks.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

from .metrics import observe_question
from .models import Answer

QUESTION_LOGGER = "policybot.questions"

_SHARED: list[structlog.typing.Processor] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]

structlog.configure(
    processors=[structlog.contextvars.merge_contextvars, *_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def log_questions() -> bool:
    """Whether question texts go into the logs (POLICYBOT_LOG_QUESTIONS=1)."""
    return os.environ.get("POLICYBOT_LOG_QUESTIONS", "").strip().lower() in ("1", "true", "yes")


def configure_json_logging(level: int = logging.INFO) -> logging.Handler | None:
    """Send the root logger's records to stderr as JSON lines; returns the handler.

    Like ``logging.basicConfig``, it does nothing (None) when the root logger already has a handler: whoever
    set one up (a test runner, a program embedding the bot) keeps it.
    """
    root = logging.getLogger()
    if root.handlers:
        return None
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)  # also for libraries that set their own loggers to DEBUG (bm25s does)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    ))
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def record_question(
    front_end: str,
    *,
    question: str,
    answer: Answer | None,
    seconds: float,
    event_id: str | None = None,
    channel: str | None = None,
) -> str:
    """Count the question in the metrics and write its log line; returns its outcome.

    ``answer`` is None when answering failed.
    """
    outcome = observe_question(front_end, answer, seconds)
    fields: dict[str, object] = {
        "front_end": front_end,
        "event_id": event_id,
        "channel": channel,
        "latency_ms": round(seconds * 1000, 1),
        "outcome": outcome,
        "mode": answer.mode if answer else None,
        "language": answer.language if answer else None,
        "cited_units": list(dict.fromkeys(f"{c.source}:{c.language}:{c.unit}" for c in answer.citations)) if answer else [],
    }
    if log_questions():
        fields["question"] = question
    structlog.stdlib.get_logger(QUESTION_LOGGER).info("question", **fields)
    return outcome
