"""Document loads start from the snapshot cache when it holds a usable snapshot."""

from __future__ import annotations

import time
from pathlib import Path

from editor.backends import opened_store
from editor.bus import MemorySnapshotCache
from editor.engine.document import DocumentRuntime
from editor.engine.replay import remember
from editor.store import CommittedOp, Snapshot, Store


class CountingLog:
    """The op log, counting snapshot reads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.snapshot_reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def latest_snapshot(self, doc_id: str, at_most: int | None = None) -> Snapshot:
        self.snapshot_reads += 1
        return await self.store.latest_snapshot(doc_id, at_most)


async def test_loads_use_a_cached_snapshot_at_or_below_the_head(tmp_path: Path) -> None:
    async with opened_store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        owner = await store.create_user("o@example.test", "O", "hash")
        doc_id = (await store.create_document(owner.id, "T", [{"insert": "\n"}])).id
        await store.append(doc_id, [
            CommittedOp(doc_id, v, [{"insert": str(v)}], owner.id, "c", v + 1, time.time())
            for v in range(3)])
        log, cache = CountingLog(store), MemorySnapshotCache()

        first = await DocumentRuntime.load(doc_id, log, history_ops=10, cache=cache)  # type: ignore[arg-type]
        assert (log.snapshot_reads, first.head) == (1, 3)
        await remember(cache, doc_id, first.head, first.content)

        again = await DocumentRuntime.load(doc_id, log, history_ops=10, cache=cache)  # type: ignore[arg-type]
        assert log.snapshot_reads == 1  # the cache answered
        assert again.content.to_delta() == first.content.to_delta() == [{"insert": "210\n"}]

        # A snapshot ahead of what this replica reads as the head cannot be used.
        await cache.put(doc_id, Snapshot(9, [{"insert": "ahead\n"}]), 60)
        ahead = await DocumentRuntime.load(doc_id, log, history_ops=10, cache=cache)  # type: ignore[arg-type]
        assert log.snapshot_reads == 2
        assert ahead.content.to_delta() == [{"insert": "210\n"}]
