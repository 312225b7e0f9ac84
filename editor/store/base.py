"""The store interface: users, documents, members, the op log and snapshots.

The op log's uniqueness on (document, version) is the only sequencer: ``append_ops``
raises ``VersionConflict`` when another committer got there first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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


class Store(Protocol):
    """What the engine and the REST layer need from persistent storage."""

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> None:
        """Raise ``Unavailable`` unless the store answers."""

    # users
    async def create_user(self, email: str, name: str, password_hash: str, *,
                          email_verified: bool = False) -> User:
        """Insert a user; ``DuplicateEmail`` if the email is taken case-insensitively.

        An empty ``password_hash`` makes an account that can only sign in through OIDC.
        """

    async def user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), if any."""

    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, if any."""

    async def set_email_verified(self, user_id: str) -> None:
        """Mark the user's email as verified."""

    async def clear_password(self, user_id: str) -> None:
        """Remove the user's password (the account then signs in only through OIDC)."""

    # email verification
    async def add_email_token(self, token_hash: str, user_id: str, email: str,
                              expires_at: float) -> None:
        """Store a verification token (by its hash) for the user's current email."""

    async def spend_email_token(self, token_hash: str, now: float) -> str | None:
        """Use a live, unused token and verify its user's email (spends all the user's tokens).

        The user id, or ``None`` when the token is unknown, used or expired.
        """

    # identities of OpenID Connect issuers
    async def user_by_identity(self, issuer: str, subject: str) -> User | None:
        """The user linked to the issuer's subject, if any."""

    async def link_identity(self, issuer: str, subject: str, user_id: str) -> None:
        """Link the issuer's subject to the user (idempotent)."""

    # refresh tokens
    async def add_refresh_token(self, token_hash: str, family_id: str, user_id: str,
                                expires_at: float) -> None:
        """Store a new refresh token (by its hash) in a family."""

    async def spend_refresh_token(self, token_hash: str, now: float) -> tuple[str, str]:
        """Spend a live token → (user_id, family_id); reuse revokes the family."""

    async def revoke_refresh_family(self, token_hash: str, now: float) -> None:
        """Revoke every token of the token's family."""

    # documents and members
    async def create_document(self, owner_id: str, title: str, content: Delta) -> DocumentMeta:
        """Create a document at version 0 with ``content``, its owner as member."""

    async def document(self, doc_id: str) -> DocumentMeta | None:
        """The document's metadata (also when soft-deleted), if it exists."""

    async def list_documents(
        self, user_id: str, limit: int, after: tuple[float, str] | None
    ) -> list[tuple[DocumentMeta, str]]:
        """Live documents the user has a role on, most recently updated first, with the role."""

    async def set_title(self, doc_id: str, title: str) -> None:
        """Rename a document."""

    async def delete_document(self, doc_id: str) -> None:
        """Soft-delete a document."""

    async def role_of(self, doc_id: str, user_id: str) -> str | None:
        """The user's role on a live document, or ``None``."""

    async def members(self, doc_id: str) -> list[Member]:
        """Everyone with a role on the document."""

    async def set_member(self, doc_id: str, user_id: str, role: str) -> None:
        """Give a user a role (insert or update)."""

    async def remove_member(self, doc_id: str, user_id: str) -> bool:
        """Take a user's role away; whether there was one."""

    # op log and snapshots
    async def head(self, doc_id: str) -> int:
        """The number of committed ops of the document."""

    async def heads(self, doc_ids: list[str]) -> dict[str, int]:
        """The heads of several documents in one query."""

    async def append_ops(self, doc_id: str, ops: list[CommittedOp]) -> None:
        """Append consecutive ops atomically and durably; ``VersionConflict`` if taken."""

    async def read_ops(self, doc_id: str, from_version: int, to_version: int) -> list[CommittedOp]:
        """Committed ops with ``from_version <= version < to_version``, in order."""

    async def committed_seq(
        self, doc_id: str, user_id: str, client_id: str
    ) -> tuple[int, int] | None:
        """The highest committed (seq, version) of this (user, client) on the document."""

    async def version_of_seq(
        self, doc_id: str, user_id: str, client_id: str, seq: int
    ) -> int | None:
        """The version at which (user, client, seq) was committed, if it was."""

    async def latest_snapshot(self, doc_id: str, at_most: int | None = None) -> Snapshot:
        """The newest snapshot at or below ``at_most`` (version 0 always exists)."""

    async def save_snapshot(self, doc_id: str, snapshot: Snapshot) -> None:
        """Store a snapshot (idempotent)."""
