"""The ``OpLog`` contract: appends at the head, conflicts, dedup keys, range reads, snapshots."""

from __future__ import annotations

import pytest
import trio

from editor.events import shapes
from editor.store import CommittedOp, Snapshot, Store, VersionConflict


async def _doc(store: Store) -> str:
    owner = await store.create_user("owner@example.test", "Owner", "hash")
    return (await store.create_document(owner.id, "t", [{"insert": "\n"}])).id


def _op(doc_id: str, version: int, client: str = "c", seq: int | None = None,
        text: str = "x") -> CommittedOp:
    return CommittedOp(doc_id, version, [{"insert": text}], "u", client,
                       version + 1 if seq is None else seq, 1_700_000_000.5 + version)


async def test_append_and_read_back(store: Store) -> None:
    doc_id = await _doc(store)
    assert await store.head(doc_id) == 0
    await store.append(doc_id, [_op(doc_id, 0), _op(doc_id, 1, text="😀")])
    await store.append(doc_id, [_op(doc_id, 2)])
    assert await store.head(doc_id) == 3
    assert await store.heads([doc_id, "missing"]) == {doc_id: 3}
    ops = await store.read_ops(doc_id, 1, 3)
    assert ops == [_op(doc_id, 1, text="😀"), _op(doc_id, 2)]
    assert await store.read_ops(doc_id, 3, 10) == []
    assert (await store.document(doc_id)).head == 3  # type: ignore[union-attr]


async def test_append_only_at_the_head(store: Store) -> None:
    doc_id = await _doc(store)
    await store.append(doc_id, [_op(doc_id, 0)])
    for stale in ([_op(doc_id, 0, seq=9)], [_op(doc_id, 2, seq=9)]):  # taken, or a gap
        with pytest.raises(VersionConflict):
            await store.append(doc_id, stale)
    assert await store.head(doc_id) == 1
    assert [op.seq for op in await store.read_ops(doc_id, 0, 5)] == [1]


async def test_a_dedup_key_commits_once(store: Store) -> None:
    doc_id = await _doc(store)
    await store.append(doc_id, [_op(doc_id, 0, seq=1)])
    with pytest.raises(VersionConflict):
        await store.append(doc_id, [_op(doc_id, 1, seq=1)])
    assert await store.head(doc_id) == 1


async def test_two_processes_race_and_one_wins(store: Store, other_store: Store) -> None:
    doc_id = await _doc(store)
    results: list[str] = []

    async def commit(which: Store, client: str) -> None:
        try:
            await which.append(doc_id, [_op(doc_id, 0, client, 1), _op(doc_id, 1, client, 2)])
            results.append(client)
        except VersionConflict:
            results.append("conflict")

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(commit, store, "a")
            nursery.start_soon(commit, other_store, "b")
    assert sorted(results) in (["a", "conflict"], ["b", "conflict"])
    winner = next(r for r in results if r != "conflict")
    assert {op.client_id for op in await other_store.read_ops(doc_id, 0, 9)} == {winner}
    assert await store.head(doc_id) == await other_store.head(doc_id) == 2


async def test_read_for_commit_answers_in_one_read(store: Store) -> None:
    doc_id = await _doc(store)
    await store.append(doc_id, [_op(doc_id, v, "a" if v % 2 else "b", v // 2 + 1)
                                for v in range(6)])
    read = await store.read_for_commit(
        doc_id, 3, [("u", "a"), ("u", "b"), ("u", "nobody")],
        [("u", "a", 2), ("u", "b", 3), ("u", "a", 9), ("x", "a", 1)])
    assert read.head == 6
    assert [op.version for op in read.ops] == [3, 4, 5]
    assert {k: (m.seq, m.version) for k, m in read.marks.items()} == {
        ("u", "a"): (3, 5), ("u", "b"): (3, 4)}
    assert read.seq_versions == {("u", "a", 2): 3, ("u", "b", 3): 4}
    empty = await store.read_for_commit(doc_id, None, (), ())
    assert (empty.head, empty.ops, empty.marks, empty.seq_versions) == (6, [], {}, {})


async def test_events_commit_with_the_ops_or_not_at_all(store: Store) -> None:
    doc_id = await _doc(store)
    before = await store.outbox_size()
    restored = shapes.document_restored(doc_id, 0, 0, 1.0)
    await store.append(doc_id, [_op(doc_id, 0)], [restored])
    with pytest.raises(VersionConflict):
        await store.append(doc_id, [_op(doc_id, 0, seq=5)], [restored])
    assert await store.outbox_size() == before + 1
    pending = await store.outbox_pending(1000)
    assert pending[-1].body == restored.body


async def test_snapshots(store: Store) -> None:
    doc_id = await _doc(store)
    assert await store.latest_snapshot(doc_id) == Snapshot(0, [{"insert": "\n"}])
    await store.save_snapshot(doc_id, Snapshot(5, [{"insert": "five\n"}]))
    await store.save_snapshot(doc_id, Snapshot(5, [{"insert": "five\n"}]))  # idempotent
    await store.save_snapshot(doc_id, Snapshot(9, [{"insert": "nine\n"}]))
    assert (await store.latest_snapshot(doc_id)).version == 9
    assert (await store.latest_snapshot(doc_id, at_most=8)).version == 5
    assert (await store.latest_snapshot(doc_id, at_most=4)).version == 0


@pytest.mark.parametrize("taken_seq", [False, True], ids=["conflict", "conflict-and-dedup"])
async def test_concurrent_appends_of_documents_commit_apart(store: Store,
                                                            taken_seq: bool) -> None:
    """Appends of several documents at once (one round trip where the store groups them):
    each commits or conflicts on its own, events included — also when one of them breaks
    a dedup key, which fails a grouped statement as a whole."""
    owner = await store.create_user("owner@example.test", "Owner", "hash")
    docs = [(await store.create_document(owner.id, "t", [{"insert": "\n"}])).id
            for _ in range(5)]
    for doc_id in docs[3:]:
        await store.append(doc_id, [_op(doc_id, 0, seq=1)])
    outcome: dict[str, str] = {}

    async def commit(doc_id: str, first: int, seq: int) -> None:
        event = shapes.document_restored(doc_id, first + 1, 0, 1_700_000_000.0)
        try:
            await store.append(doc_id, [_op(doc_id, first, seq=seq),
                                        _op(doc_id, first + 1, seq=seq + 1)], [event])
            outcome[doc_id] = "committed"
        except VersionConflict:
            outcome[doc_id] = "conflict"

    async with trio.open_nursery() as nursery:
        for doc_id in docs[:3]:
            nursery.start_soon(commit, doc_id, 0, 1)  # at the head: commit
        nursery.start_soon(commit, docs[3], 0, 5)  # the head moved to 1: a conflict
        # At the head, but seq 1 is taken (or not: then it commits).
        nursery.start_soon(commit, docs[4], 1, 1 if taken_seq else 2)
    assert outcome == {**{d: "committed" for d in docs[:3]}, docs[3]: "conflict",
                       docs[4]: "conflict" if taken_seq else "committed"}
    assert [await store.head(d) for d in docs] == [2, 2, 2, 1, 1 if taken_seq else 3]
    for doc_id in docs[:3]:
        assert [op.seq for op in await store.read_ops(doc_id, 0, 5)] == [1, 2]
    restored = [entry.body["doc_id"] for entry in await store.outbox_pending(100)
                if entry.body.get("type") == "document.restored"]
    assert sorted(restored) == sorted(docs[:3] + ([] if taken_seq else [docs[4]]))
