"""The Quart-Trio application: errors, CORS and security headers, and the routes.

Route handlers live in ``routes_auth``, ``routes_oauth`` and ``routes_docs``, the plumbing
they share in ``plumbing``; this module wires them with the JSON error shape of
PROTOCOL.md §4 and serves the web page.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Response, request, send_from_directory
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from editor import __version__, logs, metrics
from editor.errors import EditorError, TooLargeError
from editor.guards.origins import explicitly_allowed
from editor.net import pages, webassets
from editor.net.openapi import openapi_json
from editor.net.plumbing import AUTH_MAX_BODY_BYTES, MAX_BODY_BYTES, Services, limit, services
from editor.net.routes_auth import auth_routes
from editor.net.routes_docs import document_routes
from editor.net.routes_oauth import oauth_routes

log = logs.get(__name__)
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
CORS_EXPOSED_HEADERS = "Retry-After, Location"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def client_ws_url(svc: Services, request_host: str) -> str:
    """The collaboration URL for a client that reached us at ``request_host``.

    On a wildcard address (``--host 0.0.0.0``) without ``EDITOR_PUBLIC_WS_URL`` the bound
    address means nothing to clients, so the host name they used is put in its place.
    """
    if svc.cfg.public_ws_url or svc.cfg.host not in WILDCARD_HOSTS:
        return svc.ws_url
    parts = urlsplit(svc.ws_url)
    hostname = urlsplit(f"//{request_host}").hostname
    if not hostname:
        return svc.ws_url
    host = f"[{hostname}]" if ":" in hostname else hostname
    return f"{parts.scheme}://{host}:{parts.port}"


def cors_preflight(allowed: tuple[str, ...]) -> Response:
    """The answer to a CORS preflight: permissions for configured origins, else 403."""
    origin = request.headers.get("Origin", "")
    if not explicitly_allowed(origin, allowed):
        body = {"error": {"code": "forbidden", "message": f"origin {origin!r} is not allowed;"
                          " see EDITOR_ALLOWED_ORIGINS"}}
        return Response(json.dumps(body), status=403, content_type="application/json")
    response = Response("", status=204)
    response.headers.update({
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600",
    })
    response.vary.add("Origin")
    return response


def create_app(svc: Services) -> QuartTrio:
    """The REST API, health, config, metrics and the web page."""
    app = QuartTrio(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.services = svc  # type: ignore[attr-defined]
    app.register_blueprint(auth_routes)
    app.register_blueprint(document_routes)
    app.register_blueprint(oauth_routes)
    app.add_url_rule("/openapi.json", view_func=openapi_json)

    @app.before_request
    async def guard() -> Response | None:
        # Hypercorn keep-alive: answering before the body is read stalls the next request.
        body = await request.get_data()
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return cors_preflight(services().cfg.allowed_origins)
        if request.path.startswith("/v1/auth/"):
            await limit(f"auth-address:{request.remote_addr}",
                        services().cfg.auth_per_address_per_min)
            if len(body) > AUTH_MAX_BODY_BYTES:
                raise TooLargeError(f"request bodies of /v1/auth are limited to"
                                    f" {AUTH_MAX_BODY_BYTES} bytes")
        return None

    @app.after_request
    async def decorate(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        origin = request.headers.get("Origin")
        if origin and explicitly_allowed(origin, services().cfg.allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
            response.vary.add("Origin")
        metrics.HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response

    @app.errorhandler(EditorError)
    async def editor_error(exc: EditorError) -> tuple[dict[str, Any], int, dict[str, str]]:
        headers = {}
        if exc.status == 429:
            headers["Retry-After"] = str(max(1, math.ceil(getattr(exc, "retry_after_s", 1))))
        return exc.to_json(), exc.status, headers

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> tuple[dict[str, Any], int] | Response:
        status = exc.code or 500
        if status == 404 and pages.wants_html():
            return await pages.not_found_page()
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            status, "bad_request")
        return {"error": {"code": code, "message": exc.description or exc.name}}, status

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> tuple[dict[str, Any], int]:
        log.exception("request failed", extra={"path": request.path})
        return {"error": {"code": "internal", "message": "internal server error"}}, 500

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> tuple[dict[str, str], int]:
        try:
            await services().store.ping()
        except Exception as exc:
            return {"status": "unavailable", "reason": str(exc)}, 503
        return {"status": "ready"}, 200

    @app.get("/v1/config")
    async def config() -> dict[str, str]:
        return {"ws_url": client_ws_url(services(), request.host), "version": __version__}

    @app.get("/metrics")
    async def metrics_text() -> Response:
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.get("/static/<path:name>")
    async def static_file(name: str) -> Response:
        return await send_from_directory(webassets.dist_dir(), name)

    @app.get("/")
    @app.get("/login")
    @app.get("/register")
    @app.get("/verify")
    @app.get("/d/<doc_id>")
    async def page(doc_id: str | None = None) -> Response:
        if not webassets.assets_present():
            return Response(webassets.MISSING_ASSETS_MESSAGE, status=503,
                            content_type="text/plain; charset=utf-8")
        response = await send_from_directory(webassets.dist_dir(), "index.html")
        # Asset URLs carry a content hash; only the page itself must never be stale.
        response.headers["Cache-Control"] = "no-cache"
        return response

    return app
