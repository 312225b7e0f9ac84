"""Request body limits: small for accounts, a whole document's worth for documents."""

from __future__ import annotations

import json

from tests.conftest import InProcessServer
from tests.support.api import sign_up


async def test_auth_bodies_are_limited_to_64_kib(server: InProcessServer) -> None:
    body = {"email": "big@example.test", "password": "x" * 70_000, "name": "Big"}
    response = await server.http.post("/v1/auth/register", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    login = await server.http.post("/v1/auth/login",
                                   json={"email": "big@example.test", "password": "whatever"})
    assert login.status_code == 401  # nothing was created


async def test_document_bodies_may_carry_a_large_document_but_not_more(
    server: InProcessServer,
) -> None:
    owner = await sign_up(server.http)
    large = {"title": "large", "content": [{"insert": "a" * 1_000_000 + "\n"}]}
    response = await server.http.post("/v1/documents", json=large, headers=owner.headers)
    assert response.status_code == 201, response.text
    huge = json.dumps({"title": "huge", "content": [{"insert": "a" * 7_000_000 + "\n"}]})
    response = await server.http.post("/v1/documents", content=huge, headers={
        **owner.headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
