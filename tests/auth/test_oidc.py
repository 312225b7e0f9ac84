"""Sign-in through OpenID Connect, end to end against a real provider process over HTTP."""

from __future__ import annotations

import email
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import trio

from editor.auth.oidc import (
    FLOW_TTL_S,
    GOOGLE_ISSUER,
    Flow,
    FlowCookie,
    SignInFailed,
    code_challenge,
    parse_providers,
)
from editor.config import ConfigError, load
from editor.net.routes_oauth import FLOW_COOKIE
from tests.conftest import InProcessServer
from tests.support.oidc_provider import OidcProviderProcess, s256
from tests.support.servers import free_port

MakeServer = Callable[..., Awaitable[InProcessServer]]
CLIENT_ID, CLIENT_SECRET = "editor-client", "editor-client-secret"
PASSWORD = "correct horse battery"
USERS: dict[str, dict[str, Any]] = {
    "ada": {"sub": "sub-ada", "email": "ada@example.test", "email_verified": True,
            "name": "Ada Lovelace"},
    "unverified": {"sub": "sub-unverified", "email": "nope@example.test",
                   "email_verified": False, "name": "Not Verified"},
    "denied": {"sub": "sub-denied", "email": "denied@example.test", "email_verified": True,
               "quirks": ["deny"]},
    **{quirk: {"sub": f"sub-{quirk}", "email": f"{quirk}@example.test",
               "email_verified": True, "quirks": [quirk]}
       for quirk in ("wrong_key", "unknown_kid", "wrong_nonce", "wrong_audience",
                     "wrong_issuer", "expired")},
}


@contextmanager
def provider_process(work_dir: Path, **options: Any) -> Iterator[OidcProviderProcess]:
    """The test provider as a process, with the module's client and users."""
    process = OidcProviderProcess(
        {"clients": {CLIENT_ID: {"secret": CLIENT_SECRET, "redirect_uris": [
            "http://127.0.0.1/v1/auth/oauth/test/callback"]}}, "users": USERS, **options},
        work_dir)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderProcess]:
    """One provider process for the module; each test's editor has its own database."""
    with provider_process(tmp_path_factory.mktemp("oidc")) as process:
        yield process


