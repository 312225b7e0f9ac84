"""The pages around the editor, driven as a person would: register and sign in, the
documents list (create, rename, share with a role, see who has access, delete), title
editing, and the history panel (preview a past version, restore it)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Site, converged, watch


def sign_up_in_browser(site: Site, name: str, email: str) -> Page:
    page = site.context(None).new_page()
    page.goto(f"{site.server.http_url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.click("text=Create an account")
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#register-form button[type=submit]")
    expect(page).to_have_url(f"{site.server.http_url}/")
    expect(page.locator("#account-name")).to_have_text(name)
    return page


def test_register_create_rename_share_delete(site: Site) -> None:
    errors: list[str] = []
    page = sign_up_in_browser(site, "Dana", "dana@example.test")
    watch(page, errors)
    session = page.evaluate("() => JSON.parse(localStorage.getItem('editor.session'))")
    assert set(session) == {"access_token", "refresh_token"}
    expect(page.locator("#doc-empty")).to_be_visible()

    # create: lands in the editor, with the title
    page.fill("#new-title", "Plans")
    page.click("#new-doc")
    expect(page).to_have_url(re.compile(r"/d/[^/]+$"))
    expect(page.locator("#doc-title")).to_have_value("Plans")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    page.locator(".ql-editor").click()
    page.keyboard.type("Quarterly plans")
    expect(page.locator("#connection-status")).to_have_attribute("data-unsent", "0")

    # back to the list: the document is there
    page.click("a.back-link")
    row = page.locator("#doc-rows tr", has_text="Plans")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Owner")

    # rename inline
    row.get_by_role("button", name="Rename").click()
    page.fill(".rename-input", "Plans 2027")
    page.keyboard.press("Enter")
    expect(page.locator("#doc-rows")).to_contain_text("Plans 2027")

    # share with someone who has an account, as a viewer, then make them an editor
    eli = site.user("Eli")
    page.locator("#doc-rows tr", has_text="Plans 2027").get_by_role("button", name="Share").click()
    page.fill("#share-email", eli.email)
    page.select_option("#share-role", "viewer")
    page.click("#share-form button[type=submit]")
    member = page.locator("#member-list li", has_text=eli.email)
    expect(member).to_contain_text("Eli")
    expect(member.locator("select")).to_have_value("viewer")
    expect(page.locator("#member-list")).to_contain_text("dana@example.test")
    member.locator("select").select_option("editor")
    expect(page.locator("#member-list li", has_text=eli.email).locator("select")) \
        .to_have_value("editor")
    # an email without an account gets an invitation, listed as such (issue 18)
    page.fill("#share-email", "nobody@example.test")
    page.click("#share-form button[type=submit]")
    expect(page.locator("#member-list li", has_text="nobody@example.test")) \
        .to_contain_text("invited")
    expect(page.locator(".share-dialog .form-error")).to_be_empty()
    page.click("#share-close")

    doc_id = page.locator("#doc-rows tr", has_text="Plans 2027").get_attribute("data-doc-id")
    assert doc_id
    members = site.http.get(f"/v1/documents/{doc_id}/members", headers=eli.headers).json()
    assert {m["email"]: m["role"] for m in members}[eli.email] == "editor"

    # Eli sees it in his list, with his role, and can see who has access (not change it)
    eli_page = site.context(eli).new_page()
    eli_page.goto(f"{site.server.http_url}/")
    eli_row = eli_page.locator("#doc-rows tr", has_text="Plans 2027")
    expect(eli_row).to_contain_text("Can edit")
    expect(eli_row.get_by_role("button", name="Delete")).to_have_count(0)
    eli_row.get_by_role("button", name="Access").click()
    expect(eli_page.locator("#member-list")).to_contain_text("dana@example.test")
    expect(eli_page.locator("#share-form")).to_have_count(0)

    # delete, after confirming
    page.locator("#doc-rows tr", has_text="Plans 2027").get_by_role("button", name="Delete").click()
    page.click("#confirm-yes")
    expect(page.locator("#doc-rows tr")).to_have_count(0)
    assert site.http.get(f"/v1/documents/{doc_id}", headers=eli.headers).status_code == 404

    # sign out
    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert page.evaluate("() => localStorage.getItem('editor.session')") is None
    assert not errors, errors


def test_title_editing_and_deleted_document(site: Site) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "Draft")
    site.share(ann, doc_id, bob, "editor")
    a, b = site.open(ann, doc_id), site.open(bob, doc_id)
    title = a.page.locator("#doc-title")
    expect(title).to_have_value("Draft")
    title.fill("Final report")
    title.press("Enter")
    expect(a.page).to_have_title("Final report — Editor")
    assert site.server_document(bob, doc_id)["title"] == "Final report"

    # the owner deletes it: the other editor is told, and cannot type any more
    assert site.http.delete(f"/v1/documents/{doc_id}", headers=ann.headers).status_code == 204
    expect(b.page.locator("#editor-notice")).to_contain_text("deleted")
    expect(b.editor).to_have_attribute("contenteditable", "false")
    expect(b.page.locator("#connection-status")).to_have_attribute("data-state", "closed")


def _type_and_wait(editor_page: Page, text: str) -> None:
    editor_page.keyboard.type(text)
    expect(editor_page.locator("#connection-status")).to_have_attribute("data-unsent", "0")


def test_history_previews_and_restores_a_version(site: Site) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "History")
    site.share(ann, doc_id, bob, "editor")
    a, b = site.open(ann, doc_id), site.open(bob, doc_id)
    a.editor.click()
    _type_and_wait(a.page, "First draft.")
    good_version = site.server_document(ann, doc_id)["version"]
    a.page.keyboard.press("Control+a")
    _type_and_wait(a.page, "Oops, everything replaced.")
    converged(a, b)

    b.page.click("#history-toggle")
    panel = b.page.locator("#history-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".version-entry").first).to_contain_text("Ann")
    # preview the good version by number
    b.page.fill("#history-version", str(good_version))
    panel.get_by_role("button", name="Preview").click()
    expect(b.page.locator("#history-preview")).to_have_text("First draft.")
    assert b.page.locator(".ql-editor").count() == 1  # the preview is not a second editor
    expect(b.editor).to_have_text("Oops, everything replaced.")  # previewing changes nothing
    b.page.click("#restore-version")
    b.page.click("#confirm-yes")
    expect(panel).to_be_hidden()

    contents = converged(a, b)
    assert contents == [{"insert": "First draft.\n"}]
    server = site.server_document(bob, doc_id)
    assert server["content"] == contents
    assert server["version"] > good_version  # a restore is a new edit, not a rewind
    assert not a.errors and not b.errors, a.errors + b.errors


def test_viewer_sees_history_but_cannot_restore(site: Site) -> None:
    ann, vic = site.user("Ann"), site.user("Vic")
    doc_id = site.document(ann, "Read only history", content="v0 text\n")
    site.share(ann, doc_id, vic, "viewer")
    a = site.open(ann, doc_id)
    a.editor.click()
    _type_and_wait(a.page, "more ")
    v = site.open(vic, doc_id)
    v.page.click("#history-toggle")
    v.page.locator("#history-panel .version-entry[data-version='0']").click()
    expect(v.page.locator("#history-preview")).to_have_text("v0 text")
    expect(v.page.locator("#restore-version")).to_be_hidden()

