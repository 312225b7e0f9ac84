"""Rate limits: token buckets per user and per address, 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.conftest import InProcessServer
from tests.support.api import sign_up


async def test_documents_limit_per_user_answers_429_with_retry_after(
    make_server: Callable[..., Awaitable[InProcessServer]],
) -> None:
    server = await make_server(documents_per_user_per_min=3)
    user = await sign_up(server.http, "busy")
    other = await sign_up(server.http, "calm")
    statuses = [(await server.http.get("/v1/documents", headers=user.headers)).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = await server.http.get("/v1/documents", headers=user.headers)
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert (await server.http.get("/v1/documents", headers=other.headers)).status_code == 200


async def test_public_auth_limit_per_address(
    make_server: Callable[..., Awaitable[InProcessServer]],
) -> None:
    server = await make_server(auth_per_address_per_min=5)
    body = {"email": "nobody@example.test", "password": "wrong password"}
    statuses = [(await server.http.post("/v1/auth/login", json=body)).status_code
                for _ in range(6)]
    assert statuses == [401] * 5 + [429]
