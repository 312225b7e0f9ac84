"""The OpenAPI document: valid OpenAPI 3.1, exactly the app's routes, and true of a running server.

The fuzz (schemathesis, seeded and derandomized) runs against a real ``editor serve`` with the
rate limits raised. Part of the valid cases are aimed at real documents, members, versions,
sign-in providers and credentials, so requests get past the 404 and the 401.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
import trio
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from trio_websocket import ConnectionClosed

from editor import __version__
from editor.net.http import create_app
from editor.net.openapi import document
from tests.conftest import InProcessServer
from tests.support.oidc_provider import OidcProviderProcess
from tests.support.raw import RawClient, connect
from tests.support.servers import LiveServer, free_port

PAGE_RULES = {"/", "/login", "/register", "/verify", "/d/<doc_id>", "/static/<path:name>"}
RATE_LIMITS_ENV = {name: "1000000" for name in (
    "EDITOR_AUTH_PER_ADDRESS_PER_MIN", "EDITOR_AUTH_PER_USER_PER_MIN",
    "EDITOR_DOCUMENTS_PER_USER_PER_MIN")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]
FUZZ_CONFIG = {"seed": 20240611, "generation": {
    "max-examples": 100, "deterministic": True, "database": "none",
    # Unknown query parameters are ignored, as HTTP APIs do; only unknown body fields are a 400.
    "allow-extra-parameters": False}}
CLIENT_ID, CLIENT_SECRET = "editor-fuzz", "fuzz-secret"
PASSWORD = "correct horse battery"
VICTIMS = 3
SMALL_VERSIONS = (0, 1, 2)
CONTENT_PATHS = ("/v1/documents/{doc_id}", "/v1/documents/{doc_id}/versions/{version}")


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON Schema of an OpenAPI document: components, parameters, bodies, headers."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                yield value
            elif key == "schemas" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from _schemas_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schemas_in(item)


def test_document_is_valid_openapi_3_1() -> None:
    raw = document()
    assert raw["openapi"].startswith("3.1.") and raw["info"]["version"] == __version__
    schema = schemathesis.openapi.from_dict(document())
    schema.validate()
    failed = [result.err() for result in schema.get_all_operations()
              if isinstance(result, Err)]
    assert not failed, failed
    schemas = list(_schemas_in(raw))
    assert len(schemas) > 50
    for item in schemas:
        jsonschema_rs.meta.validate(item)


async def test_document_is_served_publicly(server: InProcessServer) -> None:
    response = await server.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == document()


def _documented_rule(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``<int:version>`` → ``{version}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_names_exactly_the_routes_of_the_app() -> None:
    app = create_app(None)  # type: ignore[arg-type]  # routes never run here
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule not in PAGE_RULES:
            methods = {method.lower() for method in rule.methods or ()} - {"head", "options"}
            routes.setdefault(_documented_rule(rule.rule), set()).update(methods)
    documented = {path: set(item) for path, item in document()["paths"].items()}
    assert documented == routes


@dataclass(frozen=True)
class FuzzTarget:
    """A running editor with an owner, a member, documents and providers to aim at."""

    http_url: str
    owner_email: str
    token: str
    doc_id: str
    victim_ids: tuple[str, ...]  # for DELETE /v1/documents/{doc_id}
    emails: tuple[str, ...]
    providers: tuple[str, ...]

    def aim(self, case: schemathesis.Case) -> None:
        """Point part of a valid case's values at real resources, picked by the value's hash.

        Negative cases are left alone: they must stay invalid to be rejected.
        """
        if case.meta is None or case.meta.generation.mode.is_negative:
            return
        deleting = case.method == "DELETE" and case.path == "/v1/documents/{doc_id}"
        real: dict[str, tuple[Any, ...]] = {
            "doc_id": self.victim_ids if deleting else (self.doc_id,),
            "email": self.emails, "provider": self.providers, "version": SMALL_VERSIONS}
        for name, value in (case.path_parameters or {}).items():
            case.path_parameters[name] = _pick(real[name], value)
        body = case.body
        if isinstance(body, dict) and "version" in body:
            body["version"] = _pick(SMALL_VERSIONS, body["version"])
        if case.path == "/v1/auth/login" and isinstance(body, dict):
            body.update(_pick(({"email": self.owner_email, "password": PASSWORD},), body))

    def check_content(self, case: schemathesis.Case, response: schemathesis.Response) -> None:
        """PROTOCOL.md §1: content, as answered or as created, always ends with "\\n"."""
        if case.method == "POST" and case.path == "/v1/documents" and response.status_code == 201:
            body = httpx.get(f"{self.http_url}/v1/documents/{response.json()['id']}",
                             headers={"Authorization": f"Bearer {self.token}"}).json()
        elif case.method == "GET" and case.path in CONTENT_PATHS and response.status_code == 200:
            body = response.json()
        else:
            return
        last = body["content"][-1]["insert"] if body["content"] else None
        assert isinstance(last, str) and last.endswith("\n"), body["content"]


def _pick(real: tuple[Any, ...], generated: Any) -> Any:
    """One of ``real`` or ``generated``, chosen by a stable hash of ``generated``."""
    choices = (*real, generated)
    return choices[zlib.crc32(repr(generated).encode()) % len(choices)]


def _sign_up(http: httpx.Client, name: str) -> tuple[str, str]:
    email = f"{name}@fuzz.example"
    response = http.post("/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                    "name": name})
    assert response.status_code == 201, response.text
    response = http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return email, response.json()["access_token"]


def _create(http: httpx.Client, token: str, title: str, content: Any) -> str:
    response = http.post("/v1/documents", json={"title": title, "content": content},
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _hold_session(ws_url: str, doc_id: str, token: str, ready: threading.Event,
                        stop: threading.Event) -> None:
    """Commit two ops, then stay connected with a cursor so presence has someone to show."""
    async with connect(ws_url, doc_id) as client:
        with trio.fail_after(10):
            await client.hello(token, "fuzz-peer")
            for seq, delta in enumerate(([{"insert": "Hello "}],
                                         [{"retain": 6}, {"insert": "world"}]), start=1):
                await client.send({"type": "op", "seq": seq, "version": seq - 1,
                                   "delta": delta})
                await client.recv_type("ack", "op")
            await client.send({"type": "cursor", "version": 2, "index": 1, "length": 3})
        ready.set()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_drain, client)
            await trio.to_thread.run_sync(stop.wait)
            nursery.cancel_scope.cancel()


async def _drain(client: RawClient) -> None:
    """Read whatever the server sends (restores commit ops) until it closes the session."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await client.recv()


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """`editor serve` with high rate limits, a real and an unreachable OIDC provider, two
    users sharing a document that has ops and an open session, and documents to delete."""
    work_dir = tmp_path_factory.mktemp("fuzz")
    provider = OidcProviderProcess({
        "clients": {CLIENT_ID: {"secret": CLIENT_SECRET, "redirect_uris": [
            "http://127.0.0.1/v1/auth/oauth/test/callback"]}},
        "users": {"alice": {"sub": "sub-alice", "email": "alice@fuzz.example",
                            "email_verified": True, "name": "Alice"}}}, work_dir)
    providers = {"test": provider.issuer, "offline": f"http://127.0.0.1:{free_port()}"}
    oidc = {name: {"issuer": issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            for name, issuer in providers.items()}
    live = LiveServer(work_dir / "data",
                      env={**RATE_LIMITS_ENV, "EDITOR_OIDC_PROVIDERS": json.dumps(oidc)})
    ready, stop = threading.Event(), threading.Event()
    with contextlib.ExitStack() as cleanup:
        provider.start()
        cleanup.callback(provider.stop)
        live.start()
        cleanup.callback(live.stop)
        with httpx.Client(base_url=live.http_url, timeout=10) as http:
            owner_email, token = _sign_up(http, "owner")
            member_email, _ = _sign_up(http, "member")
            doc_id = _create(http, token, "Fuzzed", "")
            victims = tuple(_create(http, token, f"victim {n}", [{"insert": "x\n"}])
                            for n in range(VICTIMS))
            response = http.put(f"/v1/documents/{doc_id}/members/{member_email}",
                                json={"role": "editor"},
                                headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
        session = threading.Thread(target=trio.run, args=(
            _hold_session, live.ws_url, doc_id, token, ready, stop))
        session.start()
        cleanup.callback(session.join, 10)
        cleanup.callback(stop.set)
        assert ready.wait(10), "the WebSocket session did not start"
        yield FuzzTarget(live.http_url, owner_email, token, doc_id, victims,
                         (owner_email, member_email), tuple(providers))


schema = schemathesis.openapi.from_dict(document(),
                                        config=schemathesis.Config.from_dict(FUZZ_CONFIG))


@schema.parametrize()
def test_server_answers_as_documented(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    fuzz_target.aim(case)
    response = case.call(base_url=fuzz_target.http_url,
                         headers={"Authorization": f"Bearer {fuzz_target.token}"}, timeout=10)
    case.validate_response(response, checks=CHECKS)
    fuzz_target.check_content(case, response)
