"""Exactly-once answers to Slack events that Slack delivers again, across replicas.

Slack retries an event when it did not see a quick 200 (HTTP mode marks it with
``X-Slack-Retry-Num``; Socket Mode does not). An event is *claimed* when it
arrives and *done* only once its answer is posted: a delivery of a claimed or
done event is dropped. If the answer cannot be delivered the claim is
*released*, so Slack's next delivery of the event is answered instead of
dropped.

Claims and done events live in the state database (table ``seen_events``), so
replicas sharing POLICYBOT_DATABASE_URL answer each event once: a claim is one
atomic insert-if-absent, and only the replica whose insert took answers. A
claim older than ``claim_ttl`` seconds (its replica died mid-answer) can be
taken over by one atomic update. Without a URL the table is in the data dir's
``slack_state.sqlite3``, which no other process shares: opening it forgets the
claims of the process before (a restart answers events it never answered).

Ids this process saw are also kept in memory, so a repeat costs no query. The
table is an aid, not a gate: if it fails the deduper logs one warning and
carries on from memory.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from sqlalchemy import delete, select, update

from ..state import DB_ERRORS, open_state, reason
from ..state.ops import insert_ignore, upsert
from ..state.schema import seen_events as T
from .db import STATE_DB

log = logging.getLogger(__name__)

MEMORY_SIZE = 10_000
KEEP_SECONDS = 24 * 3600
CLAIM_TTL = 120.0
STATE_HELP = (
    "It only records which Slack events were answered and which threads to follow: move it aside "
    "(e.g. `mv {path} {path}.broken`) and start again, or check that the data dir is writable."
)


def state_help(data_dir: Path, database_url: str | SecretStr | None) -> str | None:
    """What to do when the state store cannot be opened (None: the database's own advice)."""
    return None if database_url else STATE_HELP.format(path=data_dir / STATE_DB)


def _remember(ids: OrderedDict[str, None], event_id: str, size: int) -> None:
    ids[event_id] = None
    ids.move_to_end(event_id)
    if len(ids) > size:
        ids.popitem(last=False)


def default_owner() -> str:
    """Who holds a claim: host, process and a random part (a restarted process is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class EventDeduper:
    """``claim`` when an event arrives, then ``done`` once it is answered or ``release`` if it could not be."""

    def __init__(self, data_dir: Path, *, database_url: str | SecretStr | None = None, claim_ttl: float = CLAIM_TTL,
                 memory_size: int = MEMORY_SIZE, owner: str | None = None) -> None:
        self.memory_size = memory_size
        self.claim_ttl = claim_ttl
        self.owner = owner or default_owner()
        self._done: OrderedDict[str, None] = OrderedDict()
        self._claimed: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._writes = 0
        self._db = open_state(database_url, data_dir / STATE_DB, help=state_help(data_dir, database_url))
        self.path = self._db.label
        if not self._db.shared:
            self._forget_claims()

    def claim(self, event_id: str) -> bool:
        """True if the event is to be answered now (here): it is neither answered nor being answered."""
        with self._lock:
            if event_id in self._done or event_id in self._claimed:
                return False
            try:
                outcome = self._claim_row(event_id)
            except DB_ERRORS as exc:
                log.warning("could not claim event %s in %s (%s); checking it against memory only", event_id,
                            self.path, reason(exc))
                outcome = "won"
            if outcome == "won":
                _remember(self._claimed, event_id, self.memory_size)
            elif outcome == "done":
                _remember(self._done, event_id, self.memory_size)
            return outcome == "won"

    def done(self, event_id: str) -> None:
        """The event's answer is posted: drop every later delivery, also after a restart and on other replicas."""
        with self._lock:
            self._claimed.pop(event_id, None)
            _remember(self._done, event_id, self.memory_size)
            now = time.time()
            try:
                with self._db.engine.begin() as conn:
                    upsert(conn, T, {"event_id": event_id, "state": "done", "owner": self.owner, "claimed_at": now,
                                     "updated_at": now}, ["event_id"], {"state": "done", "updated_at": now})
                    self._writes += 1
                    if self._writes % 1000 == 0:
                        conn.execute(delete(T).where(T.c.updated_at < now - KEEP_SECONDS))
            except DB_ERRORS as exc:
                log.warning("could not record event %s as answered in %s (%s); remembered in memory only",
                            event_id, self.path, reason(exc))

    def release(self, event_id: str) -> None:
        """The event could not be answered: Slack's next delivery of it is answered (here or on another replica)."""
        with self._lock:
            self._claimed.pop(event_id, None)
            try:
                with self._db.engine.begin() as conn:
                    conn.execute(delete(T).where(T.c.event_id == event_id, T.c.state == "claimed", T.c.owner == self.owner))
            except DB_ERRORS as exc:
                log.warning("could not release event %s in %s (%s)", event_id, self.path, reason(exc))

    def _claim_row(self, event_id: str) -> Literal["won", "done", "busy"]:
        for _ in range(3):  # a claim released between our insert and our look: try again
            now = time.time()
            with self._db.engine.begin() as conn:
                if insert_ignore(conn, T, {"event_id": event_id, "state": "claimed", "owner": self.owner,
                                           "claimed_at": now, "updated_at": now}):
                    return "won"
                took = conn.execute(
                    update(T).where(T.c.event_id == event_id, T.c.state == "claimed", T.c.claimed_at < now - self.claim_ttl)
                    .values(owner=self.owner, claimed_at=now, updated_at=now)
                ).rowcount
                if took == 1:
                    log.info("took over event %s: its claim is older than %.0f s (its replica stopped answering)",
                             event_id, self.claim_ttl)
                    return "won"
                state = conn.execute(select(T.c.state).where(T.c.event_id == event_id)).scalar()
            if state is not None:
                return "done" if state == "done" else "busy"
        return "busy"

    def _forget_claims(self) -> None:
        """A data-dir file is this process's alone: claims in it are the previous process's, never answered."""
        try:
            with self._db.engine.begin() as conn:
                conn.execute(delete(T).where(T.c.state == "claimed"))
        except DB_ERRORS as exc:
            log.warning("could not clear old event claims in %s (%s)", self.path, reason(exc))
