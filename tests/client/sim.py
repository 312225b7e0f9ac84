"""An in-memory server and network for the I/O-free client machine (test helper).

The server decides with the engine's own pure sequencer (no second implementation of the
commit rules), acks or sends own-op frames, and resumes by replaying ops from the client's
version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from editor import ot
from editor.client.machine import Reload, Resync, SessionMachine
from editor.client.protocol import (
    AckFrame,
    ClientFrame,
    CursorOut,
    Delta,
    ErrorFrame,
    Hello,
    OpFrame,
    OpOut,
    ServerFrame,
    User,
    Welcome,
)
from editor.engine.sequencer import AlreadyCommitted, Committed, DocState, Proposal, sequence
from editor.store.records import CommittedOp


@dataclass
class SimServer:
    content: Delta = field(default_factory=lambda: [{"insert": "\n"}])
    history: list[CommittedOp] = field(default_factory=list)
    sessions: dict[str, list[ServerFrame]] = field(default_factory=dict)
    acks_as_op_frames: bool = False
    role: str = "editor"
    state: DocState = field(init=False)

    def __post_init__(self) -> None:
        self.state = DocState("doc", ot.Document.from_delta(self.content), 0)

    @property
    def head(self) -> int:
        return len(self.history)

    def connect(self, hello: Hello) -> list[ServerFrame]:
        """Open a session; returns what the server sends first (welcome, replayed ops)."""
        inbox: list[ServerFrame] = []
        self.sessions[hello.client_id] = inbox
        version = self.head if hello.version is None else hello.version
        assert version <= self.head
        snapshot = self.content if hello.version is None else None
        inbox.append(Welcome("doc", version, self.head, snapshot, self.role,
                             User("u", "U"), hello.client_id, ()))
        inbox.extend(self._op_frame(v) for v in range(version, self.head))
        return inbox

    def disconnect(self, client_id: str) -> None:
        self.sessions.pop(client_id, None)

    def _op_frame(self, version: int) -> OpFrame:
        op = self.history[version]
        return OpFrame(version, op.delta, op.client_id, "u", op.seq)

    def receive(self, client_id: str, frame: ClientFrame) -> None:
        inbox = self.sessions[client_id]
        if isinstance(frame, CursorOut):
            return
        assert isinstance(frame, OpOut)
        proposal = Proposal("u", client_id, frame.seq, frame.version, frame.delta,
                            can_edit=self.role != "viewer")
        versions = {(op.user_id, op.client_id, op.seq): op.version for op in self.history}
        oldest = min(frame.version, self.state.head)
        done = sequence(self.state, [proposal], self.history[oldest:], versions.get, 0.0)
        self.state.marks.update(done.marks)
        self.state.answered.update(done.answered)
        outcome = done.outcomes[0]
        if isinstance(outcome, AlreadyCommitted):
            inbox.append(AckFrame(outcome.seq, outcome.version))
            return
        if not isinstance(outcome, Committed):
            inbox.append(ErrorFrame(outcome.code, outcome.message, outcome.seq))
            return
        self.state.content, self.state.head = done.content, done.head
        self.content = done.content.to_delta()
        self.history.append(outcome.op)
        version = outcome.op.version
        for other, other_inbox in self.sessions.items():
            if other == client_id and not self.acks_as_op_frames:
                other_inbox.append(AckFrame(frame.seq, version))
            else:
                other_inbox.append(self._op_frame(version))


@dataclass
class SimClient:
    """A client machine with its two message queues; the shell's job, done by hand."""

    machine: SessionMachine
    server: SimServer
    up: list[ClientFrame] = field(default_factory=list)
    connected: bool = False
    reloads: int = 0
    events: list[Any] = field(default_factory=list)

    @property
    def down(self) -> list[ServerFrame]:
        return self.server.sessions.get(self.machine.doc.client_id, [])

    def pump(self) -> None:
        self.up.extend(self.machine.outgoing())

    def connect(self) -> None:
        if self.connected:
            return
        self.connected = True
        inbox = self.server.connect(self.machine.hello("token"))
        welcome = inbox.pop(0)
        assert isinstance(welcome, Welcome)
        reaction = self.machine.welcome(welcome)
        self.events.extend(reaction.events)
        if reaction.action is not None:
            self.drop(reaction.action)
        self.pump()

    def drop(self, why: Reload | Resync | None = None) -> None:
        """Lose the connection and whatever is in flight both ways."""
        if isinstance(why, Reload):
            self.reloads += 1
        self.connected = False
        self.up.clear()
        self.server.disconnect(self.machine.doc.client_id)
        self.machine.disconnected()

    def edit(self, delta: Delta) -> None:
        self.machine.edit(delta)
        self.pump()

    def deliver_up(self) -> bool:
        if not self.connected or not self.up:
            return False
        self.server.receive(self.machine.doc.client_id, self.up.pop(0))
        return True

    def deliver_down(self) -> bool:
        if not self.connected or not self.down:
            return False
        reaction = self.machine.handle(self.down.pop(0))
        self.events.extend(reaction.events)
        if reaction.action is not None:
            self.drop(reaction.action)
            return True
        self.pump()
        return True

    def settle(self, others: list[SimClient]) -> None:
        """Deliver everything, everywhere, until nothing moves."""
        clients = [self, *others]
        for client in clients:
            client.connect()
        moved = True
        while moved:
            moved = False
            for client in clients:
                client.connect()
                moved |= client.deliver_up()
                moved |= client.deliver_down()
