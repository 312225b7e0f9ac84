"""Error codes and close codes of the wire protocol (PROTOCOL.md §3), defined once: each
error class names its machine code, its HTTP status and its WebSocket close code (``None``
when the session stays open: the error is about one op).

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
    TOO_BIG = 1009
    INTERNAL = 1011
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
    close_code: int | None = CloseCode.INTERNAL

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, dict[str, str]]:
        """The REST error body: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(EditorError):
    code, status, close_code = "bad_request", 400, CloseCode.BAD_REQUEST


class Unauthorized(EditorError):
    code, status, close_code = "unauthorized", 401, CloseCode.UNAUTHORIZED


class Forbidden(EditorError):
    code, status, close_code = "forbidden", 403, None


class NotFound(EditorError):
    code, status, close_code = "not_found", 404, CloseCode.NOT_FOUND


class Conflict(EditorError):
    code, status, close_code = "conflict", 409, None


class BadVersion(EditorError):
    code, status, close_code = "bad_version", 409, None  # hello: 4409


class InvalidOpError(EditorError):
    code, status, close_code = "invalid_op", 400, None


class TooLargeError(EditorError):
    code, status, close_code = "too_large", 413, None


class RateLimited(EditorError):
    code, status, close_code = "rate_limited", 429, CloseCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Internal(EditorError):
    code, status, close_code = "internal", 500, CloseCode.INTERNAL


_BY_CODE: dict[str, type[EditorError]] = {
    cls.code: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, BadVersion,
                              InvalidOpError, TooLargeError, RateLimited, Internal)
}


def error_for_code(code: str, message: str) -> EditorError:
    """The error of a PROTOCOL.md §3 code (an op's refusal, say), with its status."""
    return _BY_CODE.get(code, Internal)(message, code=code)


def close_code_for(code: str) -> int | None:
    """The close code that follows an ``error`` frame of ``code``; ``None``: the session stays."""
    return _BY_CODE.get(code, Internal).close_code
