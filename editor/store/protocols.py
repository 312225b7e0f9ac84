"""The store's interfaces, one per concern, so that a service depends only on what it uses.

    OpLog      the op log and snapshots: the only sequencer of a document's versions
    Documents  documents and their members
    Accounts   users, refresh-token families, email tokens, OIDC links
    Invitations  documents shared with emails that have no account yet
    Outbox     domain events written with their change, drained by the relay
    Store      all of them on one database, with ``ping`` and ``close``

Every backend (SQLite embedded, PostgreSQL distributed) implements ``Store`` and passes
the contract suite in ``tests/contract/``. Writes that change something a worker or another
service cares about add their PROTOCOL.md §5 event to the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from editor.events.shapes import Event
from editor.store.records import (
    ClientKey,
    CommitRead,
    CommittedOp,
    Delta,
    DocumentMeta,
    Member,
    OutboxEntry,
    SeqKey,
    Snapshot,
    User,
)


class OpLog(Protocol):
    """Committed ops keyed by (document, version), dedup keys, and snapshots."""

    async def head(self, doc_id: str) -> int:
        """The number of committed ops of the document."""

    async def heads(self, doc_ids: Collection[str]) -> dict[str, int]:
        """The heads of several documents in one query."""

    async def read_for_commit(self, doc_id: str, from_version: int | None,
                              clients: Collection[ClientKey],
                              seqs: Collection[SeqKey]) -> CommitRead:
        """One read for a committer: the head, the ops from ``from_version`` to it (none when
        ``None``), the marks of ``clients`` and the versions of the committed ``seqs``."""

    async def append(self, doc_id: str, ops: Sequence[CommittedOp],
                     events: Sequence[Event] = ()) -> None:
        """Append consecutive ops at the head, and ``events`` to the outbox, in one
        transaction; ``VersionConflict`` if another committer took a version first,
        ``CommitUnknown`` when the outcome cannot be known."""

    async def read_ops(self, doc_id: str, from_version: int, to_version: int
                       ) -> list[CommittedOp]:
        """Committed ops with ``from_version <= version < to_version``, in order."""

    async def latest_snapshot(self, doc_id: str, at_most: int | None = None) -> Snapshot:
        """The newest snapshot at or below ``at_most`` (version 0 always exists)."""

    async def save_snapshot(self, doc_id: str, snapshot: Snapshot) -> None:
        """Store a snapshot (idempotent)."""

    async def follow_commits(self, on_commit: Callable[[str, int], None]) -> None:
        """Call ``on_commit(doc_id, head)`` soon after another process (or another store
        object) commits, until cancelled; reconnects by itself. A store that cannot notify
        returns at once: its readers poll ``heads``. A notice is a hint, the log decides."""


class Documents(Protocol):
    """Documents, their metadata and their members."""

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


class Accounts(Protocol):
    """Users and everything that signs them in."""

    async def create_user(self, email: str, name: str, password_hash: str, *,
                          email_verified: bool = False) -> User:
        """Insert a user; ``DuplicateEmail`` if the email is taken case-insensitively.

        An empty ``password_hash`` makes an account that can only sign in through OIDC.
        """

    async def user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), if any."""

    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, if any."""

    async def verify_email(self, user_id: str, *, clear_password: bool = False) -> None:
        """Mark the user's email as verified, and (in the same transaction) remove the
        password when asked: an unverified password must not outlive an OIDC link."""

    async def add_email_token(self, token_hash: str, user_id: str, email: str,
                              expires_at: float) -> None:
        """Store a verification token (by its hash) for the user's current email."""

    async def spend_email_token(self, token_hash: str, now: float) -> str | None:
        """Use a live, unused token and verify its user's email (spends all the user's tokens).

        The user id, or ``None`` when the token is unknown, used or expired.
        """

    async def user_by_identity(self, issuer: str, subject: str) -> User | None:
        """The user linked to the issuer's subject, if any."""

    async def link_identity(self, issuer: str, subject: str, user_id: str) -> None:
        """Link the issuer's subject to the user (idempotent)."""

    async def add_refresh_token(self, token_hash: str, family_id: str, user_id: str,
                                expires_at: float, *, sign_in: bool = False) -> None:
        """Store a new refresh token (by its hash) in a family; ``sign_in`` marks a new
        session (a ``user.signed_in`` event), not a rotation."""

    async def spend_refresh_token(self, token_hash: str, now: float) -> tuple[str, str]:
        """Spend a live token → (user_id, family_id); reuse revokes the family."""

    async def revoke_refresh_family(self, token_hash: str, now: float) -> None:
        """Revoke every token of the token's family."""


@dataclass(frozen=True)
class Invitation:
    """A role on a document waiting for whoever proves they own ``email``."""

    doc_id: str
    email: str
    role: str
    invited_by: str
    created_at: float


class Invitations(Protocol):
    """Pending invitations, keyed by (document, email compared case-insensitively)."""

    async def invite(self, doc_id: str, email: str, role: str, invited_by: str) -> bool:
        """Invite ``email`` with ``role`` (or change the role of its invitation); whether
        the invitation is new."""

    async def invitations(self, doc_id: str) -> list[Invitation]:
        """The document's pending invitations, by email."""

    async def revoke_invitation(self, doc_id: str, email: str) -> bool:
        """Withdraw the invitation of ``email``; whether there was one."""

    async def accept_invitations(self, user_id: str, email: str) -> list[tuple[str, str]]:
        """Turn every invitation of ``email`` on a live document into a role of the user
        (a role they hold already is kept), with its ``member.put`` event, and drop the
        invitations, in one transaction; the (doc_id, role) pairs granted."""


class Outbox(Protocol):
    """Domain events in commit order, and how far the op log was relayed per document."""

    async def outbox_pending(self, limit: int) -> list[OutboxEntry]:
        """The oldest events not yet marked published, in commit order."""

    async def outbox_published(self, up_to_position: int) -> None:
        """Mark every event up to ``up_to_position`` published (they may be removed)."""

    async def outbox_size(self) -> int:
        """How many events wait to be published."""

    async def ops_unrelayed(self, limit: int) -> list[tuple[str, int, int]]:
        """Documents whose op log is ahead of the relay: (doc_id, relayed_version, head)."""

    async def ops_relayed(self, marks: Mapping[str, int]) -> None:
        """Record, in one transaction, that every op of each document below its version in
        ``marks`` reached the event stream (a mark never moves backwards)."""

    async def claim_relay(self, holder: str, ttl_s: float, now: float) -> bool:
        """Whether ``holder`` holds the relay lease until ``now + ttl_s`` (renewed when it
        held it, taken when it was free or expired): one relay drains at a time."""


class Store(OpLog, Documents, Accounts, Invitations, Outbox, Protocol):
    """Every concern on one database."""

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> None:
        """Raise ``Unavailable`` unless the store answers."""
