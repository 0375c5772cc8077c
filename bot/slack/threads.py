"""The threads the bot has answered in, so a plain reply there counts as a follow-up.

Never on an answer's critical path: if the table fails, ``add`` and ``knows``
log one warning and the bot answers on (follow-ups without a mention are then
not recognised until the store works again).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from .db import STATE_DB, Database, reason
from .dedupe import STATE_HELP

log = logging.getLogger(__name__)

SCHEMA = """CREATE TABLE IF NOT EXISTS answered_threads (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, answered_at REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts));"""


class ThreadRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_DB
        self._db = Database(self.path, SCHEMA, help=STATE_HELP.format(path=self.path))

    def add(self, channel: str, thread_ts: str) -> None:
        try:
            with self._db.connect() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO answered_threads VALUES (?, ?, ?)", (channel, thread_ts, time.time())
                )
        except sqlite3.Error as exc:
            log.warning("could not record thread %s in %s (%s)", thread_ts, self.path, reason(exc))

    def knows(self, channel: str, thread_ts: str) -> bool:
        try:
            with self._db.connect() as conn:
                row = conn.execute(
                    "SELECT 1 FROM answered_threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
                ).fetchone()
        except sqlite3.Error as exc:
            log.warning("could not look up thread %s in %s (%s)", thread_ts, self.path, reason(exc))
            return False
        return row is not None
