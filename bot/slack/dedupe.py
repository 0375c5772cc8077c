"""Exactly-once handling of Slack events that Slack delivers again.

Slack retries an event when it did not see a quick 200 (HTTP mode marks it with
``X-Slack-Retry-Num``; Socket Mode does not). Every ``event_id`` is claimed once:
in a bounded in-memory set for speed and in a SQLite table so a restart does not
answer the same event twice.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from .db import STATE_DB, Database

SCHEMA = "CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);"
MEMORY_SIZE = 10_000
KEEP_SECONDS = 24 * 3600


class EventDeduper:
    """``claim(event_id)`` is True the first time an id is seen, False afterwards."""

    def __init__(self, data_dir: Path, *, memory_size: int = MEMORY_SIZE) -> None:
        self.path = data_dir / STATE_DB
        self.memory_size = memory_size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._claims = 0
        self._db = Database(self.path, SCHEMA)

    def claim(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._seen:
                self._seen.move_to_end(event_id)
                return False
            with self._db.connect() as conn:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)", (event_id, time.time())
                )
                first = cur.rowcount == 1
                self._claims += 1
                if self._claims % 1000 == 0:
                    conn.execute("DELETE FROM seen_events WHERE seen_at < ?", (time.time() - KEEP_SECONDS,))
            self._seen[event_id] = None
            if len(self._seen) > self.memory_size:
                self._seen.popitem(last=False)
            return first
