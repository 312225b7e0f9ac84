"""Email verification: single-use expiring links, the outbox, SMTP, and the required mode."""

from __future__ import annotations

import email
import mailbox
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from editor.auth.mail import parse_smtp_url
from editor.config import ConfigError
from tests.conftest import InProcessServer
from tests.support.servers import free_port

PASSWORD = "correct horse battery"
LINK = re.compile(r"(http://\S+)/verify#token=([A-Za-z0-9_-]+)")

MakeServer = Callable[..., Awaitable[InProcessServer]]


async def register(http: httpx.AsyncClient, email_address: str) -> httpx.Response:
    response = await http.post("/v1/auth/register", json={
        "email": email_address, "password": PASSWORD, "name": "Ada"})
    assert response.status_code == 201, response.text
    return response


async def login(http: httpx.AsyncClient, email_address: str) -> httpx.Response:
    return await http.post("/v1/auth/login", json={"email": email_address, "password": PASSWORD})


def outbox_tokens(server: InProcessServer, to: str) -> list[str]:
    """The tokens of the verification emails written to the outbox for ``to``, oldest first."""
    tokens = []
    for path in sorted((server.cfg.data_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] != to:
            continue
        body = message.get_payload(decode=True).decode()
        match = LINK.search(body)
        assert match, body
        assert match.group(1) == server.http_url
        tokens.append(match.group(2))
    return tokens


async def me(server: InProcessServer, email_address: str) -> dict[str, object]:
    token = (await login(server.http, email_address)).json()["access_token"]
    response = await server.http.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    return dict(response.json())


async def test_registration_writes_a_link_that_verifies_once(server: InProcessServer) -> None:
    await register(server.http, "ada@example.test")
    assert (await me(server, "ada@example.test"))["email_verified"] is False
    [token] = outbox_tokens(server, "ada@example.test")

    response = await server.http.post("/v1/auth/verify", json={"token": token})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email_verified"] is True
    assert (await me(server, "ada@example.test"))["email_verified"] is True

    again = await server.http.post("/v1/auth/verify", json={"token": token})
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("body", [{"token": "not-a-token"}, {"token": ""}])
async def test_unknown_tokens_are_refused(server: InProcessServer, body: dict[str, str]) -> None:
    response = await server.http.post("/v1/auth/verify", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"


async def test_expired_links_are_refused_and_a_new_one_can_be_asked_for(
    make_server: MakeServer,
) -> None:
    server = await make_server(email_token_ttl_s=0)  # every link is born expired
    await register(server.http, "bo@example.test")
    [expired] = outbox_tokens(server, "bo@example.test")
    response = await server.http.post("/v1/auth/verify", json={"token": expired})
    assert response.json()["error"]["code"] == "invalid_token"
    assert (await me(server, "bo@example.test"))["email_verified"] is False


async def test_resend_sends_a_fresh_link_until_verified(server: InProcessServer) -> None:
    await register(server.http, "cy@example.test")
    access = (await login(server.http, "cy@example.test")).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    response = await server.http.post("/v1/auth/verify/resend", headers=headers)
    assert response.status_code == 202, response.text
    first, second = outbox_tokens(server, "cy@example.test")
    assert first != second
    assert (await server.http.post("/v1/auth/verify", json={"token": second})).status_code == 200
    # Verified: every other link is spent too, and resending is a conflict.
    older = await server.http.post("/v1/auth/verify", json={"token": first})
    assert older.json()["error"]["code"] == "invalid_token"
    response = await server.http.post("/v1/auth/verify/resend", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_verified"
    assert (await server.http.post("/v1/auth/verify/resend")).status_code == 401


async def test_required_verification_blocks_login_until_verified(
    make_server: MakeServer,
) -> None:
    server = await make_server(require_verified_email=True)
    await register(server.http, "di@example.test")
    response = await login(server.http, "di@example.test")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "email_not_verified"
    # A wrong password still answers 401, so the mode does not reveal which emails exist.
    wrong = await server.http.post("/v1/auth/login",
                                   json={"email": "di@example.test", "password": "wrong-pass"})
    assert wrong.status_code == 401
    [token] = outbox_tokens(server, "di@example.test")
    assert (await server.http.post("/v1/auth/verify", json={"token": token})).status_code == 200
    assert (await login(server.http, "di@example.test")).status_code == 200


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """aiosmtpd as a private process delivering into a Maildir."""
    port, maildir = free_port(), tmp_path / "maildir"
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}", timeout=0.2)
        except httpx.RemoteProtocolError:
            break  # something answered, and it is not HTTP: the SMTP greeting
        except httpx.HTTPError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.05)
    try:
        yield port, maildir
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


async def test_smtp_delivers_the_link(make_server: MakeServer,
                                      smtp_server: tuple[int, Path]) -> None:
    port, maildir = smtp_server
    server = await make_server(smtp_url=f"smtp://127.0.0.1:{port}",
                               mail_from="Editor <noreply@example.test>")
    await register(server.http, "ed@example.test")
    [message] = list(mailbox.Maildir(maildir, create=False))
    assert message["To"] == "ed@example.test"
    assert message["From"] == "Editor <noreply@example.test>"
    match = LINK.search(message.get_payload(decode=True).decode())
    assert match
    assert not (server.cfg.data_dir / "outbox").exists()
    response = await server.http.post("/v1/auth/verify", json={"token": match.group(2)})
    assert response.status_code == 200


async def test_registration_succeeds_when_the_mail_server_is_down(
    make_server: MakeServer,
) -> None:
    server = await make_server(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    await register(server.http, "fi@example.test")
    assert (await login(server.http, "fi@example.test")).status_code == 200


def test_smtp_urls_parse_or_fail_clearly() -> None:
    target = parse_smtp_url("smtps://mailer%40corp:p%3Ass@mail.example.test")
    assert (target.host, target.port, target.implicit_tls) == ("mail.example.test", 465, True)
    assert (target.username, target.password) == ("mailer@corp", "p:ss")
    assert parse_smtp_url("smtp://localhost:2525").port == 2525
    for bad in ("http://mail", "smtp://", "smtp://host:port"):
        with pytest.raises(ConfigError, match="EDITOR_SMTP_URL"):
            parse_smtp_url(bad)
