"""Clients and a simulated server converge under random interleavings (hypothesis).

Two or three ``SessionMachine``s talk to ``SimServer`` (transform against history,
committed op wins ties, dedup by seq). Edits, deliveries in both directions, dropped
connections (losing what is in flight) and resumes are interleaved at random; once
everything is delivered, every client must hold the server's document, with nothing
pending and every op committed exactly once.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from editor.client.machine import SessionMachine
from editor.client.protocol import Delta
from editor.ot import length as document_length
from tests.client.sim import SimClient, SimServer

TEXT = st.text(alphabet="abé \U0001F600", min_size=1, max_size=3)


def boundaries(content: Delta) -> list[int]:
    """Every UTF-16 offset of ``content`` that is not inside a surrogate pair."""
    offsets, at = [0], 0
    for op in content:
        for char in op["insert"] if isinstance(op["insert"], str) else "e":
            at += 2 if ord(char) > 0xFFFF else 1
            offsets.append(at)
    return offsets


def draw_edit(data: st.DataObject, content: Delta) -> Delta:
    length = document_length(content)  # the last unit is the final "\n"
    kind = data.draw(st.sampled_from(["insert", "insert", "delete", "format", "embed"]))
    cuts = boundaries(content)
    if kind in ("insert", "embed"):
        index = data.draw(st.sampled_from(cuts[:-1]))
        op: dict[str, Any] = {"insert": data.draw(TEXT)} if kind == "insert" else {
            "insert": {"image": "x.png"}
        }
        if data.draw(st.booleans()):
            op["attributes"] = {"bold": True}
        return ([{"retain": index}] if index else []) + [op]
    if length == 1:
        return []
    index = data.draw(st.sampled_from(cuts[:-2]))
    count = data.draw(st.sampled_from([cut for cut in cuts[:-1] if cut > index])) - index
    prefix = [{"retain": index}] if index else []
    if kind == "delete":
        return [*prefix, {"delete": count}]
    value = data.draw(st.sampled_from([True, None, "red"]))
    key = "color" if value == "red" else "bold"
    return [*prefix, {"retain": count, "attributes": {key: value}}]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), clients=st.integers(2, 3), acks_as_op_frames=st.booleans())
def test_all_clients_converge_to_the_server_document(
    data: st.DataObject, clients: int, acks_as_op_frames: bool
) -> None:
    server = SimServer(content=[{"insert": "start\n"}], acks_as_op_frames=acks_as_op_frames)
    sims = [SimClient(SessionMachine(f"c{i}"), server) for i in range(clients)]
    for sim in sims:
        sim.connect()
    steps = data.draw(st.integers(0, 60))
    for _ in range(steps):
        sim = data.draw(st.sampled_from(sims))
        action = data.draw(
            st.sampled_from(["edit", "edit", "up", "down", "down", "drop", "connect"])
        )
        if action == "edit":
            sim.edit(draw_edit(data, sim.machine.doc.content))
        elif action == "up":
            sim.deliver_up()
        elif action == "down":
            sim.deliver_down()
        elif action == "drop" and data.draw(st.integers(0, 3)) == 0:
            sim.drop()
        elif action == "connect":
            sim.connect()
    sims[0].settle(sims[1:])
    for sim in sims:
        assert sim.machine.synchronized
        assert sim.machine.doc.version == server.head
        assert sim.machine.doc.content == server.content
        assert sim.machine.doc.server_content == server.content
        assert sim.reloads == 0
    committed = [(op.client_id, op.seq) for op in server.history]
    assert len(committed) == len(set(committed)), "an op was committed twice"


def test_a_pending_op_committed_before_a_drop_is_acked_by_the_replay() -> None:
    server = SimServer()
    alice = SimClient(SessionMachine("alice"), server)
    bob = SimClient(SessionMachine("bob"), server)
    alice.connect()
    bob.connect()
    alice.edit([{"insert": "A"}])
    assert alice.deliver_up()  # committed, but the ack is lost with the connection
    alice.drop()
    bob.edit([{"insert": "B"}])
    bob.deliver_up()
    alice.edit([{"insert": "a"}])  # buffered behind the unacknowledged "A"
    alice.connect()  # resumes from version 0: replays "A" (its own: the ack) and "B"
    alice.settle([bob])
    assert [(op.client_id, op.seq) for op in server.history] == [
        ("alice", 1), ("bob", 1), ("alice", 2)
    ]
    assert alice.machine.doc.content == bob.machine.doc.content == server.content


def test_a_pending_op_lost_before_the_server_is_resent_after_catch_up() -> None:
    server = SimServer()
    alice = SimClient(SessionMachine("alice"), server)
    bob = SimClient(SessionMachine("bob"), server)
    alice.connect()
    bob.connect()
    alice.edit([{"insert": "A"}])
    alice.drop()  # the op never reached the server
    bob.edit([{"insert": "B"}])
    bob.deliver_up()
    alice.connect()
    assert alice.up == []  # not before the replay of "B" is applied
    assert alice.deliver_down()
    assert [type(frame).__name__ for frame in alice.up] == ["OpOut"]
    assert alice.up[0].version == 1  # type: ignore[union-attr]
    alice.settle([bob])
    assert alice.machine.doc.content == bob.machine.doc.content == server.content
    assert len(server.history) == 2


def test_a_viewer_edit_is_rejected_and_the_viewer_converges_back() -> None:
    server = SimServer(role="viewer")
    viewer = SimClient(SessionMachine("viewer"), server)
    viewer.connect()
    viewer.edit([{"insert": "mine"}])
    viewer.edit([{"retain": 4}, {"insert": "!"}])
    viewer.settle([])
    assert [type(event).__name__ for event in viewer.events] == ["OpRejected"]
    assert viewer.machine.doc.content == server.content == [{"insert": "\n"}]
    assert viewer.machine.synchronized and server.history == []
