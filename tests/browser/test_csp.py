"""The page under its Content-Security-Policy (issue 18, item 2): it works in Chromium with no
violation, and hostile document content renders inert in the editor and the history preview.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect, sync_playwright

from editor.net.pages import content_security_policy
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EditorPage,
    Site,
    converged,
    eventually,
    watch,
)

HOSTILE_TEXT = ('<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
                '<svg onload="window.pwned=3"></svg><iframe src="javascript:window.pwned=4">')
HOSTILE_CONTENT: list[dict[str, Any]] = [
    {"insert": HOSTILE_TEXT + "\n"},
    {"insert": "a javascript link", "attributes": {"link": "javascript:window.pwned=5"}},
    {"insert": " and a data link", "attributes": {"link": "data:text/html,<script>x</script>"}},
    {"insert": "\n"},
    {"insert": {"image": "javascript:window.pwned=6"}},
    {"insert": {"video": "javascript:window.pwned=7"}},
    {"insert": {"video": "https://example.invalid/player"}},
    {"insert": "styled", "attributes": {"color": "red;background:url(javascript:x)",
                                        "background": "expression(alert(1))"}},
    {"insert": "\n"},
]
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium as in conftest, without Local Network Access checks: a page fulfilled by the
    test (to add the policy) has no address, so Chromium would count it as public and refuse
    its WebSocket to the loopback server, which has nothing to do with the policy."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"])
        yield chromium
        chromium.close()


def _policy(site: Site) -> str:
    ws = urlsplit(site.server.ws_url)
    return content_security_policy(f"{ws.scheme}://{ws.netloc}")


def _open_under_policy(site: Site, user: Any, doc_id: str) -> EditorPage:
    """Open the editor with the pages' policy on every HTML answer (the server's own header
    when it sends one, else the same policy added on the way: the page is what is tested)."""
    policy = _policy(site)
    context = site.context(user)
    context.add_init_script(RECORD_VIOLATIONS)

    def add_policy(route: Route) -> None:
        response = route.fetch()
        headers = dict(response.headers)
        if "text/html" in headers.get("content-type", ""):
            headers.setdefault("content-security-policy", policy)
        route.fulfill(response=response, headers=headers)

    context.route(f"{site.server.http_url}/**", add_policy)
    page = context.new_page()
    editor = EditorPage(user, context, page)
    watch(page, editor.errors)
    page.goto(f"{site.server.http_url}/d/{doc_id}")
    editor.wait_connected()
    site.pages.append(editor)
    return editor


def _violations(editor: EditorPage) -> list[str]:
    return list(editor.page.evaluate("() => window.cspViolations"))


def test_the_page_works_under_its_policy(site: Site) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "Under CSP", content=[
        {"insert": "Bold", "attributes": {"bold": True}},
        {"insert": " and coloured", "attributes": {"color": "#e60000", "background": "#ffff00"}},
        {"insert": "\n"}])
    site.share(ann, doc_id, bob, "editor")
    a, b = _open_under_policy(site, ann, doc_id), _open_under_policy(site, bob, doc_id)

    a.editor.click()
    a.page.keyboard.press("Control+Home")
    a.page.keyboard.type("Edited under CSP. ")
    eventually(lambda: "Edited under CSP. " in b.text(), message=lambda: b.text())
    contents = converged(a, b)
    assert site.server_document(bob, doc_id)["content"] == contents
    # Colours reach the editor through CSSOM, which the policy allows.
    expect(b.page.locator(".ql-editor span[style*='background-color']")).to_have_count(1)

    # The history panel and its highlighted preview (built with DOM calls).
    b.page.click("#history-toggle")
    b.page.locator("#history-panel .version-entry").first.click()
    preview = b.page.locator("#history-preview")
    expect(preview).to_contain_text("Edited under CSP.")
    expect(preview.locator("[style*=background-color]").first).to_be_visible()
    assert b.page.locator(".ql-editor").count() == 1

    # The share dialog: an address without an account is listed as invited.
    a.page.click("#share-button")
    a.page.fill("#share-email", "invitee@example.test")
    a.page.click("#share-form button[type=submit]")
    expect(a.page.locator("#member-list li", has_text="invitee@example.test")) \
        .to_contain_text("invited")
    for editor in (a, b):
        assert _violations(editor) == []
        assert not editor.errors, editor.errors


def test_hostile_content_renders_inert(site: Site) -> None:
    ann = site.user("Ann <script>window.pwned=8</script>")
    doc_id = site.document(ann, '<img src=x onerror="window.pwned=9">', content=HOSTILE_CONTENT)
    a = _open_under_policy(site, ann, doc_id)

    # The hostile text is text; the links lead nowhere.
    expect(a.editor).to_contain_text("<script>window.pwned=2</script>")
    hrefs = a.page.eval_on_selector_all(".ql-editor a", "as => as.map(a => a.href)")
    assert hrefs and all(not href.startswith(("javascript:", "data:")) for href in hrefs), hrefs

    # The history preview of the version with the hostile content.
    a.page.click("#history-toggle")
    a.page.locator("#history-panel .version-entry[data-version='0']").click()
    preview = a.page.locator("#history-preview")
    expect(preview).to_contain_text("<img src=x onerror=")
    expect(preview).to_contain_text("a javascript link")
    assert preview.locator("script, iframe, object, embed, [onerror], [onload]").count() == 0
    links = preview.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links and all(href.startswith(("https:", "about:blank")) for href in links), links

    assert a.page.evaluate("() => window.pwned") is None
    # The only thing the policy had to stop: the editor's frame for the https video embed.
    assert {v.split()[0] for v in _violations(a)} <= {"frame-src"}, _violations(a)
    # ...reported in the console, and the test's own session-seeding script failing in the
    # blocked frame's error page (it runs in every frame); nothing else.
    assert all("Content Security Policy" in error or "'localStorage'" in error
               for error in a.errors), a.errors


def test_pages_send_the_policy(site: Site) -> None:
    policy = _policy(site)
    for directive in ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'none'", "default-src 'none'"):
        assert directive in policy
    assert f"connect-src 'self' {urlsplit(site.server.ws_url).scheme}://" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    missing = httpx.get(f"{site.server.http_url}/no/such/page",
                        headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == policy


def test_the_editor_page_sends_the_policy(site: Site) -> None:
    page = httpx.get(f"{site.server.http_url}/", headers={"Accept": "text/html"})
    assert page.headers.get("content-security-policy") == _policy(site)
