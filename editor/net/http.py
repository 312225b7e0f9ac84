"""The Quart-Trio applications: errors, CORS and security headers, and the routes.

Route handlers live in ``routes_auth``, ``routes_oauth`` and ``routes_docs``, the plumbing
they share in ``plumbing``; this module wires them with the JSON error shape of
PROTOCOL.md §4 and serves the web page. ``create_app`` mounts the route groups a process
serves (all of them for ``editor serve``, one for ``editor run SERVICE``);
``create_probe_app`` is the health and metrics listener of a process without REST routes,
and the private metrics listener of ``editor serve``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Response, current_app, request, send_from_directory
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
from editor.net.routes_docs import presence as presence_view
from editor.net.routes_oauth import oauth_routes
from editor.store import Store

log = logs.get(__name__)
# Route groups a process can mount: REST /v1/auth/* (with OIDC sign-in), /v1/documents/*,
# GET /v1/documents/{id}/presence alone, GET /v1/config, and the web page with its assets.
AUTH_ROUTES, DOCUMENT_ROUTES, PRESENCE_ROUTES = "auth", "documents", "presence"
CONFIG_ROUTES, PAGE_ROUTES = "config", "pages"
ALL_ROUTES = frozenset({AUTH_ROUTES, DOCUMENT_ROUTES, PRESENCE_ROUTES, CONFIG_ROUTES,
                        PAGE_ROUTES})
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


def _strip_body_headers(response: Response) -> None:
    """A 204 has no body (RFC 9110 §15.3.5): no type, no length (Quart sets both)."""
    response.headers.pop("Content-Type", None)
    response.headers.pop("Content-Length", None)


def create_app(svc: Services, *, routes: Collection[str] = ALL_ROUTES,
               metrics_route: bool = False) -> QuartTrio:
    """The REST API's ``routes`` groups, health, and ``/metrics`` if ``metrics_route``."""
    unknown = set(routes) - ALL_ROUTES
    if unknown:
        raise ValueError(f"unknown route groups: {', '.join(sorted(unknown))}")
    app = QuartTrio(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.services = svc  # type: ignore[attr-defined]
    if AUTH_ROUTES in routes:
        app.register_blueprint(auth_routes)
        app.register_blueprint(oauth_routes)
    if DOCUMENT_ROUTES in routes:
        app.register_blueprint(document_routes)  # presence included
    elif PRESENCE_ROUTES in routes:
        app.add_url_rule("/v1/documents/<doc_id>/presence", view_func=presence_view)
    app.add_url_rule("/openapi.json", view_func=openapi_json)
    _add_handlers(app)
    _add_probes(app, metrics_route=metrics_route)

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
        if response.status_code == 204:
            _strip_body_headers(response)
        origin = request.headers.get("Origin")
        if origin and explicitly_allowed(origin, services().cfg.allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
            response.vary.add("Origin")
        metrics.HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response

    if CONFIG_ROUTES in routes:
        @app.get("/v1/config")
        async def config() -> dict[str, str]:
            return {"ws_url": client_ws_url(services(), request.host), "version": __version__}

    if PAGE_ROUTES in routes:
        _add_pages(app)
    return app


def create_probe_app(store: Store) -> QuartTrio:
    """``/healthz``, ``/readyz`` (``store`` answers) and ``/metrics``, nothing else."""
    app = QuartTrio(__name__, static_folder=None)
    app.probed_store = store  # type: ignore[attr-defined]
    _add_handlers(app)
    _add_probes(app, metrics_route=True)

    @app.after_request
    async def decorate(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def _probed_store() -> Store:
    app = current_app
    store = getattr(app, "probed_store", None)
    return store if store is not None else services().store


def _add_handlers(app: QuartTrio) -> None:
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


def _add_probes(app: QuartTrio, *, metrics_route: bool) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> tuple[dict[str, str], int]:
        try:
            await _probed_store().ping()
        except Exception as exc:
            return {"status": "unavailable", "reason": str(exc)}, 503
        return {"status": "ready"}, 200

    if metrics_route:
        @app.get("/metrics")
        async def metrics_text() -> Response:
            return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def _add_pages(app: QuartTrio) -> None:
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
        return pages.secure_page(response)
