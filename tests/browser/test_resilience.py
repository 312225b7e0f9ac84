"""The page rides out a server restart (keeping and sending the edits made meanwhile),
refreshes its access token, and needs nothing but the editor's own server."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import Site, converged


def test_page_survives_a_server_restart_and_sends_offline_edits(site: Site) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "Restart", content="Before the restart.\n")
    site.share(ann, doc_id, bob, "editor")
    a, b = site.open(ann, doc_id), site.open(bob, doc_id)
    a.editor.click()
    a.page.keyboard.press("Control+End")
    a.page.keyboard.type(" Ann was here.")
    converged(a, b)

    site.server.stop()
    status = a.page.locator("#connection-status")
    expect(status).to_have_attribute("data-state", re.compile("reconnecting|offline"))
    # both keep typing while the server is down
    a.page.keyboard.press("Enter")
    a.page.keyboard.type("Typed while the server was down.")
    b.editor.click()
    b.page.evaluate("() => window.editorDebug.quill.setSelection(0, 0, 'user')")
    b.page.keyboard.type("Bob offline: ")
    expect(status).to_contain_text(re.compile(r"\d+ unsaved changes?"))
    assert int(status.get_attribute("data-unsent") or 0) >= 1
    expect(status).to_have_attribute("data-state", "offline", timeout=20_000)
    expect(status).to_contain_text(re.compile(r"Offline · \d+ unsaved changes?"))
    expect(a.editor).to_contain_text("Typed while the server was down.")

    site.server.start()
    contents = converged(a, b, timeout_s=60)
    text = a.text()
    assert text == ("Bob offline: Before the restart. Ann was here.\n"
                    "Typed while the server was down.\n")
    assert site.server_document(ann, doc_id)["content"] == contents
    expect(status).to_have_text("All changes saved")

    # the restarted server keeps working with these sessions
    b.page.keyboard.type("again ")
    converged(a, b)
    assert a.text().startswith("Bob offline: again Before")
    assert not a.errors and not b.errors, a.errors + b.errors


def test_expired_access_token_is_refreshed(site: Site) -> None:
    ann = site.user("Ann")
    doc_id = site.document(ann, "Tokens", content="Hello\n")
    # an access token the server refuses, beside a valid refresh token
    session = {"access_token": "not-a-valid-token", "refresh_token": ann.refresh_token}
    a = site.open(ann, doc_id, session=session)
    expect(a.editor).to_have_text("Hello")
    stored = json.loads(a.page.evaluate("() => localStorage.getItem('editor.session')"))
    assert set(stored) == {"access_token", "refresh_token"}
    assert stored["access_token"] != "not-a-valid-token"
    assert stored["refresh_token"] != ann.refresh_token  # the old one is spent
    a.editor.click()
    a.page.keyboard.press("Control+Home")
    a.page.keyboard.type("Still editing: ")
    converged(a)
    assert site.server_document(ann, doc_id)["content"] == [{"insert": "Still editing: Hello\n"}]
    # REST calls of the page work with the new token too
    a.page.click("#share-button")
    expect(a.page.locator("#member-list")).to_contain_text(ann.email)


def test_a_refused_session_goes_back_to_sign_in(site: Site) -> None:
    ann = site.user("Ann")
    doc_id = site.document(ann, "Gone")
    context = site.context(None, session={"access_token": "bad", "refresh_token": "bad"})
    page = context.new_page()
    page.goto(f"{site.server.http_url}/d/{doc_id}")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fd%2F"))
    assert page.evaluate("() => localStorage.getItem('editor.session')") is None
    page.fill("input[name=email]", ann.email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(re.compile(f"/d/{doc_id}$"))
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    context.close()


def test_page_needs_nothing_but_its_own_server(site: Site) -> None:
    """Every request stays on the editor's origins; the rest of the web is unreachable."""
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "Offline from CDNs")
    site.share(ann, doc_id, bob, "editor")
    allowed = {urlsplit(site.server.http_url).netloc, urlsplit(site.server.ws_url).netloc}
    foreign: list[str] = []
    editors = []
    for user in (ann, bob):
        context = site.context(user)
        # anything not served by the editor fails, as with no internet at all
        context.route(re.compile(r"^(?!" + re.escape(site.server.http_url) + r")"),
                      lambda route: (foreign.append(route.request.url), route.abort()))
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request, seen=requests: seen.append(request.url))
        sockets: list[str] = []
        page.on("websocket", lambda ws, seen=sockets: seen.append(ws.url))
        page.goto(f"{site.server.http_url}/d/{doc_id}")
        expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
        editors.append((context, page, requests, sockets))
    (_, page_a, requests, sockets), (_, page_b, _, _) = editors
    page_a.locator(".ql-editor").click()
    page_a.keyboard.type("no CDN needed")
    expect(page_b.locator(".ql-editor")).to_have_text("no CDN needed")
    assert not foreign, foreign
    for url in requests + sockets:
        assert urlsplit(url).netloc in allowed, url
    assert any(url.startswith(site.server.ws_url) for url in sockets), sockets
    # the stylesheets really loaded from the editor (Quill's snow theme draws the toolbar)
    sheets = page_a.evaluate(
        "() => [...document.styleSheets].map(s => [s.href, s.cssRules.length])")
    loaded = {urlsplit(href).path: rules for href, rules in sheets if href}
    assert loaded.get("/static/quill.snow.css", 0) > 100, sheets
    assert loaded.get("/static/app.css", 0) > 20, sheets
    assert page_a.eval_on_selector(".ql-snow .ql-picker", "el => getComputedStyle(el).height") \
        == "24px"
    for context, *_ in editors:
        context.close()

