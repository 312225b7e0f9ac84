"""Exceptions of the client SDK.

    ClientError                 anything the SDK raises on its own
    ├── SessionEnded            the session ended for good; ``open_document`` raises it
    │   ├── BadRequest          close 4400: the server could not parse what we sent
    │   ├── Unauthorized        close 4401 (or HTTP 401 at the upgrade): bad or expired token
    │   ├── AccessRevoked       close 4403 (or HTTP 403): our role on the document was removed
    │   ├── DocumentNotFound    close 4404 (or HTTP 404): no such document, or no role on it
    │   ├── SessionReplaced     close 1000 from the server: a newer connection with our
    │   │                       client_id took over (two editors sharing one client_id)
    │   └── ConnectionLost      the connection dropped and ``reconnect=False``
    ├── DocumentClosed          the document object is used after its session ended
    └── ProtocolError           the server sent something this client cannot understand

A ``SessionEnded`` is never retried: PROTOCOL.md §3 forbids reconnecting after 4400,
4401, 4403 or 4404 "without new input" — open the document again (with a new token).
A server closes with 1000 only to hand our ``client_id`` to a newer connection
(docs/protocol.md); reconnecting would make the two fight over it.
Invalid local edits raise ``editor.ot.InvalidOp`` and leave the document unchanged.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class of the SDK's own exceptions."""


class SessionEnded(ClientError):
    """The session ended and will not be resumed; ``code`` is the close code."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class BadRequest(SessionEnded):
    """Close 4400: the server rejected a frame as malformed."""


class Unauthorized(SessionEnded):
    """Close 4401: the token is bad, expired or missing."""


class AccessRevoked(SessionEnded):
    """Close 4403: access to the document was revoked."""


class DocumentNotFound(SessionEnded):
    """Close 4404: the document does not exist or the user has no role on it."""


class SessionReplaced(SessionEnded):
    """Close 1000 from the server: another connection with this client_id replaced us."""


class ConnectionLost(SessionEnded):
    """The connection dropped and reconnecting was disabled."""


class DocumentClosed(ClientError):
    """The document is used after its session ended."""


class ProtocolError(ClientError):
    """The server sent a frame this client cannot decode or that breaks the protocol."""
