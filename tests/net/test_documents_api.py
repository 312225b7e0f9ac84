"""Documents over REST: the role matrix of PROTOCOL.md §4, deletion, paging, membership."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trio
from argon2 import PasswordHasher

from editor.auth import passwords
from tests.conftest import InProcessServer
from tests.support.api import Account, create_document, share, sign_up
from tests.support.raw import connect

MISSING_ID = "0" * 32
ORDER = ("anonymous", "stranger", "viewer", "editor", "owner")  # the least trusted first
READ = {"anonymous": 401, "stranger": 404, "viewer": 200, "editor": 200, "owner": 200}
WRITE = {**READ, "viewer": 403}
OWNER_ONLY = {**WRITE, "editor": 403}
ERROR_CODES = {400: "validation", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its lowest cost: these tests sign up many users, not crack them."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass(frozen=True)
class Endpoint:
    """One row of the matrix: the request and the status each role gets."""

    method: str
    path: str  # with {doc}, {viewer}, {editor}
    body: dict[str, Any] | None
    statuses: dict[str, int]


ENDPOINTS = {
    "get document": Endpoint("GET", "/v1/documents/{doc}", None, READ),
    "rename": Endpoint("PATCH", "/v1/documents/{doc}", {"title": "renamed"}, WRITE),
    "delete document": Endpoint("DELETE", "/v1/documents/{doc}", None,
                                {**OWNER_ONLY, "owner": 204}),
    "list members": Endpoint("GET", "/v1/documents/{doc}/members", None, READ),
    # The viewer's own attempt is a self-promotion, the editor's a promotion of another.
    "share": Endpoint("PUT", "/v1/documents/{doc}/members/{viewer}", {"role": "owner"},
                      OWNER_ONLY),
    "unshare": Endpoint("DELETE", "/v1/documents/{doc}/members/{editor}", None,
                        {**OWNER_ONLY, "owner": 204}),
    "ops": Endpoint("GET", "/v1/documents/{doc}/ops?from=0", None, READ),
    "version": Endpoint("GET", "/v1/documents/{doc}/versions/0", None, READ),
    "restore": Endpoint("POST", "/v1/documents/{doc}/restore", {"version": 0}, WRITE),
    "presence": Endpoint("GET", "/v1/documents/{doc}/presence", None, READ),
}


@dataclass
class World:
    """A document with one op of history, its owner, an editor, a viewer and a stranger."""

    server: InProcessServer
    accounts: dict[str, Account]
    doc_id: str

    @property
    def http(self) -> httpx.AsyncClient:
        return self.server.http

    def headers(self, role: str) -> dict[str, str]:
        return self.accounts[role].headers if role in self.accounts else {}

    async def call(self, endpoint: Endpoint, role: str, doc_id: str | None = None
                   ) -> httpx.Response:
        path = endpoint.path.format(doc=doc_id or self.doc_id,
                                    viewer=self.accounts["viewer"].email,
                                    editor=self.accounts["editor"].email)
        return await self.http.request(endpoint.method, path, json=endpoint.body,
                                       headers=self.headers(role))

    async def state(self) -> tuple[Any, ...]:
        """Everything a write could change, as the owner sees it."""
        owner = self.headers("owner")
        doc = (await self.http.get(f"/v1/documents/{self.doc_id}", headers=owner)).json()
        members = (await self.http.get(f"/v1/documents/{self.doc_id}/members",
                                       headers=owner)).json()
        listed = (await self.http.get("/v1/documents", headers=owner)).json()["items"]
        return doc, members, listed


async def make_world(server: InProcessServer) -> World:
    accounts = {role: await sign_up(server.http, role)
                for role in ("owner", "editor", "viewer", "stranger")}
    doc_id = (await create_document(server.http, accounts["owner"], "plans", content="v0"))["id"]
    await share(server.http, accounts["owner"], doc_id, accounts["editor"], "editor")
    await share(server.http, accounts["owner"], doc_id, accounts["viewer"], "viewer")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(accounts["owner"].access_token)
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "x"}]})
            await client.recv_type("ack")
    return World(server, accounts, doc_id)


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == ERROR_CODES[status]


@pytest.mark.parametrize("name", ENDPOINTS)
async def test_role_matrix(server: InProcessServer, name: str) -> None:
    world = await make_world(server)
    endpoint = ENDPOINTS[name]
    for role in ORDER:
        before = await world.state()
        response = await world.call(endpoint, role)
        assert response.status_code == endpoint.statuses[role], (role, response.text)
        if response.status_code >= 400:
            assert_error(response, response.status_code)
            assert await world.state() == before, f"a refused {role} changed something"
        if role == "stranger":  # exactly what a document that does not exist answers
            missing = await world.call(endpoint, role, MISSING_ID)
            assert (missing.status_code, missing.json()) == (404, response.json())


async def test_role_matrix_of_websocket_ops(server: InProcessServer) -> None:
    world = await make_world(server)
    for role in ORDER:
        head = (await world.state())[0]["version"]
        token = world.accounts[role].access_token if role in world.accounts else "no-token"
        with trio.fail_after(10):
            async with connect(server.ws_url, world.doc_id) as client:
                await client.send({"type": "hello", "token": token, "client_id": role,
                                   "version": None})
                if role in ("anonymous", "stranger"):
                    code, frames = await client.closed()
                    expected = {"anonymous": (4401, "unauthorized"),
                                "stranger": (4404, "not_found")}[role]
                    assert (code, frames[0]["code"]) == expected
                    continue
                assert (await client.recv())["role"] == role
                await client.send({"type": "op", "seq": 1, "version": head,
                                   "delta": [{"insert": role}]})
                reply = await client.recv_type("ack", "error")
        if role == "viewer":
            assert (reply["type"], reply["code"]) == ("error", "forbidden")
            assert (await world.state())[0]["version"] == head
        else:
            assert reply == {"type": "ack", "seq": 1, "version": head}
            assert (await world.state())[0]["version"] == head + 1


async def test_a_deleted_document_is_gone_for_everyone(server: InProcessServer) -> None:
    world = await make_world(server)
    response = await world.call(ENDPOINTS["delete document"], "owner")
    assert response.status_code == 204
    assert response.content == b"" and not {"content-type", "content-length"} & set(
        response.headers)
    for name, endpoint in ENDPOINTS.items():
        for role in ("owner", "editor", "viewer"):
            response = await world.call(endpoint, role)
            missing = await world.call(endpoint, role, MISSING_ID)
            assert response.status_code == 404, (name, role, response.text)
            assert response.json() == missing.json()
    for role in ("owner", "editor", "viewer"):
        listed = (await world.http.get("/v1/documents", headers=world.headers(role))).json()
        assert listed == {"items": [], "next_cursor": None}
    with trio.fail_after(10):
        async with connect(server.ws_url, world.doc_id) as client:
            await client.send({"type": "hello", "token": world.accounts["owner"].access_token,
                               "client_id": "c", "version": None})
            code, _ = await client.closed()
    assert code == 4404


# --- paging ---

async def _list(http: httpx.AsyncClient, user: Account, **params: Any) -> httpx.Response:
    return await http.get("/v1/documents", params=params, headers=user.headers)


async def test_documents_page_with_opaque_cursors(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    created = [(await create_document(server.http, user, f"doc {i}"))["id"] for i in range(25)]

    async def every_page() -> list[list[dict[str, Any]]]:
        pages, cursor = [], None
        while True:
            body = (await _list(server.http, user, limit=10,
                                **({"cursor": cursor} if cursor else {}))).json()
            pages.append(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return pages
            assert isinstance(cursor, str) and cursor

    pages = await every_page()
    assert [len(page) for page in pages] == [10, 10, 5]
    listed = [item["id"] for page in pages for item in page]
    assert listed == created[::-1]  # most recently updated first, no duplicates, no gaps
    stamps = [item["updated_at"] for page in pages for item in page]
    assert stamps == sorted(stamps, reverse=True)

    renamed = await server.http.patch(f"/v1/documents/{created[0]}", json={"title": "fresh"},
                                      headers=user.headers)
    assert renamed.status_code == 200
    listed = [item["id"] for page in await every_page() for item in page]
    assert listed == [created[0], *created[:0:-1]]

    # A cursor is a position, not a capability: another user sees only their own documents.
    other = await sign_up(server.http, "other")
    cursor = (await _list(server.http, user, limit=1)).json()["next_cursor"]
    assert (await _list(server.http, other, cursor=cursor)).json()["items"] == []


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage!", "", "%%%", "é", "a" * 10_000,
    _b64("not json"), _b64("null"), _b64("[1.0]"), _b64('[1.0, "id", 3]'), _b64('{"a": 1}'),
    _b64('["soon", "id"]'), _b64('[NaN, "id"]'), _b64('[Infinity, "id"]'),
    _b64("[1" + "0" * 400 + ', "id"]'),  # too big for a float
    _b64('[1.0, "\\ud800"]'),  # a lone surrogate SQLite cannot encode
], ids=lambda cursor: cursor[:24])
async def test_forged_cursors_are_400(server: InProcessServer, cursor: str) -> None:
    user = await sign_up(server.http)
    assert_error(await _list(server.http, user, cursor=cursor), 400)


async def test_a_cut_cursor_is_400(server: InProcessServer) -> None:
    user = await sign_up(server.http)
    for title in ("a", "b"):
        await create_document(server.http, user, title)
    cursor = (await _list(server.http, user, limit=1)).json()["next_cursor"]
    assert len((await _list(server.http, user, cursor=cursor)).json()["items"]) == 1
    assert_error(await _list(server.http, user, cursor=cursor[:-4]), 400)


@pytest.mark.parametrize("limit", ["0", "-1", "101", "1" + "0" * 30, "abc", "1.5", "", "0x10"])
async def test_limits_outside_1_to_100_are_400(server: InProcessServer, limit: str) -> None:
    """Refused rather than clamped: a client asking for 10**30 has a bug worth seeing."""
    user = await sign_up(server.http)
    assert_error(await _list(server.http, user, limit=limit), 400)
    for fine in ("1", "100"):
        assert (await _list(server.http, user, limit=fine)).status_code == 200


# --- membership ---

async def _put_member(world: World, email: str, body: Any, role: str = "owner"
                      ) -> httpx.Response:
    return await world.http.put(f"/v1/documents/{world.doc_id}/members/{quote(email)}",
                                json=body, headers=world.headers(role))


async def _delete_member(world: World, email: str, role: str = "owner") -> httpx.Response:
    return await world.http.delete(f"/v1/documents/{world.doc_id}/members/{quote(email)}",
                                   headers=world.headers(role))


async def test_membership_rules(server: InProcessServer) -> None:
    world = await make_world(server)
    owner, editor, viewer, stranger = (world.accounts[r]
                                       for r in ("owner", "editor", "viewer", "stranger"))
    before = await world.state()

    # An email without an account gets an invitation (tests/net/test_invitations.py).
    assert_error(await _delete_member(world, "nobody@example.test"), 404)
    assert_error(await _delete_member(world, stranger.email), 404)  # has no role
    for bad_role in ("admin", "", "Owner", "OWNER", None, 5, True, ["editor"], {"r": 1}):
        assert_error(await _put_member(world, viewer.email, {"role": bad_role}), 400)
    assert_error(await _put_member(world, viewer.email, {}), 400)
    assert_error(await _put_member(world, viewer.email, {"role": "editor", "x": 1}), 400)
    # Members cannot raise themselves or share further.
    assert_error(await _put_member(world, viewer.email, {"role": "editor"}, "viewer"), 403)
    assert_error(await _put_member(world, editor.email, {"role": "owner"}, "editor"), 403)
    assert_error(await _put_member(world, stranger.email, {"role": "viewer"}, "editor"), 403)
    assert_error(await _delete_member(world, owner.email, "editor"), 403)
    assert await world.state() == before

    # A change of role applies to the next request.
    assert (await _put_member(world, editor.email, {"role": "viewer"})).status_code == 200
    renamed = await world.http.patch(f"/v1/documents/{world.doc_id}", json={"title": "t"},
                                     headers=editor.headers)
    assert_error(renamed, 403)
    assert (await _delete_member(world, editor.email)).status_code == 204
    assert_error(await world.http.get(f"/v1/documents/{world.doc_id}",
                                      headers=editor.headers), 404)


async def test_a_document_never_loses_its_owner(server: InProcessServer) -> None:
    world = await make_world(server)
    owner, editor = world.accounts["owner"], world.accounts["editor"]
    for email in (owner.email, owner.email.upper()):
        for role in ("editor", "viewer"):
            refused = await _put_member(world, email, {"role": role})
            assert_error(refused, 400)
            assert "owner" in refused.json()["error"]["message"]
        assert_error(await _delete_member(world, email), 400)
    # A second owner can do what owners do, but not push the creator out either.
    assert (await _put_member(world, editor.email, {"role": "owner"})).status_code == 200
    assert_error(await _put_member(world, owner.email, {"role": "viewer"}, "editor"), 400)
    assert_error(await _delete_member(world, owner.email, "editor"), 400)
    members = {m["email"]: m["role"] for m in (await world.state())[1]}
    assert members[owner.email] == members[editor.email] == "owner"
    doc = (await world.state())[0]
    assert (doc["owner_id"], doc["role"]) == (owner.id, "owner")


# --- hostile strings in documents and members ---

SQL_QUOTE = "'; DROP TABLE users; --"
SQL_OR = '" OR 1=1 --'
HOSTILE = {
    "sql-quote": SQL_QUOTE, "sql-or": SQL_OR, "nul": "abc\x00def",
    "controls": "a\x01\x07\x1b[31m\x7fz", "megabyte": "x" * 1_000_000,
    "lone-surrogate": "a\ud800b",
}


async def _send_json(world: World, method: str, path: str, body: Any) -> httpx.Response:
    """Encoded by ``json.dumps``, so a lone surrogate travels as a ``\\ud800`` escape."""
    return await world.http.request(method, path, content=json.dumps(body).encode(), headers={
        **world.headers("owner"), "Content-Type": "application/json"})


async def test_hostile_strings_in_documents_and_members(server: InProcessServer) -> None:
    world = await make_world(server)
    owner, viewer = world.accounts["owner"], world.accounts["viewer"]
    doc_path = f"/v1/documents/{world.doc_id}"
    _, members_before, _ = await world.state()
    for label, value in HOSTILE.items():
        sql = label.startswith("sql")
        created = await _send_json(world, "POST", "/v1/documents", {"title": value})
        if sql:
            assert created.status_code == 201 and created.json()["title"] == value
            got = await world.http.get(f"/v1/documents/{created.json()['id']}",
                                       headers=owner.headers)
            assert got.json()["title"] == value  # byte for byte: stored as data, not run
        else:
            assert_error(created, 400)

        created = await _send_json(world, "POST", "/v1/documents",
                                   {"title": label, "content": value})
        if label == "lone-surrogate":
            assert created.status_code == 400
            assert created.json()["error"]["code"] == "invalid_op"
        else:  # any text is content, kept as given
            assert created.status_code == 201, (label, created.text)
            got = await world.http.get(f"/v1/documents/{created.json()['id']}",
                                       headers=owner.headers)
            assert got.json()["content"] == [{"insert": value + "\n"}]

        title_before = (await world.state())[0]["title"]
        renamed = await _send_json(world, "PATCH", doc_path, {"title": value})
        title_after = (await world.state())[0]["title"]
        if sql:
            assert renamed.status_code == 200 and title_after == value
        else:
            assert_error(renamed, 400)
            assert title_after == title_before

        in_path = "%ED%A0%80" if label == "lone-surrogate" else quote(value[:60_000], safe="")
        for response in (
            await world.http.put(f"{doc_path}/members/{in_path}", json={"role": "viewer"},
                                 headers=owner.headers),
            await world.http.delete(f"{doc_path}/members/{in_path}", headers=owner.headers),
        ):
            assert_error(response, 400)  # not an email address: nothing shared or invited
        assert_error(await world.http.get(f"/v1/documents/{in_path}", headers=owner.headers),
                     404)
        assert_error(await _send_json(world, "PUT", f"{doc_path}/members/{viewer.email}",
                                      {"role": value}), 400)
        assert_error(await _send_json(world, "POST", doc_path + "/restore",
                                      {"version": value}), 400)

    doc, members_after, listed = await world.state()
    assert members_after == members_before
    assert (doc["title"], doc["version"]) == (SQL_OR, 1)
    assert len(listed) == 1 + 2 + 5  # the world's, 2 SQL titles, 5 contents
    # The users table is intact: everyone still signs in and reads.
    for account in world.accounts.values():
        me = await world.http.get("/v1/auth/me", headers=account.headers)
        assert me.json()["id"] == account.id
    login = await world.http.post("/v1/auth/login",
                                  json={"email": owner.email, "password": "correct horse battery"})
    assert login.status_code == 200
