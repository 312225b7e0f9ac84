"""Ops another replica committed, as the bus brings them: applied when they follow the head,
read from the op log when the bus lost some, ignored when old."""

from __future__ import annotations

import time
from pathlib import Path

import trio

from editor.backends import opened_store
from editor.engine.committer import Committer
from editor.engine.document import DocumentRuntime
from editor.store import CommittedOp


def _op(doc_id: str, version: int, text: str) -> CommittedOp:
    return CommittedOp(doc_id, version, [{"insert": text}], "u1", "other-replica", version + 1,
                       round(time.time(), 6))


async def test_foreign_ops_follow_the_head_or_fill_the_gap(tmp_path: Path) -> None:
    async with opened_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        owner = await store.create_user("o@example.test", "O", "hash")
        doc_id = (await store.create_document(owner.id, "T", [{"insert": "\n"}])).id
        runtime = await DocumentRuntime.load(doc_id, store, history_ops=100)
        committer = Committer(runtime, store, batch_max_ops=16, snapshot_every_ops=1000,
                              queue_ops=16)
        ops = [_op(doc_id, v, str(v)) for v in range(4)]
        await store.append(doc_id, ops[:3])  # what the other replica committed

        async def settled(head: int) -> None:
            while runtime.head != head:  # noqa: ASYNC110 (the committer has no event for it)
                await trio.sleep(0.001)

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await nursery.start(committer.run)
                committer.offer_foreign(ops[2:3])  # versions 0 and 1 were lost on the bus
                await settled(3)
                assert runtime.content.to_delta() == [{"insert": "210\n"}]
                # Next in line: applied from the message alone (version 3 is not in the log).
                committer.offer_foreign(ops[3:])
                await settled(4)
                committer.offer_foreign(ops[1:2])  # old news
                await trio.sleep(0.05)
                assert runtime.head == 4
                assert runtime.content.to_delta() == [{"insert": "3210\n"}]
                await committer.stop()
