"""Accounts over REST and WebSocket: forged tokens, hostile input, login, refresh rotation."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
import trio
from argon2 import PasswordHasher

import editor.serve
from editor.auth import passwords
from editor.auth.service import AuthService
from tests.conftest import InProcessServer
from tests.support.api import Account, access_claims, create_document, forge_token, sign_up
from tests.support.raw import connect

PASSWORD = "correct horse battery"  # what sign_up uses
JSON = {"Content-Type": "application/json"}
SQL_QUOTE = "'; DROP TABLE users; --"
SQL_OR = '" OR 1=1 --'
MEGABYTE = "x" * 1_000_000
# A 1 MB string is refused either for the field's length (400) or the body's size (413).
TOO_BIG = {400, 413}
REAL_HASHER = passwords._hasher


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its lowest cost: these tests sign up many users, not crack them."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _post_raw(http: httpx.AsyncClient, path: str, body: Any,
                    headers: dict[str, str] | None = None) -> httpx.Response:
    """POST JSON encoded by ``json.dumps``: lone surrogates travel as ``\\ud800`` escapes."""
    return await http.post(path, content=json.dumps(body).encode(),
                           headers={**JSON, **(headers or {})})


async def _ws_hello(server: InProcessServer, doc_id: str,
                    token: str) -> tuple[int | None, list[dict[str, Any]]]:
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.send({"type": "hello", "token": token, "client_id": "c",
                               "version": None})
            return await client.closed()


def _with_payload(token: str, payload: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{header}.{body}.{signature}"


# --- forged access tokens through /me, a document endpoint and the WebSocket hello ---

Forger = Callable[[Account, Account, str, bytes], str]
OTHER_SECRET = b"not-the-server-secret-not-the-server-secret"


def _claims(victim: Account, **overrides: Any) -> dict[str, Any]:
    return access_claims(victim.id, time.time(), **overrides)


FORGERIES: dict[str, Forger] = {
    "alg-none": lambda victim, _, kid, __: forge_token(_claims(victim), alg="none", kid=kid),
    "tampered": lambda victim, attacker, _, __: _with_payload(attacker.access_token, {
        **jwt.decode(attacker.access_token, options={"verify_signature": False}),
        "sub": victim.id}),
    "other-secret": lambda victim, _, kid, __: forge_token(_claims(victim), OTHER_SECRET,
                                                           kid=kid),
    "wrong-audience": lambda victim, _, kid, key: forge_token(
        _claims(victim, aud="another-service"), key, kid=kid),
    "wrong-issuer": lambda victim, _, kid, key: forge_token(
        _claims(victim, iss="https://evil.example"), key, kid=kid),
    "expired": lambda victim, _, kid, key: forge_token(
        _claims(victim, iat=int(time.time()) - 3600, exp=int(time.time()) - 60), key, kid=kid),
    "unknown-kid": lambda victim, _, __, key: forge_token(_claims(victim), key, kid="k-unknown"),
    "other-algorithm": lambda victim, _, kid, key: forge_token(_claims(victim), key,
                                                               alg="HS512", kid=kid),
    "exp-not-a-number": lambda victim, _, kid, key: forge_token(
        _claims(victim, exp="tomorrow"), key, kid=kid),
    "garbage": lambda *_: "garbage",
}


async def _victim_and_attacker(server: InProcessServer) -> tuple[Account, Account, str, str]:
    victim = await sign_up(server.http, "victim")
    attacker = await sign_up(server.http, "attacker")
    doc = await create_document(server.http, victim, "secret plans")
    return victim, attacker, doc["id"], jwt.get_unverified_header(victim.access_token)["kid"]


async def test_a_correctly_signed_forgery_is_accepted(server: InProcessServer) -> None:
    """The forger is right: the refusals below are about the forgery, not the forger."""
    victim, _, doc_id, kid = await _victim_and_attacker(server)
    token = forge_token(_claims(victim), server.cfg.jwt_secret.encode(), kid=kid)
    me = await server.http.get("/v1/auth/me", headers=_bearer(token))
    assert me.status_code == 200 and me.json()["id"] == victim.id
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            assert (await client.hello(token))["user"]["id"] == victim.id


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_tokens_are_refused_everywhere(server: InProcessServer,
                                                    forgery: str) -> None:
    victim, attacker, doc_id, kid = await _victim_and_attacker(server)
    token = FORGERIES[forgery](victim, attacker, kid, server.cfg.jwt_secret.encode())
    for path in ("/v1/auth/me", f"/v1/documents/{doc_id}"):
        response = await server.http.get(path, headers=_bearer(token))
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
    code, frames = await _ws_hello(server, doc_id, token)
    assert code == 4401
    assert frames[0]["type"] == "error" and frames[0]["code"] == "unauthorized"


async def test_a_lone_surrogate_token_in_hello_closes_4401(server: InProcessServer) -> None:
    victim, _, doc_id, _ = await _victim_and_attacker(server)
    code, frames = await _ws_hello(server, doc_id, victim.access_token[:10] + "\ud800")
    assert (code, frames[0]["code"]) == (4401, "unauthorized")


async def test_a_token_must_come_as_a_bearer_header(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    token = user.access_token
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer ."},
                    {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
                    {"Authorization": f"Token {token}"}, {"Authorization": token},
                    {"Authorization": f"Bearer {token}x"},
                    {"Authorization": f"Bearer {token[:-2]}"}):
        response = await server.http.get("/v1/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
    query = await server.http.get("/v1/auth/me", params={"access_token": token})
    assert query.status_code == 401
    lower = await server.http.get("/v1/auth/me", headers={"Authorization": f"bearer {token}"})
    assert lower.status_code == 200


# --- register ---

async def _register(http: httpx.AsyncClient, email: Any, password: Any = PASSWORD,
                    name: Any = "Name") -> httpx.Response:
    return await _post_raw(http, "/v1/auth/register",
                           {"email": email, "password": password, "name": name})


async def _login(http: httpx.AsyncClient, email: Any, password: Any) -> httpx.Response:
    return await _post_raw(http, "/v1/auth/login", {"email": email, "password": password})


@pytest.mark.parametrize("first, second", [
    ("A@X.test", "a@x.test"),
    ("ä@x.test", "Ä@X.TEST"),
    ("élodie@exemple.test", "ÉLODIE@Exemple.Test"),
    ("k@x.test", "\u212a@x.test"),  # KELVIN SIGN folds to k
    ("same@x.test", "  SAME@x.test  "),
])
async def test_emails_are_unique_case_insensitively(server: InProcessServer, first: str,
                                                    second: str) -> None:
    created = await _register(server.http, first)
    assert created.status_code == 201, created.text
    taken = await _register(server.http, second, password="another password")
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "email_taken"
    login = await _login(server.http, second.strip(), PASSWORD)
    assert login.status_code == 200
    me = await server.http.get("/v1/auth/me", headers=_bearer(login.json()["access_token"]))
    assert me.json()["id"] == created.json()["user"]["id"]
    assert (await _login(server.http, first, "another password")).status_code == 401


async def test_passwords_have_at_least_8_characters(server: InProcessServer) -> None:
    short = await _register(server.http, "short@x.test", password="1234567")
    assert short.status_code == 400 and short.json()["error"]["code"] == "validation"
    assert (await _login(server.http, "short@x.test", "1234567")).status_code == 401
    assert (await _register(server.http, "short@x.test", password="12345678")).status_code == 201


@pytest.mark.parametrize("email", [
    "", "plain", "a@b", "@x.test", "a@", "a@@x.test", "a b@x.test", "a@x .test",
    "a\x00@x.test", "a\x7f@x.test", "a\u200b@x.test", "a\u202e@x.test", "a@x.test\x00",
    "l" * 65 + "@x.test", "a@" + "d" * 256 + ".test", 5, None, ["a@x.test"], {"a": 1},
], ids=lambda email: ascii(email)[:24])
async def test_invalid_emails_are_refused(server: InProcessServer, email: Any) -> None:
    response = await _register(server.http, email)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation"


@pytest.mark.parametrize("name", [
    "a\x00b", "two\nlines", "tab\tname", "\x1b[31mred", "bidi\u202eevil", "del\x7f",
    "", "   ", "n" * 201, 5, None,
])
async def test_names_with_control_characters_are_refused(server: InProcessServer,
                                                         name: Any) -> None:
    response = await _register(server.http, "named@x.test", name=name)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation"
    assert (await _login(server.http, "named@x.test", PASSWORD)).status_code == 401


@pytest.mark.parametrize("body", [
    b"not json", b"{", b"\xff\xfe\xfa", b"", b"[]", b'"a string"', b"1", b"null", b"true",
    b"[" * 5_000 + b"]" * 5_000,  # nested deeper than the parser's recursion limit
    json.dumps({"email": "u@x.test", "password": PASSWORD, "name": "N", "admin": True}).encode(),
    json.dumps({"email": "u@x.test", "password": PASSWORD}).encode(),
])
async def test_register_bodies_must_be_one_json_object_with_the_fields(
    server: InProcessServer, body: bytes
) -> None:
    response = await server.http.post("/v1/auth/register", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation"
    assert (await _login(server.http, "u@x.test", PASSWORD)).status_code == 401


async def test_unknown_fields_are_named(server: InProcessServer) -> None:
    response = await _post_raw(server.http, "/v1/auth/login",
                               {"email": "u@x.test", "password": PASSWORD, "role": "admin"})
    assert response.status_code == 400
    assert "role" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh"])
async def test_huge_bodies_are_413(server: InProcessServer, path: str) -> None:
    # Under the app-wide 6 MiB cap, so the server reads it all before answering (a body
    # cut off mid-send leaves httpx's stream unfinished, a ResourceWarning).
    body = {"email": "huge@x.test", "password": "p" * 2_000_000, "name": "Huge"}
    response = await _post_raw(server.http, path, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


# --- hostile strings in every field of register, login and refresh ---

HOSTILE = {
    "sql-quote": SQL_QUOTE, "sql-or": SQL_OR, "nul": "abcd\x00efgh",
    "controls": "a\x01\x07\x1b[31m\x7fz", "megabyte": MEGABYTE, "lone-surrogate": "pass\ud800word",
}


async def test_hostile_strings_in_register(server: InProcessServer) -> None:
    """Every field × every hostile string: the documented 4xx, or an account that works."""
    for label, value in HOSTILE.items():
        refused = await _register(server.http, value if label != "lone-surrogate"
                                  else "a\ud800@x.test")
        assert refused.status_code in ({400} if label != "megabyte" else TOO_BIG), label

        email = f"pw-{label}@x.test"
        response = await _register(server.http, email, password=value)
        if label in ("megabyte", "lone-surrogate"):
            assert response.status_code in (TOO_BIG if label == "megabyte" else {400}), label
            assert (await _login(server.http, email, PASSWORD)).status_code == 401
        else:  # any text of 8+ characters is a password, hashed whole
            assert response.status_code == 201, (label, response.text)
            assert (await _login(server.http, email, value)).status_code == 200, label
            assert (await _login(server.http, email, value[:4])).status_code == 401, label

        email = f"name-{label}@x.test"
        response = await _register(server.http, email, name=value)
        if label.startswith("sql"):
            assert response.status_code == 201, response.text
            login = await _login(server.http, email, PASSWORD)
            me = await server.http.get("/v1/auth/me",
                                       headers=_bearer(login.json()["access_token"]))
            assert me.json()["name"] == value  # byte for byte, not escaped, not executed
        else:
            assert response.status_code in ({400} if label != "megabyte" else TOO_BIG), label
            assert (await _login(server.http, email, PASSWORD)).status_code == 401
    # The users table survived the SQL fragments: a user from before still signs in.
    assert (await _login(server.http, "pw-sql-quote@x.test", SQL_QUOTE)).status_code == 200


async def test_hostile_strings_in_login_and_refresh(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    for label, value in HOSTILE.items():
        expected = {"megabyte": TOO_BIG, "lone-surrogate": {400}}.get(label, {401})
        for email, password in ((value, PASSWORD), (user.email, value)):
            response = await _login(server.http, email, password)
            assert response.status_code in expected, (label, response.text)
        response = await _post_raw(server.http, "/v1/auth/refresh", {"refresh_token": value})
        assert response.status_code in expected, (label, response.text)
    assert (await _login(server.http, user.email, PASSWORD)).status_code == 200
    refreshed = await _post_raw(server.http, "/v1/auth/refresh",
                                {"refresh_token": user.refresh_token})
    assert refreshed.status_code == 200


# --- login: one answer and one argon2 run, whether or not the email exists ---

class SpyHasher:
    """The real argon2 hasher, recording which hashes it verifies against."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified: list[str] = []
        self.on_event_loop = False

    def _note_thread(self) -> None:
        self.on_event_loop |= threading.current_thread() is threading.main_thread()

    def hash(self, password: str) -> str:
        self._note_thread()
        return str(self.real.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        self._note_thread()
        self.verified.append(password_hash)
        return bool(self.real.verify(password_hash, password))


async def test_failed_logins_look_and_cost_the_same(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = SpyHasher(REAL_HASHER)  # the production cost, for both the user and the dummy
    monkeypatch.setattr(passwords, "_hasher", spy)
    user = await sign_up(server.http)
    spy.verified = []

    unknown = await _login(server.http, "nobody@x.test", PASSWORD)
    unknown_runs, spy.verified = spy.verified, []
    wrong = await _login(server.http, user.email, "wrong password")
    wrong_runs, spy.verified = spy.verified, []

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "invalid_credentials"
    assert len(unknown_runs) == len(wrong_runs) == 1
    # Same argon2 parameters (memory, iterations, lanes), so the same work.
    assert unknown_runs[0].rsplit("$", 2)[0] == wrong_runs[0].rsplit("$", 2)[0]
    assert unknown_runs[0] != wrong_runs[0]  # the unknown email ran against the dummy hash

    right = await _login(server.http, user.email.upper(), PASSWORD)
    assert right.status_code == 200 and len(spy.verified) == 1
    # argon2 ran in worker threads, never stalling the sessions on the Trio thread.
    assert not spy.on_event_loop


# --- refresh tokens: rotation, reuse, logout, expiry ---

async def _refresh(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await _post_raw(http, "/v1/auth/refresh", {"refresh_token": token})


async def test_refresh_rotates_and_reuse_revokes_the_family(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    other_login = (await _login(server.http, user.email, PASSWORD)).json()

    first = await _refresh(server.http, user.refresh_token)
    assert first.status_code == 200
    pair = first.json()
    assert pair["token_type"] == "bearer" and pair["refresh_token"] != user.refresh_token
    me = await server.http.get("/v1/auth/me", headers=_bearer(pair["access_token"]))
    assert me.json()["id"] == user.id

    reuse = await _refresh(server.http, user.refresh_token)
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "invalid_refresh_token"
    newest = await _refresh(server.http, pair["refresh_token"])
    assert newest.status_code == 401, "reuse must revoke the whole family, newest included"
    # Another sign-in of the same user is another family, untouched.
    assert (await _refresh(server.http, other_login["refresh_token"])).status_code == 200


@pytest.mark.parametrize("token", ["", "garbage", "a" * 512])
async def test_unknown_refresh_tokens_are_401(server: InProcessServer, token: str) -> None:
    response = await _refresh(server.http, token)
    assert response.status_code == 401


async def test_an_access_token_is_no_refresh_token(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    assert (await _refresh(server.http, user.access_token)).status_code == 401


async def test_logout_revokes_the_family(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    anonymous = await _post_raw(server.http, "/v1/auth/logout",
                                {"refresh_token": user.refresh_token})
    assert anonymous.status_code == 401
    rotated = await _refresh(server.http, user.refresh_token)
    assert rotated.status_code == 200, "a logout without a bearer token changes nothing"
    newest = rotated.json()["refresh_token"]
    logout = await _post_raw(server.http, "/v1/auth/logout", {"refresh_token": newest},
                             _bearer(rotated.json()["access_token"]))
    assert logout.status_code == 204
    assert (await _refresh(server.http, newest)).status_code == 401


async def test_refresh_tokens_expire(
    make_server: Callable[..., Awaitable[InProcessServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    services: list[AuthService] = []

    class Recorded(AuthService):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            services.append(self)

    monkeypatch.setattr(editor.serve, "AuthService", Recorded)
    server = await make_server(refresh_token_ttl_s=3600)
    now = [time.time()]
    [auth] = services
    auth.clock = lambda: now[0]
    start = now[0]

    user = await sign_up(server.http)
    now[0] = start + 3599
    pair = await _refresh(server.http, user.refresh_token)
    assert pair.status_code == 200, "one second before expiry the token still works"
    now[0] = start + 3599 + 3600
    expired = await _refresh(server.http, pair.json()["refresh_token"])
    assert expired.status_code == 401, "at its expiry the token is refused"
    assert "expired" in expired.json()["error"]["message"]
