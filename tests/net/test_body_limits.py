"""Request body limits: small for accounts, a whole document's worth for documents."""

from __future__ import annotations

import contextlib
import json

import httpx
import trio

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
    status, body = await post_raw(server, "/v1/documents", huge.encode(), owner.headers)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "too_large"


async def post_raw(server: InProcessServer, path: str, body: bytes,
                   headers: dict[str, str]) -> tuple[int, bytes]:
    """POST over a plain socket, reading the answer while still sending (the server may
    answer 413 and close before the body is through, which httpx reports as a warning)."""
    url = httpx.URL(server.http_url)
    stream = await trio.open_tcp_stream(url.host, url.port or 80)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nConnection: close\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{head}\r\n")
    answer = bytearray()

    async def send() -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(request.encode() + body)

    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(send)
        while not complete(answer) and (chunk := await stream.receive_some()):
            answer.extend(chunk)
        nursery.cancel_scope.cancel()
    head_bytes, _, payload = bytes(answer).partition(b"\r\n\r\n")
    return int(head_bytes.split()[1]), payload


def complete(answer: bytearray) -> bool:
    """Whether ``answer`` holds a whole response with a Content-Length body."""
    head, found, payload = bytes(answer).partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n")
               if line.lower().startswith(b"content-length:")]
    return bool(found and lengths and len(payload) >= int(lengths[0]))
