"""Pages for people: the friendly 404 that browsers get where API clients get JSON.

A request that prefers HTML (a browser's navigation sends ``Accept: text/html,…``) is
answered with the web page itself, which shows "Page not found" with a way back; when the
page was never built, a small self-contained HTML page says the same. Everything else —
``fetch``, httpx, curl (``Accept: */*``) — keeps the JSON error of PROTOCOL.md §4.
"""

from __future__ import annotations

import trio
from quart import Response, request

from editor.net import webassets

__all__ = ["NOT_FOUND_HTML", "not_found_page", "wants_html"]

NOT_FOUND_HTML = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found — Editor</title>
<style>
body { font-family: system-ui, sans-serif; color: #1f2328; background: #f6f7f9; margin: 0;
       display: grid; place-items: center; min-height: 100vh; text-align: center; }
main { padding: 2rem; } h1 { font-size: 1.5rem; } a { color: #2563eb; }
</style></head>
<body><main><p style="font-size:3rem;margin:0">404</p><h1>Page not found</h1>
<p>There is nothing at this address.</p><p><a href="/">Back to your documents</a></p></main>
</body>
</html>
"""


def wants_html() -> bool:
    """True when the request prefers HTML over JSON (a browser navigating to a URL)."""
    accept = request.accept_mimetypes
    return accept.quality("text/html") > accept.quality("application/json")


async def not_found_page() -> Response:
    """404 as a page: the web app's shell (it renders "Page not found"), else plain HTML."""
    body = NOT_FOUND_HTML
    if webassets.assets_present():
        body = await trio.Path(webassets.dist_dir() / "index.html").read_text(encoding="utf-8")
    response = Response(body, status=404, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response
