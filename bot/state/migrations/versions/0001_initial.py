"""The first shared schema: event claims, answered threads, feedback, digest posts, index generations.

It also adopts the SQLite files policybot wrote before it had migrations:
``seen_events`` (event_id, seen_at) becomes the claims table with those events
done, and the digest's ``posted`` table moves to ``digest_posted``. Tables that
exist already with today's columns (answered_threads, answers, feedback) are kept.

Revision ID: 0001
Revises:
Create Date: 2026-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _seen_events(name: str = "seen_events") -> None:
    op.create_table(
        name,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index(f"ix_{name}_updated_at", name, ["updated_at"])


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())

    if "seen_events" in tables:
        columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("seen_events")}
        if "state" not in columns:  # the done events of an SQLite file from before
            op.rename_table("seen_events", "seen_events_v0")
            _seen_events()
            op.execute("INSERT INTO seen_events (event_id, state, owner, claimed_at, updated_at) "
                       "SELECT event_id, 'done', '', seen_at, seen_at FROM seen_events_v0")
            op.drop_table("seen_events_v0")
    else:
        _seen_events()

    if "answered_threads" not in tables:
        op.create_table(
            "answered_threads",
            sa.Column("channel", sa.Text, primary_key=True),
            sa.Column("thread_ts", sa.Text, primary_key=True),
            sa.Column("answered_at", sa.Float, nullable=False),
        )

    if "answers" not in tables:
        op.create_table(
            "answers",
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("answer", sa.Text, nullable=False),
            sa.Column("citations", sa.Text, nullable=False),
            sa.Column("mode", sa.Text, nullable=False),
            sa.Column("abstained", sa.Integer, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
        )

    if "feedback" not in tables:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("answer_id", sa.Text, nullable=False),
            sa.Column("vote", sa.Text, nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("answer", sa.Text, nullable=False),
            sa.Column("citations", sa.Text, nullable=False),
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("channel_id", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
            sqlite_autoincrement=True,
        )

    if "digest_posted" not in tables:
        op.create_table(
            "digest_posted",
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("channel", sa.Text),
            sa.Column("ts", sa.Text),
            sa.Column("posted_at", sa.Float),
            sa.Column("state", sa.Text),
        )
        if "posted" in tables:  # tracking.sqlite from before
            op.execute("INSERT INTO digest_posted (id, channel, ts, posted_at, state) "
                       "SELECT id, channel, ts, posted_at, state FROM posted")
            op.drop_table("posted")

    if "index_pointer" not in tables:
        op.create_table(
            "index_pointer",
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("generation", sa.Integer, nullable=False),
            sa.Column("collection", sa.Text, nullable=False),
            sa.Column("previous_collection", sa.Text, nullable=True),
            sa.Column("updated_at", sa.Float, nullable=False),
        )
    if "index_generations" not in tables:
        op.create_table(
            "index_generations",
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("number", sa.Integer, primary_key=True),
            sa.Column("collection", sa.Text, nullable=False),
            sa.Column("state", sa.Text, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
    if "generation_files" not in tables:
        op.create_table(
            "generation_files",
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("number", sa.Integer, primary_key=True),
            sa.Column("file", sa.Text, primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
        )


def downgrade() -> None:
    for name in ("generation_files", "index_generations", "index_pointer", "digest_posted", "feedback", "answers",
                 "answered_threads", "seen_events"):
        op.drop_table(name)
