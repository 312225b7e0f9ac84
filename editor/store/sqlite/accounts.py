"""Users, email tokens, OIDC identities and refresh-token families on SQLite."""

from __future__ import annotations

import sqlite3
import time
import uuid
from typing import Any

from editor.events import shapes
from editor.store.records import DuplicateEmail, InvalidRefresh, RefreshReuse, User
from editor.store.sqlite.db import SqliteDatabase, add_events

_USER_COLUMNS = "id, email, name, password_hash, email_verified, created_at"


def _user(row: tuple[Any, ...]) -> User:
    return User(
        id=row[0], email=row[1], name=row[2], password_hash=row[3],
        email_verified=bool(row[4]), created_at=row[5],
    )


def _verify(c: sqlite3.Connection, user_id: str, now: float) -> None:
    cursor = c.execute("UPDATE users SET email_verified = 1 WHERE id = ? AND email_verified = 0",
                       (user_id,))
    if cursor.rowcount:
        add_events(c, [shapes.user_event("user.verified", user_id, now)])


class SqliteAccounts(SqliteDatabase):
    """``Accounts`` on SQLite."""

    async def create_user(self, email: str, name: str, password_hash: str, *,
                          email_verified: bool = False) -> User:
        """Insert a user; ``DuplicateEmail`` if the email is taken case-insensitively.

        An empty ``password_hash`` makes an account that can only sign in through OIDC.
        """
        user = User(uuid.uuid4().hex, email, name, password_hash, email_verified, time.time())

        def insert(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    "INSERT INTO users (id, email, email_key, name, password_hash,"
                    " email_verified, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user.id, email, email.casefold(), name, password_hash,
                     int(email_verified), user.created_at),
                )
            except sqlite3.IntegrityError:
                raise DuplicateEmail(email) from None
            add_events(c, [shapes.user_event("user.registered", user.id, user.created_at)])

        await self._write(insert)
        return user

    async def user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), if any."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE email_key = ?", (email.casefold(),)
        ).fetchone())
        return _user(row) if row else None

    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, if any."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)
        ).fetchone())
        return _user(row) if row else None

    async def verify_email(self, user_id: str, *, clear_password: bool = False) -> None:
        """Mark the email verified, removing the password in the same transaction if asked."""
        now = time.time()

        def verify(c: sqlite3.Connection) -> None:
            if clear_password:
                c.execute("UPDATE users SET password_hash = '' WHERE id = ?", (user_id,))
            _verify(c, user_id, now)

        await self._write(verify)

    async def add_email_token(self, token_hash: str, user_id: str, email: str,
                              expires_at: float) -> None:
        """Store a verification token (by its hash) for the user's current email."""
        await self._write(lambda c: c.execute(
            "INSERT INTO email_tokens (token_hash, user_id, email, expires_at)"
            " VALUES (?, ?, ?, ?)", (token_hash, user_id, email, expires_at)))

    async def spend_email_token(self, token_hash: str, now: float) -> str | None:
        """Use a live, unused token once and verify its user's email; the user id, or ``None``.

        Using one spends all the user's tokens. Tokens for an email the account no longer
        has are refused.
        """

        def spend(c: sqlite3.Connection) -> str | None:
            row = c.execute(
                "SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE t.token_hash = ? AND t.used_at IS NULL AND t.expires_at > ?"
                " AND u.email = t.email", (token_hash, now)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                      (now, row[0]))
            _verify(c, row[0], time.time())
            return str(row[0])

        return await self._write(spend)

    async def user_by_identity(self, issuer: str, subject: str) -> User | None:
        """The user linked to the issuer's subject, if any."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {', '.join('u.' + col for col in _USER_COLUMNS.split(', '))}"
            " FROM identities i JOIN users u ON u.id = i.user_id"
            " WHERE i.issuer = ? AND i.subject = ?", (issuer, subject)).fetchone())
        return _user(row) if row else None

    async def link_identity(self, issuer: str, subject: str, user_id: str) -> None:
        """Link the issuer's subject to the user (idempotent)."""
        await self._write(lambda c: c.execute(
            "INSERT OR IGNORE INTO identities VALUES (?, ?, ?)", (issuer, subject, user_id)))

    async def add_refresh_token(self, token_hash: str, family_id: str, user_id: str,
                                expires_at: float, *, sign_in: bool = False) -> None:
        """Store a new refresh token (by its hash) in a family; a sign-in is an event."""
        now = time.time()

        def add(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)"
                      " VALUES (?, ?, ?, ?)", (token_hash, family_id, user_id, expires_at))
            if sign_in:
                add_events(c, [shapes.user_event("user.signed_in", user_id, now)])

        await self._write(add)

    async def spend_refresh_token(self, token_hash: str, now: float) -> tuple[str, str]:
        """Mark a live refresh token spent and return (user_id, family_id).

        A spent token presented again revokes its whole family (``RefreshReuse``).
        """

        def spend(c: sqlite3.Connection) -> tuple[str, str] | RefreshReuse | InvalidRefresh:
            row = c.execute(
                "SELECT family_id, user_id, expires_at, spent_at, revoked_at FROM refresh_tokens"
                " WHERE token_hash = ?", (token_hash,)).fetchone()
            if row is None:
                return InvalidRefresh("unknown refresh token")
            family_id, user_id, expires_at, spent_at, revoked_at = row
            if revoked_at is not None:
                return InvalidRefresh("the refresh token was revoked")
            if spent_at is not None:
                c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ?",
                          (now, family_id))
                return RefreshReuse("a spent refresh token was reused; its family is revoked")
            if expires_at <= now:
                return InvalidRefresh("the refresh token has expired")
            c.execute("UPDATE refresh_tokens SET spent_at = ? WHERE token_hash = ?",
                      (now, token_hash))
            return user_id, family_id

        # The revocation must commit even though the caller gets an error, so it is returned.
        outcome = await self._write(spend)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def revoke_refresh_family(self, token_hash: str, now: float) -> None:
        """Revoke every token of the family the given token belongs to (logout)."""
        await self._write(lambda c: c.execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND family_id ="
            " (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)", (now, token_hash)))
