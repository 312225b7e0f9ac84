"""The ``Bus`` contract, run against every backend, and the codec's round trip."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

import editor.bus
from editor.bus import (
    Bus,
    BusMessage,
    CursorMessage,
    LeaveMessage,
    MessageDecodeError,
    OpsMessage,
    base,
    codec,
    decode_message,
    encode_message,
    memory,
)
from editor.store.records import CommittedOp
from tests.contract.bus_backends import QUEUE_SIZE, bus_fixture, seams_fixture  # noqa: F401


def ops_message(
    version: int, count: int = 1, *, doc_id: str = "d", origin: str = "p1"
) -> OpsMessage:
    """A message of ``count`` committed ops starting at ``version``."""
    return OpsMessage(origin, doc_id, tuple(
        CommittedOp(doc_id, v, [{"insert": f"{v}"}], "u1", "c1", v, 1000.0 + v)
        for v in range(version, version + count)
    ))


def cursor_message(version: int, *, doc_id: str = "d") -> CursorMessage:
    """A cursor of client c2 at ``version``."""
    return CursorMessage("p1", doc_id, "c2", {"id": "u2", "name": "Bo"}, version, 3, 0)


def drain(channel: trio.MemoryReceiveChannel[BusMessage]) -> list[BusMessage]:
    """Everything already delivered to ``channel``, without waiting."""
    received = []
    while True:
        try:
            received.append(channel.receive_nowait())
        except trio.WouldBlock:
            return received


def version_gaps(messages: list[BusMessage]) -> list[tuple[int, int]]:
    """(expected, got) wherever an OpsMessage does not start where the previous one ended."""
    gaps = []
    expected: int | None = None
    for message in messages:
        if isinstance(message, OpsMessage):
            if expected is not None and message.first_version != expected:
                gaps.append((expected, message.first_version))
            expected = message.next_version
    return gaps


async def test_every_subscriber_of_the_document_gets_the_message(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        async with bus.subscribe("d") as first, bus.subscribe("d") as second:
            await bus.publish(ops_message(0))
            assert await first.receive() == ops_message(0)
            assert await second.receive() == ops_message(0)


async def test_another_documents_subscriber_gets_nothing(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        async with bus.subscribe("other") as other, bus.subscribe("d") as mine:
            await bus.publish(ops_message(0))
            assert await mine.receive() == ops_message(0)  # delivered, so other's would be too
            assert drain(other) == []


async def test_own_messages_are_delivered_for_the_consumer_to_filter_by_origin(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        async with bus.subscribe("d") as channel:
            await bus.publish(ops_message(0, origin="me"))
            assert (await channel.receive()).origin == "me"


async def test_each_publishers_order_is_kept(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    sent: list[BusMessage] = [
        ops_message(0, 2), cursor_message(2), ops_message(2), LeaveMessage("p1", "d", "c2"),
        ops_message(3, 3),
    ]
    with trio.fail_after(5):
        async with bus.subscribe("d") as channel:
            for message in sent:
                await bus.publish(message)
            assert [await channel.receive() for _ in sent] == sent


async def test_messages_published_before_subscribing_are_not_delivered(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        await bus.publish(ops_message(0))
        async with bus.subscribe("d") as channel:
            await bus.publish(ops_message(1))
            assert await channel.receive() == ops_message(1)


async def test_an_exited_subscription_gets_nothing_more(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        async with bus.subscribe("d") as channel:
            late_reader = channel.clone()  # outlives the subscription, to look inside
            await bus.publish(ops_message(0))
        async with late_reader, bus.subscribe("d") as witness:
            await bus.publish(ops_message(1))
            assert await witness.receive() == ops_message(1)
            assert await late_reader.receive() == ops_message(0)
            with pytest.raises(trio.EndOfChannel):
                late_reader.receive_nowait()  # the stream ended at exit: version 1 never came


async def test_a_slow_subscriber_loses_messages_but_never_blocks_the_publisher(
    bus: Bus, autojump_clock: trio.testing.MockClock
) -> None:
    overflow = 4
    with trio.fail_after(5):
        async with bus.subscribe("d") as slow, bus.subscribe("d") as fast:
            for version in range(QUEUE_SIZE + overflow):
                await bus.publish(ops_message(version))  # would hang (and fail) if it waited
                assert await fast.receive() == ops_message(version)
            received = drain(slow)
            assert [m.first_version for m in received if isinstance(m, OpsMessage)] == list(
                range(QUEUE_SIZE)
            )
            await bus.publish(ops_message(QUEUE_SIZE + overflow))
            received += drain(slow)
    # The consumer's duty: a gap means "read versions 8..11 from the op log before going on".
    assert version_gaps(received) == [(QUEUE_SIZE, QUEUE_SIZE + overflow)]


def test_an_ops_message_holds_consecutive_ops_of_its_document() -> None:
    assert ops_message(5, 3).first_version == 5 and ops_message(5, 3).next_version == 8
    with pytest.raises(ValueError, match="at least one"):
        OpsMessage("p1", "d", ())
    with pytest.raises(ValueError, match="consecutive"):
        OpsMessage("p1", "d", ops_message(0).ops + ops_message(2).ops)
    with pytest.raises(ValueError, match="document"):
        OpsMessage("p1", "d", ops_message(0, doc_id="e").ops)


# --- the codec -------------------------------------------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)  # JSON has no NaN nor inf
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite_floats | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
deltas = st.lists(st.dictionaries(st.text(), json_values, max_size=3), max_size=4)
users = st.fixed_dictionaries({"id": st.text(), "name": st.text()})


@st.composite
def ops_messages(draw: st.DrawFn) -> OpsMessage:
    """Any valid OpsMessage."""
    doc_id, first = draw(st.text()), draw(st.integers(min_value=0))
    ops = tuple(
        CommittedOp(doc_id, first + offset, draw(deltas), draw(st.text()), draw(st.text()),
                    draw(st.integers()), draw(finite_floats))
        for offset in range(draw(st.integers(min_value=1, max_value=4)))
    )
    return OpsMessage(draw(st.text()), doc_id, ops)


messages = (
    ops_messages()
    | st.builds(CursorMessage, st.text(), st.text(), st.text(), users, st.integers(),
                st.none() | st.integers(min_value=0), st.integers(min_value=0))
    | st.builds(LeaveMessage, st.text(), st.text(), st.text())
)


@given(messages)
def test_codec_round_trip(message: BusMessage) -> None:
    """decode(encode(m)) == m, and the encoding is compact JSON."""
    raw = encode_message(message)
    assert decode_message(raw) == message
    assert json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode() == raw


@pytest.mark.parametrize("raw", [
    b"\xff", b"not json", b"[]", b'{"k":"shout","o":"p","d":"d"}',
    b'{"k":"leave","o":"p","d":"d"}',
    b'{"k":"ops","o":"p","d":"d","ops":[]}',
    b'{"k":"ops","o":"p","d":"d","ops":[[0,"u","c",1,1.0,[]],[2,"u","c",2,1.0,[]]]}',
    b'{"k":"ops","o":"p","d":"d","ops":[[true,"u","c",1,1.0,[]]]}',
    b'{"k":"ops","o":"p","d":"d","ops":[[0,"u","c",1,"now",[]]]}',
    b'{"k":"ops","o":"p","d":"d","ops":[[0,"u","c",1,1.0,["x"]]]}',
    b'{"k":"cursor","o":"p","d":"d","c":"c","u":{"id":1},"v":0,"i":null,"l":0}',
    b'{"k":"cursor","o":"p","d":"d","c":"c","u":{},"v":0,"i":"x","l":0}',
])
def test_decode_refuses_what_encode_never_writes(raw: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        decode_message(raw)


def test_the_package_exports_every_public_name_of_its_modules() -> None:
    public = {
        name
        for module in (base, codec, memory)
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }
    assert set(editor.bus.__all__) == public | {"BusMessage"}
    assert all(hasattr(editor.bus, name) for name in editor.bus.__all__)
