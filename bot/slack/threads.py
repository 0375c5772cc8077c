"""The threads the bot has answered in, so a plain reply there counts as a follow-up.

Kept in the state database (table ``answered_threads``), so a thread answered by
one replica is known to all. Never on an answer's critical path: if the table
fails, ``add`` and ``knows`` log one warning and the bot answers on (follow-ups
without a mention are then not recognised until the store works again).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from ..state import DB_ERRORS, open_state, reason
from ..state.ops import upsert
from ..state.schema import answered_threads as T
from .db import STATE_DB
from .dedupe import state_help

log = logging.getLogger(__name__)


class ThreadRegistry:
    def __init__(self, data_dir: Path, *, database_url: str | SecretStr | None = None) -> None:
        self._db = open_state(database_url, data_dir / STATE_DB, help=state_help(data_dir, database_url))
        self.path = self._db.label

    def add(self, channel: str, thread_ts: str) -> None:
        now = time.time()
        try:
            with self._db.engine.begin() as conn:
                upsert(conn, T, {"channel": channel, "thread_ts": thread_ts, "answered_at": now},
                       ["channel", "thread_ts"], {"answered_at": now})
        except DB_ERRORS as exc:
            log.warning("could not record thread %s in %s (%s)", thread_ts, self.path, reason(exc))

    def knows(self, channel: str, thread_ts: str) -> bool:
        try:
            with self._db.engine.connect() as conn:
                row = conn.execute(select(T.c.channel).where(T.c.channel == channel, T.c.thread_ts == thread_ts)).first()
        except DB_ERRORS as exc:
            log.warning("could not look up thread %s in %s (%s)", thread_ts, self.path, reason(exc))
            return False
        return row is not None
