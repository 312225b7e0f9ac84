"""Session decisions of the I/O-free machine: versions, errors, cursors, closes."""

from __future__ import annotations

import pytest

from editor.client.errors import (
    AccessRevoked,
    BadRequest,
    DocumentNotFound,
    SessionReplaced,
    Unauthorized,
)
from editor.client.events import Acked, Cursor, OpRejected, PeerLeft, Reloaded, RemoteCursor
from editor.client.machine import Fatal, Reload, Resync, SessionMachine, classify_close
from editor.client.protocol import (
    AckFrame,
    CursorFrame,
    CursorOut,
    ErrorFrame,
    Hello,
    LeaveFrame,
    OpFrame,
    OpOut,
    User,
    Welcome,
)

BOB = User("u2", "Bob")


def welcome(version: int = 0, head: int | None = None, snapshot: str | None = "abc\n",
            peers: tuple[CursorFrame, ...] = ()) -> Welcome:
    return Welcome("d", version, version if head is None else head,
                   None if snapshot is None else [{"insert": snapshot}],
                   "editor", User("u1", "Ann"), "me", peers)


def op(version: int, delta: list[dict], client_id: str = "bob", seq: int = 1) -> OpFrame:
    return OpFrame(version, delta, client_id, "u2", seq)


def started(content: str = "abc\n", version: int = 0) -> SessionMachine:
    machine = SessionMachine("me")
    machine.welcome(welcome(version, snapshot=content))
    return machine


def test_hello_is_fresh_first_then_resumes_from_the_applied_version() -> None:
    machine = SessionMachine("me")
    assert machine.hello("t") == Hello("t", "me", None)
    machine.welcome(welcome(5))
    machine.handle(op(5, [{"insert": "x"}]))
    machine.disconnected()
    assert machine.hello("t2") == Hello("t2", "me", 6)


def test_nothing_is_sent_while_disconnected_and_everything_after_welcome() -> None:
    machine = started()
    machine.disconnected()
    machine.edit([{"insert": "x"}])
    machine.select(1, 0)
    assert machine.outgoing() == []
    machine.welcome(welcome(0, snapshot=None))
    assert machine.outgoing() == [OpOut(1, 0, [{"insert": "x"}]), CursorOut(0, 0, 0)]
    assert machine.outgoing() == []


def test_duplicates_are_ignored_and_gaps_resync() -> None:
    machine = started(version=3)
    assert machine.handle(op(2, [{"insert": "old"}])).events == []
    assert machine.handle(op(4, [{"insert": "x"}])).action == Resync("gap")
    assert machine.doc.version == 3
    machine.edit([{"insert": "x"}])
    machine.outgoing()
    assert machine.handle(AckFrame(1, 5)).action == Resync("gap")
    assert machine.handle(AckFrame(7, 3)).events == []  # not our pending seq: a dedup echo
    assert machine.handle(AckFrame(1, 3)).events == [Acked(1, 3)]
    assert machine.doc.version == 4


def test_own_op_frame_with_another_seq_is_applied_like_any_committed_op() -> None:
    machine = started()
    reaction = machine.handle(op(0, [{"insert": "z"}], client_id="me", seq=9))
    assert machine.doc.content == [{"insert": "zabc\n"}]
    assert reaction.events and machine.doc.version == 1


def test_forbidden_reverts_the_local_edit_and_keeps_the_session() -> None:
    machine = started()
    machine.edit([{"insert": "x"}])
    machine.outgoing()
    machine.edit([{"retain": 1}, {"insert": "y"}])
    machine.select(2, 0)
    assert machine.outgoing() == [CursorOut(0, 0, 0)]
    reaction = machine.handle(ErrorFrame("forbidden", "viewers cannot edit", 1))
    assert reaction.action is None
    [event] = reaction.events
    assert isinstance(event, OpRejected) and event.code == "forbidden"
    assert event.dropped == [{"insert": "xy"}]
    assert machine.doc.content == [{"insert": "abc\n"}] and machine.synchronized
    assert machine.selection == (0, 0)
    machine.edit([{"insert": "z"}])
    assert machine.outgoing() == [OpOut(2, 0, [{"insert": "z"}])]


@pytest.mark.parametrize("code", ["invalid_op", "bad_version"])
def test_invalid_op_and_bad_version_reload(code: str) -> None:
    machine = started()
    machine.edit([{"insert": "x"}])
    machine.outgoing()
    assert machine.handle(ErrorFrame(code, "no", 1)).action == Reload(code)
    machine.disconnected()
    assert machine.hello("t").version is None
    reaction = machine.welcome(welcome(2, snapshot="fresh\n"))
    assert reaction.events == [Reloaded(code, [{"insert": "x"}])]
    assert machine.doc.content == [{"insert": "fresh\n"}] and machine.synchronized
    assert machine.hello("t").version == 2


