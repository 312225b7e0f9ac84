"""Email verification in the browser: the notice, resending, and opening the emailed link."""

from __future__ import annotations

import email
import re

from playwright.sync_api import expect

from tests.browser.conftest import Site
from tests.browser.test_pages import sign_up_in_browser

LINK = re.compile(r"http://\S+/verify#token=[A-Za-z0-9_-]+")


def newest_link(site: Site) -> str:
    """The link in the newest email of the server's outbox."""
    newest = sorted((site.server.data_dir / "outbox").glob("*.eml"))[-1]
    body = email.message_from_bytes(newest.read_bytes()).get_payload(decode=True).decode()
    match = LINK.search(body)
    assert match, body
    return match.group(0)


def test_unverified_user_resends_and_opens_the_link(site: Site) -> None:
    page = sign_up_in_browser(site, "Vera", "vera@example.test")
    notice = page.locator("#verify-notice")
    expect(notice).to_contain_text("vera@example.test")
    first = newest_link(site)

    page.click("#resend-verification")
    expect(page.locator("#toasts")).to_contain_text("new link")
    link = newest_link(site)
    assert link != first

    page.goto(link)
    expect(page.locator("#verify-status")).to_contain_text("vera@example.test is verified")
    expect(page).to_have_url(f"{site.server.http_url}/verify")  # the token left the address bar
    page.goto(f"{site.server.http_url}/")
    expect(page.locator("#doc-empty")).to_be_visible()
    expect(notice).to_be_hidden()

    page.goto(first)  # using one link spent the other, and the page says so clearly
    expect(page.locator("#verify-status")).to_contain_text("already used")
