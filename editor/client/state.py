"""The OT client state machine (ot.js ``client.js`` style) and the document one client holds.

Three states, each transition a pure function returning the next state and, when the
protocol allows one, the op to send:

    Synchronized ──local edit──▶ AwaitingConfirm(pending) ──local edit──▶ AwaitingWithBuffer
         ▲                          │   ▲                                   (pending, buffer)
         └──────────ack─────────────┘   └───────ack (buffer becomes pending, sent)─┘

Remote ops. The server transforms an incoming op against each op committed since its
base version with the *committed* op winning ties: ``P' = transform(R, P, True)``
(PROTOCOL.md §2, guarantee 2). An ``ack`` carries no delta, so the client must end up
holding exactly the op the server committed; it therefore rebases its pending op with
the very same call, and gets the op to apply locally from the other side of the pair::

    P' = transform(R, P, priority=True)     # what the server will commit for P
    R' = transform(P, R, priority=False)    # R rebased over our unacknowledged P

quill-delta's transform law (TP1) ``a ∘ a.transform(b, p) == b ∘ b.transform(a, not p)``
with ``a = R, b = P, p = True`` gives ``R ∘ P' == P ∘ R'``: the server's document after
committing P' equals ours after applying R', so both converge, and ties resolve the same
way on every replica (the committed insert goes first). The buffer B sits on top of P,
so it is rebased over R' the same way (``B' = transform(R', B, True)``,
``R'' = transform(B, R', False)``); the server never sees B before P is acknowledged,
so B' is sent on top of the version that already holds P'. The hypothesis test in
``tests/client/test_convergence.py`` checks this against a simulated server.
"""

from __future__ import annotations

from dataclasses import dataclass

from editor.client.protocol import Delta
from editor.ot import Document, compose, transform, transform_position, validate


@dataclass(frozen=True)
class Synchronized:
    """No local edit is waiting for the server."""


@dataclass(frozen=True)
class AwaitingConfirm:
    """``pending`` (numbered ``seq``) is sent, or will be once connected, and unacknowledged."""

    pending: Delta
    seq: int


@dataclass(frozen=True)
class AwaitingWithBuffer:
    """``pending`` is unacknowledged and later local edits are composed into ``buffer``."""

    pending: Delta
    seq: int
    buffer: Delta


OtState = Synchronized | AwaitingConfirm | AwaitingWithBuffer


@dataclass(frozen=True)
class OutgoingOp:
    """An op the protocol allows to send now: ``seq`` and ``delta`` on the current version."""

    seq: int
    delta: Delta


@dataclass(frozen=True)
class Transition:
    """The next state, and the op to send (if the transition released one)."""

    state: OtState
    send: OutgoingOp | None = None


def apply_client(state: OtState, delta: Delta, next_seq: int) -> Transition:
    """A local edit: sent at once when synchronized, else buffered behind the pending op."""
    if isinstance(state, Synchronized):
        return Transition(AwaitingConfirm(delta, next_seq), OutgoingOp(next_seq, delta))
    if isinstance(state, AwaitingConfirm):
        return Transition(AwaitingWithBuffer(state.pending, state.seq, delta))
    return Transition(AwaitingWithBuffer(state.pending, state.seq, compose(state.buffer, delta)))


def apply_server(state: OtState, remote: Delta) -> tuple[OtState, Delta]:
    """A committed remote op: the next state and the remote op rebased onto local content."""
    if isinstance(state, Synchronized):
        return state, remote
    pending = transform(remote, state.pending, True)
    remote_over_pending = transform(state.pending, remote, False)
    if isinstance(state, AwaitingConfirm):
        return AwaitingConfirm(pending, state.seq), remote_over_pending
    buffer = transform(remote_over_pending, state.buffer, True)
    local = transform(state.buffer, remote_over_pending, False)
    return AwaitingWithBuffer(pending, state.seq, buffer), local


def server_ack(state: OtState) -> Transition:
    """Our pending op was committed: the buffer (if any) becomes the next pending op."""
    if isinstance(state, AwaitingConfirm):
        return Transition(Synchronized())
    if isinstance(state, AwaitingWithBuffer):
        seq = state.seq + 1
        return Transition(AwaitingConfirm(state.buffer, seq), OutgoingOp(seq, state.buffer))
    raise ValueError("ack while synchronized")


def _op_length(op: dict[str, object]) -> int:
    if "insert" in op:
        text = op["insert"]
        return len(text.encode("utf-16-le")) // 2 if isinstance(text, str) else 1
    length = op.get("retain", op.get("delete", 0))
    return length if isinstance(length, int) else 0


def unmap_position(delta: Delta, index: int) -> int:
    """A position in the document after ``delta`` -> the position before it.

    A position inside text that ``delta`` inserted maps to the insertion point.
    """
    before = after = 0
    for op in delta:
        length = _op_length(op)
        if "delete" in op:
            before += length
            continue
        if index < after + length:
            return before if "insert" in op else before + index - after
        after += length
        if "retain" in op:
            before += length
    return before + index - after


