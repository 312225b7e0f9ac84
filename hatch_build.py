"""Hatchling build hook: build the browser page (web/) with npm before packaging.

Like Jupyter's packages, installing the Python package (``pip install .`` or an editable
install) runs ``npm ci`` and ``npm run build`` in ``web/`` when the built page in
``editor/net/static/dist/`` is missing or older than its sources, then ships those
(gitignored) files in the wheel and the sdist as build artifacts.

Environment:
- ``EDITOR_SKIP_WEB_BUILD=1``: do not run npm; package whatever is already built (warns
  loudly when the page is missing: ``editor serve`` then answers with how to build it).
- ``EDITOR_NPM``: the npm executable to use (default: ``npm`` on the PATH).

Progress: one line per step ("web page [1/3] …") on stderr, flushed at once. pip shows a
build backend's output only with ``pip install -v``; without it, pip's own spinner is all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WEB_DIR = "web"
DIST_DIR = "editor/net/static/dist"
DIST_ARTIFACTS = f"{DIST_DIR}/**"
REQUIRED_ASSETS = ("index.html", "app.js", "app.css", "quill.snow.css")
SOURCE_PATTERNS = ("src/**/*", "build.mjs", "package.json", "package-lock.json")
MIN_NODE_MAJOR = 18

BUILD_HELP = f"""\
The editor's web page must be built with Node.js >= {MIN_NODE_MAJOR} and npm:

    npm --prefix web ci && npm --prefix web run build

Install Node.js and npm (Debian: apt-get install nodejs npm), or set
EDITOR_SKIP_WEB_BUILD=1 to package without the page (the REST API and the WebSocket
protocol still work; `editor serve` then explains how to build the page)."""


def progress(step: str) -> None:
    """One line of build progress on stderr, flushed so that it shows while npm runs."""
    print(f"web page {step}", file=sys.stderr, flush=True)


class WebBuildError(RuntimeError):
    """The page could not be built."""


def _newest_mtime(root: Path, patterns: tuple[str, ...]) -> float:
    newest = 0.0
    for pattern in patterns:
        for path in root.glob(pattern):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def dist_is_current(root: Path) -> bool:
    """True when every built asset exists and is newer than every web source."""
    dist = root / DIST_DIR
    built = [dist / name for name in REQUIRED_ASSETS]
    if not all(path.is_file() for path in built):
        return False
    web = root / WEB_DIR
    if not web.is_dir():
        return True  # an sdist or checkout without sources: the built page is all there is
    oldest_built = min(path.stat().st_mtime for path in built)
    return _newest_mtime(web, SOURCE_PATTERNS) <= oldest_built


def node_modules_are_current(web: Path) -> bool:
    """True when node_modules was installed from the current lock file."""
    marker = web / "node_modules" / ".package-lock.json"
    lock = web / "package-lock.json"
    if not marker.is_file():
        return False
    return not lock.is_file() or lock.stat().st_mtime <= marker.stat().st_mtime


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs npm to build web/ into editor/net/static/dist/ and packages the result."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Build the page if needed, then mark it as an artifact of this build."""
        root = Path(self.root)
        if os.environ.get("EDITOR_SKIP_WEB_BUILD", "") not in ("", "0"):
            if not dist_is_current(root):
                self._warn("EDITOR_SKIP_WEB_BUILD is set: packaging WITHOUT an up-to-date web "
                           "page.\n" + BUILD_HELP)
        elif not dist_is_current(root):
            self._build(root)
        else:
            progress(f"is up to date in {DIST_DIR}")
        build_data.setdefault("artifacts", []).append(DIST_ARTIFACTS)

    def clean(self, versions: list[str]) -> None:
        """`hatch clean`: remove the built page."""
        shutil.rmtree(Path(self.root) / DIST_DIR, ignore_errors=True)

    def _warn(self, message: str) -> None:
        self.app.display_warning("\n" + "!" * 72 + "\n" + message + "\n" + "!" * 72)

    def _build(self, root: Path) -> None:
        web = root / WEB_DIR
        if not (web / "package.json").is_file():
            raise WebBuildError(f"{web}/package.json is missing and {DIST_DIR} is not built.\n"
                                + BUILD_HELP)
        npm = os.environ.get("EDITOR_NPM") or shutil.which("npm")
        if npm is None:
            raise WebBuildError("npm was not found on the PATH, so the web page cannot be "
                                "built.\n" + BUILD_HELP)
        started = time.monotonic()
        progress("[1/3] checking Node.js")
        self._check_node()
        if node_modules_are_current(web):
            progress("[2/3] npm packages are up to date")
        else:
            install = ["ci"] if (web / "package-lock.json").is_file() else ["install"]
            progress(f"[2/3] installing npm packages (npm {install[0]}, about a minute the "
                     "first time)")
            self._run([npm, *install, "--no-audit", "--no-fund", "--ignore-scripts"], web)
        progress(f"[3/3] bundling the page with esbuild into {DIST_DIR}")
        self._run([npm, "run", "build"], web)
        if not dist_is_current(root):
            raise WebBuildError(f"`npm run build` finished but {DIST_DIR} lacks "
                                f"{', '.join(REQUIRED_ASSETS)}.")
        progress(f"built in {time.monotonic() - started:.0f} s")

    def _check_node(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise WebBuildError("node was not found on the PATH.\n" + BUILD_HELP)
        output = subprocess.run([node, "--version"], capture_output=True, text=True,
                                check=False).stdout.strip()
        try:
            major = int(output.lstrip("v").split(".")[0])
        except ValueError:
            return
        if major < MIN_NODE_MAJOR:
            raise WebBuildError(f"node {output} is too old.\n" + BUILD_HELP)

    def _run(self, command: list[str], cwd: Path) -> None:
        # npm's output goes to stderr so pip shows it with -v and keeps stdout clean
        result = subprocess.run(command, cwd=cwd, stdout=sys.stderr, stderr=sys.stderr,
                                check=False)
        if result.returncode != 0:
            raise WebBuildError(f"`{' '.join(command)}` failed with exit code "
                                f"{result.returncode} in {cwd}.\n" + BUILD_HELP)
