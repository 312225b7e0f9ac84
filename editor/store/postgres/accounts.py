"""Users, email tokens, OIDC identities and refresh-token families on PostgreSQL."""

from __future__ import annotations

import time
import uuid
from typing import Any

from editor.events import shapes
from editor.store.postgres.db import Connection, PostgresDatabase, add_events, round_us, storable
from editor.store.postgres.documents import now_s
from editor.store.records import DuplicateEmail, InvalidRefresh, RefreshReuse, User

_USER_COLUMNS = "u.id, u.email, u.name, u.password_hash, u.email_verified, u.created_at"


def _user(row: Any) -> User:
    return User(
        id=row["id"], email=row["email"], name=row["name"], password_hash=row["password_hash"],
        email_verified=bool(row["email_verified"]), created_at=row["created_at"],
    )


async def _verify(c: Connection, user_id: str, now: float) -> None:
    verified = await c.fetchval("UPDATE users SET email_verified = true"
                                " WHERE id = $1 AND NOT email_verified RETURNING id", user_id)
    if verified is not None:
        await add_events(c, [shapes.user_event("user.verified", user_id, now)])


class PostgresAccounts(PostgresDatabase):
    """``Accounts`` on PostgreSQL."""

    async def create_user(self, email: str, name: str, password_hash: str, *,
                          email_verified: bool = False) -> User:
        """Insert a user; ``DuplicateEmail`` if the email is taken case-insensitively.

        An empty ``password_hash`` makes an account that can only sign in through OIDC.
        """
        user = User(uuid.uuid4().hex, email, name, password_hash, email_verified, now_s())

        async def insert(c: Connection) -> bool:
            inserted = await c.fetchval(
                "INSERT INTO users (id, email, email_key, name, password_hash, email_verified,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT (email_key) DO NOTHING RETURNING id",
                user.id, email, email.casefold(), name, password_hash, email_verified,
                user.created_at)
            if inserted is None:
                return False
            await add_events(c, [shapes.user_event("user.registered", user.id,
                                                   user.created_at)])
            return True

        if not await self._write(insert):
            raise DuplicateEmail(email)
        return user

    async def user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), if any."""
        if not storable(email):
            return None
        row = await self._read(lambda c: c.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users u WHERE u.email_key = $1", email.casefold()))
        return _user(row) if row else None

    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, if any."""
        row = await self._read(lambda c: c.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1", user_id))
        return _user(row) if row else None

    async def verify_email(self, user_id: str, *, clear_password: bool = False) -> None:
        """Mark the email verified, removing the password in the same transaction if asked."""
        now = time.time()

        async def verify(c: Connection) -> None:
            if clear_password:
                await c.execute("UPDATE users SET password_hash = '' WHERE id = $1", user_id)
            await _verify(c, user_id, now)

        await self._write(verify)

    async def add_email_token(self, token_hash: str, user_id: str, email: str,
                              expires_at: float) -> None:
        """Store a verification token (by its hash) for the user's current email."""
        async def add(c: Connection) -> None:
            await c.execute("INSERT INTO email_tokens (token_hash, user_id, email, expires_at)"
                            " VALUES ($1, $2, $3, $4)", token_hash, user_id, email, expires_at)

        await self._write(add, transaction=False)

    async def spend_email_token(self, token_hash: str, now: float) -> str | None:
        """Use a live, unused token once and verify its user's email; the user id, or ``None``.

        Using one spends all the user's tokens. Tokens for an email the account no longer
        has are refused.
        """

        async def spend(c: Connection) -> str | None:
            user_id = await c.fetchval(
                "SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2"
                " AND u.email = t.email FOR UPDATE OF t", token_hash, now)
            if user_id is None:
                return None
            await c.execute("UPDATE email_tokens SET used_at = $1"
                            " WHERE user_id = $2 AND used_at IS NULL", now, user_id)
            await _verify(c, user_id, time.time())
            return str(user_id)

        return await self._write(spend)

    async def user_by_identity(self, issuer: str, subject: str) -> User | None:
        """The user linked to the issuer's subject, if any."""
        row = await self._read(lambda c: c.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM identities i JOIN users u ON u.id = i.user_id"
            " WHERE i.issuer = $1 AND i.subject = $2", issuer, subject))
        return _user(row) if row else None

    async def link_identity(self, issuer: str, subject: str, user_id: str) -> None:
        """Link the issuer's subject to the user (idempotent)."""
        async def link(c: Connection) -> None:
            await c.execute("INSERT INTO identities (issuer, subject, user_id)"
                            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            issuer, subject, user_id)

        await self._write(link, transaction=False)

    async def add_refresh_token(self, token_hash: str, family_id: str, user_id: str,
                                expires_at: float, *, sign_in: bool = False) -> None:
        """Store a new refresh token (by its hash) in a family; a sign-in is an event."""
        now = time.time()

        async def add(c: Connection) -> None:
            await c.execute("INSERT INTO refresh_tokens (token_hash, family_id, user_id,"
                            " expires_at) VALUES ($1, $2, $3, $4)",
                            token_hash, family_id, user_id, expires_at)
            if sign_in:
                await add_events(c, [shapes.user_event("user.signed_in", user_id, now)])

        await self._write(add, transaction=sign_in)

    async def spend_refresh_token(self, token_hash: str, now: float) -> tuple[str, str]:
        """Mark a live refresh token spent and return (user_id, family_id).

        A spent token presented again revokes its whole family (``RefreshReuse``).
        """

        async def spend(c: Connection) -> tuple[str, str] | InvalidRefresh:
            # FOR UPDATE: of two concurrent spends of one token, the second sees it spent.
            row = await c.fetchrow(
                "SELECT family_id, user_id, expires_at, spent_at, revoked_at"
                " FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE", token_hash)
            if row is None:
                return InvalidRefresh("unknown refresh token")
            if row["revoked_at"] is not None:
                return InvalidRefresh("the refresh token was revoked")
            if row["spent_at"] is not None:
                await c.execute("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2",
                                now, row["family_id"])
                return RefreshReuse("a spent refresh token was reused; its family is revoked")
            if round_us(row["expires_at"]) <= round_us(now):  # as PostgreSQL compares
                return InvalidRefresh("the refresh token has expired")
            await c.execute("UPDATE refresh_tokens SET spent_at = $1 WHERE token_hash = $2",
                            now, token_hash)
            return str(row["user_id"]), str(row["family_id"])

        # The revocation must commit even though the caller gets an error, so it is returned.
        outcome = await self._write(spend)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def revoke_refresh_family(self, token_hash: str, now: float) -> None:
        """Revoke every token of the family the given token belongs to (logout)."""
        async def revoke(c: Connection) -> None:
            await c.execute(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL"
                " AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $2)",
                now, token_hash)

        await self._write(revoke, transaction=False)
