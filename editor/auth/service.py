"""Accounts and sign-in: register, login, refresh-token rotation, logout."""

from __future__ import annotations

import hashlib
import secrets
import smtplib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from editor import logs, metrics
from editor.auth.emails import InvalidEmail, normalize_email
from editor.auth.mail import Mail, Mailer
from editor.auth.passwords import (
    MIN_PASSWORD_CHARS,
    hash_password_off_loop,
    verify_password_off_loop,
)
from editor.auth.tokens import TokenIssuer
from editor.errors import BadRequest, Conflict, Forbidden, Unauthorized
from editor.store import Accounts, DuplicateEmail, InvalidRefresh, User
from editor.store.protocols import Invitations

log = logs.get(__name__)
MAX_NAME_CHARS = 200
MAX_PASSWORD_CHARS = 1024


@dataclass(frozen=True)
class TokenPair:
    """What login and refresh answer."""

    access_token: str
    refresh_token: str
    expires_in: int

    def to_json(self) -> dict[str, object]:
        """The REST body."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "bearer", "expires_in": self.expires_in}


def _hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def verification_mail(user: User, link: str, ttl_s: int) -> Mail:
    """The message that carries an email-verification link."""
    hours = max(1, ttl_s // 3600)
    return Mail(user.email, "Confirm your email address", (
        f"Hello {user.name},\n\n"
        f"please confirm that this is your email address by opening this link:\n\n"
        f"  {link}\n\n"
        f"The link works once and expires in {hours} hours. If you did not create an\n"
        f"account, you can ignore this message.\n"))


class AccountStore(Accounts, Invitations, Protocol):
    """What accounts need of the store: users, and the invitations their email settles."""


async def accept_invitations(store: Invitations, user_id: str, email: str) -> None:
    """Give a user whose ``email`` is proven the roles it was invited to (idempotent)."""
    granted = await store.accept_invitations(user_id, email)
    if granted:
        log.info("invitations accepted", extra={
            "user_id": user_id, "documents": ",".join(doc_id for doc_id, _ in granted)})


class AuthService:
    """The account rules of PROTOCOL.md §4, on top of the store and the token issuer."""

    def __init__(self, store: AccountStore, tokens: TokenIssuer, mailer: Mailer, *,
                 refresh_ttl_s: int, email_token_ttl_s: int, require_verified_email: bool,
                 public_url: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.tokens = tokens
        self.mailer = mailer
        self.refresh_ttl_s = refresh_ttl_s
        self.email_token_ttl_s = email_token_ttl_s
        self.require_verified_email = require_verified_email
        #: The base of links in emails; never taken from a request's Host header.
        self.public_url = public_url
        self.clock = clock

    @metrics.counted("register")
    async def register(self, email: str, password: str, name: str) -> User:
        """Create an account; emails are unique case-insensitively."""
        try:
            email = normalize_email(email)
        except InvalidEmail:
            raise BadRequest("'email' is not a valid email address", code="validation") from None
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise BadRequest(f"'password' must have {MIN_PASSWORD_CHARS} to"
                             f" {MAX_PASSWORD_CHARS} characters", code="validation")
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME_CHARS or not name.isprintable():
            raise BadRequest(f"'name' must have 1 to {MAX_NAME_CHARS} printable characters",
                             code="validation")
        password_hash = await hash_password_off_loop(password)
        try:
            user = await self.store.create_user(email, name, password_hash)
        except DuplicateEmail:
            raise Conflict("an account with this email exists", code="email_taken") from None
        await self.send_verification(user)
        return user

    async def send_verification(self, user: User) -> None:
        """Mail a fresh single-use verification link; a mail failure is logged, not raised.

        The account exists either way, and the user can ask for another link.
        """
        token = secrets.token_urlsafe(32)
        await self.store.add_email_token(_hash_secret(token), user.id, user.email,
                                         self.clock() + self.email_token_ttl_s)
        link = f"{self.public_url.rstrip('/')}/verify#token={token}"
        try:
            await self.mailer.send(verification_mail(user, link, self.email_token_ttl_s))
        except (OSError, smtplib.SMTPException) as exc:
            metrics.AUTH_EVENTS.labels("email", "failed").inc()
            log.error("could not send the verification email",
                      extra={"user_id": user.id, "error": repr(exc)})
        else:
            metrics.AUTH_EVENTS.labels("email", "ok").inc()

    async def resend_verification(self, user: User) -> None:
        """Send another link, unless the email is already verified (409)."""
        if user.email_verified:
            raise Conflict("the email address is already verified", code="already_verified")
        await self.send_verification(user)

    @metrics.counted("verify")
    async def verify_email(self, token: str) -> User:
        """Spend a verification token; 400 ``invalid_token`` if unknown, used or expired."""
        user_id = await self.store.spend_email_token(_hash_secret(token), self.clock())
        user = await self.store.user_by_id(user_id) if user_id else None
        if user is None:
            raise BadRequest("the verification link is invalid, used or expired;"
                             " sign in and ask for a new one", code="invalid_token")
        # The link proves the address: documents shared with it before it had an account
        # become the user's now, never at registration (anyone can type any address).
        await accept_invitations(self.store, user.id, user.email)
        return user

    @metrics.counted("login")
    async def login(self, email: str, password: str) -> TokenPair:
        """Check the password (same cost whether or not the email exists) and issue tokens."""
        try:
            user = await self.store.user_by_email(normalize_email(email))
        except InvalidEmail:
            user = None
        if not await verify_password_off_loop(
                user.password_hash if user else None, password) or user is None:
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        if self.require_verified_email and not user.email_verified:
            raise Forbidden("verify your email address first", code="email_not_verified")
        if user.email_verified:  # invitations sent since (or left by an interrupted verify)
            await accept_invitations(self.store, user.id, user.email)
        return await self._issue(user.id, uuid.uuid4().hex, sign_in=True)

    async def sign_in(self, user_id: str) -> TokenPair:
        """Issue a pair in a new family for a user an OIDC issuer has authenticated."""
        return await self._issue(user_id, uuid.uuid4().hex, sign_in=True)

    @metrics.counted("refresh")
    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend a refresh token for a new pair in the same family."""
        try:
            user_id, family_id = await self.store.spend_refresh_token(
                _hash_secret(refresh_token), self.clock())
        except InvalidRefresh as exc:
            raise Unauthorized(str(exc), code="invalid_refresh_token") from None
        return await self._issue(user_id, family_id)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the refresh token's family."""
        await self.store.revoke_refresh_family(_hash_secret(refresh_token), self.clock())

    async def _issue(self, user_id: str, family_id: str, *, sign_in: bool = False
                     ) -> TokenPair:
        refresh_token = secrets.token_urlsafe(32)
        await self.store.add_refresh_token(_hash_secret(refresh_token), family_id, user_id,
                                           self.clock() + self.refresh_ttl_s, sign_in=sign_in)
        return TokenPair(self.tokens.issue(user_id), refresh_token, self.tokens.ttl_s)
