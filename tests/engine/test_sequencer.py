"""The pure sequencer: its rules one by one, and batch-size independence as a property."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from editor import ot
from editor.engine.sequencer import (
    AlreadyCommitted,
    Committed,
    DocState,
    Outcome,
    Proposal,
    Refused,
    plan_read,
    sequence,
    transform_base,
)
from editor.store.records import ClientMark, CommittedOp, SeqKey

NOW = 1_700_000_000.0


def _state(text: str = "\n") -> DocState:
    return DocState("d", ot.Document.from_delta([{"insert": text}]), 0)


def _nothing(_: SeqKey) -> int | None:
    return None


def _run(state: DocState, proposals: list[Proposal], ops: list[CommittedOp]
         ) -> tuple[list[Outcome], list[CommittedOp]]:
    """Sequence one batch and apply it to ``state`` as the committer does after the commit:
    with the ops from ``transform_base`` only (``sequence`` raises if it needs older ones)."""
    versions = {(op.user_id, op.client_id, op.seq): op.version for op in ops}
    done = sequence(state, proposals, ops[transform_base(state, proposals):], versions.get, NOW)
    state.content, state.head = done.content, done.head
    state.marks.update(done.marks)
    state.answered.update(done.answered)
    ops.extend(done.ops)
    return done.outcomes, done.ops


def _codes(outcomes: list[Outcome]) -> list[str]:
    return ["ok" if isinstance(o, Committed) else "dup" if isinstance(o, AlreadyCommitted)
            else o.code for o in outcomes if isinstance(o, Committed | AlreadyCommitted | Refused)]


def test_seq_rules() -> None:
    state, ops = _state(), []
    outcomes, _ = _run(state, [
        Proposal("u", "c", 5, 0, [{"insert": "a"}]),  # a new client may start anywhere
        Proposal("u", "c", 7, 1, [{"insert": "b"}]),  # skips 6
        Proposal("u", "c", 5, 0, [{"insert": "a"}]),  # resend of a committed seq
        Proposal("u", "c", 6, 1, [{"insert": "b"}]),  # its base is in this very batch
    ], ops)
    assert _codes(outcomes) == ["ok", "bad_version", "dup", "bad_version"]
    assert outcomes[2] == AlreadyCommitted(5, 0)
    outcomes, _ = _run(state, [
        Proposal("u", "c", 6, 0, [{"insert": "x"}]),  # below its own committed op
        Proposal("u", "c", 6, 1, [{"insert": "x"}]),  # the refused seq again: fine
        Proposal("u", "c", 7, 9, [{"insert": "x"}]),  # above the head
        Proposal("u", "d", 1, 0, [{"retain": 99}, {"insert": "z"}]),  # past the end
        Proposal("v", "c", 1, 0, [{"insert": "v"}], can_edit=False),
    ], ops)
    assert _codes(outcomes) == ["bad_version", "ok", "bad_version", "invalid_op", "forbidden"]
    assert state.head == 2 and state.content.to_delta() == [{"insert": "xa\n"}]


def test_concurrent_ops_are_transformed_committed_side_wins() -> None:
    state, ops = _state("ab\n"), []
    _run(state, [Proposal("u", "first", 1, 0, [{"retain": 1}, {"insert": "X"}])], ops)
    outcomes, _ = _run(state, [Proposal("u", "second", 1, 0, [{"retain": 1},
                                                                {"insert": "Y"}])], ops)
    assert isinstance(outcomes[0], Committed)
    assert outcomes[0].op.delta == [{"retain": 2}, {"insert": "Y"}]
    assert state.content.to_delta() == [{"insert": "aXYb\n"}]


def test_plan_reads_only_what_memory_lacks() -> None:
    state = _state()
    state.head = 10
    state.marks[("u", "known")] = ClientMark(3, 8)
    proposals = [Proposal("u", "known", 4, 9, []), Proposal("u", "new", 1, 2, []),
                 Proposal("u", "known", 2, 9, [])]
    plan = plan_read(state, proposals, history_from=5, known_seq=_nothing)
    assert plan.from_version == 2
    assert plan.clients == {("u", "new")}
    assert plan.seqs == {("u", "new", 1), ("u", "known", 2)}
    assert plan_read(state, proposals[:1], 5, _nothing).empty


_clients = st.sampled_from(["a", "b", "c"])
_texts = st.text(alphabet="xyz\U0001F600", min_size=1, max_size=3)


_kinds = st.sampled_from(["ok"] * 6 + ["skip", "viewer", "malformed", "ahead"])


@st.composite
def _streams(draw: st.DrawFn) -> list[tuple[str, int, str, int, str]]:
    """(client, seq, text, how far behind the head its base is, kind) per proposal; kinds
    other than "ok" are refused (a seq skip, a viewer, a malformed delta, a base above the
    head) unless an earlier rule answers first."""
    seqs: dict[str, int] = {}
    items = []
    for _ in range(draw(st.integers(1, 12))):
        client = draw(_clients)
        kind = draw(_kinds)
        resend = seqs.get(client) and draw(st.booleans())
        seq = seqs.get(client, 0) if resend else seqs.get(client, 0) + 1
        if kind == "skip":
            seq += 1
        seqs[client] = max(seqs.get(client, 0), seq)
        items.append((client, seq, draw(_texts), draw(st.integers(0, 3)), kind))
    return items


def _proposal(state: DocState, client: str, seq: int, text: str, behind: int,
              kind: str) -> Proposal:
    version = state.head + 1 if kind == "ahead" else max(0, state.head - behind)
    delta: list[object] = [{"insert": text}] if kind != "malformed" else [{"retain": -1}]
    return Proposal("u", client, seq, version, delta, can_edit=kind != "viewer")


@settings(max_examples=200, deadline=None)
@given(_streams(), st.integers(1, 5))
def test_any_stream_keeps_the_log_exact(stream: list[tuple[str, int, str, int, str]],
                                        batch: int) -> None:
    """Whatever arrives, in batches of any size: replaying the committed ops gives the
    content, no (client, seq) is committed twice, a resend answers its first version, and
    the ops from ``transform_base`` are all a batch needs."""
    state, ops = _state(), []
    for start in range(0, len(stream), batch):
        proposals = [_proposal(state, *item) for item in stream[start:start + batch]]
        outcomes, _ = _run(state, proposals, ops)
        first = {(op.client_id, op.seq): op.version for op in ops}
        for proposal, outcome in zip(proposals, outcomes, strict=True):
            if isinstance(outcome, AlreadyCommitted):
                assert outcome.version == first[(proposal.client_id, proposal.seq)]
    replay = ot.Document.from_delta([{"insert": "\n"}])
    for version, op in enumerate(ops):
        assert op.version == version
        replay = replay.apply(op.delta)
    assert replay.to_delta() == state.content.to_delta()
    assert len({(op.client_id, op.seq) for op in ops}) == len(ops)


def test_ops_that_cannot_commit_need_no_history() -> None:
    """Refused whatever the op log holds (or a resend): no read of the ops since their base."""
    state = _state()
    state.head = 100
    state.marks[("u", "c")] = ClientMark(3, 90)
    cannot = [Proposal("u", "c", 2, 0, [{"insert": "x"}]),  # a resend
              Proposal("u", "c", 4, 5, [{"insert": "x"}]),  # below its own op
              Proposal("u", "c", 9, 95, [{"insert": "x"}]),  # a seq skip
              Proposal("u", "v", 1, 5, [{"insert": "x"}], can_edit=False),
              Proposal("u", "w", 1, 5, [{"delete": 0}]),
              Proposal("u", "w", 1, 101, [{"insert": "x"}])]
    assert transform_base(state, cannot) == 100
    assert plan_read(state, cannot, 50, _nothing).from_version is None
    # A skip is judged against the highest seq the batch may reach: 4 then 5 are in order.
    in_order = [Proposal("u", "c", 4, 95, [{"insert": "x"}]),
                Proposal("u", "c", 5, 92, [{"insert": "y"}])]
    assert transform_base(state, in_order) == 92
    # A client whose mark memory lacks may have any seq: its base counts.
    assert transform_base(state, [Proposal("u", "new", 7, 20, [{"insert": "x"}])]) == 20


@settings(max_examples=100, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=8), st.integers(1, 8))
def test_batch_size_does_not_change_the_content(texts: list[str], batch: int) -> None:
    """Concurrent ops on one base version give the same versions and content whether
    they are committed one per batch or ``batch`` at a time."""
    contents = []
    for size in (1, batch):
        state, ops = _state(), []
        proposals = [Proposal("u", f"c{i}", 1, 0, [{"insert": text}])
                     for i, text in enumerate(texts)]
        for start in range(0, len(proposals), size):
            _run(state, proposals[start:start + size], ops)
        contents.append((state.head, state.content.to_delta()))
    assert contents[0] == contents[1]
