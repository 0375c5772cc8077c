"""Where the Slack stores keep their state, and their one-line error.

Without POLICYBOT_DATABASE_URL the stores use SQLite files in the data dir
(``slack_state.sqlite3`` for events and threads, ``feedback.sqlite3`` for
feedback); with it, that one database (:mod:`bot.state`). Every way of failing to
open a store becomes a :class:`StoreError` naming the file, or the URL with its
password masked.
"""

from __future__ import annotations

from ..state import StoreError, reason

STATE_DB = "slack_state.sqlite3"

__all__ = ["STATE_DB", "StoreError", "reason"]
