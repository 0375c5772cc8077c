"""👍/👎 feedback on answers, stored in ``<data_dir>/feedback.sqlite3``.

Each posted answer is remembered under a short id (the buttons' value); a click
stores the vote with the question, the answer, its citations, the user and the
channel. ``list_feedback(settings)`` is what ``policybot feedback`` prints; it
opens the file read-only and never writes to it.

The store is never on an answer's critical path: if it cannot be opened or
written, :meth:`FeedbackStore.try_remember` logs one warning and returns None,
and the answer goes out with a note that feedback is unavailable.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import Settings
from ..models import Answer
from .db import Database, StoreError, reason

log = logging.getLogger(__name__)

FEEDBACK_DB = "feedback.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    mode TEXT NOT NULL, abstained INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, vote TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    user_id TEXT NOT NULL, channel_id TEXT NOT NULL, created_at TEXT NOT NULL);
"""

READ_HELP = "It holds the feedback votes: restore it from a backup, or move it aside to start a new one."


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedbackStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FEEDBACK_DB
        self._db: Database | None = None
        self._lock = threading.Lock()

    def _conn(self) -> Database:
        with self._lock:  # opened on first use, so listing never creates the file
            if self._db is None:
                self._db = Database(self.path, SCHEMA)
            return self._db

    def remember(self, answer: Answer) -> str:
        """Store a posted answer; returns the id the feedback buttons carry."""
        answer_id = uuid.uuid4().hex[:16]
        citations = json.dumps([c.model_dump(mode="json") for c in answer.citations], ensure_ascii=False)
        with self._conn().connect() as conn:
            conn.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (answer_id, answer.question, answer.text, citations, answer.mode, int(answer.abstained), _now()),
            )
        return answer_id

    def try_remember(self, answer: Answer) -> str | None:
        """Like :meth:`remember`, but None (and one warning in the log) when the store fails."""
        try:
            return self.remember(answer)
        except (StoreError, sqlite3.Error) as exc:
            log.warning("feedback is unavailable, answering without buttons: %s", reason(exc))
            return None

    def record(self, answer_id: str, vote: str, *, user_id: str, channel_id: str) -> bool:
        """Store one vote ('up' or 'down'); False when the answer id is unknown."""
        with self._conn().connect() as conn:
            row = conn.execute("SELECT question, answer, citations FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None:
                return False
            conn.execute(
                "INSERT INTO feedback (answer_id, vote, question, answer, citations, user_id, channel_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, vote, row["question"], row["answer"], row["citations"], user_id, channel_id, _now()),
            )
        return True

    def list(self) -> list[dict[str, Any]]:
        """Every vote, oldest first, read without writing (the file may be a read-only copy)."""
        if not self.path.exists():
            return []
        db = Database(self.path, readonly=True, help=READ_HELP)
        try:
            with db.connect() as conn:
                rows = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path} cannot be read: {reason(exc)}.", help=READ_HELP) from exc
        finally:
            db.close()
        out = []
        for row in rows:
            item = dict(row)
            item["citations"] = json.loads(item["citations"])
            out.append(item)
        return out


def list_feedback(settings: Settings) -> list[dict[str, Any]]:
    """Every feedback click, oldest first: id, answer_id, vote, question, answer, citations, user_id, channel_id, created_at."""
    return FeedbackStore(settings.data_dir).list()
