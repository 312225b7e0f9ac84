"""Browser tests: Playwright (sync API) driving Debian's Chromium against `editor serve`.

The tests are plain ``def`` functions (pytest-trio leaves them alone). Each test gets its
own server from the ``live_server`` fixture (tests/conftest.py); users are created over
REST and the session is seeded into ``localStorage['editor.session']``, as a signed-in
browser holds it, and ``localStorage['editor.debug']`` is set so that the editor page
exposes ``window.editorDebug`` (docs/web.md). Screenshots go to ``artifacts/`` (or
``$EDITOR_ARTIFACTS_DIR``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from editor.net import webassets
from tests.support.servers import LiveServer

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
CHROMIUM = os.environ.get("EDITOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery"
WEB_SOURCES = ("src/**/*", "build.mjs", "package.json", "package-lock.json")
NETWORK_NOISE = re.compile(r"^(WebSocket connection to .* failed|Failed to load resource)")
_counter = itertools.count()


def artifacts_dir() -> Path:
    """Where screenshots go (gitignored)."""
    path = Path(os.environ.get("EDITOR_ARTIFACTS_DIR", REPO / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _newest_source_mtime() -> float:
    return max((p.stat().st_mtime for pattern in WEB_SOURCES for p in WEB.glob(pattern)
                if p.is_file()), default=0.0)


def _page_is_current() -> bool:
    built = [webassets.dist_dir() / name for name in webassets.REQUIRED_ASSETS]
    if not all(p.is_file() for p in built):
        return False
    return _newest_source_mtime() <= min(p.stat().st_mtime for p in built)


@pytest.fixture(scope="session")
def built_page() -> Path:
    """The web page, built with npm when missing or older than its sources."""
    if not _page_is_current():
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed to build the web page (see docs/web.md)"
        marker = WEB / "node_modules" / ".package-lock.json"
        lock = WEB / "package-lock.json"
        if not marker.is_file() or lock.stat().st_mtime > marker.stat().st_mtime:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                           cwd=WEB, check=True, capture_output=True)
        subprocess.run([npm, "run", "build"], cwd=WEB, check=True, capture_output=True)
    assert webassets.assets_present()
    return webassets.dist_dir()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (no Playwright browser download)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class User:
    """A registered user with a token pair."""

    id: str
    email: str
    name: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class EditorPage:
    """One user's browser context with the editor open, and what its page reported."""

    user: User
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    @property
    def editor(self) -> Any:
        """The Quill root (`.ql-editor`)."""
        return self.page.locator(".ql-editor")

    def text(self) -> str:
        """The document text as Quill holds it (with the final newline)."""
        return str(self.page.evaluate("() => window.editorDebug.quill.getText()"))

    def contents(self) -> list[dict[str, Any]]:
        """The document as a Delta, from Quill."""
        return list(self.page.evaluate("() => window.editorDebug.quill.getContents().ops"))

    def wait_connected(self, timeout_ms: float = 15_000) -> None:
        """Until the connection indicator says connected with nothing unsent."""
        self.page.wait_for_selector("#connection-status[data-state=connected][data-unsent='0']",
                                    timeout=timeout_ms)


class Site:
    """REST helpers and browser sessions against one live server."""

    def __init__(self, server: LiveServer, browser: Browser) -> None:
        self.server = server
        self.browser = browser
        self.http = httpx.Client(base_url=server.http_url, timeout=10)
        self.pages: list[EditorPage] = []

    def close(self) -> None:
        for editor in self.pages:
            editor.context.close()
        self.http.close()

    def user(self, name: str) -> User:
        """Register and sign in a new user."""
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "user"
        email = f"{slug}-{next(_counter)}-{time.time_ns()}@example.test"
        response = self.http.post("/v1/auth/register",
                                  json={"email": email, "password": PASSWORD, "name": name})
        assert response.status_code == 201, response.text
        user_id = response.json()["user"]["id"]
        response = self.http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        tokens = response.json()
        return User(user_id, email, name, tokens["access_token"], tokens["refresh_token"])

    def document(self, owner: User, title: str = "Notes", content: Any = None) -> str:
        """Create a document; returns its id."""
        body: dict[str, Any] = {"title": title}
        if content is not None:
            body["content"] = content
        response = self.http.post("/v1/documents", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def share(self, owner: User, doc_id: str, member: User, role: str) -> None:
        response = self.http.put(f"/v1/documents/{doc_id}/members/{member.email}",
                                 json={"role": role}, headers=owner.headers)
        assert response.status_code == 200, response.text

    def server_document(self, user: User, doc_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/documents/{doc_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def context(self, user: User | None, *, session: dict[str, str] | None = None,
                debug: bool = True) -> BrowserContext:
        """A fresh browser profile, signed in as ``user`` (session seeded once); ``debug``
        asks the editor page for ``window.editorDebug``."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 760})
        context.set_default_timeout(15_000)
        if debug:
            context.add_init_script("localStorage.setItem('editor.debug', '1');")
        if user is not None or session is not None:
            stored = session or {"access_token": user.access_token,  # type: ignore[union-attr]
                                 "refresh_token": user.refresh_token}  # type: ignore[union-attr]
            value = json.dumps(json.dumps(stored))
            context.add_init_script(
                "if (!localStorage.getItem('editor.session')) "
                f"localStorage.setItem('editor.session', {value});")
        return context

    def open(self, user: User, doc_id: str, *, session: dict[str, str] | None = None,
             wait: bool = True) -> EditorPage:
        """Open the editor at /d/{id} in a new context, signed in as ``user``."""
        context = self.context(user, session=session)
        page = context.new_page()
        editor = EditorPage(user, context, page)
        watch(page, editor.errors)
        page.goto(f"{self.server.http_url}/d/{doc_id}")
        if wait:
            editor.wait_connected()
        self.pages.append(editor)
        return editor


def watch(page: Page, errors: list[str]) -> None:
    """Collect uncaught page errors and console errors into ``errors``."""
    def on_console(message: ConsoleMessage) -> None:
        # the browser's own network logs are expected while a test stops the server
        if message.type == "error" and not NETWORK_NOISE.search(message.text):
            errors.append(f"console: {message.text}")

    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", on_console)


@pytest.fixture
def site(live_server: LiveServer, browser: Browser, built_page: Path) -> Iterator[Site]:
    """A live server with its page built, and a browser to drive it."""
    site = Site(live_server, browser)
    try:
        yield site
    finally:
        site.close()


def eventually(check: Callable[[], bool], *, timeout_s: float = 15.0, interval_s: float = 0.05,
               message: Callable[[], str] | str = "condition not met") -> None:
    """Poll ``check`` until it holds, else fail with ``message``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            pytest.fail(message() if callable(message) else message)
        time.sleep(interval_s)


def converged(*editors: EditorPage, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """Wait until every editor is connected, has nothing unsent and shows the same Delta."""
    for editor in editors:
        editor.wait_connected(timeout_ms=timeout_s * 1000)

    def same() -> bool:
        first = editors[0].contents()
        return all(editor.contents() == first for editor in editors[1:])

    eventually(same, timeout_s=timeout_s,
               message=lambda: "editors diverged: "
               + " | ".join(repr(editor.text()) for editor in editors))
    return editors[0].contents()
