"""What the route handlers share: the app's services, JSON bodies and fields, the bearer
user and rate limits (PROTOCOL.md §4).

It imports no routes: ``http`` and the ``routes_*`` modules both import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from quart import current_app, request

from editor.auth.oidc import OidcSignIn
from editor.auth.service import AuthService
from editor.auth.tokens import InvalidToken, TokenIssuer
from editor.bus import RateLimiter
from editor.config import Config
from editor.engine.engine import Engine
from editor.errors import BadRequest, RateLimited, Unauthorized
from editor.ot.validate import holds_lone_surrogate
from editor.store import Store, User

MAX_BODY_BYTES = 6 * 1024 * 1024  # a 5 MiB document as JSON, with room to spare
AUTH_MAX_BODY_BYTES = 64 * 1024


@dataclass
class Services:
    """What the routes use, attached to the app as ``app.services``."""

    cfg: Config
    store: Store
    engine: Engine
    tokens: TokenIssuer
    auth: AuthService
    ws_url: str
    limiter: RateLimiter
    oidc: OidcSignIn | None = None


def services() -> Services:
    """The services of the running app."""
    return current_app.services  # type: ignore[attr-defined,no-any-return]


async def json_body(required: set[str], optional: frozenset[str] = frozenset(), *,
                    allow_empty: bool = False) -> dict[str, Any]:
    """The request's JSON object; unknown or missing fields are a 400.

    With ``allow_empty`` a request without a body counts as ``{}``.
    """
    raw = await request.get_data()
    if allow_empty and not raw.strip():
        return {}
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays nested too deep for the parser are refused, not a 500.
        raise BadRequest("the body is not valid JSON", code="validation") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="validation")
    unknown = body.keys() - required - optional
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}", code="validation")
    missing = required - body.keys()
    if missing:
        raise BadRequest(f"missing fields: {', '.join(sorted(missing))}", code="validation")
    return body


def string_field(body: dict[str, Any], name: str, *, max_chars: int = 10_000) -> str:
    """A string field of a body, bounded in length."""
    value = body.get(name)
    if not isinstance(value, str) or len(value) > max_chars:
        raise BadRequest(f"'{name}' must be a string of at most {max_chars} characters",
                         code="validation")
    if holds_lone_surrogate(value):
        raise BadRequest(f"'{name}' holds a lone surrogate (an escape like \\ud800)",
                         code="validation")
    return value


async def current_user() -> User:
    """The user of the bearer token, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    svc = services()
    try:
        claims = svc.tokens.verify(token.strip())
    except InvalidToken as exc:
        raise Unauthorized(f"bad token: {exc}") from None
    user = await svc.store.user_by_id(claims.user_id)
    if user is None:
        raise Unauthorized("the user no longer exists")
    if request.path.startswith("/v1/auth/"):
        await limit(f"auth-user:{user.id}", svc.cfg.auth_per_user_per_min)
    else:
        await limit(f"docs-user:{user.id}", svc.cfg.documents_per_user_per_min)
    return user


async def limit(key: str, per_minute: int) -> None:
    """429 with ``Retry-After`` when ``key`` has used up its budget (a bucket of
    ``per_minute`` tokens, refilled continuously)."""
    wait_s = await services().limiter.take(key, per_minute / 60.0, per_minute)
    if wait_s > 0:
        raise RateLimited("too many requests; slow down", retry_after_s=wait_s)
