"""The commit decision as a pure function: dedup, order, roles, transform, validate, version.

The committer reads everything a batch needs beforehand (``plan_read``), then calls
``sequence`` — no I/O, no clock, no trio — and appends what it returns in one transaction.
Rules (PROTOCOL.md §2–§3), per proposal in arrival order:

1. A ``seq`` at or below the client's highest committed one is a resend: answer the version
   it was committed as (exactly once), or ``bad_version`` if that seq was never committed.
2. A new ``seq`` may not skip: it is at most one above the highest seq this committer
   answered (committed or refused), so a skip (1 then 3) is ``bad_version``. A refused op
   may be sent again with its seq, or the client may go on with the next one. The first op
   of a client the document has never seen may have any seq.
3. A viewer's op is ``forbidden``; an op based above the head, or below the client's own
   last committed op, is ``bad_version``.
4. The op is transformed against every op committed after its base version (the committed
   side wins ties), validated against the content, and takes the next version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from editor import ot
from editor.store.records import ClientKey, ClientMark, CommittedOp, SeqKey


@dataclass(frozen=True)
class Proposal:
    """An op offered for commit by a client (or by the server on a user's behalf)."""

    user_id: str
    client_id: str
    seq: int
    version: int
    delta: Any  # as received: shape-checked here, not before
    can_edit: bool = True

    @property
    def client(self) -> ClientKey:
        """The scope of the op's ``seq``."""
        return (self.user_id, self.client_id)


@dataclass(frozen=True)
class Committed:
    """The proposal became ``op``."""

    op: CommittedOp


@dataclass(frozen=True)
class AlreadyCommitted:
    """A resend: the proposal's seq was committed before, as ``version``."""

    seq: int
    version: int


@dataclass(frozen=True)
class Refused:
    """The proposal was not committed, for the PROTOCOL.md §3 ``code``."""

    seq: int
    code: str
    message: str


Outcome = Committed | AlreadyCommitted | Refused


@dataclass
class DocState:
    """What the committer knows of its document: content at ``head`` and per-client marks."""

    doc_id: str
    content: ot.Document
    head: int
    marks: dict[ClientKey, ClientMark] = field(default_factory=dict)
    answered: dict[ClientKey, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadPlan:
    """What must be read before sequencing: ``from_version`` of ops, client marks, seqs."""

    from_version: int | None
    clients: frozenset[ClientKey]
    seqs: frozenset[SeqKey]

    @property
    def empty(self) -> bool:
        """Whether memory holds everything already."""
        return self.from_version is None and not self.clients and not self.seqs


@dataclass(frozen=True)
class Sequenced:
    """The batch's outcomes (one per proposal, in order) and the state once it is durable."""

    outcomes: list[Outcome]
    ops: list[CommittedOp]
    content: ot.Document
    head: int
    marks: dict[ClientKey, ClientMark]
    answered: dict[ClientKey, int]


SeqLookup = Callable[[SeqKey], "int | None"]
"""The version a dedup key was committed as, if known."""


def plan_read(state: DocState, proposals: Sequence[Proposal], history_from: int,
              known_seq: SeqLookup) -> ReadPlan:
    """What to read so that ``sequence`` has all it needs; ops in memory start at
    ``history_from``, and ``known_seq`` answers the dedup keys memory holds."""
    oldest = transform_base(state, proposals, history_from)
    clients = frozenset(p.client for p in proposals if p.client not in state.marks)
    seqs = frozenset(
        (p.user_id, p.client_id, p.seq) for p in proposals
        if (p.client not in state.marks or p.seq <= state.marks[p.client].seq)
        and known_seq((p.user_id, p.client_id, p.seq)) is None)
    return ReadPlan(oldest if oldest < history_from else None, clients, seqs)


def transform_base(state: DocState, proposals: Sequence[Proposal],
                   held_from: int | None = None) -> int:
    """The oldest base version of the proposals that may be transformed: ``sequence`` needs
    the ops from there to the head. A proposal refused (or answered as a resend) whatever
    the op log holds needs none, so an op that cannot commit never costs a read of history.
    Only proposals based before ``held_from`` (the oldest op in memory; the head when not
    given) are judged: the others' ops are at hand, and judging costs a shape check.

    Judged on what memory knows, which can only refuse less than ``sequence`` will: marks
    and answered seqs only grow. A seq skip counts only for a client whose mark is known
    (the op log may hold a higher one), against the highest seq it may reach in the batch.
    """
    held_from = state.head if held_from is None else held_from
    oldest = state.head
    highest: dict[ClientKey, int] = {}
    for p in proposals:
        mark = state.marks.get(p.client)
        last = None
        if mark is not None:
            last = max(mark.seq, state.answered.get(p.client, 0), highest.get(p.client, 0))
        highest[p.client] = max(highest.get(p.client, 0), p.seq)
        if p.version >= held_from:
            oldest = min(oldest, p.version)
        elif not (mark is not None and p.seq <= mark.seq) and _refusal(
                p, mark, last, state.head) is None:  # not a resend, and not refused
            oldest = min(oldest, p.version)
    return oldest


def sequence(state: DocState, proposals: Sequence[Proposal], ops_since: Sequence[CommittedOp],
             seq_version: SeqLookup, now: float) -> Sequenced:
    """Decide the batch. ``ops_since`` are the committed ops from the oldest base version of
    the proposals up to ``state.head``; ``seq_version`` answers committed dedup keys."""
    first_since = state.head - len(ops_since)
    content, head = state.content, state.head
    marks: dict[ClientKey, ClientMark] = {}
    answered: dict[ClientKey, int] = {}
    committed: list[CommittedOp] = []
    outcomes: list[Outcome] = []
    for p in proposals:
        mark = marks.get(p.client) or state.marks.get(p.client)
        seen = [seq for seq in (answered.get(p.client), state.answered.get(p.client),
                                mark.seq if mark else None) if seq is not None]
        last = max(seen) if seen else None
        decided = _decide(p, mark, last, state.head, first_since, seq_version, committed)
        outcome: Outcome
        if isinstance(decided, list):
            delta = decided
            for op in [*ops_since[p.version - first_since:], *committed]:
                delta = ot.transform(op.delta, delta, True)
            try:
                ot.validate(delta, content)
                new_content = content.apply(delta)
            except ot.InvalidOp as exc:
                outcome = Refused(p.seq, exc.code, str(exc))
            else:
                op = CommittedOp(state.doc_id, head, delta, p.user_id, p.client_id, p.seq, now)
                content, head = new_content, head + 1
                committed.append(op)
                marks[p.client] = ClientMark(p.seq, op.version)
                outcome = Committed(op)
        else:
            outcome = decided
        if not isinstance(outcome, AlreadyCommitted):
            answered[p.client] = p.seq if last is None else max(last, p.seq)
        outcomes.append(outcome)
    return Sequenced(outcomes, committed, content, head, marks, answered)


def _decide(p: Proposal, mark: ClientMark | None, last: int | None, head: int, first_since: int,
            seq_version: SeqLookup, committed: Sequence[CommittedOp]
            ) -> AlreadyCommitted | Refused | list[Any]:
    """Everything but the transform: an outcome, or the shape-checked delta to transform."""
    if mark is not None and p.seq <= mark.seq:
        version = seq_version((p.user_id, p.client_id, p.seq))
        for op in committed:
            if (op.user_id, op.client_id, op.seq) == (p.user_id, p.client_id, p.seq):
                version = op.version
        if version is not None:
            return AlreadyCommitted(p.seq, version)
        return Refused(p.seq, "bad_version", f"seq {p.seq} was never committed")
    refusal = _refusal(p, mark, last, head)
    if refusal is not None:
        return refusal
    if p.version < first_since:
        raise ValueError(f"ops from version {p.version} were not read")  # a committer bug
    delta: list[Any] = p.delta
    return delta


def _refusal(p: Proposal, mark: ClientMark | None, last: int | None, head: int
             ) -> Refused | None:
    """Why a new op (not a resend) cannot be transformed and committed, if it cannot."""
    if last is not None and p.seq > last + 1:
        return Refused(p.seq, "bad_version",
                       f"seq {p.seq} is out of order: the next seq of this client is {last + 1}")
    if not p.can_edit:
        return Refused(p.seq, "forbidden", "viewers cannot edit")
    if p.version > head:  # the published head: nobody has seen this batch's ops yet
        return Refused(p.seq, "bad_version", f"version {p.version} is above the head {head}")
    if mark is not None and p.version <= mark.version:
        return Refused(p.seq, "bad_version", f"version {p.version} does not include this"
                       f" client's op committed as version {mark.version}")
    try:
        ot.check_shape(p.delta)
    except ot.InvalidOp as exc:
        return Refused(p.seq, exc.code, str(exc))
    return None
