"""The Slack front end: a Bolt app answering mentions, DMs, /policy and assistant threads.

Public surface: :func:`run_slack` (what ``policybot slack`` calls),
:func:`build_app` (tests, benchmarks), :func:`answer_blocks` and
:func:`list_feedback` (what ``policybot feedback`` prints).
"""

from __future__ import annotations

from .app import build_app, run_slack
from .blocks import answer_blocks
from .feedback import FeedbackStore, list_feedback

__all__ = ["FeedbackStore", "answer_blocks", "build_app", "list_feedback", "run_slack"]
