"""Python client SDK for the collaborative editor (Trio).

    async with open_document("http://localhost:8000", doc_id, token) as doc:
        await doc.insert(0, "Hello")
        await doc.wait_synchronized()

See docs/client.md. Layers: ``protocol`` (frames), ``state`` (the OT client states),
``cursors``, ``machine`` (all session decisions, no I/O), ``document`` (the public
handle) and ``session`` (the Trio shell: connect, reconnect, heartbeat).
"""

from editor.client.backoff import backoff_delay_s
from editor.client.document import Document
from editor.client.errors import (
    AccessRevoked,
    BadRequest,
    ClientError,
    ConnectionLost,
    DocumentClosed,
    DocumentNotFound,
    ProtocolError,
    SessionEnded,
    SessionReplaced,
    Unauthorized,
)
from editor.client.events import (
    Acked,
    ConnectionState,
    ConnectionStateChanged,
    Cursor,
    Event,
    OpRejected,
    PeerLeft,
    Reloaded,
    RemoteChange,
    RemoteCursor,
)
from editor.client.options import ClientOptions, TokenSource
from editor.client.protocol import Delta, User
from editor.client.session import open_document
from editor.ot import InvalidOp

__all__ = [
    "AccessRevoked",
    "Acked",
    "BadRequest",
    "ClientError",
    "ClientOptions",
    "ConnectionLost",
    "ConnectionState",
    "ConnectionStateChanged",
    "Cursor",
    "Delta",
    "Document",
    "DocumentClosed",
    "DocumentNotFound",
    "Event",
    "InvalidOp",
    "OpRejected",
    "PeerLeft",
    "ProtocolError",
    "Reloaded",
    "RemoteChange",
    "RemoteCursor",
    "SessionEnded",
    "SessionReplaced",
    "TokenSource",
    "Unauthorized",
    "User",
    "backoff_delay_s",
    "open_document",
]
