"""``window.editorDebug`` (the live Quill, session machine and connection) is exposed only
when ``localStorage['editor.debug']`` is ``'1'`` (docs/web.md): never to a page by default."""

from __future__ import annotations

from tests.browser.conftest import Site


def test_the_editor_exposes_its_state_only_when_debugging(site: Site) -> None:
    user = site.user("Ada")
    doc_id = site.document(user)
    page = site.context(user, debug=False).new_page()
    page.goto(f"{site.server.http_url}/d/{doc_id}")
    page.wait_for_selector("#connection-status[data-state=connected]")
    assert page.evaluate("() => typeof window.editorDebug") == "undefined"

    debugging = site.open(user, doc_id)
    assert debugging.page.evaluate("() => typeof window.editorDebug.quill") == "object"
