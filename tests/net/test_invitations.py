"""Sharing with an email (issue 18, item 1): the same answer whether or not the address has an
account, pending invitations the owner sees and can revoke, and invitations that become roles
only once someone proves they own the address (verification link or an OIDC issuer)."""

from __future__ import annotations

import email
import re
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import httpx

from editor.auth.oidc import Identity, link_account
from editor.backends import opened_store
from tests.conftest import InProcessServer
from tests.support.api import Account, create_document, sign_up

PASSWORD = "correct horse battery"
VERIFY_LINK = re.compile(r"/verify#token=([A-Za-z0-9_-]+)")


def _mails(server: InProcessServer, to: str, *, sharing: bool = False) -> list[Message]:
    """The mails written to the outbox for ``to`` (only those about sharing, if asked)."""
    found = []
    for path in sorted((server.cfg.data_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == to and not (sharing and "email address" in message["Subject"]):
            found.append(message)
    return found


def _text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def _share(http: httpx.AsyncClient, owner: Account, doc_id: str, address: str,
                 role: str = "editor") -> httpx.Response:
    return await http.put(f"/v1/documents/{doc_id}/members/{quote(address)}",
                          json={"role": role}, headers=owner.headers)


async def _members(http: httpx.AsyncClient, who: Account, doc_id: str) -> list[dict[str, object]]:
    response = await http.get(f"/v1/documents/{doc_id}/members", headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def _register_and_login(http: httpx.AsyncClient, address: str) -> dict[str, str]:
    response = await http.post("/v1/auth/register",
                               json={"email": address, "password": PASSWORD, "name": "New"})
    assert response.status_code == 201, response.text
    response = await http.post("/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_sharing_answers_the_same_with_or_without_an_account(
        server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    known = await sign_up(server.http, "known")
    doc_id = (await create_document(server.http, owner, "Plans"))["id"]

    with_account = await _share(server.http, owner, doc_id, known.email)
    without = await _share(server.http, owner, doc_id, "stranger@example.test")

    assert with_account.status_code == without.status_code == 200
    assert with_account.json() == {"email": known.email, "role": "editor"}
    assert without.json() == {"email": "stranger@example.test", "role": "editor"}
    assert set(with_account.headers) == set(without.headers)
    # Both addresses hear about it: probing for accounts is never silent.
    (shared,) = _mails(server, known.email, sharing=True)
    (invited,) = _mails(server, "stranger@example.test")
    assert f"/d/{doc_id}" in _text(shared) and "Plans" in _text(shared)
    assert "/register" in _text(invited) and "Plans" in _text(invited)


async def test_owner_sees_pending_invitations_and_members_do_not(
        server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    editor = await sign_up(server.http, "editor")
    doc_id = (await create_document(server.http, owner))["id"]
    await _share(server.http, owner, doc_id, editor.email)
    await _share(server.http, owner, doc_id, "Pending@Example.test", "viewer")
    await _share(server.http, owner, doc_id, "pending@example.test", "editor")  # role change

    listed = await _members(server.http, owner, doc_id)
    pending = [m for m in listed if m["pending"]]
    assert pending == [{"user_id": None, "email": "Pending@example.test", "name": "",
                        "role": "editor", "pending": True}]
    assert len(_mails(server, "Pending@example.test")) == 1  # a role change mails nobody
    assert all(not m["pending"] for m in await _members(server.http, editor, doc_id))
    assert {m["email"] for m in await _members(server.http, editor, doc_id)} == {
        owner.email, editor.email}


async def test_an_invitation_becomes_a_role_when_the_address_is_verified(
        server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    await _share(server.http, owner, doc_id, "newcomer@example.test", "viewer")

    # Registering is not proof of owning the address: no access yet.
    headers = await _register_and_login(server.http, "NEWCOMER@example.test")
    assert (await server.http.get(f"/v1/documents/{doc_id}", headers=headers)).status_code == 404
    assert (await server.http.get("/v1/documents", headers=headers)).json()["items"] == []

    (token,) = [match.group(1) for message in _mails(server, "NEWCOMER@example.test")
                if (match := VERIFY_LINK.search(_text(message)))]
    assert (await server.http.post("/v1/auth/verify", json={"token": token})).status_code == 200

    document = await server.http.get(f"/v1/documents/{doc_id}", headers=headers)
    assert document.status_code == 200 and document.json()["role"] == "viewer"
    listed = await _members(server.http, owner, doc_id)
    assert [(m["email"], m["role"], m["pending"]) for m in listed if m["email"] != owner.email] \
        == [("NEWCOMER@example.test", "viewer", False)]


async def test_a_revoked_invitation_grants_nothing(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    await _share(server.http, owner, doc_id, "gone@example.test")
    path = f"/v1/documents/{doc_id}/members/{quote('GONE@example.test')}"
    assert (await server.http.delete(path, headers=owner.headers)).status_code == 204
    response = await server.http.delete(path, headers=owner.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert [m for m in await _members(server.http, owner, doc_id) if m["pending"]] == []

    headers = await _register_and_login(server.http, "gone@example.test")
    (token,) = [match.group(1) for message in _mails(server, "gone@example.test")
                if (match := VERIFY_LINK.search(_text(message)))]
    await server.http.post("/v1/auth/verify", json={"token": token})
    assert (await server.http.get(f"/v1/documents/{doc_id}", headers=headers)).status_code == 404


async def test_only_the_owner_invites_and_revokes(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    editor = await sign_up(server.http, "editor")
    doc_id = (await create_document(server.http, owner))["id"]
    await _share(server.http, owner, doc_id, editor.email)
    await _share(server.http, owner, doc_id, "invited@example.test")
    assert (await _share(server.http, editor, doc_id, "friend@example.test")).status_code == 403
    response = await server.http.delete(
        f"/v1/documents/{doc_id}/members/invited@example.test", headers=editor.headers)
    assert response.status_code == 403
    assert _mails(server, "friend@example.test") == []


async def test_sharing_is_rate_limited_per_user(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    for n in range(server.cfg.shares_per_user_per_min):
        assert (await _share(server.http, owner, doc_id, f"p{n}@example.test")).status_code == 200
    response = await _share(server.http, owner, doc_id, "one-too-many@example.test")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert _mails(server, "one-too-many@example.test") == []


async def test_look_alike_addresses_are_one_account(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    await _register_and_login(server.http, "ada@exämple.test")
    # Full-width letters (NFKC) and the domain's Unicode and ASCII forms (IDNA) are the same.
    for look_alike in ("\uff41da@exämple.test", "ada@xn--exmple-cua.test", "ADA@EXÄMPLE.TEST"):
        response = await server.http.post("/v1/auth/register", json={
            "email": look_alike, "password": PASSWORD, "name": "Twin"})
        assert response.status_code == 409, (look_alike, response.text)
        login = await server.http.post("/v1/auth/login",
                                       json={"email": look_alike, "password": PASSWORD})
        assert login.status_code == 200
    shared = await _share(server.http, owner, doc_id, "\uff41da@EXÄMPLE.test")
    assert shared.json()["email"] == "ada@xn--exmple-cua.test"
    assert [m["pending"] for m in await _members(server.http, owner, doc_id)
            if m["email"] != owner.email] == [False]
    bad = await _share(server.http, owner, doc_id, "not-an-address")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation"


async def test_signing_in_through_oidc_accepts_invitations(tmp_path: Path) -> None:
    async with opened_store(f"sqlite:///{tmp_path / 'oidc.db'}") as store:
        owner = await store.create_user("owner@example.test", "O", "hash")
        doc = await store.create_document(owner.id, "t", [{"insert": "\n"}])
        await store.invite(doc.id, "oidc@example.test", "editor", owner.id)
        user = await link_account(store, Identity("https://issuer.test", "sub-1",
                                                  "oidc@example.test", "Oidc"))
        assert await store.role_of(doc.id, user.id) == "editor"
        assert await store.invitations(doc.id) == []
