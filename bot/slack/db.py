"""A tiny SQLite helper shared by the Slack stores: one connection per store, used under a lock.

WAL with ``synchronous=NORMAL`` keeps a write to well under a millisecond, so the
exactly-once check can run before the ack without slowing it. A store opened
``readonly`` never writes: no folder, no WAL switch, no schema (``policybot
feedback`` reads a copy on read-only media). Every way of failing to open a
store becomes a :class:`StoreError` naming the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import BotError

STATE_DB = "slack_state.sqlite3"


class StoreError(BotError):
    """A Slack store (``slack_state.sqlite3``, ``feedback.sqlite3``) cannot be opened or read."""


class Database:
    """A thread-safe wrapper around one autocommit SQLite connection."""

    def __init__(self, path: Path, schema: str = "", *, readonly: bool = False, help: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            if readonly:
                self._conn = sqlite3.connect(_readonly_uri(path), uri=True, timeout=30, isolation_level=None,
                                             check_same_thread=False)
                self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails here if not a database
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.executescript(schema)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path} cannot be {'read' if readonly else 'opened'}: {reason(exc)}.", help=help) from exc
        self._conn.row_factory = sqlite3.Row

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _readonly_uri(path: Path) -> str:
    """An SQLite URI that reads ``path`` and creates or changes no file.

    Without a ``-wal`` file beside it nobody has the store open (the bot keeps one while it runs), so it is
    read as an immutable file: even a WAL-mode store then needs no ``-shm``. With one, SQLite must read the
    WAL through the ``-shm``, which a plain read-only open does.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return uri if Path(f"{path}-wal").exists() else uri + "&immutable=1"


def reason(exc: BaseException) -> str:
    """A short reason for a log line or an error message: the message, or the exception's name."""
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__
