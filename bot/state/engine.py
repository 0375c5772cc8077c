"""Engines for the state database: one per URL per process, and the one-line errors of failing to use one.

Without ``POLICYBOT_DATABASE_URL`` every store keeps its own SQLite file in the
data dir (as before); with it, every store uses that one database. SQLite files
get WAL, ``synchronous=NORMAL`` and a busy timeout (a write stays well under a
millisecond, so the exactly-once check can run before the ack). Every way of
failing to reach a database becomes a :class:`StoreError` naming the file, or
the URL with its password masked.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..config import mask_url
from ..errors import BotError

#: What can go wrong when talking to a state database (the drivers' errors come wrapped in SQLAlchemyError).
DB_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error, OSError)
BUSY_SECONDS = 30
CONNECT_SECONDS = 10


class StoreError(BotError):
    """A state store (an SQLite file in the data dir, or POLICYBOT_DATABASE_URL) cannot be opened or read."""


def reason(exc: BaseException) -> str:
    """A short reason for a log line or an error message: the driver's first line, or the exception's name."""
    inner = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    text_ = lines[0].rstrip(".") if lines else ""
    if text_.startswith("(") and ")" in text_:  # "(psycopg.OperationalError) connection failed: ..."
        text_ = text_.split(")", 1)[1].strip()
    return text_ or type(inner).__name__


def secret_url(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value.strip() or None if value else None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_file(url: URL) -> Path | None:
    """The file an ``sqlite:///path`` URL names (None for other databases and in-memory SQLite)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    return Path(url.database)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """The process's engine for ``url`` (made on first use; pool_pre_ping drops connections a restart broke)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create(make_url(url))
        return engine


def _create(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, pool_pre_ping=True,
                               connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False})
        if sqlite_file(url) is not None:
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and (url.get_driver_name() or "").startswith("psycopg"):
        connect_args["connect_timeout"] = CONNECT_SECONDS
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _after_fork() -> None:  # a forked child must not share its parent's connections
    for engine in list(_engines.values()):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


@dataclass(frozen=True)
class StateDB:
    """An open state database. ``label`` names it in messages: the file, or the URL without its password."""

    engine: Engine
    label: str
    shared: bool  # POLICYBOT_DATABASE_URL: other processes (replicas) use it too
    owned: bool = False  # an engine made for this one use (not the process's cached one): close() disposes it

    def close(self) -> None:
        if self.owned:
            self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def label_for(url: str) -> str:
    file = sqlite_file(make_url(url))
    return str(file) if file is not None else mask_url(url)


def open_state(database_url: str | SecretStr | None, default_file: Path, *, help: str | None = None) -> StateDB:
    """The state database: ``database_url`` if set, else the SQLite file ``default_file``; migrated to the newest
    schema. Raises StoreError (one line, no password) when it cannot be reached or migrated."""
    from .migrate import ensure_schema

    url = secret_url(database_url)
    shared = url is not None
    if url is None:
        url = sqlite_url(default_file)
    try:
        label = label_for(url)
    except ArgumentError:
        raise StoreError("POLICYBOT_DATABASE_URL is not a database URL.",
                         help="Use e.g. postgresql+psycopg://user:password@host:5432/policybot or sqlite:////data/state.sqlite3.") from None
    try:
        file = sqlite_file(make_url(url))
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        engine = engine_for(url)
        ensure_schema(engine)
    except (*DB_ERRORS, ImportError) as exc:
        raise StoreError(f"{label} cannot be opened: {_scrub(reason(exc), url)}.", help=help or _help(shared)) from None
    return StateDB(engine, label, shared)


def open_readonly(database_url: str | SecretStr | None, default_file: Path, *, help: str | None = None) -> StateDB | None:
    """The state database for reading only, or None when it does not exist yet: nothing is created, migrated
    or written. An SQLite file is opened read-only (immutable when no process has it open)."""
    url = secret_url(database_url)
    shared = url is not None
    file = sqlite_file(make_url(url)) if url else default_file
    if file is not None:
        if not file.exists():
            return None
        label = str(file)
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(readonly_uri(file), uri=True, timeout=BUSY_SECONDS,
                                                                            check_same_thread=False), poolclass=NullPool)
    else:
        assert url is not None
        label, engine = mask_url(url), engine_for(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).fetchone()
            if file is not None:  # fails here if the file is not a database
                conn.execute(text("SELECT count(*) FROM sqlite_master")).fetchone()
    except DB_ERRORS as exc:
        raise StoreError(f"{label} cannot be read: {_scrub(reason(exc), url or '')}.", help=help or _help(shared)) from None
    return StateDB(engine, label, shared, owned=file is not None)


def readonly_uri(path: Path) -> str:
    """An SQLite URI that reads ``path`` and creates or changes no file.

    Without a ``-wal`` file beside it nobody has the store open (the bot keeps one while it runs), so it is
    read as an immutable file: even a WAL-mode store then needs no ``-shm``. With one, SQLite must read the
    WAL through the ``-shm``, which a plain read-only open does.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return uri if Path(f"{path}-wal").exists() else uri + "&immutable=1"


def ping(database_url: str | SecretStr) -> str | None:
    """None when the database answers ``SELECT 1``; else why not, in one line naming the masked URL."""
    url = secret_url(database_url) or ""
    try:
        with engine_for(url).connect() as conn:
            conn.execute(text("SELECT 1")).fetchone()
    except (*DB_ERRORS, ArgumentError) as exc:
        return f"{label_for(url) if not isinstance(exc, ArgumentError) else 'POLICYBOT_DATABASE_URL'}: {_scrub(reason(exc), url)}"
    return None


def _scrub(message: str, url: str) -> str:
    """``message`` without the URL's password, should a driver ever repeat it."""
    try:
        password = make_url(url).password if url else None
    except ArgumentError:
        return message
    return message.replace(str(password), "***") if password else message


def _help(shared: bool) -> str:
    if shared:
        return ("Check that POLICYBOT_DATABASE_URL names a reachable database and that its user may create tables "
                "(`policybot config` shows it, password masked).")
    return "Check that the data dir is writable, or move the damaged file aside and start again."
