"""Error codes and close codes of the wire protocol (PROTOCOL.md §3), defined once.

    EditorError                 an error a user or client can see: a code and a message
    ├── BadRequest              bad_request  (WS close 4400, HTTP 400)
    ├── Unauthorized            unauthorized (WS close 4401, HTTP 401)
    ├── Forbidden               forbidden    (HTTP 403; on WS the session stays)
    ├── NotFound                not_found    (WS close 4404, HTTP 404)
    ├── Conflict                conflict / email_taken (HTTP 409)
    ├── BadVersion              bad_version  (op not committed; hello → close 4409)
    ├── InvalidOpError          invalid_op   (op not committed)
    ├── TooLargeError           too_large    (op not committed; HTTP 413)
    ├── RateLimited             rate_limited (WS close 4429, HTTP 429)
    └── Internal                internal     (WS close 1011, HTTP 500)
"""

from __future__ import annotations


class CloseCode:
    """WebSocket close codes used by the server."""

    NORMAL = 1000
    GOING_AWAY = 1001
    ABNORMAL = 1006  # never sent: what a client sees when the connection just drops
    TOO_BIG = 1009
    INTERNAL = 1011
    SERVICE_RESTART = 1012
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    REVOKED = 4403
    NOT_FOUND = 4404
    HELLO_TIMEOUT = 4408
    BAD_VERSION = 4409
    RATE_LIMITED = 4429


class EditorError(Exception):
    """An error with a stable machine code, an HTTP status and a human message."""

    code = "internal"
    status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, dict[str, str]]:
        """The REST error body: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(EditorError):
    code, status = "bad_request", 400


class Unauthorized(EditorError):
    code, status = "unauthorized", 401


class Forbidden(EditorError):
    code, status = "forbidden", 403


class NotFound(EditorError):
    code, status = "not_found", 404


class Conflict(EditorError):
    code, status = "conflict", 409


class BadVersion(EditorError):
    code, status = "bad_version", 409


class InvalidOpError(EditorError):
    code, status = "invalid_op", 400


class TooLargeError(EditorError):
    code, status = "too_large", 413


class RateLimited(EditorError):
    code, status = "rate_limited", 429

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Internal(EditorError):
    code, status = "internal", 500