def _is_noop(delta: Delta) -> bool:
    return all("retain" in op and not op.get("attributes") for op in delta)


class ClientState:
    """The document as one client holds it: OT state, version, seq counter and content.

    ``server_doc`` is the document at ``version`` (everything committed that this client
    has applied); ``local_doc`` is that plus the pending op and the buffer. Both are
    ``editor.ot.Document``s, which share structure between versions, so an edit costs
    about the size of the text around it rather than a copy of the whole document.
    """

    def __init__(self, client_id: str, *, next_seq: int = 1) -> None:
        self.client_id = client_id
        self.next_seq = next_seq
        self.version = 0
        self.loaded = False
        self.ot: OtState = Synchronized()
        self.server_doc = Document.from_delta([{"insert": "\n"}])
        self.local_doc = self.server_doc
        self._content: Delta | None = None

    @property
    def content(self) -> Delta:
        """The local content as a Delta (computed once per change; do not mutate)."""
        if self._content is None:
            self._content = self.local_doc.to_delta()
        return self._content

    @property
    def server_content(self) -> Delta:
        """The content at ``version``."""
        return self.server_doc.to_delta()

    @property
    def length(self) -> int:
        """The local content's length in UTF-16 units."""
        return self.local_doc.length

    def _set_local(self, local_doc: Document) -> None:
        self.local_doc = local_doc
        self._content = None

    @property
    def pending(self) -> OutgoingOp | None:
        """The unacknowledged op, if any."""
        if isinstance(self.ot, Synchronized):
            return None
        return OutgoingOp(self.ot.seq, self.ot.pending)

    @property
    def unacknowledged(self) -> Delta:
        """Every local edit the server has not acknowledged, as one delta (maybe empty)."""
        if isinstance(self.ot, AwaitingWithBuffer):
            return compose(self.ot.pending, self.ot.buffer)
        if isinstance(self.ot, AwaitingConfirm):
            return self.ot.pending
        return []

    def load(self, version: int, snapshot: Delta) -> Delta:
        """Replace everything with the server's ``snapshot``; returns the dropped local edits."""
        server_doc = Document.from_delta(snapshot)
        dropped = self.unacknowledged
        self.version = version
        self.server_doc = server_doc
        self._set_local(server_doc)
        self.ot = Synchronized()
        self.loaded = True
        return dropped

    def drop_local(self) -> Delta:
        """Forget unacknowledged edits, back to the server's content; returns them."""
        dropped = self.unacknowledged
        self._set_local(self.server_doc)
        self.ot = Synchronized()
        return dropped

    def edit(self, delta: Delta) -> OutgoingOp | None:
        """Apply a local edit; raises ``InvalidOp`` (and changes nothing) if it does not fit."""
        validate(delta, self.local_doc)
        if _is_noop(delta):
            return None
        local_doc = self.local_doc.apply(delta)
        transition = apply_client(self.ot, delta, self.next_seq)
        self._set_local(local_doc)
        self.ot = transition.state
        if transition.send is not None:
            self.next_seq += 1
        return transition.send

    def remote(self, delta: Delta) -> Delta:
        """Apply the committed op at ``version``; returns it as applied to local content."""
        state, local = apply_server(self.ot, delta)
        server_doc = self.server_doc.apply(delta)
        local_doc = server_doc if isinstance(state, Synchronized) else self.local_doc.apply(local)
        self.ot, self.server_doc = state, server_doc
        self._set_local(local_doc)
        self.version += 1
        return local

    def ack(self) -> tuple[Delta, OutgoingOp | None]:
        """Our pending op was committed at ``version``; returns it and the next op to send."""
        pending = self.pending
        if pending is None:
            raise ValueError("ack while synchronized")
        server_doc = self.server_doc.apply(pending.delta)
        transition = server_ack(self.ot)
        self.server_doc, self.ot = server_doc, transition.state
        self.version += 1
        if transition.send is not None:
            self.next_seq += 1
        return pending.delta, transition.send

    def to_local(self, index: int) -> int:
        """A position at ``version`` -> the same place in the local content."""
        if isinstance(self.ot, Synchronized):
            return index
        index = transform_position(self.ot.pending, index)
        if isinstance(self.ot, AwaitingWithBuffer):
            index = transform_position(self.ot.buffer, index)
        return index

    def to_server(self, index: int) -> int:
        """A position in the local content -> the same place at ``version``."""
        if isinstance(self.ot, AwaitingWithBuffer):
            index = unmap_position(self.ot.buffer, index)
        if not isinstance(self.ot, Synchronized):
            index = unmap_position(self.ot.pending, index)
        return index

