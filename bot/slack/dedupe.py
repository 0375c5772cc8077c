"""Exactly-once answers to Slack events that Slack delivers again.

Slack retries an event when it did not see a quick 200 (HTTP mode marks it with
``X-Slack-Retry-Num``; Socket Mode does not). An event is *claimed* when it
arrives and *done* only once its answer is posted: a delivery of a claimed or
done event is dropped. If the answer cannot be delivered the claim is
*released*, so Slack's next delivery of the event is answered instead of
dropped. Claims live in memory (a restart forgets unanswered events, which is
what we want); done events also go to a SQLite table, so a restart does not
answer the same event twice. The table is an aid, not a gate: if it fails the
deduper logs one warning and carries on from memory.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path

from .db import STATE_DB, Database, reason

log = logging.getLogger(__name__)

SCHEMA = "CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);"
MEMORY_SIZE = 10_000
KEEP_SECONDS = 24 * 3600
STATE_HELP = (
    "It only records which Slack events were answered and which threads to follow: move it aside "
    "(e.g. `mv {path} {path}.broken`) and start again, or check that the data dir is writable."
)


def _remember(ids: OrderedDict[str, None], event_id: str, size: int) -> None:
    ids[event_id] = None
    ids.move_to_end(event_id)
    if len(ids) > size:
        ids.popitem(last=False)


class EventDeduper:
    """``claim`` when an event arrives, then ``done`` once it is answered or ``release`` if it could not be."""

    def __init__(self, data_dir: Path, *, memory_size: int = MEMORY_SIZE) -> None:
        self.path = data_dir / STATE_DB
        self.memory_size = memory_size
        self._done: OrderedDict[str, None] = OrderedDict()
        self._claimed: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._writes = 0
        self._db = Database(self.path, SCHEMA, help=STATE_HELP.format(path=self.path))

    def claim(self, event_id: str) -> bool:
        """True if the event is to be answered now: it is neither answered nor being answered."""
        with self._lock:
            if event_id in self._done or event_id in self._claimed:
                return False
            if self._answered_before(event_id):
                _remember(self._done, event_id, self.memory_size)
                return False
            _remember(self._claimed, event_id, self.memory_size)
            return True

    def done(self, event_id: str) -> None:
        """The event's answer is posted: drop every later delivery, also after a restart."""
        with self._lock:
            self._claimed.pop(event_id, None)
            _remember(self._done, event_id, self.memory_size)
            try:
                with self._db.connect() as conn:
                    conn.execute("INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)",
                                 (event_id, time.time()))
                    self._writes += 1
                    if self._writes % 1000 == 0:
                        conn.execute("DELETE FROM seen_events WHERE seen_at < ?", (time.time() - KEEP_SECONDS,))
            except sqlite3.Error as exc:
                log.warning("could not record event %s as answered in %s (%s); remembered in memory only",
                            event_id, self.path, reason(exc))

    def release(self, event_id: str) -> None:
        """The event could not be answered: Slack's next delivery of it is answered."""
        with self._lock:
            self._claimed.pop(event_id, None)

    def _answered_before(self, event_id: str) -> bool:
        try:
            with self._db.connect() as conn:
                row = conn.execute("SELECT 1 FROM seen_events WHERE event_id = ?", (event_id,)).fetchone()
        except sqlite3.Error as exc:
            log.warning("could not read %s (%s); checking event %s against memory only", self.path, reason(exc),
                        event_id)
            return False
        return row is not None
