"""Bus messages as compact JSON bytes, for shared buses that carry bytes (Redis pub/sub).

One encoding per publish, decoded once per receiving process. The shapes::

    {"k":"ops","o":origin,"d":doc_id,"ops":[[version,user_id,client_id,seq,created_at,delta],…]}
    {"k":"cursor","o":origin,"d":doc_id,"c":client_id,"u":{"id":…,"name":…},"v":version,
     "i":index|null,"l":length}
    {"k":"leave","o":origin,"d":doc_id,"c":client_id}

An op's document is the message's, so it is not repeated per op. Strings must be valid UTF-8:
the store and the network layer already refuse lone surrogates.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from editor.bus.base import BusMessage, CursorMessage, LeaveMessage, OpsMessage
from editor.store.records import CommittedOp, Delta


class MessageDecodeError(ValueError):
    """The bytes are not a bus message this codec writes (corrupt, or from another version)."""


def encode_message(message: BusMessage) -> bytes:
    """The message as compact UTF-8 JSON."""
    body: dict[str, Any]
    if isinstance(message, OpsMessage):
        body = {"k": "ops", "o": message.origin, "d": message.doc_id, "ops": [
            [op.version, op.user_id, op.client_id, op.seq, op.created_at, op.delta]
            for op in message.ops
        ]}
    elif isinstance(message, CursorMessage):
        body = {"k": "cursor", "o": message.origin, "d": message.doc_id, "c": message.client_id,
                "u": message.user, "v": message.version, "i": message.index, "l": message.length}
    else:
        body = {"k": "leave", "o": message.origin, "d": message.doc_id, "c": message.client_id}
    # allow_nan=False: NaN is not JSON, and would not compare equal after the round trip anyway.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def decode_message(raw: bytes) -> BusMessage:
    """The message ``encode_message`` wrote; ``MessageDecodeError`` for anything else."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageDecodeError(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MessageDecodeError("a bus message is a JSON object")
    kind = body.get("k")
    origin, doc_id = _str(body, "o"), _str(body, "d")
    if kind == "ops":
        ops = body.get("ops")
        if not isinstance(ops, list):
            raise MessageDecodeError("'ops' must be a list")
        try:
            return OpsMessage(origin, doc_id, tuple(_op(doc_id, row) for row in ops))
        except ValueError as exc:  # OpsMessage's own checks: empty, other document, a gap
            raise MessageDecodeError(str(exc)) from exc
    if kind == "cursor":
        index = body.get("i")
        if index is not None and not _is_int(index):
            raise MessageDecodeError("'i' must be an integer or null")
        return CursorMessage(origin, doc_id, _str(body, "c"), _user(body.get("u")),
                             _int(body, "v"), index, _int(body, "l"))
    if kind == "leave":
        return LeaveMessage(origin, doc_id, _str(body, "c"))
    raise MessageDecodeError(f"unknown message kind {kind!r}")


def _op(doc_id: str, row: object) -> CommittedOp:
    if not isinstance(row, list) or len(row) != 6:
        raise MessageDecodeError("an op is a list of 6 fields")
    version, user_id, client_id, seq, created_at, delta = row
    if not (_is_int(version) and _is_int(seq)):
        raise MessageDecodeError("an op's version and seq must be integers")
    if not (isinstance(user_id, str) and isinstance(client_id, str)):
        raise MessageDecodeError("an op's user_id and client_id must be strings")
    if not (_is_int(created_at) or isinstance(created_at, float)):
        raise MessageDecodeError("an op's created_at must be a number")
    return CommittedOp(doc_id=doc_id, version=version, delta=_delta(delta), user_id=user_id,
                       client_id=client_id, seq=seq, created_at=float(created_at))


def _delta(value: object) -> Delta:
    if not isinstance(value, list) or not all(isinstance(op, dict) for op in value):
        raise MessageDecodeError("a delta is a list of objects")
    return value


def _user(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise MessageDecodeError("'u' must be an object of strings")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not a version


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not _is_int(value):
        raise MessageDecodeError(f"{key!r} must be an integer")
    return value


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MessageDecodeError(f"{key!r} must be a string")
    return value
