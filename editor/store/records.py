"""The values and errors every store backend speaks: users, documents, ops, snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Delta = list[dict[str, Any]]
ROLES = ("viewer", "editor", "owner")


class StoreError(Exception):
    """Base of the store's own errors."""


class VersionConflict(StoreError):
    """Another committer appended at one of the versions first: reread and retry."""


class DuplicateEmail(StoreError):
    """A user with this email (case-insensitively) exists."""


class InvalidRefresh(StoreError):
    """The refresh token is unknown, expired or revoked."""


class RefreshReuse(InvalidRefresh):
    """A spent refresh token was presented again: its whole family is now revoked."""


class Unavailable(StoreError):
    """The backend cannot be reached or answered with an error."""


class CommitUnknown(Unavailable):
    """The append may or may not have committed (a timeout, a lost connection).

    Settle it by reading the dedup keys before answering anyone.
    """


@dataclass(frozen=True)
class User:
    """A person who can sign in."""

    id: str
    email: str
    name: str
    password_hash: str
    email_verified: bool
    created_at: float

    def public(self) -> dict[str, Any]:
        """The user as shown to the user themselves."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "email_verified": self.email_verified,
        }


@dataclass(frozen=True)
class DocumentMeta:
    """A document's metadata; ``head`` is the number of committed ops."""

    id: str
    title: str
    owner_id: str
    head: int
    created_at: float
    updated_at: float
    deleted: bool


@dataclass(frozen=True)
class Member:
    """A user's role on a document."""

    user_id: str
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class CommittedOp:
    """One row of the op log: the op that took the document from ``version`` to ``version+1``."""

    doc_id: str
    version: int
    delta: Delta
    user_id: str
    client_id: str
    seq: int
    created_at: float


@dataclass(frozen=True)
class Snapshot:
    """The document content at a version."""

    version: int
    content: Delta


ClientKey = tuple[str, str]
"""(user_id, client_id): the scope of an op's ``seq``."""
SeqKey = tuple[str, str, int]
"""(user_id, client_id, seq): an op's dedup key on its document."""


@dataclass(frozen=True)
class ClientMark:
    """The highest committed ``seq`` of one (user, client) on a document, and its version."""

    seq: int
    version: int


@dataclass(frozen=True)
class CommitRead:
    """What a committer reads before sequencing a batch, in one read transaction."""

    head: int
    ops: list[CommittedOp]  # from the requested version to ``head``, in order
    marks: dict[ClientKey, ClientMark]  # of the requested clients that committed anything
    seq_versions: dict[SeqKey, int]  # of the requested dedup keys that are committed


@dataclass(frozen=True)
class OutboxEntry:
    """A domain event waiting in the outbox; ``position`` is its place in commit order."""

    position: int
    topic: str
    key: str
    body: dict[str, Any]
