"""Origins: CORS for configured sites, and WebSocket handshakes refused to other sites."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from trio_websocket import ConnectionRejected, open_websocket_url

from editor.guards.origins import normalize, session_origin_allowed
from editor.net.http import client_ws_url
from tests.conftest import InProcessServer
from tests.support.api import create_document, sign_up

MakeServer = Callable[..., Awaitable[InProcessServer]]
FRIEND = "https://friend.example.test"


def test_normalize() -> None:
    assert normalize("HTTPS://Example.TEST:443/") == "https://example.test"
    assert normalize("http://example.test:8080") == "http://example.test:8080"
    assert normalize("http://[::1]:8000") == "http://[::1]:8000"
    for garbage in ("null", "", "example.test", "http://host:port"):
        assert normalize(garbage) == ""


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    (None, "127.0.0.1:8001", True),  # not a browser
    ("http://127.0.0.1:8000", "127.0.0.1:8001", True),  # our page on the HTTP port
    ("http://localhost:8000", "127.0.0.1:8001", True),  # loopback under another name
    ("https://docs.example.test", "docs.example.test", True),
    ("https://evil.example.test", "docs.example.test", False),
    ("https://evil.example.test", "127.0.0.1:8001", False),
    ("http://127.0.0.1:8000", "docs.example.test", False),
    ("null", "127.0.0.1:8001", False),
    ("https://public.example.test", "10.0.0.7:8001", True),  # EDITOR_PUBLIC_URL
    (FRIEND, "10.0.0.7:8001", True),  # EDITOR_ALLOWED_ORIGINS
])
def test_session_origin_rules(origin: str | None, host: str, allowed: bool) -> None:
    assert session_origin_allowed(origin, host, "https://public.example.test",
                                  (FRIEND,)) is allowed


async def handshake(server: InProcessServer, doc_id: str, origin: str | None) -> int:
    """101 when the WebSocket opens, else the HTTP status of the refusal."""
    headers = [] if origin is None else [(b"origin", origin.encode())]
    try:
        async with open_websocket_url(f"{server.ws_url}/v1/docs/{doc_id}/ws",
                                      extra_headers=headers):
            return 101
    except ConnectionRejected as exc:
        return int(exc.status_code)


async def test_websocket_handshakes_from_other_sites_are_refused(
    make_server: MakeServer,
) -> None:
    server = await make_server(allowed_origins=(FRIEND,))
    owner = await sign_up(server.http)
    doc = await create_document(server.http, owner)
    assert await handshake(server, doc["id"], None) == 101
    assert await handshake(server, doc["id"], server.http_url) == 101
    assert await handshake(server, doc["id"], FRIEND) == 101
    assert await handshake(server, doc["id"], "https://evil.example.test") == 403
    assert await handshake(server, doc["id"], "null") == 403


async def test_cors_answers_configured_origins_only(make_server: MakeServer) -> None:
    server = await make_server(allowed_origins=(FRIEND,))
    owner = await sign_up(server.http)
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}

    response = await server.http.options("/v1/documents", headers={"Origin": FRIEND, **preflight})
    assert response.status_code == 204
    assert response.content == b"" and not {"content-type", "content-length"} & set(
        response.headers)
    assert response.headers["Access-Control-Allow-Origin"] == FRIEND
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]

    refused = await server.http.options(
        "/v1/documents", headers={"Origin": "https://evil.example.test", **preflight})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in refused.headers

    listing = await server.http.get("/v1/documents", headers={"Origin": FRIEND, **owner.headers})
    assert listing.headers["Access-Control-Allow-Origin"] == FRIEND
    assert "Origin" in listing.headers["Vary"]
    assert "Retry-After" in listing.headers["Access-Control-Expose-Headers"]
    other = await server.http.get("/v1/documents",
                                  headers={"Origin": "https://evil.example.test", **owner.headers})
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_no_cross_origin_access_by_default(server: InProcessServer) -> None:
    response = await server.http.options("/v1/auth/login", headers={
        "Origin": "https://friend.example.test", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in (await server.http.get(
        "/v1/config", headers={"Origin": "https://friend.example.test"})).headers


def fake_services(**cfg: Any) -> Any:
    defaults = {"public_ws_url": "", "host": "0.0.0.0"}
    return SimpleNamespace(cfg=SimpleNamespace(**{**defaults, **cfg}),
                           ws_url="ws://0.0.0.0:8001")


def test_config_ws_url_names_the_host_the_client_used_on_wildcard_binds() -> None:
    assert client_ws_url(fake_services(), "docs.example.test:8000") == (
        "ws://docs.example.test:8001")
    assert client_ws_url(fake_services(), "[::1]:8000") == "ws://[::1]:8001"
    assert client_ws_url(fake_services(host="127.0.0.1"), "x:1") == "ws://0.0.0.0:8001"
    assert client_ws_url(fake_services(public_ws_url="wss://w"), "x:1") == "ws://0.0.0.0:8001"
