"""Statements every store needs that SQL dialects spell differently: insert-if-absent and upsert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert the row unless its key exists, as one atomic statement; True when this call inserted it."""
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table).values(**values).on_conflict_do_nothing()  # rowcount: 1 inserted, 0 not
        # SQLAlchemy reports an INSERT's rowcount only when asked to keep it (-1 otherwise on psycopg)
        return conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount == 1
    try:  # other databases: the key's uniqueness decides
        with conn.begin_nested():
            conn.execute(insert(table).values(**values))
        return True
    except IntegrityError:
        return False


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str],
           changes: Mapping[str, Any]) -> None:
    """Insert the row, or apply ``changes`` to the row with the same ``keys``."""
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        conn.execute(module.insert(table).values(**values).on_conflict_do_update(index_elements=list(keys), set_=dict(changes)))
        return
    if not insert_ignore(conn, table, values):
        where = [table.c[k] == values[k] for k in keys]
        conn.execute(update(table).where(*where).values(**changes))
