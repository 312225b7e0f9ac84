"""Frame decoding and encoding (PROTOCOL.md §2)."""

from __future__ import annotations

import json

import pytest

from editor.client.errors import ProtocolError
from editor.client.machine import SessionMachine
from editor.client.protocol import (
    AckFrame,
    CursorFrame,
    CursorOut,
    ErrorFrame,
    Hello,
    LeaveFrame,
    OpFrame,
    OpOut,
    Ping,
    PongFrame,
    UnknownFrame,
    User,
    Welcome,
    decode_message,
    encode_frame,
)

WELCOME = {
    "type": "welcome",
    "doc_id": "d1",
    "version": 3,
    "head": 3,
    "snapshot": [{"insert": "hi\n"}],
    "role": "editor",
    "user": {"id": "u1", "name": "Ann"},
    "client_id": "c1",
    "peers": [
        {
            "type": "cursor",
            "client_id": "c2",
            "user": {"id": "u2", "name": "Bob"},
            "version": 3,
            "index": 1,
            "length": 0,
        }
    ],
}


def test_single_object() -> None:
    [frame] = decode_message(json.dumps(WELCOME))
    assert frame == Welcome(
        doc_id="d1",
        version=3,
        head=3,
        snapshot=[{"insert": "hi\n"}],
        role="editor",
        user=User("u1", "Ann"),
        client_id="c1",
        peers=(CursorFrame("c2", User("u2", "Bob"), 3, 1, 0),),
    )


def test_batched_array_keeps_order() -> None:
    message = json.dumps(
        [
            {"type": "op", "version": 5, "delta": [{"insert": "x"}], "client_id": "c2",
             "user_id": "u2", "seq": 9},
            {"type": "ack", "seq": 1, "version": 6},
            {"type": "cursor", "client_id": "c2", "user": {"id": "u2", "name": "Bob"},
             "version": 7, "index": None, "length": 0},
            {"type": "leave", "client_id": "c2"},
            {"type": "pong", "t": 12},
            {"type": "error", "code": "forbidden", "message": "no", "seq": 2},
            {"type": "presence-v2"},
        ]
    )
    assert decode_message(message) == [
        OpFrame(5, [{"insert": "x"}], "c2", "u2", 9),
        AckFrame(1, 6),
        CursorFrame("c2", User("u2", "Bob"), 7, None, 0),
        LeaveFrame("c2"),
        PongFrame(12),
        ErrorFrame("forbidden", "no", 2),
        UnknownFrame("presence-v2"),
    ]
    assert decode_message(message.encode()) == decode_message(message)


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "42",
        '{"no": "type"}',
        '{"type": "op", "version": 1, "delta": [], "client_id": "c", "seq": "1"}',
        '{"type": "ack", "seq": true, "version": 1}',
        '{"type": "op", "version": 1, "delta": [1], "client_id": "c", "seq": 1}',
        '[{"type": "ack", "seq": 1, "version": 1}, "x"]',
        '{"type": "cursor", "client_id": "c", "version": 1, "index": "0"}',
        '{"type": "welcome", "doc_id": "d", "version": 0, "head": 0, "role": "x",'
        ' "user": null, "client_id": "c"}',
    ],
)
def test_malformed_messages_raise_protocol_error(message: str) -> None:
    with pytest.raises(ProtocolError):
        decode_message(message)


def test_error_without_seq() -> None:
    assert decode_message('{"type":"error","code":"unauthorized","message":"bad"}') == [
        ErrorFrame("unauthorized", "bad", None)
    ]


def test_own_op_frame_is_the_ack_of_the_pending_op() -> None:
    """An op frame with our client_id and the pending seq acknowledges it (§2)."""
    machine = SessionMachine("me")
    [welcome] = decode_message(json.dumps({**WELCOME, "client_id": "me", "peers": []}))
    assert isinstance(welcome, Welcome)
    machine.welcome(welcome)
    machine.edit([{"insert": "A"}])
    [op] = machine.outgoing()
    assert op == OpOut(1, 3, [{"insert": "A"}])
    [frame] = decode_message(json.dumps(
        {"type": "op", "version": 3, "delta": [{"insert": "A"}], "client_id": "me",
         "user_id": "u1", "seq": 1}
    ))
    reaction = machine.handle(frame)
    assert [type(event).__name__ for event in reaction.events] == ["Acked"]
    assert machine.synchronized and machine.doc.version == 4
    assert machine.doc.content == [{"insert": "Ahi\n"}]


def test_encode_client_frames() -> None:
    assert json.loads(encode_frame(Hello("tok", "c1", None))) == {
        "type": "hello", "token": "tok", "client_id": "c1", "version": None
    }
    assert json.loads(encode_frame(OpOut(2, 7, [{"insert": "é😀"}]))) == {
        "type": "op", "seq": 2, "version": 7, "delta": [{"insert": "é😀"}]
    }
    assert json.loads(encode_frame(CursorOut(7, None, 0))) == {
        "type": "cursor", "version": 7, "index": None, "length": 0
    }
    assert json.loads(encode_frame(Ping(3))) == {"type": "ping", "t": 3}
