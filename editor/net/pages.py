"""Pages for people: the friendly 404 that browsers get where API clients get JSON.

A request that prefers HTML (a browser's navigation sends ``Accept: text/html,…``) is
answered with the web page itself, which shows "Page not found" with a way back; when the
page was never built, a small self-contained HTML page says the same. Everything else —
``fetch``, httpx, curl (``Accept: */*``) — keeps the JSON error of PROTOCOL.md §4.

Every page carries a strict Content-Security-Policy (``secure_page``): scripts, styles and
fonts only from this origin, no inline script or style, network access only to this origin
and the collaboration listener, images also from https and data URLs (documents embed
them), no plugins, no framing, no ``<base>``. A script injected into a document, a title or
a name has nowhere to run and nowhere to send what it reads.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

import trio
from quart import Response, request

from editor.net import webassets
from editor.net.plumbing import services

__all__ = ["NOT_FOUND_HTML", "content_security_policy", "not_found_page", "secure_page",
           "sign_in_failed_page", "wants_html"]
WILDCARD_HOSTS = ("0.0.0.0", "::", "")

NOT_FOUND_HTML = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found — Editor</title>
</head>
<body><main><p>404</p><h1>Page not found</h1>
<p>There is nothing at this address.</p><p><a href="/">Back to your documents</a></p></main>
</body>
</html>
"""


def content_security_policy(ws_origin: str) -> str:
    """The policy of every page; ``ws_origin`` is the collaboration listener's."""
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self'",
        "img-src 'self' https: data:",
        f"connect-src 'self' {ws_origin}".rstrip(),
        "manifest-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ))


def _ws_origin() -> str:
    """``scheme://host:port`` of the collaboration URL clients of this request are given."""
    parts = urlsplit(services().ws_url)
    host = parts.hostname or ""
    if host in WILDCARD_HOSTS:  # bound to every address: clients use the name they used
        host = urlsplit(f"//{request.host}").hostname or host
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def secure_page(response: Response) -> Response:
    """``response`` (an HTML page) with the Content-Security-Policy of the pages."""
    response.headers["Content-Security-Policy"] = content_security_policy(_ws_origin())
    return response


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
    return secure_page(response)


SIGN_IN_FAILED_HTML = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed — Editor</title></head>
<body><main><h1>Sign-in failed</h1>
<p>{message}</p><p><a href="/login">Back to sign-in</a></p></main>
</body>
</html>
"""


def sign_in_failed_page(message: str, status: int) -> Response:
    """A failed OIDC sign-in as a page for the person whose browser landed here, with a way
    back (API clients keep the JSON error)."""
    body = SIGN_IN_FAILED_HTML.format(message=escape(message))
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return secure_page(response)
