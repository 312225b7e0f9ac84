"""Which web origins may use the API (CORS) and open WebSocket sessions.

Browsers always send ``Origin`` on WebSocket handshakes and cross-origin requests, and
WebSockets are not covered by the same-origin policy, so the server must refuse pages of
other sites itself (cross-site WebSocket hijacking). Clients that are not browsers send
no ``Origin`` and are not affected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def normalize(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without a trailing slash or default port."""
    parts = urlsplit(origin.strip().lower())
    try:
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def _hostname(host_header: str) -> str:
    return urlsplit(f"//{host_header.strip().lower()}").hostname or ""


def explicitly_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Whether the operator listed the origin (or ``*``) in ``EDITOR_ALLOWED_ORIGINS``."""
    return "*" in allowed or normalize(origin) in {normalize(a) for a in allowed}


def session_origin_allowed(origin: str | None, host_header: str, public_url: str,
                           allowed: tuple[str, ...]) -> bool:
    """Whether a WebSocket handshake with this ``Origin`` may open a session.

    Allowed: no ``Origin`` (not a browser); a page of the host the client connected to (on
    any port: the page and the sessions have separate listeners); loopback pages talking
    to a loopback server; the public URL's origin; and the configured origins.
    """
    if origin is None:
        return True
    page = normalize(origin)
    if not page:
        return False  # "null" (sandboxed frames, files) or garbage
    page_host = urlsplit(page).hostname or ""
    server_host = _hostname(host_header)
    if page_host == server_host or (page_host in LOOPBACK and server_host in LOOPBACK):
        return True
    if public_url and page == normalize(public_url):
        return True
    return explicitly_allowed(origin, allowed)
