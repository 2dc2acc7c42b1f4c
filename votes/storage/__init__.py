"""Storage of the vote service: SQLAlchemy models, engines, migrations, repositories.

See docs/storage.md for the schema, the distribution key and how log appends
are serialised.
"""

from __future__ import annotations

from votes.storage.db import create_engine, create_session_factory, display_url
from votes.storage.log_repo import (
    AppendResult,
    LogHeadState,
    LogRangeError,
    append_entries,
    append_entry,
    consistency_proof,
    get_entries,
    get_head,
    get_root,
    inclusion_proof,
)
from votes.storage.migrate import (
    SchemaNotCurrentError,
    current_revision,
    downgrade,
    ensure_migrated,
    head_revision,
    upgrade,
)

__all__ = [
    "AppendResult",
    "LogHeadState",
    "LogRangeError",
    "SchemaNotCurrentError",
    "append_entries",
    "append_entry",
    "consistency_proof",
    "create_engine",
    "create_session_factory",
    "current_revision",
    "display_url",
    "downgrade",
    "ensure_migrated",
    "get_entries",
    "get_head",
    "get_root",
    "head_revision",
    "inclusion_proof",
    "upgrade",
]
