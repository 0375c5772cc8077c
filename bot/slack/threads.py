"""The threads the bot has answered in, so a plain reply there counts as a follow-up."""

from __future__ import annotations

import time
from pathlib import Path

from .db import STATE_DB, Database

SCHEMA = """CREATE TABLE IF NOT EXISTS answered_threads (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, answered_at REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts));"""


class ThreadRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_DB
        self._db = Database(self.path, SCHEMA)

    def add(self, channel: str, thread_ts: str) -> None:
        with self._db.connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO answered_threads VALUES (?, ?, ?)", (channel, thread_ts, time.time())
            )

    def knows(self, channel: str, thread_ts: str) -> bool:
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM answered_threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
            ).fetchone()
        return row is not None
