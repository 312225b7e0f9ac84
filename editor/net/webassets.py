"""Where the built browser page lives, and what to say when it was never built."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MISSING_ASSETS_MESSAGE", "REQUIRED_ASSETS", "assets_present", "dist_dir"]

REQUIRED_ASSETS = ("index.html", "app.js", "app.css", "quill.snow.css")

MISSING_ASSETS_MESSAGE = """\
The editor's web page has not been built: editor/net/static/dist/ holds no app.

Build it from a source checkout (needs Node.js 20+ and npm):

    npm --prefix web ci && npm --prefix web run build

or reinstall the package, which builds it through the build hook:

    pip install .        (or: pip install -e .)

The REST API and the WebSocket protocol work without the page.
"""


def dist_dir() -> Path:
    """The folder of the built page (index.html, app.js, css), inside the package."""
    return Path(__file__).resolve().parent / "static" / "dist"


def assets_present() -> bool:
    """True when every file the page needs has been built."""
    folder = dist_dir()
    return all((folder / name).is_file() for name in REQUIRED_ASSETS)
