"""Persistent storage behind small interfaces (``protocols``), chosen by the database URL."""

from editor.store.protocols import Accounts, Documents, OpLog, Outbox, Store
from editor.store.records import (
    ROLES,
    ClientKey,
    ClientMark,
    CommitRead,
    CommittedOp,
    CommitUnknown,
    Delta,
    DocumentMeta,
    DuplicateEmail,
    InvalidRefresh,
    Member,
    OutboxEntry,
    RefreshReuse,
    SeqKey,
    Snapshot,
    StoreError,
    Unavailable,
    User,
    VersionConflict,
)

__all__ = [
    "ROLES", "Accounts", "ClientKey", "ClientMark", "CommitRead", "CommitUnknown",
    "CommittedOp", "Delta", "DocumentMeta", "Documents", "DuplicateEmail", "InvalidRefresh",
    "Member", "OpLog", "Outbox", "OutboxEntry", "RefreshReuse", "SeqKey", "Snapshot", "Store",
    "StoreError", "Unavailable", "User", "VersionConflict",
]
