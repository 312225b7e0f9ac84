"""Pages for people are safe pages (issue 18, items 2 and 5): the Content-Security-Policy on
every HTML answer, and a failed OIDC sign-in shown as a page with a way back (not raw JSON)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from tests.conftest import InProcessServer

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _with_provider(make_server: Callable[..., Awaitable[InProcessServer]]
                         ) -> InProcessServer:
    return await make_server(oidc_providers=json.dumps({"test": {
        "issuer": "https://issuer.invalid", "client_id": "c", "client_secret": "s"}}))


async def test_a_failed_sign_in_is_a_page_with_a_way_back(
        make_server: Callable[..., Awaitable[InProcessServer]]) -> None:
    server = await _with_provider(make_server)
    path = "/v1/auth/oauth/test/callback?error=%3Cscript%3Ealert(1)%3C/script%3E"
    page = await server.http.get(path, headers=BROWSER)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/login"' in page.text and "Sign-in failed" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text  # escaped
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    # API clients keep the JSON error of PROTOCOL.md §4.
    api = await server.http.get(path)
    assert api.status_code == 400 and api.json()["error"]["code"] == "oauth_failed"


async def test_the_not_found_page_carries_the_policy(server: InProcessServer) -> None:
    page = await server.http.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404
    policy = page.headers["content-security-policy"]
    ws_origin = server.ws_url.rstrip("/")
    assert f"connect-src 'self' {ws_origin}" in policy
    for directive in ("default-src 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