def test_other_errors_about_our_op_resync_and_unrelated_ones_are_kept() -> None:
    machine = started()
    machine.edit([{"insert": "x"}])
    machine.outgoing()
    internal = ErrorFrame("internal", "could not commit", 1)
    assert machine.handle(internal).action == Resync("internal")
    assert machine.handle(ErrorFrame("unauthorized", "expired", None)).action is None
    assert machine.last_error == ErrorFrame("unauthorized", "expired", None)


def test_welcome_at_another_version_than_ours_reloads() -> None:
    machine = started(version=4)
    machine.disconnected()
    assert machine.welcome(welcome(3, snapshot=None)).action == Reload("desync")
    assert machine.hello("t").version is None


def test_remote_cursor_is_rebased_onto_unacknowledged_edits() -> None:
    machine = started("abcdef\n")
    machine.edit([{"insert": "XY"}])
    reaction = machine.handle(CursorFrame("bob", BOB, 0, 2, 3))
    assert reaction.events == [RemoteCursor("bob", BOB, 4, 3)]
    assert machine.remote_cursors() == {"bob": Cursor("bob", BOB, 4, 3)}
    # A remote op moves it in server coordinates, our pending op still on top.
    machine.handle(op(0, [{"insert": "123"}]))
    assert machine.remote_cursors()["bob"] == Cursor("bob", BOB, 7, 3)
    machine.handle(CursorFrame("bob", BOB, 1, None, 0))
    assert machine.remote_cursors()["bob"].index is None
    assert machine.handle(LeaveFrame("bob")).events == [PeerLeft("bob")]
    assert machine.remote_cursors() == {}


def test_cursor_tagged_older_is_rebased_through_recent_ops_and_newer_waits() -> None:
    machine = started("abcdef\n")
    machine.handle(op(0, [{"insert": "12"}]))
    machine.handle(op(1, [{"retain": 4}, {"delete": 2}]))  # "12abef"
    machine.handle(CursorFrame("bob", BOB, 0, 3, 0))  # before "d", two ops ago
    assert machine.remote_cursors()["bob"].index == 4  # "12ab|ef": "cd" was deleted
    machine.handle(CursorFrame("eve", BOB, 3, 1, 0))  # not reached yet
    assert "eve" not in machine.remote_cursors()
    machine.handle(op(2, [{"insert": "!"}]))
    assert machine.remote_cursors()["eve"].index == 1
    machine.handle(CursorFrame("me", BOB, 3, 1, 0))  # our own echo
    assert "me" not in machine.remote_cursors()


def test_peers_of_welcome_become_cursors() -> None:
    machine = SessionMachine("me")
    reaction = machine.welcome(welcome(0, peers=(CursorFrame("bob", BOB, 0, 1, 1),)))
    assert reaction.events == [RemoteCursor("bob", BOB, 1, 1)]


def test_our_selection_is_sent_in_server_coordinates() -> None:
    machine = started("abcdef\n")
    machine.edit([{"insert": "XY"}])
    machine.select(4, 2)  # "cd" locally
    assert machine.outgoing() == [OpOut(1, 0, [{"insert": "XY"}]), CursorOut(0, 2, 2)]
    machine.handle(op(0, [{"insert": "1"}]))  # local selection moves with remote ops
    assert machine.selection == (5, 2)
    with pytest.raises(ValueError):
        machine.select(100, 0)


def test_selection_waits_for_catch_up_and_is_resent_after_reconnect() -> None:
    machine = started("abc\n")
    machine.select(1, 0)
    machine.disconnected()
    machine.welcome(welcome(0, head=1, snapshot=None))
    assert machine.outgoing() == []
    machine.handle(op(0, [{"insert": "z"}]))
    assert machine.outgoing() == [CursorOut(1, 2, 0)]


@pytest.mark.parametrize(
    ("code", "error"),
    [(4400, BadRequest), (4401, Unauthorized), (4403, AccessRevoked), (4404, DocumentNotFound),
     (1000, SessionReplaced)],
)
def test_fatal_closes(code: int, error: type[Exception]) -> None:
    decision = classify_close(code, "why", None)
    assert isinstance(decision, Fatal) and type(decision.error) is error
    assert decision.error.code == code
    described = classify_close(code, "why", ErrorFrame("x", "the server said", None))
    assert isinstance(described, Fatal) and str(described.error) == "the server said"


@pytest.mark.parametrize("code", [1001, 1006, 1011, 1012, 4408, 4429, None])
def test_other_closes_resync(code: int | None) -> None:
    assert isinstance(classify_close(code, None, None), Resync)


def test_4409_and_1009_reload() -> None:
    assert classify_close(4409, None, None) == Reload("bad_version")
    assert classify_close(1009, None, None) == Reload("too_big")