@pytest.fixture
async def editor(make_server: MakeServer, provider: OidcProviderProcess) -> InProcessServer:
    """An editor with the test provider configured as "test"."""
    return await make_server(oidc_providers=json.dumps({"test": {
        "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}))


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with a cookie jar that follows no redirects by itself."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def start(browser: httpx.AsyncClient, editor: InProcessServer,
                provider: str = "test") -> httpx.Response:
    with trio.fail_after(10):
        return await browser.get(f"{editor.http_url}/v1/auth/oauth/{provider}/start")


async def authorize(browser: httpx.AsyncClient, editor: InProcessServer, login: str) -> str:
    """Start at the editor, approve at the provider as ``login``: the callback URL."""
    started = await start(browser, editor)
    assert started.status_code == 302, started.text
    with trio.fail_after(10):
        approved = await browser.get(with_params(started.headers["location"], login_hint=login))
    assert approved.status_code == 302, approved.text
    return approved.headers["location"]


async def sign_in(browser: httpx.AsyncClient, editor: InProcessServer,
                  login: str = "ada") -> httpx.Response:
    """The whole flow as a browser walks it: the editor's answer to the callback."""
    callback = await authorize(browser, editor, login)
    with trio.fail_after(10):
        return await browser.get(callback)


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {**dict(parse_qsl(parts.query)), **params}
    return urlunsplit(parts._replace(query=urlencode(query)))


def tokens_of(response: httpx.Response, editor: InProcessServer) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(f"{editor.http_url}/login#"), location
    return dict(parse_qsl(urlsplit(location).fragment))


def assert_failed(response: httpx.Response, status: int = 400,
                  code: str = "oauth_failed") -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return str(response.json()["error"]["message"])


async def me(editor: InProcessServer, access_token: str) -> dict[str, Any]:
    response = await editor.http.get("/v1/auth/me",
                                      headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def register(editor: InProcessServer, address: str) -> str:
    response = await editor.http.post("/v1/auth/register", json={
        "email": address, "password": PASSWORD, "name": "Squatter"})
    assert response.status_code == 201, response.text
    return str(response.json()["user"]["id"])


def outbox_token(editor: InProcessServer) -> str:
    """The token of the one verification email the editor has written."""
    [path] = (editor.cfg.data_dir / "outbox").glob("*.eml")
    body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"/verify#token=([A-Za-z0-9_-]+)", body.decode())
    assert match, body
    return match.group(1)


async def password_login(editor: InProcessServer, address: str) -> int:
    response = await editor.http.post("/v1/auth/login",
                                      json={"email": address, "password": PASSWORD})
    return response.status_code


async def test_providers_lists_the_configured_names(make_server: MakeServer) -> None:
    editor = await make_server(oidc_providers=json.dumps({
        "test": {"issuer": "https://id.example.test", "client_id": "a", "client_secret": "b"},
        "google": {"client_id": "c", "client_secret": "d"}}))
    response = await editor.http.get("/v1/auth/oauth/providers")
    assert response.json() == {"providers": ["google", "test"]}


async def test_no_providers_by_default(server: InProcessServer) -> None:
    assert (await server.http.get("/v1/auth/oauth/providers")).json() == {"providers": []}
    assert_failed(await server.http.get("/v1/auth/oauth/test/start"), 404, "not_found")


async def test_unknown_provider_is_404(editor: InProcessServer) -> None:
    assert_failed(await editor.http.get("/v1/auth/oauth/nope/start"), 404, "not_found")
    assert_failed(await editor.http.get("/v1/auth/oauth/nope/callback?code=x&state=y"),
                  404, "not_found")


async def test_sign_in_creates_a_verified_account(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    response = await sign_in(browser, editor)
    tokens = tokens_of(response, editor)
    assert tokens["token_type"] == "bearer"
    assert int(tokens["expires_in"]) == editor.cfg.access_token_ttl_s
    assert response.headers["cache-control"] == "no-store"
    assert FLOW_COOKIE not in browser.cookies  # cleared
    user = await me(editor, tokens["access_token"])
    assert user["email"] == "ada@example.test"
    assert user["name"] == "Ada Lovelace"
    assert user["email_verified"] is True
    refreshed = await editor.http.post("/v1/auth/refresh",
                                       json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    # The account has no password: nothing logs in with one.
    assert await password_login(editor, "ada@example.test") == 401


async def test_a_second_sign_in_reuses_the_account(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    first = tokens_of(await sign_in(browser, editor), editor)
    second = tokens_of(await sign_in(browser, editor), editor)
    assert first["refresh_token"] != second["refresh_token"]
    first_user, second_user = (await me(editor, first["access_token"]),
                               await me(editor, second["access_token"]))
    assert first_user["id"] == second_user["id"]


async def test_a_callback_works_once(editor: InProcessServer, browser: httpx.AsyncClient) -> None:
    callback = await authorize(browser, editor, "ada")
    cookie = browser.cookies[FLOW_COOKIE]
    tokens_of(await browser.get(callback), editor)
    async with httpx.AsyncClient(headers={"Cookie": f"{FLOW_COOKIE}={cookie}"}) as replayer:
        replay = await replayer.get(callback)
    assert "refused the authorization code" in assert_failed(replay)


async def test_a_verified_password_account_is_linked_and_keeps_its_password(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    user_id = await register(editor, "ada@example.test")
    verified = await editor.http.post("/v1/auth/verify", json={"token": outbox_token(editor)})
    assert verified.status_code == 200, verified.text

    tokens = tokens_of(await sign_in(browser, editor), editor)
    assert (await me(editor, tokens["access_token"]))["id"] == user_id
    assert await password_login(editor, "ada@example.test") == 200


async def test_an_unverified_password_account_loses_its_password(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    # Someone registered Ada's address before she ever signed in (account pre-hijacking).
    user_id = await register(editor, "ADA@example.test")
    assert await password_login(editor, "ada@example.test") == 200

    tokens = tokens_of(await sign_in(browser, editor), editor)
    user = await me(editor, tokens["access_token"])
    assert user["id"] == user_id
    assert user["email_verified"] is True
    assert await password_login(editor, "ada@example.test") == 401


async def test_a_mismatched_state_is_refused(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    callback = await authorize(browser, editor, "ada")
    assert "another sign-in" in assert_failed(
        await browser.get(with_params(callback, state="forged")))


async def test_a_missing_or_forged_cookie_is_refused(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    callback = await authorize(browser, editor, "ada")
    async with httpx.AsyncClient() as stranger:  # another browser, without the cookie
        assert "cookie is missing" in assert_failed(await stranger.get(callback))
        payload, _, _ = browser.cookies[FLOW_COOKIE].partition(".")
        forged = await stranger.get(callback, headers={"Cookie": f"{FLOW_COOKIE}={payload}.AAAA"})
        assert "not genuine" in assert_failed(forged)


async def test_an_error_from_the_provider_is_refused(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    callback = await authorize(browser, editor, "denied")
    assert "access_denied" in assert_failed(await browser.get(callback))


async def test_an_email_the_provider_has_not_verified_is_refused(
    editor: InProcessServer, browser: httpx.AsyncClient
) -> None:
    assert "not verified" in assert_failed(await sign_in(browser, editor, "unverified"))
    await register(editor, "nope@example.test")  # no account was created: the email is free


@pytest.mark.parametrize(("quirk", "says"), [
    ("wrong_key", "Signature verification failed"),
    ("unknown_kid", "unknown key 'another-key'"),
    ("wrong_nonce", "nonce"),
    ("wrong_audience", "Audience doesn't match"),
    ("wrong_issuer", "Invalid issuer"),
    ("expired", "Signature has expired"),
])
async def test_a_bad_id_token_is_refused(
    editor: InProcessServer, browser: httpx.AsyncClient, quirk: str, says: str
) -> None:
    message = assert_failed(await sign_in(browser, editor, quirk))
    assert says in message, message
    await register(editor, f"{quirk}@example.test")  # no account was created


async def test_a_provider_that_takes_only_basic_client_auth(
    make_server: MakeServer, browser: httpx.AsyncClient, tmp_path: Path
) -> None:
    with provider_process(tmp_path, token_endpoint_auth_methods=[
            "client_secret_basic"]) as provider:
        editor = await make_server(oidc_providers=json.dumps({"test": {
            "issuer": provider.issuer, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}}))
        tokens = tokens_of(await sign_in(browser, editor), editor)
        assert (await me(editor, tokens["access_token"]))["email"] == "ada@example.test"


async def test_the_start_url_carries_an_s256_challenge_of_the_cookie_verifier(
    editor: InProcessServer, browser: httpx.AsyncClient, provider: OidcProviderProcess
) -> None:
    started = await start(browser, editor)
    location = urlsplit(started.headers["location"])
    assert location._replace(query="").geturl() == f"{provider.issuer}/authorize"
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    flow = FlowCookie([editor.cfg.jwt_secret]).open(browser.cookies[FLOW_COOKIE], now=0)
    assert query == {
        "response_type": "code", "client_id": CLIENT_ID,
        "redirect_uri": f"{editor.http_url}/v1/auth/oauth/test/callback",
        "scope": "openid email profile", "state": flow.state, "nonce": flow.nonce,
        "code_challenge": s256(flow.code_verifier), "code_challenge_method": "S256",
    }
    assert flow.provider == "test"
    cookie = started.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/v1/auth/oauth/",
                      f"Max-Age={FLOW_TTL_S}"):
        assert attribute in cookie, cookie
    assert "Secure" not in cookie  # the public URL is http here


async def test_the_provider_refuses_a_code_without_the_pkce_verifier(
    provider: OidcProviderProcess,
) -> None:
    redirect_uri = "http://127.0.0.1:1/v1/auth/oauth/test/callback"
    authorize_params = {"response_type": "code", "client_id": CLIENT_ID, "scope": "openid",
                        "redirect_uri": redirect_uri, "state": "s", "login_hint": "ada"}
    async with httpx.AsyncClient(base_url=provider.issuer) as client:
        async def code_for(**pkce: str) -> dict[str, str]:
            approved = await client.get("/authorize", params={**authorize_params, **pkce})
            assert approved.status_code == 302
            return dict(parse_qsl(urlsplit(approved.headers["location"]).query))

        async def redeem(code: str, verifier: str) -> httpx.Response:
            return await client.post("/token", data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "code_verifier": verifier})

        with trio.fail_after(10):
            assert (await code_for())["error"] == "invalid_request"
            assert (await code_for(code_challenge="x", code_challenge_method="plain"))[
                "error"] == "invalid_request"
            verifier = "v" * 50
            challenge = {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
            wrong = await redeem((await code_for(**challenge))["code"], "w" * 50)
            assert wrong.status_code == 400
            assert wrong.json()["error"] == "invalid_grant"
            right = await redeem((await code_for(**challenge))["code"], verifier)
            assert right.status_code == 200, right.text
            assert "id_token" in right.json()


async def test_an_unreachable_provider_is_refused(make_server: MakeServer) -> None:
    editor = await make_server(oidc_providers=json.dumps({"test": {
        "issuer": f"http://127.0.0.1:{free_port()}", "client_id": "a", "client_secret": "b"}}))
    with trio.fail_after(10):
        response = await editor.http.get("/v1/auth/oauth/test/start")
    assert "could not reach test" in assert_failed(response)


def test_the_flow_cookie_expires_and_is_bound_to_the_key() -> None:
    cookie = FlowCookie(["new-secret", "old-secret"])
    flow = Flow.new("test", now=1000)
    sealed = cookie.seal(flow)
    assert cookie.open(sealed, now=1000 + FLOW_TTL_S - 1) == flow
    with pytest.raises(SignInFailed, match="too long"):
        cookie.open(sealed, now=1000 + FLOW_TTL_S)
    # After a key rotation a flow sealed with the previous key still finishes.
    assert FlowCookie(["newer-secret", "new-secret"]).open(sealed, now=1000) == flow
    with pytest.raises(SignInFailed, match="not genuine"):
        FlowCookie(["other-secret"]).open(sealed, now=1000)


def test_the_code_challenge_is_s256_of_rfc_7636() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_google_defaults_its_issuer() -> None:
    [google] = parse_providers(json.dumps({"google": {"client_id": "a",
                                                      "client_secret": "b"}})).values()
    assert (google.issuer, google.scopes) == (GOOGLE_ISSUER, "openid email profile")


@pytest.mark.parametrize(("raw", "says"), [
    ("{not json", "not valid JSON"),
    ('["google"]', "JSON object"),
    ('{"google": {"client_secret": "b"}}', "'client_id'"),
    ('{"corp": {"client_id": "a", "client_secret": "b"}}', "only 'google' has a default"),
    ('{"google": {"client_id": "a", "client_secret": "b", "tenant": "x"}}',
     "unknown keys tenant"),
    ('{"corp": {"issuer": "http://id.example.com", "client_id": "a", "client_secret": "b"}}',
     "https"),
    ('{"google": {"client_id": "a", "client_secret": "b", "scopes": "openid"}}', "email"),
    ('{"Bad Name": {"client_id": "a", "client_secret": "b"}}', "a name has"),
])
def test_bad_provider_config_fails_at_start_up(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load({"EDITOR_OIDC_PROVIDERS": raw})
