"""A new user's first minutes (issue 17), at 1280×800 and 390×844: the history grouped into
editing sessions with times and authors, a preview in view with the changes highlighted
and a confirmed restore; who's-here chips; the unsaved-changes wording; not-found pages for
documents and paths (HTML for browsers, JSON for API clients); the documents list with
owners and roles, sorted and filtered."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import EditorPage, Site, User, artifacts_dir, converged

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def open_at(site: Site, user: User, path: str,
            size: tuple[int, int]) -> tuple[BrowserContext, Page]:
    """``user``'s browser of ``size`` at ``path``."""
    context = site.context(user)
    page = context.new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{site.server.http_url}{path}")
    return context, page


def in_viewport(page: Page, selector: str) -> bool:
    """Whether the element is entirely on screen (not scrolled away, not clipped)."""
    return bool(page.eval_on_selector(selector, """el => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.top >= 0 && r.left >= 0
            && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1; }"""))


def stamp_times(context: BrowserContext, time_of: dict[int, datetime]) -> None:
    """Op frames of GET …/ops with the given commit times (the page's grouping under test)."""
    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        for frame in body["ops"]:
            frame["at"] = time_of[frame["version"]].isoformat()
        route.fulfill(response=response, body=json.dumps(body))

    context.route("**/v1/documents/*/ops?*", handle)


