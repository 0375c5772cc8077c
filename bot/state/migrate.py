"""Bring a state database to the newest schema with the Alembic migrations shipped in ``migrations/``.

A store checks ``alembic_version`` first and imports Alembic only when the
database is behind (a fresh database, or one made by an older policybot).
Replicas that open a fresh database at the same time must not trip over each
other: on PostgreSQL the upgrade runs under a session advisory lock, so the
second replica waits and then finds the schema at head; elsewhere (SQLite) a
failed upgrade is retried after checking whether another process finished it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from .schema import HEAD

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x706F6C6963790001  # "policy" + 1: the advisory lock every replica's upgrade takes
ATTEMPTS = 5

_ready: set[str] = set()
_ready_lock = threading.Lock()


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Migrate ``engine``'s database to :data:`HEAD` unless it is there (checked once per process and URL)."""
    key = engine.url.render_as_string(hide_password=False)
    with _ready_lock:
        if key in _ready:
            return
        for attempt in range(1, ATTEMPTS + 1):
            with engine.connect() as conn:
                if current_revision(conn) == HEAD:
                    break
            try:
                upgrade(engine)
                break
            except Exception:  # another process migrating at the same time (SQLite has no advisory lock)
                if attempt == ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)
        _ready.add(key)


def alembic_config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    """An Alembic Config built in code: the migrations folder inside the installed package, no alembic.ini."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic narrates every step at INFO; a fresh data dir is no news (the CLI's stderr stays one line)."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` (on PostgreSQL, under the advisory lock)."""
    with _quiet_alembic():  # alembic logs its plugins as it is imported
        from alembic import command

    with engine.connect() as conn:
        locked = conn.dialect.name == "postgresql"
        if locked:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            conn.commit()
        try:
            if current_revision(conn) != HEAD or revision != "head":
                log.debug("migrating the state database to revision %s", HEAD if revision == "head" else revision)
                with _quiet_alembic():
                    command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            if locked:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                conn.commit()
