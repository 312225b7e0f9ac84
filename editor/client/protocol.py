"""Wire frames of PROTOCOL.md §2 as typed values, and their JSON encoding. No I/O.

The server may batch several frames into one message (a JSON array); ``decode_message``
always returns a list. Unknown frame types decode to ``UnknownFrame`` so that a newer
server does not break an older client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from editor.client.errors import ProtocolError

Delta = list[dict[str, Any]]
"""A quill-delta as JSON: a list of ``insert`` / ``retain`` / ``delete`` op dicts."""


class ErrorCode:
    """Machine codes of ``error`` frames (PROTOCOL.md §3)."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INVALID_OP = "invalid_op"
    BAD_VERSION = "bad_version"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"


# --- server -> client -------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A user as the server describes them: ``{id, name}``."""

    id: str
    name: str


@dataclass(frozen=True)
class CursorFrame:
    """Another session's selection at ``version``; ``index is None`` means blurred."""

    client_id: str
    user: User
    version: int
    index: int | None
    length: int


@dataclass(frozen=True)
class Welcome:
    """The session is open; ``snapshot`` is set only for a fresh load."""

    doc_id: str
    version: int
    head: int
    snapshot: Delta | None
    role: str
    user: User
    client_id: str
    peers: tuple[CursorFrame, ...]


@dataclass(frozen=True)
class OpFrame:
    """A committed op taking the document from ``version`` to ``version + 1``."""

    version: int
    delta: Delta
    client_id: str
    user_id: str
    seq: int


@dataclass(frozen=True)
class AckFrame:
    """Our op ``seq`` was committed at ``version`` (taking it to ``version + 1``)."""

    seq: int
    version: int


@dataclass(frozen=True)
class LeaveFrame:
    """Another session ended."""

    client_id: str


@dataclass(frozen=True)
class PongFrame:
    """The answer to our ``ping`` carrying the same ``t``."""

    t: Any


@dataclass(frozen=True)
class ErrorFrame:
    """An error from the server; ``seq`` is set when it is about one of our ops."""

    code: str
    message: str
    seq: int | None


@dataclass(frozen=True)
class UnknownFrame:
    """A frame type this client does not know; ignored."""

    type: str


ServerFrame = (
    Welcome | OpFrame | AckFrame | CursorFrame | LeaveFrame | PongFrame | ErrorFrame | UnknownFrame
)


def _field(raw: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in raw:
        raise ProtocolError(f"{raw.get('type')!r} frame without {key!r}")
    value = raw[key]
    # bool is an int in Python; a version or seq of `true` is still malformed.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError(f"{raw.get('type')!r} frame: bad {key!r}: {value!r}")
    return value


def _id(raw: dict[str, Any], key: str) -> str:
    # Ids are strings in the protocol; accept numbers from servers that use integer keys.
    return str(_field(raw, key, (str, int)))


def _delta(raw: dict[str, Any], key: str) -> Delta:
    value = _field(raw, key, list)
    if not all(isinstance(op, dict) for op in value):
        raise ProtocolError(f"{raw.get('type')!r} frame: {key!r} is not a list of ops")
    return value


def _user(raw: Any) -> User:
    if not isinstance(raw, dict):
        raise ProtocolError(f"bad user: {raw!r}")
    return User(id=_id(raw, "id"), name=str(raw.get("name", "")))


def _cursor(raw: dict[str, Any]) -> CursorFrame:
    index = raw.get("index")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
        raise ProtocolError(f"cursor frame: bad 'index': {index!r}")
    return CursorFrame(
        client_id=_id(raw, "client_id"),
        user=_user(raw.get("user", {"id": "", "name": ""})),
        version=_field(raw, "version", int),
        index=index,
        length=raw.get("length", 0) if isinstance(raw.get("length", 0), int) else 0,
    )


def decode_frame(raw: Any) -> ServerFrame:
    """One decoded JSON object -> a typed frame; raises ProtocolError when malformed."""
    if not isinstance(raw, dict):
        raise ProtocolError(f"frame is not an object: {raw!r:.200}")
    kind = _field(raw, "type", str)
    if kind == "op":
        return OpFrame(
            version=_field(raw, "version", int),
            delta=_delta(raw, "delta"),
            client_id=_id(raw, "client_id"),
            user_id=_id(raw, "user_id") if "user_id" in raw else "",
            seq=_field(raw, "seq", int),
        )
    if kind == "ack":
        return AckFrame(seq=_field(raw, "seq", int), version=_field(raw, "version", int))
    if kind == "cursor":
        return _cursor(raw)
    if kind == "welcome":
        snapshot = raw.get("snapshot")
        peers = raw.get("peers") or []
        if not isinstance(peers, list) or not all(isinstance(p, dict) for p in peers):
            raise ProtocolError("welcome frame: bad 'peers'")
        return Welcome(
            doc_id=_id(raw, "doc_id"),
            version=_field(raw, "version", int),
            head=_field(raw, "head", int),
            snapshot=None if snapshot is None else _delta(raw, "snapshot"),
            role=_field(raw, "role", str),
            user=_user(raw.get("user")),
            client_id=_id(raw, "client_id"),
            peers=tuple(_cursor(peer) for peer in peers),
        )
    if kind == "leave":
        return LeaveFrame(client_id=_id(raw, "client_id"))
    if kind == "pong":
        return PongFrame(t=raw.get("t"))
    if kind == "error":
        seq = raw.get("seq")
        return ErrorFrame(
            code=_field(raw, "code", str),
            message=str(raw.get("message", "")),
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        )
    return UnknownFrame(type=kind)


def decode_message(message: str | bytes) -> list[ServerFrame]:
    """A WebSocket message (one frame object, or an array of them) -> frames in order."""
    try:
        raw = json.loads(message)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"message is not JSON: {exc}") from None
    if isinstance(raw, list):
        return [decode_frame(item) for item in raw]
    return [decode_frame(raw)]


# --- client -> server ---------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    """The first frame of a session; ``version is None`` asks for a fresh snapshot."""

    token: str
    client_id: str
    version: int | None


@dataclass(frozen=True)
class OpOut:
    """A local edit ``delta`` made on top of ``version``."""

    seq: int
    version: int
    delta: Delta


@dataclass(frozen=True)
class CursorOut:
    """Our selection at ``version``; ``index is None`` means blurred."""

    version: int
    index: int | None
    length: int


@dataclass(frozen=True)
class Ping:
    """A heartbeat; the server answers ``pong`` with the same ``t``."""

    t: int


ClientFrame = Hello | OpOut | CursorOut | Ping


def encode_frame(frame: ClientFrame) -> str:
    """A client frame -> the JSON text message to send (always a single object)."""
    body: dict[str, Any]
    if isinstance(frame, Hello):
        body = {
            "type": "hello",
            "token": frame.token,
            "client_id": frame.client_id,
            "version": frame.version,
        }
    elif isinstance(frame, OpOut):
        body = {"type": "op", "seq": frame.seq, "version": frame.version, "delta": frame.delta}
    elif isinstance(frame, CursorOut):
        body = {
            "type": "cursor",
            "version": frame.version,
            "index": frame.index,
            "length": frame.length,
        }
    else:
        body = {"type": "ping", "t": frame.t}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
