"""👍/👎 feedback on answers, in the state database (unset: ``<data_dir>/feedback.sqlite3``).

Each posted answer is remembered under a short id (the buttons' value); a click
stores the vote with the question, the answer, its citations, the user and the
channel. With POLICYBOT_DATABASE_URL every replica uses the same tables, so a
vote on an answer another replica posted is recorded. ``list_feedback(settings)``
is what ``policybot feedback`` prints; it never writes (an SQLite file is opened
read-only, and a database is neither created nor migrated).

The store is never on an answer's critical path: if it cannot be opened or
written, :meth:`FeedbackStore.try_remember` logs one warning and returns None,
and the answer goes out with a note that feedback is unavailable.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import inspect, insert, select

from ..config import Settings
from ..models import Answer
from ..state import DB_ERRORS, StateDB, StoreError, open_readonly, open_state, reason
from ..state.schema import answers as ANSWERS
from ..state.schema import feedback as FEEDBACK

log = logging.getLogger(__name__)

FEEDBACK_DB = "feedback.sqlite3"
#: The tables as ``feedback.sqlite3`` files hold them (the migrations create the same columns).
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
    def __init__(self, data_dir: Path, *, database_url: str | SecretStr | None = None) -> None:
        self.path = data_dir / FEEDBACK_DB
        self.database_url = database_url
        self._db: StateDB | None = None
        self._lock = threading.Lock()

    def _open(self) -> StateDB:
        with self._lock:  # opened on first use, so listing never creates the file
            if self._db is None:
                self._db = open_state(self.database_url, self.path)
            return self._db

    def remember(self, answer: Answer) -> str:
        """Store a posted answer; returns the id the feedback buttons carry. Raises StoreError."""
        answer_id = uuid.uuid4().hex[:16]
        citations = json.dumps([c.model_dump(mode="json") for c in answer.citations], ensure_ascii=False)
        db = self._open()
        try:
            with db.engine.begin() as conn:
                conn.execute(insert(ANSWERS).values(id=answer_id, question=answer.question, answer=answer.text,
                                                    citations=citations, mode=answer.mode,
                                                    abstained=int(answer.abstained), created_at=_now()))
        except DB_ERRORS as exc:
            raise StoreError(f"{db.label} cannot be written: {reason(exc)}.") from None
        return answer_id

    def try_remember(self, answer: Answer) -> str | None:
        """Like :meth:`remember`, but None (and one warning in the log) when the store fails."""
        try:
            return self.remember(answer)
        except StoreError as exc:
            log.warning("feedback is unavailable, answering without buttons: %s", exc.message)
            return None

    def record(self, answer_id: str, vote: str, *, user_id: str, channel_id: str) -> bool:
        """Store one vote ('up' or 'down'); False when the answer id is unknown. Raises StoreError."""
        db = self._open()
        try:
            with db.engine.begin() as conn:
                row = conn.execute(select(ANSWERS.c.question, ANSWERS.c.answer, ANSWERS.c.citations)
                                   .where(ANSWERS.c.id == answer_id)).first()
                if row is None:
                    return False
                conn.execute(insert(FEEDBACK).values(answer_id=answer_id, vote=vote, question=row.question,
                                                     answer=row.answer, citations=row.citations, user_id=user_id,
                                                     channel_id=channel_id, created_at=_now()))
        except DB_ERRORS as exc:
            raise StoreError(f"{db.label} cannot be written: {reason(exc)}.") from None
        return True

    def list(self) -> list[dict[str, Any]]:
        """Every vote, oldest first, read without writing (the file may be a read-only copy)."""
        db = open_readonly(self.database_url, self.path, help=READ_HELP)
        if db is None:
            return []
        try:
            with db.engine.connect() as conn:
                if not inspect(conn).has_table("feedback"):
                    return []
                rows = conn.execute(select(FEEDBACK).order_by(FEEDBACK.c.id)).mappings().all()
        except DB_ERRORS as exc:
            raise StoreError(f"{db.label} cannot be read: {reason(exc)}.", help=READ_HELP) from None
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
    return FeedbackStore(settings.data_dir, database_url=settings.database_url).list()