def type_text(editor: EditorPage, text: str) -> None:
    editor.editor.click()
    editor.page.keyboard.press("Control+End")
    editor.page.keyboard.type(text)
    editor.wait_connected()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_history_is_editing_sessions_with_a_preview_in_view_and_a_confirmed_restore(
        site: Site, size: tuple[int, int]) -> None:
    ann, bob = site.user("Ann"), site.user("Bob Marley-Okafor")
    doc_id = site.document(ann, "Minutes", content="Minutes\n")
    site.share(ann, doc_id, bob, "editor")
    a, b = site.open(ann, doc_id), site.open(bob, doc_id)
    type_text(a, " first")
    first = site.server_document(ann, doc_id)["version"]
    type_text(b, " second")
    second = site.server_document(ann, doc_id)["version"]
    type_text(a, " third")
    converged(a, b)
    head = site.server_document(ann, doc_id)["version"]
    # Ann at 9:00, Bob 10 minutes later, Ann again at 11:00: three sessions, keystrokes merged
    time_of = {v: MORNING + timedelta(seconds=v) for v in range(first)}
    time_of |= {v: MORNING + timedelta(minutes=10, seconds=v) for v in range(first, second)}
    time_of |= {v: MORNING + timedelta(hours=2, seconds=v) for v in range(second, head)}

    context, page = open_at(site, ann, f"/d/{doc_id}", size)
    stamp_times(context, time_of)
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    page.click("#history-toggle")
    entries = page.locator("#history-list .version-entry")
    expect(entries).to_have_count(4)  # three sessions and "Created"
    expect(entries.nth(0)).to_contain_text("Ann")
    expect(entries.nth(0)).to_contain_text("Current")
    expect(entries.nth(1)).to_contain_text("Bob Marley-Okafor")
    expect(entries.nth(2)).to_contain_text("Ann")
    for i in range(3):
        expect(entries.nth(i).locator(".version-when")).to_contain_text(re.compile(r"\d:\d\d"))
    expect(entries.nth(1)).to_contain_text(f"versions {first + 1}–{second}")

    # Bob's session: the preview shows the text after it with his words highlighted, on screen
    entries.nth(1).click()
    preview = page.locator("#history-preview")
    expect(preview).to_have_text("Minutes first second")
    added = preview.locator("[style*=background-color]")
    expect(added).to_have_text(" second")
    assert in_viewport(page, "#history-preview")
    assert in_viewport(page, "#restore-version")
    restore = page.locator("#restore-version")
    expect(restore).to_have_text(f"Restore this version ({second})")
    page.screenshot(path=str(artifacts_dir() / f"history-{size[0]}.png"))

    # restoring asks first; cancelling changes nothing
    restore.click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_contain_text(f"Restore version {second}")
    dialog.get_by_role("button", name="Cancel").click()
    assert site.server_document(ann, doc_id)["version"] == head
    restore.click()
    page.click("#confirm-yes")
    expect(page.locator("#history-panel")).to_be_hidden()
    expect(page.locator(".ql-editor")).to_have_text("Minutes first second")
    assert site.server_document(ann, doc_id)["content"] == [{"insert": "Minutes first second\n"}]
    context.close()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_presence_chips_show_each_person_once_yourself_first(site: Site,
                                                             size: tuple[int, int]) -> None:
    names = ["Ann", "Bartholomew Okonkwo-Richardson", "Cy", "Di", "Ed"]
    ann, *others = [site.user(name) for name in names]
    doc_id = site.document(ann, "Crowded")
    for user in others:
        site.share(ann, doc_id, user, "editor")
    site.open(others[0], doc_id)
    site.open(others[0], doc_id)  # a second tab: still one chip
    context, page = open_at(site, ann, f"/d/{doc_id}", size)
    chips = page.locator("#presence .presence-user")
    expect(chips).to_have_count(2)
    expect(chips.first).to_have_attribute("aria-label", "Ann (you)")
    expect(chips.nth(1)).to_have_attribute("aria-label",
                                           "Bartholomew Okonkwo-Richardson · 2 tabs")
    # your name is not shown twice in the bar (the chip is the only place for it)
    assert page.locator(".editor-bar").inner_text().count("Ann") == 0

    # the full name on hover, on screen
    chips.nth(1).hover()
    tooltip = chips.nth(1).evaluate("el => getComputedStyle(el, '::after').content")
    assert "Bartholomew Okonkwo-Richardson" in tooltip
    for user in others[1:]:
        site.open(user, doc_id)
    more = page.locator("#presence-more")
    max_chips = 3 if size[0] < 800 else 4
    expect(more).to_have_text(f"+{len(names) - (max_chips - 1)}")
    expect(chips).to_have_count(max_chips - 1)
    expect(chips.first).to_have_attribute("data-user-id", ann.id)
    label = more.get_attribute("aria-label") or ""
    assert label.startswith(f"{len(names) - (max_chips - 1)} more:"), label
    # nothing in the bar is cut off or pushed off screen
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    for chip in page.locator("#presence li").all():
        box = chip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size[0]
    page.screenshot(path=str(artifacts_dir() / f"presence-{size[0]}.png"))

    # offline: you stay, marked; the others (no longer known) are not shown
    site.server.stop()
    expect(page.locator("#connection-status")).to_have_attribute(
        "data-state", re.compile("reconnecting|offline"))
    expect(chips).to_have_count(1)
    expect(chips.first).to_have_attribute("aria-label", "Ann (you) · offline")
    expect(page.locator("#presence-more")).to_have_count(0)
    context.close()


def test_unsaved_changes_are_counted_in_changes_not_keystrokes(site: Site) -> None:
    ann = site.user("Ann")
    doc_id = site.document(ann, "Offline wording", content="Start\n")
    a = site.open(ann, doc_id)
    status = a.page.locator("#connection-status")
    expect(status).to_have_text("All changes saved")
    site.server.stop()
    expect(status).to_have_attribute("data-state", re.compile("reconnecting|offline"))
    a.editor.click()
    a.page.keyboard.press("Control+End")
    a.page.keyboard.type(" a whole sentence typed in one go.")
    expect(status).to_have_attribute("data-unsaved-changes", "1")
    assert int(status.get_attribute("data-unsent") or 0) > 1  # many keystrokes, one change
    a.page.wait_for_timeout(2100)  # a pause: the next typing is another change
    a.page.keyboard.type(" More.")
    expect(status).to_contain_text(re.compile(r"(Offline|Reconnecting…) · 2 unsaved changes"))
    site.server.start()
    expect(status).to_have_text("All changes saved", timeout=40_000)
    expect(status).to_have_attribute("data-unsaved-changes", "0")


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_missing_document_and_unknown_path_show_a_not_found_page(site: Site,
                                                                 size: tuple[int, int]) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    private = site.document(bob, "Bob's only")
    for path in ("/d/no-such-document", f"/d/{private}"):
        context, page = open_at(site, ann, path, size)
        found = page.locator("#not-found")
        expect(found).to_contain_text("Document not found")
        expect(page.locator(".ql-editor")).to_have_count(0)
        expect(page.locator("#share-button")).to_have_count(0)
        page.get_by_role("link", name="Back to your documents").click()
        expect(page).to_have_url(f"{site.server.http_url}/")
        context.close()

    context, page = open_at(site, ann, "/", size)
    response = page.goto(f"{site.server.http_url}/no/such/page")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#not-found h1")).to_have_text("Page not found")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    page.screenshot(path=str(artifacts_dir() / f"not-found-{size[0]}.png"))
    context.close()


