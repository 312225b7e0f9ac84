"""An in-memory server and network for the I/O-free client machine (test helper).

The server follows PROTOCOL.md and DESIGN.md: transform against history with the
committed op winning ties, dedup by (client_id, seq), acks or own-op frames, resume by
replaying ops from the client's version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
from editor.ot import InvalidOp, apply, transform, validate


@dataclass
class Committed:
    delta: Delta
    client_id: str
    seq: int


@dataclass
class SimServer:
    content: Delta = field(default_factory=lambda: [{"insert": "\n"}])
    history: list[Committed] = field(default_factory=list)
    sessions: dict[str, list[ServerFrame]] = field(default_factory=dict)
    acks_as_op_frames: bool = False
    role: str = "editor"

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
        if self.role == "viewer":
            inbox.append(ErrorFrame("forbidden", "viewers cannot edit", frame.seq))
            return
        mine = [v for v, op in enumerate(self.history) if op.client_id == client_id]
        if mine and frame.seq <= self.history[mine[-1]].seq:
            same = [v for v in mine if self.history[v].seq == frame.seq]
            assert same, "a client never reuses a seq"
            inbox.append(AckFrame(frame.seq, same[0]))
            return
        assert not mine or frame.version > mine[-1], "op based below our last commit"
        delta = frame.delta
        for op in self.history[frame.version:]:
            delta = transform(op.delta, delta, True)
        try:
            validate(delta, self.content)
            self.content = apply(self.content, delta)
        except InvalidOp as exc:
            inbox.append(ErrorFrame("invalid_op", str(exc), frame.seq))
            return
        self.history.append(Committed(delta, client_id, frame.seq))
        version = self.head - 1
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
