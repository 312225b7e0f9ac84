"""Account events are counted for operators: /metrics by event and outcome, on the private
metrics listener and never on the public one."""

from __future__ import annotations

import re

import httpx

from tests.conftest import InProcessServer
from tests.support.api import sign_up


async def auth_events(server: InProcessServer) -> dict[tuple[str, str], float]:
    """The ``editor_auth_events_total`` samples: (event, outcome) → count."""
    async with httpx.AsyncClient(timeout=10) as metrics:
        text = (await metrics.get(server.endpoints.metrics_url)).text
    return {(event, outcome): float(value) for event, outcome, value in re.findall(
        r'editor_auth_events_total\{event="(\w+)",outcome="(\w+)"\} (\S+)', text)}


async def test_sign_ups_logins_and_mail_are_counted(server: InProcessServer) -> None:
    before = await auth_events(server)
    account = await sign_up(server.http)  # register, mail the link, log in
    await server.http.post("/v1/auth/login",
                           json={"email": account.email, "password": "wrong password"})
    await server.http.post("/v1/auth/refresh", json={"refresh_token": "forged"})
    after = await auth_events(server)

    def delta(event: str, outcome: str) -> float:
        return after.get((event, outcome), 0) - before.get((event, outcome), 0)

    assert delta("register", "ok") == 1
    assert delta("email", "ok") == 1
    assert delta("login", "ok") == 1
    assert delta("login", "invalid_credentials") == 1
    assert delta("refresh", "invalid_refresh_token") == 1


async def test_metrics_are_not_on_the_public_listener(server: InProcessServer) -> None:
    assert (await server.http.get("/metrics")).status_code == 404
    assert server.endpoints.metrics_url.startswith("http://127.0.0.1:")
    assert not server.endpoints.metrics_url.startswith(server.http_url)
