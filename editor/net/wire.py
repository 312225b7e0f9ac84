"""The wire protocol of PROTOCOL.md §2, in one place: client frames parsed into typed values,
the engine's ``Outgoing`` values encoded into server frames. Pure: no I/O.

Parsing raises ``BadRequest`` with a message that names the field. Values shared by many
sessions are encoded once (their ``encoded`` cache); a sender's own batch reuses the shared
encodings of the others' ops and puts ``ack`` frames in place of its own. ``encode_many``
packs everything a session has queued into one message (PROTOCOL.md §2 "Batching").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from editor.engine.outgoing import (
    AckOut,
    CursorOut,
    ErrorOut,
    LeaveOut,
    OpsOut,
    Outgoing,
    OwnOpsOut,
    PongOut,
)
from editor.errors import BadRequest
from editor.store.records import CommittedOp

CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_SEQ = 2**53 - 1


@dataclass(frozen=True)
class Hello:
    token: str
    client_id: str
    version: int | None


@dataclass(frozen=True)
class OpFrame:
    seq: int
    version: int
    delta: Any  # validated by the OT core, not here


@dataclass(frozen=True)
class CursorFrame:
    version: int
    index: int | None
    length: int


@dataclass(frozen=True)
class Ping:
    t: Any


ClientFrame = Hello | OpFrame | CursorFrame | Ping
_FIELDS = {
    "hello": {"token", "client_id", "version"},
    "op": {"seq", "version", "delta"},
    "cursor": {"version", "index", "length"},
    "ping": {"t"},
}


def _int(frame: dict[str, Any], name: str, *, minimum: int = 0) -> int:
    value = frame[name]
    if type(value) is not int or not minimum <= value <= MAX_SEQ:
        raise BadRequest(f"'{name}' must be an integer >= {minimum}")
    return value


def parse(message: str | bytes) -> ClientFrame:
    """Parse one client message into a frame, or raise ``BadRequest``."""
    if isinstance(message, bytes):
        raise BadRequest("frames are JSON text messages, not binary")
    try:
        frame = json.loads(message)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise BadRequest("the message is not valid JSON") from None
    if not isinstance(frame, dict):
        raise BadRequest("a client frame must be a JSON object")
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise BadRequest(f"unknown frame type {kind!r}")
    missing = _FIELDS[kind] - frame.keys()
    if missing:
        raise BadRequest(f"'{kind}' frame is missing {', '.join(sorted(missing))}")
    if kind == "hello":
        token, client_id, version = frame["token"], frame["client_id"], frame["version"]
        if not isinstance(token, str):
            raise BadRequest("'token' must be a string")  # an empty one is unauthorized
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            raise BadRequest("'client_id' must be 1-64 characters of [A-Za-z0-9_-]")
        return Hello(token, client_id, None if version is None else _int(frame, "version"))
    if kind == "op":
        if not isinstance(frame["delta"], list):
            raise BadRequest("'delta' must be a JSON array of ops")
        return OpFrame(_int(frame, "seq", minimum=1), _int(frame, "version"), frame["delta"])
    if kind == "cursor":
        index = frame["index"]
        return CursorFrame(
            _int(frame, "version"),
            None if index is None else _int(frame, "index"),
            0 if index is None else _int(frame, "length"),
        )
    return Ping(frame["t"])


def encode(frame: dict[str, Any]) -> str:
    """Encode one server frame as compact JSON text."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def pack(frames: list[str]) -> str:
    """One WebSocket message for several encoded frames: the frame itself, or a JSON array."""
    if len(frames) == 1:
        return frames[0]
    return "[" + ",".join(frames) + "]"


def op_frame(op: CommittedOp) -> dict[str, Any]:
    """The ``op`` frame of a committed op."""
    return {"type": "op", "version": op.version, "delta": op.delta, "client_id": op.client_id,
            "user_id": op.user_id, "seq": op.seq}


def cursor_frame(cursor: CursorOut) -> dict[str, Any]:
    """The ``cursor`` frame of a session's selection."""
    return {"type": "cursor", "client_id": cursor.client_id, "user": cursor.user,
            "version": cursor.version, "index": cursor.index, "length": cursor.length}


def error(code: str, message: str, seq: int | None = None) -> str:
    """An encoded ``error`` frame."""
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if seq is not None:
        frame["seq"] = seq
    return encode(frame)


def welcome(doc_id: str, version: int, head: int, snapshot: list[dict[str, Any]] | None,
            role: str, user: dict[str, str], client_id: str, peers: list[CursorOut]) -> str:
    """The encoded ``welcome`` frame."""
    return encode({"type": "welcome", "doc_id": doc_id, "version": version, "head": head,
                   "snapshot": snapshot, "role": role, "user": user, "client_id": client_id,
                   "peers": [cursor_frame(peer) for peer in peers]})


def _op_frames(batch: OpsOut) -> list[str]:
    if not batch.frames:
        batch.frames.extend(encode(op_frame(op)) for op in batch.ops)
    return batch.frames


def _once(item: CursorOut | LeaveOut, frame: dict[str, Any]) -> str:
    if not item.encoded:
        item.encoded.append(encode(frame))
    return item.encoded[0]


def encode_outgoing(item: Outgoing) -> str:
    """One WebSocket message for something the engine hands a session."""
    if isinstance(item, OpsOut):
        if not item.message:
            item.message.append(pack(_op_frames(item)))
        return item.message[0]
    if isinstance(item, OwnOpsOut):
        return pack(encoded_frames(item))
    if isinstance(item, CursorOut):
        return _once(item, cursor_frame(item))
    if isinstance(item, LeaveOut):
        return _once(item, {"type": "leave", "client_id": item.client_id})
    if isinstance(item, AckOut):
        return encode({"type": "ack", "seq": item.seq, "version": item.version})
    if isinstance(item, ErrorOut):
        return error(item.code, item.message, item.seq)
    assert isinstance(item, PongOut)
    return encode({"type": "pong", "t": item.t})


def encoded_frames(item: Outgoing) -> list[str]:
    """The encoded frames ``item`` stands for, in order (the shared encodings, not copies)."""
    if isinstance(item, OpsOut):
        return _op_frames(item)
    if isinstance(item, OwnOpsOut):
        shared = _op_frames(item.batch)
        return [encode({"type": "ack", "seq": op.seq, "version": op.version})
                if position in item.ack_positions else shared[position]
                for position, op in enumerate(item.batch.ops)]
    return [encode_outgoing(item)]


def encode_many(items: Sequence[Outgoing]) -> str:
    """One WebSocket message for several queued items, in order: the item's own message
    when there is one (shared by every session that sends it alone), else a JSON array of
    all their frames."""
    if len(items) == 1:
        return encode_outgoing(items[0])
    frames: list[str] = []
    for item in items:
        frames += encoded_frames(item)
    return pack(frames)
