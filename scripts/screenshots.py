"""Regenerate docs/screenshots/: the history panel, presence chips and 404 page, each at
1280×800 (desktop) and 390×844 (phone), from a real `editor serve` and Debian's Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

The page must be built (`npm --prefix web run build`, or any install). The history's times
come from the server's op frames (`at`); where the server gives none, the ops are stamped
with a made-up morning of editing sessions so that the grouping shows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright  # noqa: E402

from editor.net import webassets  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Site, User  # noqa: E402
from tests.support.servers import LiveServer  # noqa: E402

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
PEOPLE = ("Ann Lovelace-Byron", "Bartholomew Okonkwo-Richardson", "Cyrille Dubois", "Dina Haddad",
          "Eduardo Montenegro Álvarez")


def stamp_ops(context: BrowserContext, time_of: Callable[[int], datetime]) -> None:
    """Give op frames from GET …/ops a time (``at``) where the server sent none."""
    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        for frame in body.get("ops", []):
            frame.setdefault("at", time_of(frame["version"]).astimezone().isoformat())
        route.fulfill(response=response, body=json.dumps(body))

    context.route("**/v1/documents/*/ops?*", handle)


def signed_in(browser: Browser, user: User, size: tuple[int, int]) -> BrowserContext:
    """A browser profile of ``size`` holding ``user``'s session."""
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=1, is_mobile=width < 500,
                                  has_touch=width < 500)
    context.set_default_timeout(20_000)
    session = json.dumps(json.dumps({"access_token": user.access_token,
                                     "refresh_token": user.refresh_token}))
    context.add_init_script(f"localStorage.setItem('editor.session', {session});")
    return context


def type_as(site: Site, user: User, doc_id: str, text: str) -> None:
    """Open the document as ``user``, type ``text`` at the end, wait until it is saved."""
    editor = site.open(user, doc_id)
    editor.editor.click()
    editor.page.keyboard.press("Control+End")
    editor.page.keyboard.type(text)
    editor.wait_connected()
    editor.context.close()
    site.pages.remove(editor)


def build_history(site: Site, users: list[User], doc_id: str) -> Callable[[int], datetime]:
    """Editing sessions by several people; returns the made-up time of each version."""
    ann, bob, cy = users[:3]
    phases: list[tuple[int, datetime]] = []
    morning = datetime.now().replace(hour=9, minute=12, second=0, microsecond=0)

    def phase(start: datetime) -> None:
        phases.append((site.server_document(ann, doc_id)["version"], start))

    phase(morning)
    type_as(site, ann, doc_id, "\nAgenda: the launch plan, the budget and who does what.")
    phase(morning + timedelta(minutes=31))
    type_as(site, bob, doc_id, "\nBudget: 12 k€ for the first quarter.")
    phase(morning + timedelta(minutes=58))
    type_as(site, cy, doc_id, "\nCyrille takes the press kit.")
    type_as(site, ann, doc_id, " Ann reviews it on Friday.")
    phase(morning + timedelta(hours=2, minutes=7))
    type_as(site, ann, doc_id, "\nDecision: launch on the 14th.")

    def time_of(version: int) -> datetime:
        start_version, start = max((p for p in phases if p[0] <= version), key=lambda p: p[0])
        return start + timedelta(seconds=0.4 * (version - start_version))

    return time_of


def shoot(page: Page, path: Path) -> None:
    page.wait_for_timeout(300)  # let transitions and fonts settle
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def main(argv: list[str] | None = None) -> int:
    """Start a server, set up people and a document, and take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not webassets.assets_present():
        print("the page is not built: npm --prefix web ci && npm --prefix web run build",
              file=sys.stderr)
        return 2
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="editor-screenshots-") as tmp:
        server = LiveServer(Path(tmp) / "data")
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS)
                take_all(Site(server, browser), browser, out)
                browser.close()
        finally:
            server.stop()
    return 0


def take_all(site: Site, browser: Browser, out: Path) -> None:
    users = [site.user(name) for name in PEOPLE]
    ann = users[0]
    doc_id = site.document(ann, "Launch meeting notes",
                           content=[{"insert": "Launch meeting"}, {"insert": "\n",
                                                                   "attributes": {"header": 1}}])
    for user in users[1:]:
        site.share(ann, doc_id, user, "editor")
    time_of = build_history(site, users, doc_id)
    # the others are here too, so the chips are crowded
    for user in users[1:]:
        site.open(user, doc_id)
    for size_name, size in SIZES.items():
        context = signed_in(browser, ann, size)
        stamp_ops(context, time_of)
        page = context.new_page()
        page.goto(f"{site.server.http_url}/d/{doc_id}")
        page.wait_for_selector("#connection-status[data-state=connected]")
        page.wait_for_selector("#presence-more")
        page.locator("#presence .presence-user:not(.is-you)").first.hover()
        shoot(page, out / f"presence-{size_name}.png")

        page.mouse.move(0, size[1] - 1)
        page.click("#history-toggle")
        entries = page.locator("#history-list .version-entry")
        entries.nth(1).wait_for()
        entries.nth(1).click()
        page.wait_for_selector("#history-preview [style*=background-color]")
        shoot(page, out / f"history-{size_name}.png")

        page.goto(f"{site.server.http_url}/no/such/page")
        page.wait_for_selector("#not-found")
        shoot(page, out / f"not-found-{size_name}.png")
        context.close()
    site.close()
    time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())