def test_unknown_paths_answer_json_to_api_clients(site: Site) -> None:
    url = f"{site.server.http_url}/no/such/page"
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
        headers = {"Accept": accept} if accept else {}
        response = httpx.get(url, headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found", accept
    html = httpx.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.status_code == 404
    assert html.headers["content-type"].startswith("text/html")
    # API errors stay JSON whatever the client accepts
    api = httpx.get(f"{site.server.http_url}/v1/documents/nope", headers={"Accept": "text/html"})
    assert api.headers["content-type"].startswith("application/json")


def _rows(page: Page) -> list[str]:
    return [str(text) for text in page.locator("#doc-rows tr .doc-link").all_inner_texts()]


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_documents_list_shows_owner_and_role_sorted_and_filtered(site: Site,
                                                                 size: tuple[int, int]) -> None:
    ann, zoe, bob = site.user("Ann"), site.user("Zoë Quist"), site.user("Bob Brown")
    site.document(ann, "Budget")
    agenda = site.document(zoe, "agenda")
    site.share(zoe, agenda, ann, "editor")
    notes = site.document(bob, "Notes")
    site.share(bob, notes, ann, "viewer")
    context, page = open_at(site, ann, "/", size)
    expect(page.locator("#doc-rows tr")).to_have_count(3)
    assert _rows(page) == ["Notes", "agenda", "Budget"]  # most recently updated first
    row = page.locator("#doc-rows tr", has_text="agenda")
    expect(row).to_contain_text("Zoë Quist")
    expect(row).to_contain_text("Can edit")
    expect(page.locator("#doc-rows tr", has_text="Notes")).to_contain_text("Bob Brown")
    expect(page.locator("#doc-rows tr", has_text="Budget")).to_contain_text("me")
    if size[0] < 800:  # the owner and role stay readable under the title on a phone
        expect(row.locator(".doc-owner-inline")).to_be_visible()
        expect(row.locator(".doc-owner-inline")).to_have_text("Owner: Zoë Quist · Can edit")

    page.select_option("#doc-sort", "title")
    assert _rows(page) == ["agenda", "Budget", "Notes"]
    page.select_option("#doc-sort", "owner")
    assert _rows(page) == ["Notes", "Budget", "agenda"]  # Bob Brown, me, Zoë Quist
    page.select_option("#doc-show", "shared")
    assert sorted(_rows(page)) == ["Notes", "agenda"]
    page.select_option("#doc-show", "mine")
    assert _rows(page) == ["Budget"]
    page.select_option("#doc-show", "all")
    page.fill("#doc-filter", "zoë")
    assert _rows(page) == ["agenda"]
    expect(page.locator("#doc-count")).to_have_text("Showing 1 of 3 documents.")
    page.fill("#doc-filter", "nothing like this")
    expect(page.locator("#doc-count")).to_have_text("No document matches.")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    context.close()


def test_the_start_up_block_says_where_everything_is(site: Site) -> None:
    assert site.server.log_path is not None
    log = site.server.log_path.read_text()
    block = log[log.index(" is running"):]
    assert f"Open in a browser: {site.server.http_url}/" in block
    assert f"WebSocket:         {site.server.ws_url}" in block
    assert f"Data directory:    {site.server.data_dir.resolve()}" in block
    assert f"{site.server.data_dir.resolve() / 'outbox'}" in block
    assert "Press Ctrl+C to stop" in block

