"""Access tokens: short-lived JWTs with issuer, audience, expiry and key ids, algorithm pinned."""

from __future__ import annotations

import math
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
CLOCK_SKEW_S = 30  # replicas' clocks may differ this much when checking "iat"


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else."""


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says."""

    user_id: str
    token_id: str
    expires_at: int


class TokenIssuer:
    """Signs and verifies access tokens; old keys stay valid for verification until removed."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current_kid: str,
        *,
        issuer: str,
        audience: str,
        ttl_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if current_kid not in keys:
            raise ValueError(f"signing key {current_kid!r} is not among the keys")
        self._keys = dict(keys)
        self._kid = current_kid
        self._issuer = issuer
        self._audience = audience
        self.ttl_s = ttl_s
        self._clock = clock

    def issue(self, user_id: str) -> str:
        """A fresh access token for the user."""
        now = int(self._clock())
        claims = {
            "iss": self._issuer, "aud": self._audience, "sub": user_id,
            "iat": now, "exp": now + self.ttl_s, "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._keys[self._kid], ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token, or ``InvalidToken`` saying why not."""
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", ""))
            if key is None:
                raise InvalidToken("unknown signing key")
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=self._audience,
                issuer=self._issuer, leeway=0,
                options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"],
                         "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        except UnicodeEncodeError:  # a lone surrogate from a JSON escape in a hello frame
            raise InvalidToken("the token is not text") from None
        # pyjwt leaves exp and iat unchecked here (it would use the real clock, not the
        # injected one); a signed "exp": "soon" must not become a 500.
        exp, iat = claims["exp"], claims["iat"]
        for name, value in (("exp", exp), ("iat", iat)):
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value)):
                raise InvalidToken(f"'{name}' must be a number")
        now = self._clock()
        if exp <= now:
            raise InvalidToken("the token has expired")
        if iat > now + CLOCK_SKEW_S:
            raise InvalidToken("the token was issued in the future")
        return AccessClaims(str(claims["sub"]), str(claims["jti"]), int(exp))


def new_secret() -> str:
    """A random signing secret."""
    return secrets.token_urlsafe(48)
