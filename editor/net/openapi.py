"""The OpenAPI 3.1 document of the REST API (PROTOCOL.md §4), served at ``GET /openapi.json``.

Limits come from the modules that enforce them. ``tests/net/test_openapi.py`` checks that the
document names exactly the routes of the app and fuzzes a running server against it: no
5xx, and every answer has a documented status, content type, headers and body. ``/metrics``
is not part of it: it is served on the private metrics listener, never on this one.
"""

from __future__ import annotations

import copy
from typing import Any

from editor import __version__
from editor.auth.passwords import MIN_PASSWORD_CHARS
from editor.auth.service import MAX_NAME_CHARS, MAX_PASSWORD_CHARS
from editor.net.plumbing import AUTH_MAX_BODY_BYTES, MAX_BODY_BYTES
from editor.net.routes_auth import MAX_EMAIL_CHARS, MAX_TOKEN_CHARS
from editor.net.routes_docs import MAX_OPS_PAGE, MAX_PAGE, MAX_TITLE_CHARS
from editor.ot import MAX_CONTENT_BYTES
from editor.store import ROLES

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """A closed object: every property not in ``optional`` is required, no others allowed."""
    return {"type": "object", "properties": properties,
            "required": [name for name in properties if name not in optional],
            "additionalProperties": False}


def _string(max_chars: int, min_chars: int = 0, description: str = "") -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_chars}
    if min_chars:
        schema["minLength"] = min_chars
    if description:
        schema["description"] = description
    return schema


_COUNT: Schema = {"type": "integer", "minimum": 1}
_VERSION: Schema = {"type": "integer", "minimum": 0}
_ROLE: Schema = {"type": "string", "enum": list(ROLES)}
_TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
_CLIENT_ID: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
_DOCUMENT_META: dict[str, Schema] = {
    "id": {"type": "string"}, "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
    "owner_id": {"type": "string"}, "role": _ROLE,
    "version": {**_VERSION, "description": "the number of ops committed since creation"},
    "created_at": _TIMESTAMP, "updated_at": _TIMESTAMP,
}

