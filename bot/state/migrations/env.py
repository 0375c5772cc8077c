"""Alembic's environment for policybot's state database.

Run only through :func:`bot.state.migrate.upgrade`, which passes an open
connection in ``config.attributes["connection"]`` (no alembic.ini, no URL here).
"""

from __future__ import annotations

from alembic import context

from bot.state.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the state migrations through bot.state.migrate.upgrade, which passes the connection")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
