"""Small REST helpers for tests: sign up users and create documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import uuid
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


_HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def forge_token(claims: dict[str, Any], key: bytes = b"", *, alg: str = "HS256",
                **header: Any) -> str:
    """A JWT built by hand, so tests can sign what no real issuer would (``alg: none``…)."""
    signing_input = (f"{_b64url(json.dumps({'alg': alg, 'typ': 'JWT', **header}).encode())}"
                     f".{_b64url(json.dumps(claims).encode())}")
    signature = b"" if alg.lower() == "none" else hmac.new(
        key, signing_input.encode(), _HMAC_DIGESTS[alg]).digest()
    return f"{signing_input}.{_b64url(signature)}"


def access_claims(user_id: str, now: float, ttl_s: int = 600, **overrides: Any) -> dict[str, Any]:
    """The claims of an access token as the editor issues them (default issuer/audience)."""
    claims: dict[str, Any] = {"iss": "editor", "aud": "editor", "sub": user_id,
                              "iat": int(now), "exp": int(now) + ttl_s, "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return claims
