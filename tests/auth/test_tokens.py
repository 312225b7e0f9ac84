"""TokenIssuer: every forgery is refused; expiry and key rotation on an injected clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from editor.auth.tokens import InvalidToken, TokenIssuer
from tests.support.api import access_claims, forge_token

SECRET = b"unit-secret-unit-secret-unit-secret"
OTHER_SECRET = b"other-secret-other-secret-other-secret"
NOW = 1_700_000_000
TTL_S = 900


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def issuer(clock: Clock | None = None, keys: dict[str, bytes] | None = None,
           current_kid: str = "k1") -> TokenIssuer:
    return TokenIssuer(keys or {"k1": SECRET}, current_kid, issuer="editor",
                       audience="editor", ttl_s=TTL_S, clock=clock or Clock())


def claims(**overrides: Any) -> dict[str, Any]:
    return access_claims("user-1", NOW, TTL_S, **overrides)


def _b64json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _with_payload(token: str, payload: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64json(payload)}.{signature}"


def _with_header(token: str, header: dict[str, Any]) -> str:
    """The token's payload and (still valid HS256) signature under another header."""
    _, payload, signature = token.split(".")
    return f"{_b64json(header)}.{payload}.{signature}"


def _tampered() -> str:
    token = issuer().issue("user-1")
    return _with_payload(token, {**jwt.decode(token, options={"verify_signature": False}),
                                 "sub": "admin"})


def _rs256() -> str:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(), private_key, algorithm="RS256", headers={"kid": "k1"})


def _without(name: str) -> Callable[[], str]:
    return lambda: forge_token({k: v for k, v in claims().items() if k != name}, SECRET, kid="k1")


def test_a_token_round_trips() -> None:
    tokens = issuer()
    token = tokens.issue("user-1")
    verified = tokens.verify(token)
    assert (verified.user_id, verified.expires_at) == ("user-1", NOW + TTL_S)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    assert verified.token_id != tokens.verify(tokens.issue("user-1")).token_id


def test_the_forger_makes_tokens_the_issuer_accepts() -> None:
    """The refusals below mean something: the same forger with the right inputs passes."""
    assert issuer().verify(forge_token(claims(), SECRET, kid="k1")).user_id == "user-1"


@pytest.mark.parametrize("make_token", [
    pytest.param(lambda: forge_token(claims(), alg="none", kid="k1"), id="alg-none"),
    pytest.param(lambda: forge_token(claims(), alg="None", kid="k1"), id="alg-None"),
    pytest.param(lambda: _with_header(forge_token(claims(), SECRET, kid="k1"),
                                      {"alg": "none", "kid": "k1"}), id="alg-none-signed"),
    pytest.param(lambda: issuer().issue("user-1").rsplit(".", 1)[0] + ".", id="signature-cut"),
    pytest.param(_tampered, id="tampered-payload"),
    pytest.param(lambda: forge_token(claims(), OTHER_SECRET, kid="k1"), id="other-secret"),
    pytest.param(lambda: forge_token(claims(aud="someone-else"), SECRET, kid="k1"),
                 id="wrong-audience"),
    pytest.param(lambda: forge_token(claims(aud=["someone-else"]), SECRET, kid="k1"),
                 id="wrong-audience-list"),
    pytest.param(lambda: forge_token(claims(iss="evil"), SECRET, kid="k1"), id="wrong-issuer"),
    pytest.param(lambda: forge_token(claims(), SECRET, kid="k2"), id="unknown-kid"),
    pytest.param(lambda: forge_token(claims(), SECRET), id="no-kid"),
    pytest.param(lambda: forge_token(claims(), SECRET, kid=["k1"]), id="kid-not-a-string"),
    pytest.param(lambda: forge_token(claims(), SECRET, alg="HS512", kid="k1"), id="hs512"),
    pytest.param(_rs256, id="rs256"),
    pytest.param(lambda: "." + forge_token(claims(), SECRET, kid="k1").split(".", 1)[1],
                 id="no-header"),
    pytest.param(lambda: forge_token(claims(exp="never"), SECRET, kid="k1"), id="exp-text"),
    pytest.param(lambda: forge_token(claims(exp=[NOW + 60]), SECRET, kid="k1"), id="exp-list"),
    pytest.param(lambda: forge_token(claims(exp=float("inf")), SECRET, kid="k1"),
                 id="exp-infinity"),
    pytest.param(lambda: forge_token(claims(sub=42), SECRET, kid="k1"), id="sub-not-a-string"),
    *(pytest.param(_without(name), id=f"missing-{name}")
      for name in ("iss", "aud", "sub", "exp", "iat", "jti")),
    pytest.param(lambda: "", id="empty"),
    pytest.param(lambda: "garbage", id="garbage"),
    pytest.param(lambda: "a.b.c", id="three-garbage-parts"),
    pytest.param(lambda: "\ud800.\ud800.\ud800", id="lone-surrogates"),
])
def test_forged_tokens_are_refused(make_token: Callable[[], str]) -> None:
    token = make_token()
    with pytest.raises(InvalidToken):
        issuer().verify(token)


def test_rs256_header_over_an_hmac_of_the_secret_is_refused() -> None:
    """Algorithm confusion: the header names RS256, the signature is a valid HS256 one."""
    genuine = forge_token(claims(), SECRET, kid="k1")
    with pytest.raises(InvalidToken):
        issuer().verify(_with_header(genuine, {"alg": "RS256", "typ": "JWT", "kid": "k1"}))


def test_expiry_follows_the_injected_clock() -> None:
    clock = Clock()
    tokens = issuer(clock)
    token = tokens.issue("user-1")
    clock.now = NOW + TTL_S - 1
    assert tokens.verify(token).user_id == "user-1"
    clock.now = NOW + TTL_S
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)
    clock.now = NOW + TTL_S + 3600
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_issued_at_follows_the_injected_clock() -> None:
    clock = Clock(now=4_000_000_000)  # far in the future of the real clock: still valid
    tokens = issuer(clock)
    token = tokens.issue("user-1")
    assert tokens.verify(token).user_id == "user-1"
    clock.now -= 31  # a token issued more than the allowed skew after "now"
    with pytest.raises(InvalidToken, match="future"):
        tokens.verify(token)


def test_key_rotation_keeps_old_tokens_until_the_old_key_is_removed() -> None:
    old_token = issuer(keys={"old": SECRET}, current_kid="old").issue("user-1")
    rotated = issuer(keys={"old": SECRET, "new": OTHER_SECRET}, current_kid="new")
    new_token = rotated.issue("user-2")
    assert jwt.get_unverified_header(new_token)["kid"] == "new"
    assert rotated.verify(old_token).user_id == "user-1"
    assert rotated.verify(new_token).user_id == "user-2"

    only_new = issuer(keys={"new": OTHER_SECRET}, current_kid="new")
    assert only_new.verify(new_token).user_id == "user-2"
    with pytest.raises(InvalidToken, match="unknown signing key"):
        only_new.verify(old_token)
    # A kid binds the key: the old secret under the new key's name is a forgery.
    with pytest.raises(InvalidToken):
        rotated.verify(forge_token(claims(), SECRET, kid="new"))


def test_the_signing_key_must_be_among_the_keys() -> None:
    with pytest.raises(ValueError, match="not among the keys"):
        issuer(keys={"k1": SECRET}, current_kid="k2")
