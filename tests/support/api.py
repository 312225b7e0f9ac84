"""Small REST helpers for tests: sign up users and create documents."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

_counter = itertools.count()


@dataclass
class Account:
    """A signed-up user with a fresh token pair."""

    id: str
    email: str
    name: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_up(http: httpx.AsyncClient, name: str = "user") -> Account:
    """Register and log in a new user with a unique email."""
    email = f"{name}-{next(_counter)}@example.test"
    password = "correct horse battery"
    response = await http.post("/v1/auth/register",
                               json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    response = await http.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens = response.json()
    return Account(user["id"], email, name, tokens["access_token"], tokens["refresh_token"])


async def create_document(http: httpx.AsyncClient, owner: Account, title: str = "doc",
                          content: Any = None) -> dict[str, Any]:
    """Create a document and return its metadata."""
    body: dict[str, Any] = {"title": title}
    if content is not None:
        body["content"] = content
    response = await http.post("/v1/documents", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def share(http: httpx.AsyncClient, owner: Account, doc_id: str, member: Account,
                role: str) -> None:
    """Give ``member`` a role on the document."""
    response = await http.put(f"/v1/documents/{doc_id}/members/{member.email}",
                              json={"role": role}, headers=owner.headers)
    assert response.status_code == 200, response.text
