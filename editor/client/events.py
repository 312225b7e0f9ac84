"""Events a document reports to its user, as frozen dataclasses (see ``Document.events``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from editor.client.protocol import Delta, User


class ConnectionState(enum.StrEnum):
    """Where the session stands: ``connected``, ``reconnecting`` or ``offline`` (for good)."""

    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Cursor:
    """A remote selection in local coordinates; ``index is None`` means blurred."""

    client_id: str
    user: User
    index: int | None
    length: int


@dataclass(frozen=True)
class RemoteChange:
    """Another session's op committed as ``version``.

    ``delta`` is the op as committed (server coordinates at ``version``); ``local_delta``
    is what was applied to the local content (rebased over our unacknowledged edits).
    ``(client_id, seq)`` identify the op across all sessions, e.g. to measure fan-out.
    """

    version: int
    delta: Delta
    local_delta: Delta
    client_id: str
    user_id: str
    seq: int


@dataclass(frozen=True)
class Acked:
    """Our op ``seq`` was committed as ``version``."""

    seq: int
    version: int


@dataclass(frozen=True)
class RemoteCursor:
    """Another session moved its selection (local coordinates at the time of the event)."""

    client_id: str
    user: User
    index: int | None
    length: int


@dataclass(frozen=True)
class PeerLeft:
    """Another session ended; its cursor is gone."""

    client_id: str


@dataclass(frozen=True)
class ConnectionStateChanged:
    """The connection went up, down for a retry, or down for good."""

    state: ConnectionState


@dataclass(frozen=True)
class Reloaded:
    """The document was reloaded from the server; ``dropped`` holds the lost local edits.

    ``reason`` is the server's error code (``invalid_op``, ``bad_version``) or
    ``too_big`` / ``desync``. ``dropped`` is a delta on the content as it was before the
    reload (empty when nothing was lost); reapply it if it still makes sense.
    """

    reason: str
    dropped: Delta


@dataclass(frozen=True)
class OpRejected:
    """The server refused our op ``seq`` (``forbidden``, ``too_large``).

    The local content was reverted to the server's; ``dropped`` is the lost local edit
    (the rejected op composed with any edits buffered behind it).
    """

    seq: int
    code: str
    message: str
    dropped: Delta


Event = (
    RemoteChange
    | Acked
    | RemoteCursor
    | PeerLeft
    | ConnectionStateChanged
    | Reloaded
    | OpRejected
)