_SCHEMAS: dict[str, Schema] = {
    "Error": _object({"error": _object({
        "code": {"type": "string", "description": "stable machine code (PROTOCOL.md §3)"},
        "message": {"type": "string", "description": "for people"}})}),
    "User": _object({"id": {"type": "string"}, "email": {"type": "string"},
                     "name": {"type": "string"}, "email_verified": {"type": "boolean"}}),
    "TokenPair": _object({
        "access_token": {"type": "string", "description": "a JWT for `Authorization: Bearer`"},
        "refresh_token": {"type": "string"}, "token_type": {"const": "bearer"},
        "expires_in": {"type": "integer", "description": "seconds the access token lives"}}),
    "DocumentMeta": _object(_DOCUMENT_META),
    "Document": _object({**_DOCUMENT_META, "content": _ref("ContentDelta")}),
    "DocumentPage": _object({
        "items": {"type": "array", "items": _ref("DocumentMeta"), "maxItems": MAX_PAGE},
        "next_cursor": {"type": ["string", "null"],
                        "description": "pass as `cursor` for the next page; null on the last"}}),
    "Member": _object({
        "user_id": {"type": ["string", "null"], "description": "null for an invitation"},
        "email": {"type": "string"},
        "name": {"type": "string", "description": "empty for an invitation"}, "role": _ROLE,
        "pending": {"type": "boolean", "description": "an invitation to an address without"
                    " an account yet (listed to the owner only)"}}),
    "Share": _object({"email": {"type": "string", "description": "in canonical form"},
                      "role": _ROLE}),
    "PublicUser": _object({"id": {"type": "string"}, "name": {"type": "string"}}),
    "Presence": _object({
        "client_id": _CLIENT_ID, "user": _ref("PublicUser"),
        "index": {"type": ["integer", "null"], "minimum": 0,
                  "description": "null: no selection (blurred)"},
        "length": {"type": "integer", "minimum": 0}, "version": _VERSION}),
    "OpFrame": _object({
        "type": {"const": "op"},
        "version": {**_VERSION, "description": "the op took the document from here to +1"},
        "delta": _ref("Delta"), "client_id": _CLIENT_ID,
        "user_id": {"type": "string"}, "seq": _COUNT,
        "at": {"type": "string", "format": "date-time",
               "description": "when the op was committed (RFC 3339, UTC)"}}),
    "Attributes": {"type": "object", "description": "null removes the attribute",
                   "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
    "Embed": {"type": "object", "minProperties": 1, "maxProperties": 1,
              "description": "one key, e.g. {\"image\": \"https://…\"}"},
    "InsertOp": _object({"insert": {"anyOf": [{"type": "string", "minLength": 1},
                                              _ref("Embed")]},
                         "attributes": _ref("Attributes")}, optional=("attributes",)),
    "RetainOp": _object({"retain": _COUNT, "attributes": _ref("Attributes")},
                        optional=("attributes",)),
    "DeleteOp": _object({"delete": _COUNT}),
    "Delta": {"type": "array", "description": "a quill-delta Delta; lengths in UTF-16 units",
              "items": {"oneOf": [_ref("InsertOp"), _ref("RetainOp"), _ref("DeleteOp")]}},
    "ContentDelta": {"type": "array", "items": _ref("InsertOp"),
                     "description": f"a document: inserts ending with \"\\n\", at most"
                                    f" {MAX_CONTENT_BYTES} bytes of JSON"},
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


_RESPONSES: dict[str, Schema] = {
    "Unauthorized": _error("`unauthorized`: a missing, bad or expired bearer token"),
    "TooLarge": _error(f"`too_large`: bodies of /v1/auth are limited to {AUTH_MAX_BODY_BYTES}"
                       f" bytes, others to {MAX_BODY_BYTES}, document content to"
                       f" {MAX_CONTENT_BYTES} bytes of JSON"),
    "RateLimited": {**_error("`rate_limited`: wait `Retry-After` seconds"), "headers": {
        "Retry-After": {"required": True, "description": "seconds to wait",
                        "schema": {"type": "integer", "minimum": 1}}}},
}


def _body(schema: Schema, *, required: bool = True) -> Schema:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def _path(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_DOC_ID = _path("doc_id", {"type": "string"}, "a document id")
_EMAIL = _path("email", {"type": "string"}, "an email address, case-insensitive"
                " (NFKC, IDNA: look-alikes are the same address)")
_PROVIDER = _path("provider", {"type": "string"}, "a name from /v1/auth/oauth/providers")
_REDIRECT = {"description": "redirect", "headers": {
    "Location": {"required": True, "schema": {"type": "string"}}}}
_NO_DOC = "`not_found`: no such document, deleted, or the caller has no role on it"
_BAD_BODY = "`validation`: not a JSON object, unknown or missing fields, bad values"


def _operation(path: str, summary: str, responses: dict[str, Schema], *,
               public: bool = False, body: Schema | None = None,
               parameters: tuple[Schema, ...] = ()) -> Schema:
    """One operation; the 401, 413 and 429 answers its path and auth imply are added."""
    operation: Schema = {"summary": summary, "responses": dict(responses)}
    if public:
        operation["security"] = []
    else:
        operation["responses"].setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = body
        operation["responses"]["413"] = {"$ref": "#/components/responses/TooLarge"}
    if path.startswith("/v1/auth/") or not public:
        operation["responses"]["429"] = {"$ref": "#/components/responses/RateLimited"}
    return operation


def _auth_paths() -> dict[str, dict[str, Schema]]:
    credentials = {"email": _string(MAX_EMAIL_CHARS), "password": _string(MAX_PASSWORD_CHARS)}
    refresh = _body(_object({"refresh_token": _string(MAX_TOKEN_CHARS)}))
    pair = _json(_ref("TokenPair"), "a new token pair")
    user = _json(_object({"user": _ref("User")}), "the account")
    return {
        "/v1/auth/register": {"post": _operation(
            "/v1/auth/register", "Create an account and mail a verification link", {
                "201": user, "400": _error(_BAD_BODY + "; an invalid email, password or name"),
                "409": _error("`email_taken`: emails are unique, case-insensitively")},
            public=True, body=_body(_object({
                "email": {**_string(MAX_EMAIL_CHARS), "format": "email"},
                "password": _string(MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS),
                "name": _string(MAX_NAME_CHARS, 1, "printable; surrounding spaces dropped")})))},
        "/v1/auth/verify": {"post": _operation(
            "/v1/auth/verify", "Spend the token of a verification email", {
                "200": user,
                "400": _error(_BAD_BODY + "; `invalid_token`: unknown, used or expired")},
            public=True, body=_body(_object({"token": _string(MAX_TOKEN_CHARS)})))},
        "/v1/auth/verify/resend": {"post": _operation(
            "/v1/auth/verify/resend", "Mail the caller another verification link", {
                "202": _json({"type": "object", "maxProperties": 0}, "sent"),
                "400": _error(_BAD_BODY), "409": _error("`already_verified`")},
            body=_body({"type": "object", "maxProperties": 0}, required=False))},
        "/v1/auth/login": {"post": _operation(
            "/v1/auth/login", "Email and password for a token pair", {
                "200": pair, "400": _error(_BAD_BODY),
                "401": _error("`invalid_credentials`, whether the email exists or not"),
                "403": _error("`email_not_verified`, when the operator requires it")},
            public=True, body=_body(_object(credentials)))},
        "/v1/auth/refresh": {"post": _operation(
            "/v1/auth/refresh", "Spend a refresh token for a new pair", {
                "200": pair, "400": _error(_BAD_BODY),
                "401": _error("`invalid_refresh_token`: unknown, expired or spent (reusing a"
                              " spent one revokes its family)")},
            public=True, body=refresh)},
        "/v1/auth/logout": {"post": _operation(
            "/v1/auth/logout", "Revoke the refresh token's family", {
                "204": {"description": "revoked"}, "400": _error(_BAD_BODY)}, body=refresh)},
        "/v1/auth/me": {"get": _operation(
            "/v1/auth/me", "The caller", {"200": _json(_ref("User"), "the caller")})},
        "/v1/auth/oauth/providers": {"get": _operation(
            "/v1/auth/oauth/providers", "The configured OpenID Connect providers", {
                "200": _json(_object({"providers": {"type": "array",
                                                    "items": {"type": "string"}}}),
                             "provider names, sorted")}, public=True)},
        "/v1/auth/oauth/{provider}/start": {"get": _operation(
            "/v1/auth/oauth/{provider}/start", "Redirect to the provider (PKCE, S256)", {
                "302": _REDIRECT,
                "400": _error("`oauth_failed`: the provider cannot be reached"),
                "404": _error("`not_found`: no such provider")},
            public=True, parameters=(_PROVIDER,))},
        "/v1/auth/oauth/{provider}/callback": {"get": _operation(
            "/v1/auth/oauth/{provider}/callback", "Finish the sign-in", {
                "302": {**_REDIRECT, "description": "to /login#access_token=…&refresh_token=…"},
                "400": _error("`oauth_failed`"),
                "404": _error("`not_found`: no such provider")},
            public=True, parameters=(
                _PROVIDER, _query("code", {"type": "string"}, "the authorization code"),
                _query("state", {"type": "string"}, "the state sent to the provider"),
                _query("error", {"type": "string"}, "the provider's refusal")))},
    }


def _document_paths() -> dict[str, dict[str, Schema]]:
    title = {"title": _string(MAX_TITLE_CHARS, description="no control characters")}
    meta = _json(_ref("DocumentMeta"), "the document's metadata")
    role = _body(_object({"role": _ROLE}))
    forbidden = _error("`forbidden`: the caller's role does not allow this")
    docs = "/v1/documents/{doc_id}"
    members = docs + "/members/{email}"
    return {
        "/v1/documents": {
            "post": _operation("/v1/documents", "Create a document owned by the caller", {
                "201": _json(_ref("DocumentMeta"), "created"),
                "400": _error(_BAD_BODY + "; `invalid_op`: content is not a Delta of inserts")},
                body=_body(_object({**title, "content": {"anyOf": [
                    {"type": "string", "description": "plain text"}, _ref("ContentDelta"),
                    {"type": "null"}]}}, optional=("content",)))),
            "get": _operation("/v1/documents", "The caller's documents, recently updated first", {
                "200": _json(_ref("DocumentPage"), "a page"),
                "400": _error("`validation`: a bad `limit` or `cursor`")},
                parameters=(
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                     "default": 50}, "page size"),
                    _query("cursor", {"type": "string"}, "`next_cursor` of the previous page"))),
        },
        docs: {
            "get": _operation(docs, "The metadata, content and version", {
                "200": _json(_ref("Document"), "the document"), "404": _error(_NO_DOC)},
                parameters=(_DOC_ID,)),
            "patch": _operation(docs, "Rename (editor or owner)", {
                "200": meta, "400": _error(_BAD_BODY), "403": forbidden, "404": _error(_NO_DOC)},
                parameters=(_DOC_ID,), body=_body(_object(title, optional=("title",)))),
            "delete": _operation(docs, "Delete (owner); open sessions close with 4404", {
                "204": {"description": "deleted"}, "403": forbidden, "404": _error(_NO_DOC)},
                parameters=(_DOC_ID,)),
        },
        docs + "/members": {"get": _operation(
            docs + "/members", "Everyone with a role; the owner also sees invitations", {
                "200": _json({"type": "array", "items": _ref("Member")}, "the members"),
                "404": _error(_NO_DOC)}, parameters=(_DOC_ID,))},
        members: {
            "put": _operation(
                members, "Share (owner): a role for the address's account, else an"
                " invitation; the same answer either way, and a mail either way", {
                    "200": _json(_ref("Share"), "shared or invited"),
                    "400": _error(_BAD_BODY + "; not an email address; the owner's role"
                                  " cannot change"),
                    "403": forbidden, "404": _error(_NO_DOC)},
                parameters=(_DOC_ID, _EMAIL), body=role),
            "delete": _operation(members, "Take a role away or withdraw an invitation (owner)", {
                "204": {"description": "removed"},
                "400": _error("`validation`: not an email address; the owner cannot be"
                              " removed"), "403": forbidden,
                "404": _error(_NO_DOC + "; or the address has no role and no invitation")},
                parameters=(_DOC_ID, _EMAIL)),
        },
        docs + "/ops": {"get": _operation(docs + "/ops", "Committed ops, `from` to `to`", {
            "200": _json(_object({"ops": {"type": "array", "items": _ref("OpFrame"),
                                          "maxItems": MAX_OPS_PAGE}}), "the ops, in order"),
            "400": _error("`validation`: `from` or `to` is not a non-negative integer"),
            "404": _error(_NO_DOC)}, parameters=(
                _DOC_ID, _query("from", {**_VERSION, "default": 0}, "first version, inclusive"),
                _query("to", _VERSION, f"last version, exclusive; at most {MAX_OPS_PAGE} ops"
                                       " are returned, and never past the head")))},
        docs + "/versions/{version}": {"get": _operation(
            docs + "/versions/{version}", "The content as it was at a version", {
                "200": _json(_object({"version": _VERSION, "content": _ref("ContentDelta")}),
                             "the content"),
                "404": _error(_NO_DOC + "; or the version is above the head")},
            parameters=(_DOC_ID, _path("version", _VERSION, "a version")))},
        docs + "/restore": {"post": _operation(
            docs + "/restore", "Commit one op that brings back an earlier version's content", {
                "200": _json(_object({"version": {**_VERSION, "description": "the new head"},
                                      "restored_from": _VERSION}), "committed"),
                "400": _error(_BAD_BODY + "; or the op could not be committed (its code)"),
                "403": forbidden, "404": _error(_NO_DOC + "; or the version is above the head")},
            parameters=(_DOC_ID,), body=_body(_object({"version": _VERSION})))},
        docs + "/presence": {"get": _operation(docs + "/presence", "Open sessions and cursors", {
            "200": _json({"type": "array", "items": _ref("Presence")}, "the sessions"),
            "404": _error(_NO_DOC)}, parameters=(_DOC_ID,))},
    }


def _service_paths() -> dict[str, dict[str, Schema]]:
    status = {"type": "string"}
    return {
        "/healthz": {"get": _operation("/healthz", "Liveness", {
            "200": _json(_object({"status": {"const": "ok"}}), "alive")}, public=True)},
        "/readyz": {"get": _operation("/readyz", "Readiness: every store answers", {
            "200": _json(_object({"status": {"const": "ready"}}), "ready"),
            "503": _json(_object({"status": {"const": "unavailable"}, "reason": status}),
                         "a store does not answer")}, public=True)},
        "/v1/config": {"get": _operation("/v1/config", "Where clients open sessions", {
            "200": _json(_object({
                "ws_url": {"type": "string", "description": "ws://host:port or wss://host;"
                                                           " append /v1/docs/{id}/ws"},
                "version": status}), "the client configuration")}, public=True)},
        "/openapi.json": {"get": _operation("/openapi.json", "This document", {
            "200": _json({"type": "object"}, "OpenAPI 3.1")}, public=True)},
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server's REST API (a fresh copy each call)."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Editor REST API", "version": __version__,
                 "description": "PROTOCOL.md §4. Errors are {\"error\": {\"code\", \"message\"}};"
                                " unknown fields in a request body are a 400."},
        "security": [{"bearer": []}],
        "paths": {**_auth_paths(), **_document_paths(), **_service_paths()},
        "components": {
            "schemas": _SCHEMAS,
            "responses": _RESPONSES,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    })


async def openapi_json() -> dict[str, Any]:
    """``GET /openapi.json``."""
    return document()
