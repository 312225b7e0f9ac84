"""REST routes of ``/v1/auth``: register, verify, login, refresh, logout, me."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from editor.auth.service import MAX_NAME_CHARS, MAX_PASSWORD_CHARS
from editor.net.plumbing import current_user, json_body, services, string_field

auth_routes = Blueprint("auth", __name__, url_prefix="/v1/auth")
MAX_EMAIL_CHARS = 320  # RFC 3696's upper bound for an address
MAX_TOKEN_CHARS = 512  # refresh and verification tokens are far shorter


@auth_routes.post("/register")
async def register() -> tuple[dict[str, Any], int]:
    """Create an account → 201 ``{user}``."""
    body = await json_body({"email", "password", "name"})
    user = await services().auth.register(
        string_field(body, "email", max_chars=MAX_EMAIL_CHARS),
        string_field(body, "password", max_chars=MAX_PASSWORD_CHARS),
        string_field(body, "name", max_chars=MAX_NAME_CHARS),
    )
    return {"user": user.public()}, 201


@auth_routes.post("/verify")
async def verify() -> dict[str, Any]:
    """Spend the token of a verification email → 200 ``{user}``."""
    body = await json_body({"token"})
    token = string_field(body, "token", max_chars=MAX_TOKEN_CHARS)
    user = await services().auth.verify_email(token)
    return {"user": user.public()}


@auth_routes.post("/verify/resend")
async def resend_verification() -> tuple[dict[str, Any], int]:
    """Mail the signed-in user another verification link → 202."""
    user = await current_user()
    await json_body(set(), allow_empty=True)
    await services().auth.resend_verification(user)
    return {}, 202


@auth_routes.post("/login")
async def login() -> dict[str, Any]:
    """Email and password → an access and refresh token pair."""
    body = await json_body({"email", "password"})
    pair = await services().auth.login(
        string_field(body, "email", max_chars=MAX_EMAIL_CHARS),
        string_field(body, "password", max_chars=MAX_PASSWORD_CHARS))
    return pair.to_json()


@auth_routes.post("/refresh")
async def refresh() -> dict[str, Any]:
    """Spend a refresh token for a new pair."""
    body = await json_body({"refresh_token"})
    token = string_field(body, "refresh_token", max_chars=MAX_TOKEN_CHARS)
    pair = await services().auth.refresh(token)
    return pair.to_json()


@auth_routes.post("/logout")
async def logout() -> tuple[str, int]:
    """Revoke the refresh token's family."""
    await current_user()
    body = await json_body({"refresh_token"})
    await services().auth.logout(string_field(body, "refresh_token", max_chars=MAX_TOKEN_CHARS))
    return "", 204


@auth_routes.get("/me")
async def me() -> dict[str, Any]:
    """The signed-in user."""
    return (await current_user()).public()
