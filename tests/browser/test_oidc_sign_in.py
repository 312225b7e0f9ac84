"""Signing in with an OpenID Connect provider in the browser: link, round trip, session."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, watch
from tests.support.oidc_provider import OidcProviderProcess
from tests.support.servers import LiveServer

CLIENT_ID, CLIENT_SECRET = "editor-client", "editor-client-secret"


@pytest.fixture
def oidc_site(tmp_path: Path, browser: Browser, built_page: Path) -> Iterator[Site]:
    """A live editor configured with a provider process as "test"."""
    provider = OidcProviderProcess(
        {"clients": {CLIENT_ID: {"secret": CLIENT_SECRET, "redirect_uris": [
            "http://127.0.0.1/v1/auth/oauth/test/callback"]}},
         "users": {"ada": {"sub": "sub-ada", "email": "ada@example.test",
                           "email_verified": True, "name": "Ada Lovelace"}}},
        tmp_path)
    provider.start()
    server = LiveServer(tmp_path / "data", env={"EDITOR_OIDC_PROVIDERS": json.dumps({"test": {
        "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}})})
    try:
        server.start()
        site = Site(server, browser)
        yield site
        site.close()
    finally:
        server.stop()
        provider.stop()


def test_sign_in_with_a_provider_lands_signed_in(oidc_site: Site) -> None:
    errors: list[str] = []
    page = oidc_site.context(None).new_page()
    watch(page, errors)
    page.goto(f"{oidc_site.server.http_url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.click("text=Sign in with Test")
    expect(page).to_have_url(f"{oidc_site.server.http_url}/")  # the fragment is gone
    expect(page.locator("#account-name")).to_have_text("Ada Lovelace")
    session = page.evaluate("() => JSON.parse(localStorage.getItem('editor.session'))")
    assert set(session) == {"access_token", "refresh_token"}
    assert errors == []


def test_a_provider_sign_in_replaces_an_older_session(oidc_site: Site) -> None:
    bob = oidc_site.user("Bob")
    page = oidc_site.context(bob).new_page()
    page.goto(f"{oidc_site.server.http_url}/")
    expect(page.locator("#account-name")).to_have_text("Bob")
    page.goto(f"{oidc_site.server.http_url}/v1/auth/oauth/test/start")
    expect(page).to_have_url(f"{oidc_site.server.http_url}/")
    expect(page.locator("#account-name")).to_have_text("Ada Lovelace")
