"""Two (or three) people in one document: concurrent typing converges, formatting and
cursors propagate, a viewer cannot type."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import EditorPage, Site, artifacts_dir, converged, eventually

# Types `text` one character at a time from a browser timer, as a person would, without
# waiting for Playwright between keys: two pages running this at once really type
# concurrently (each edit goes through Quill's input handling like a keystroke).
TYPIST = """
([text, delayMs]) => new Promise((resolve) => {
  const chars = [...text];
  const step = () => {
    if (chars.length === 0) { resolve(); return; }
    document.execCommand('insertText', false, chars.shift());
    setTimeout(step, delayMs);
  };
  step();
})
"""

HIGHLIGHTED = """
(text) => [...CSS.highlights.values()].some(
  (highlight) => [...highlight].some((range) => String(range) === text))
"""


def is_subsequence(needle: str, haystack: str) -> bool:
    """True when the characters of ``needle`` appear in order in ``haystack``."""
    remaining = iter(haystack)
    return all(char in remaining for char in needle)


def place_caret(editor: EditorPage, index: int) -> None:
    editor.editor.click()
    editor.page.evaluate("(i) => window.editorDebug.quill.setSelection(i, 0, 'user')", index)


def test_two_users_type_concurrently_and_converge(site: Site) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "Concurrent", content="Start.\nEnd.\n")
    site.share(ann, doc_id, bob, "editor")
    a, b = site.open(ann, doc_id), site.open(bob, doc_id)
    expect(a.editor).to_contain_text("Start.")
    expect(b.editor).to_contain_text("End.")

    # Real keystrokes, interleaved: Ann at the end of line one, Bob at the end of line two.
    place_caret(a, len("Start."))
    place_caret(b, len("Start.\nEnd."))
    for char_a, char_b in zip(" ann types", " bob types", strict=True):
        a.page.keyboard.type(char_a)
        b.page.keyboard.type(char_b)
    converged(a, b)
    assert a.text() == "Start. ann types\nEnd. bob types\n"

    # Then both type at once at the same place, from timers running in both browsers.
    place_caret(a, 0)
    place_caret(b, 0)
    ann_text, bob_text = "AAAA aaaa AAAA aaaa", "bbbb BBBB bbbb BBBB"
    a.page.evaluate(f"window.typing = ({TYPIST})([{ann_text!r}, 7])")
    b.page.evaluate(f"window.typing = ({TYPIST})([{bob_text!r}, 5])")
    a.page.evaluate("() => window.typing")
    b.page.evaluate("() => window.typing")
    contents = converged(a, b)

    text = a.text()
    assert text == b.text()
    assert len(text) == len("Start. ann types\nEnd. bob types\n") + len(ann_text) + len(bob_text)
    assert is_subsequence(ann_text, text) and is_subsequence(bob_text, text)
    assert text.endswith("Start. ann types\nEnd. bob types\n")
    # and the server holds the same
    server = site.server_document(ann, doc_id)
    assert server["content"] == contents
    assert not a.errors and not b.errors, a.errors + b.errors


def test_formatting_propagates(site: Site) -> None:
    ann, bob = site.user("Ann"), site.user("Bob")
    doc_id = site.document(ann, "Formatting")
    site.share(ann, doc_id, bob, "editor")
    a, b = site.open(ann, doc_id), site.open(bob, doc_id)

    a.editor.click()
    a.page.keyboard.type("A heading")
    a.page.keyboard.press("Enter")
    a.page.keyboard.type("bold italic underlined plain")
    a.page.keyboard.press("Enter")
    a.page.keyboard.type("first item")
    # heading 1 from the toolbar's picker on line one
    a.page.evaluate("() => window.editorDebug.quill.setSelection(0, 0, 'user')")
    a.page.click(".ql-toolbar .ql-header .ql-picker-label")
    a.page.click(".ql-toolbar .ql-header .ql-picker-item[data-value='1']")
    # bold (toolbar), italic (keyboard), underline (toolbar) on words of line two
    line_two = len("A heading\n")
    a.page.evaluate(f"() => window.editorDebug.quill.setSelection({line_two}, 4, 'user')")
    a.page.click(".ql-toolbar button.ql-bold")
    a.page.evaluate(f"() => window.editorDebug.quill.setSelection({line_two + 5}, 6, 'user')")
    a.page.keyboard.press("Control+i")
    a.page.evaluate(f"() => window.editorDebug.quill.setSelection({line_two + 12}, 10, 'user')")
    a.page.click(".ql-toolbar button.ql-underline")
    # a bullet list from the toolbar on line three
    line_three = len("A heading\nbold italic underlined plain\n")
    a.page.evaluate(f"() => window.editorDebug.quill.setSelection({line_three + 2}, 0, 'user')")
    a.page.click(".ql-toolbar button.ql-list[value='bullet']")

    contents = converged(a, b)
    expect(b.page.locator(".ql-editor h1")).to_have_text("A heading")
    expect(b.page.locator(".ql-editor strong")).to_have_text("bold")
    expect(b.page.locator(".ql-editor em")).to_have_text("italic")
    expect(b.page.locator(".ql-editor u")).to_have_text("underlined")
    expect(b.page.locator(".ql-editor li[data-list='bullet']")).to_have_text("first item")
    assert {"insert": "\n", "attributes": {"header": 1}} in contents
    assert {"insert": "bold", "attributes": {"bold": True}} in contents
    assert site.server_document(bob, doc_id)["content"] == contents
    assert not a.errors and not b.errors, a.errors + b.errors


def test_remote_cursors_are_visible_with_names(site: Site) -> None:
    ann, bob, cay = site.user("Ann"), site.user("Bob"), site.user("Cay")
    doc_id = site.document(ann, "Cursors", content=(
        "Shared notes for the launch.\n"
        "Ann writes the intro, Bob reviews the plan, Cay checks the numbers.\n"))
    site.share(ann, doc_id, bob, "editor")
    site.share(ann, doc_id, cay, "editor")
    a, b, c = site.open(ann, doc_id), site.open(bob, doc_id), site.open(cay, doc_id)

    # Bob puts his caret after "launch.", Cay selects "the numbers"
    b.editor.click()
    b.page.evaluate("() => window.editorDebug.quill.setSelection(28, 0, 'user')")
    line_two = "Ann writes the intro, Bob reviews the plan, Cay checks the numbers."
    start = len("Shared notes for the launch.\n") + line_two.index("the numbers")
    c.editor.click()
    c.page.evaluate(f"() => window.editorDebug.quill.setSelection({start}, 11, 'user')")
    a.editor.click()
    a.page.evaluate("() => window.editorDebug.quill.setSelection(0, 0, 'user')")

    flags = a.page.locator(".ql-cursor .ql-cursor-name")
    expect(flags).to_have_count(2)
    for name in ("Bob", "Cay"):
        cursor = a.page.locator(".ql-cursor", has_text=name)
        expect(cursor.locator(".ql-cursor-caret")).to_be_visible()
        expect(cursor.locator(".ql-cursor-flag")).to_be_visible()
    # each caret is drawn in its user's colour, and they differ
    colours = a.page.eval_on_selector_all(
        ".ql-cursor .ql-cursor-caret",
        "carets => carets.map(c => getComputedStyle(c).backgroundColor)")
    assert len(set(colours)) == 2, colours
    # Cay's selection is highlighted (quill-cursors paints it with the CSS Highlight API)
    eventually(lambda: a.page.evaluate(HIGHLIGHTED, "the numbers"),
               message="Cay's selection is not highlighted in Ann's editor")
    # the caret sits where Bob put it: after "launch" on line one
    bob_caret = a.page.locator(".ql-cursor", has_text="Bob").locator(".ql-cursor-caret-container")
    first_line = a.page.locator(".ql-editor p").first.bounding_box()
    caret = bob_caret.bounding_box()
    assert first_line is not None and caret is not None
    assert abs(caret["y"] - first_line["y"]) < first_line["height"]
    # who's here: all three, Ann marked as "you"
    expect(a.page.locator("#presence .presence-user")).to_have_count(3)
    chips = a.page.locator("#presence .presence-user")
    assert [chip.get_attribute("aria-label") for chip in chips.all()] == \
        ["Ann (you)", "Bob", "Cay"]

    # Bob types and his cursor moves along in Ann's view
    b.page.keyboard.type(" Soon!")
    converged(a, b, c)
    expect(a.editor).to_contain_text("launch. Soon!")
    a.page.screenshot(path=str(artifacts_dir() / "editor-two-cursors.png"))
    b.page.screenshot(path=str(artifacts_dir() / "editor-two-cursors-bob.png"))

    # a user who leaves disappears from the others' screens
    c.context.close()
    site.pages.remove(c)
    expect(a.page.locator(".ql-cursor", has_text="Cay")).to_have_count(0)
    expect(a.page.locator("#presence .presence-user")).to_have_count(2)
    assert not a.errors and not b.errors, a.errors + b.errors


def test_viewer_cannot_type(site: Site) -> None:
    ann, vic = site.user("Ann"), site.user("Vic")
    doc_id = site.document(ann, "Read me", content="Look, don't touch.\n")
    site.share(ann, doc_id, vic, "viewer")
    a, v = site.open(ann, doc_id), site.open(vic, doc_id)
    version = site.server_document(ann, doc_id)["version"]

    expect(v.editor).to_have_attribute("contenteditable", "false")
    expect(v.page.locator("#view-only")).to_be_visible()
    expect(v.page.locator(".ql-toolbar")).to_be_hidden()
    expect(v.page.locator("#doc-title")).to_have_attribute("readonly", "")
    v.editor.click()
    v.page.keyboard.type("vandalism")
    v.page.keyboard.press("Enter")
    v.page.keyboard.press("Backspace")
    expect(v.editor).to_have_text("Look, don't touch.")
    assert v.text() == "Look, don't touch.\n"
    assert site.server_document(ann, doc_id)["version"] == version

    # the viewer still sees the others' edits live
    a.editor.click()
    a.page.keyboard.press("End")
    a.page.keyboard.type(" Please.")
    converged(a, v)
    expect(v.editor).to_have_text("Look, don't touch. Please.")
    expect(v.page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    expect(a.page.locator("#presence .presence-user").nth(1)).to_have_attribute("aria-label",
                                                                               "Vic")
    assert not a.errors and not v.errors, a.errors + v.errors
