"""Every table of policybot's shared state, in one ``MetaData`` (SQLAlchemy Core).

Times are Unix seconds (``REAL``/``double precision``) written by the process that
acts, so the same statements run on SQLite and PostgreSQL. The migrations in
``migrations/versions`` create exactly these tables; :data:`HEAD` is the newest
revision, checked without importing Alembic when a store opens.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, Table, Text

#: The newest migration's revision (``migrations/versions``); a test checks it against Alembic's own head.
HEAD = "0003"

metadata = MetaData()

#: Slack events: ``claimed`` by the replica answering it (``owner``), ``done`` once answered.
seen_events = Table(
    "seen_events", metadata,
    Column("event_id", Text, primary_key=True),
    Column("state", Text, nullable=False),  # 'claimed' | 'done'
    Column("owner", Text, nullable=False, default=""),
    Column("claimed_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
)

#: Threads the bot answered in: a plain reply there is a follow-up.
answered_threads = Table(
    "answered_threads", metadata,
    Column("channel", Text, primary_key=True),
    Column("thread_ts", Text, primary_key=True),
    Column("answered_at", Float, nullable=False),
)

#: Posted answers, under the id their feedback buttons carry.
answers = Table(
    "answers", metadata,
    Column("id", Text, primary_key=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("citations", Text, nullable=False),  # JSON
    Column("mode", Text, nullable=False),
    Column("abstained", Integer, nullable=False),
    Column("created_at", Text, nullable=False),  # ISO 8601, UTC
)

#: One row per 👍/👎 click.
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", Text, nullable=False),
    Column("vote", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("citations", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True,
)

#: Change sets posted to the digest channel: 'posting' while claimed, then 'posted'.
digest_posted = Table(
    "digest_posted", metadata,
    Column("id", Text, primary_key=True),
    Column("channel", Text),
    Column("ts", Text),
    Column("posted_at", Float),
    Column("state", Text),
)

#: Which index generation each named index serves (for generations kept in the database).
index_pointer = Table(
    "index_pointer", metadata,
    Column("name", Text, primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("collection", Text, nullable=False),
    Column("previous_collection", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)

index_generations = Table(
    "index_generations", metadata,
    Column("name", Text, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("collection", Text, nullable=False),
    Column("state", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
)

generation_files = Table(
    "generation_files", metadata,
    Column("name", Text, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("file", Text, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

#: A generation's large files (its vector matrix) in parts of at most ``published.PART`` bytes, uncompressed.
generation_blobs = Table(
    "generation_blobs", metadata,
    Column("name", Text, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("file", Text, primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

#: The last `policybot watch` run (one row, ``name`` 'watch'): JSON of when it ran, whether it succeeded, what it synced.
watch_runs = Table(
    "watch_runs", metadata,
    Column("name", Text, primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)
