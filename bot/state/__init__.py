"""policybot's shared state: one database (POLICYBOT_DATABASE_URL) or, unset, SQLite files in the data dir.

Storage only: the Slack stores, the digest and the index generations build on
it; it imports none of them. ``open_state`` gives a migrated database,
``open_readonly`` one that is only read, ``ping`` whether it answers.
"""

from __future__ import annotations

from .engine import DB_ERRORS, StateDB, StoreError, open_readonly, open_state, ping, reason
from .schema import HEAD, metadata

__all__ = ["DB_ERRORS", "HEAD", "StateDB", "StoreError", "metadata", "open_readonly", "open_state", "ping", "reason"]
