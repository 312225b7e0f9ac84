"""How a process uses a database server: pool sizes, timeouts, a read replica."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PoolSettings:
    """How a process uses PostgreSQL (``EDITOR_DATABASE_*``)."""

    min_connections: int = 1
    max_connections: int = 10
    # A statement (and a commit) that takes longer is abandoned: a read is Unavailable, an
    # append's outcome is unknown (CommitUnknown) and gets settled by its dedup keys.
    command_timeout_s: float = 10.0
    read_url: str = ""  # a replica for history reads; empty: the primary


DEFAULT_POOL = PoolSettings()
