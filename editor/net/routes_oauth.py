"""REST routes of ``/v1/auth/oauth``: sign-in through OpenID Connect issuers.

The callback answers with a redirect to ``/login#access_token=…``: a fragment never
reaches a server or its logs, and the page moves it into the stored session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, request

from editor.auth.oidc import FLOW_TTL_S, OidcSignIn, SignInFailed
from editor.errors import NotFound
from editor.net import pages
from editor.net.plumbing import services

oauth_routes = Blueprint("oauth", __name__, url_prefix="/v1/auth/oauth")
FLOW_COOKIE = "editor_oidc_flow"
FLOW_COOKIE_PATH = "/v1/auth/oauth/"


def public_base() -> str:
    """``EDITOR_PUBLIC_URL``, else the address the request reached."""
    return services().cfg.public_url.rstrip("/") or f"http://{request.host}"


def callback_url(provider: str) -> str:
    """The redirect URI to register at the provider."""
    return f"{public_base()}/v1/auth/oauth/{provider}/callback"


def _cookie_attributes() -> dict[str, Any]:
    """Where the flow cookie goes and who may read it (the same when setting and deleting)."""
    return {"path": FLOW_COOKIE_PATH, "secure": public_base().startswith("https://"),
            "httponly": True, "samesite": "Lax"}


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def _sign_in() -> OidcSignIn:
    oidc = services().oidc
    if oidc is None:
        raise NotFound("no sign-in provider is configured")
    return oidc


@oauth_routes.get("/providers")
async def providers() -> dict[str, list[str]]:
    """The names of the configured providers, sorted."""
    oidc = services().oidc
    return {"providers": oidc.names() if oidc is not None else []}


@oauth_routes.get("/<provider>/start")
async def start(provider: str) -> Response:
    """302 to the provider's authorization endpoint, the flow's secrets in a cookie."""
    location, sealed_flow = await _sign_in().start(provider, callback_url(provider))
    response = _redirect(location)
    response.set_cookie(FLOW_COOKIE, sealed_flow, max_age=FLOW_TTL_S, **_cookie_attributes())
    return response


@oauth_routes.get("/<provider>/callback")
async def callback(provider: str) -> Response:
    """Finish the sign-in: 302 to ``/login#access_token=…``, or 400 ``oauth_failed`` (a page
    with a way back for a browser)."""
    try:
        pair = await _sign_in().finish(provider, callback_url(provider), request.args,
                                       request.cookies.get(FLOW_COOKIE))
    except SignInFailed as exc:
        if not pages.wants_html():
            raise
        return pages.sign_in_failed_page(exc.message, exc.status)
    response = _redirect(f"{public_base()}/login#{urlencode(pair.to_json())}")
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(FLOW_COOKIE, **_cookie_attributes())
    return response
