"""The OT client states (ot.js style) and the document one client holds."""

from __future__ import annotations

import pytest

from editor.client.protocol import Delta
from editor.client.state import (
    AwaitingConfirm,
    AwaitingWithBuffer,
    ClientState,
    OutgoingOp,
    Synchronized,
    apply_client,
    apply_server,
    server_ack,
    unmap_position,
)
from editor.ot import InvalidOp, apply, transform


def text(content: list[dict]) -> str:
    return "".join(op["insert"] for op in content if isinstance(op["insert"], str))


def loaded(content: str = "\n", version: int = 0) -> ClientState:
    state = ClientState("me")
    state.load(version, [{"insert": content}])
    return state


def test_local_edit_when_synchronized_sends_it() -> None:
    step = apply_client(Synchronized(), [{"insert": "a"}], 1)
    assert step.state == AwaitingConfirm([{"insert": "a"}], 1)
    assert step.send == OutgoingOp(1, [{"insert": "a"}])


def test_local_edits_while_awaiting_are_buffered_and_composed() -> None:
    step = apply_client(AwaitingConfirm([{"insert": "a"}], 1), [{"insert": "b"}], 2)
    assert step.send is None
    assert step.state == AwaitingWithBuffer([{"insert": "a"}], 1, [{"insert": "b"}])
    step = apply_client(step.state, [{"retain": 1}, {"insert": "c"}], 2)
    assert step.send is None
    assert isinstance(step.state, AwaitingWithBuffer)
    assert step.state.buffer == [{"insert": "bc"}]


def test_ack_releases_the_buffer_with_the_next_seq() -> None:
    assert server_ack(AwaitingConfirm([{"insert": "a"}], 4)).state == Synchronized()
    step = server_ack(AwaitingWithBuffer([{"insert": "a"}], 4, [{"insert": "b"}]))
    assert step.state == AwaitingConfirm([{"insert": "b"}], 5)
    assert step.send == OutgoingOp(5, [{"insert": "b"}])
    with pytest.raises(ValueError):
        server_ack(Synchronized())


def test_remote_op_when_synchronized_is_applied_as_is() -> None:
    remote: Delta = [{"retain": 2}, {"insert": "x"}]
    assert apply_server(Synchronized(), remote) == (Synchronized(), remote)


def test_remote_insert_at_the_same_place_goes_first_like_on_the_server() -> None:
    """The committed op wins ties: the server puts R's insert before our pending one."""
    state = loaded("ab\n")
    state.edit([{"retain": 1}, {"insert": "P"}])
    remote: Delta = [{"retain": 1}, {"insert": "R"}]
    local = state.remote(remote)
    assert text(state.content) == "aRPb\n"
    # What the server commits for our op, by its own rule:
    server_pending = transform(remote, [{"retain": 1}, {"insert": "P"}], True)
    assert state.pending == OutgoingOp(1, server_pending)
    assert text(apply(apply([{"insert": "ab\n"}], remote), server_pending)) == "aRPb\n"
    assert local == [{"retain": 1}, {"insert": "R"}]


def test_remote_op_is_rebased_over_pending_and_buffer() -> None:
    state = loaded("hello\n")
    state.edit([{"insert": "A"}])  # pending
    state.edit([{"retain": 6}, {"insert": "B"}])  # buffer, after "hello"
    assert text(state.content) == "AhelloB\n"
    local = state.remote([{"retain": 5}, {"insert": "!"}])
    assert text(state.content) == "Ahello!B\n"
    assert local == [{"retain": 6}, {"insert": "!"}]
    assert text(state.server_content) == "hello!\n"
    assert state.version == 1
    committed, send = state.ack()
    assert committed == [{"insert": "A"}]
    assert send == OutgoingOp(2, [{"retain": 7}, {"insert": "B"}])
    assert text(state.server_content) == "Ahello!\n"
    assert state.version == 2 and state.next_seq == 3


def test_seq_starts_at_one_and_grows_per_op_sent() -> None:
    state = loaded("\n")
    assert state.edit([{"insert": "a"}]) == OutgoingOp(1, [{"insert": "a"}])
    assert state.edit([{"insert": "b"}]) is None
    _, send = state.ack()
    assert send is not None and send.seq == 2
    state.ack()
    assert state.edit([{"insert": "c"}]) == OutgoingOp(3, [{"insert": "c"}])


def test_invalid_local_edit_changes_nothing() -> None:
    state = loaded("ab\n")
    with pytest.raises(InvalidOp):
        state.edit([{"retain": 10}, {"insert": "x"}])
    assert state.content == [{"insert": "ab\n"}]
    assert isinstance(state.ot, Synchronized)


def test_noop_edit_sends_nothing() -> None:
    state = loaded("ab\n")
    assert state.edit([]) is None
    assert state.edit([{"retain": 2}]) is None
    assert isinstance(state.ot, Synchronized) and state.next_seq == 1


def test_drop_local_reverts_to_the_server_content() -> None:
    state = loaded("ab\n")
    state.edit([{"insert": "x"}])
    state.edit([{"insert": "y"}])
    dropped = state.drop_local()
    assert text(apply([{"insert": "ab\n"}], dropped)) == "yxab\n"
    assert state.content == [{"insert": "ab\n"}]
    assert isinstance(state.ot, Synchronized)
    assert state.next_seq == 2  # seqs are never reused


def test_positions_between_server_and_local_coordinates() -> None:
    state = loaded("abcdef\n")
    state.edit([{"retain": 1}, {"insert": "XY"}, {"delete": 2}])  # aXYdef
    state.edit([{"retain": 5}, {"insert": "Z"}])  # aXYdeZf
    assert text(state.content) == "aXYdeZf\n"
    assert state.to_local(0) == 0
    assert state.to_local(4) == 4  # 'e'
    assert state.to_local(5) == 6  # 'f' after the buffered Z
    assert state.to_server(6) == 5
    assert state.to_server(2) == 1  # inside inserted text -> the insertion point
    assert state.to_server(3) == 3  # 'd'


def test_unmap_position_and_lengths_count_utf16() -> None:
    assert unmap_position([{"insert": "😀"}], 2) == 0
    assert unmap_position([{"insert": "😀"}], 3) == 1
    assert unmap_position([{"retain": 1}, {"delete": 3}], 2) == 5
    assert unmap_position([{"insert": {"image": "x"}}], 1) == 0
