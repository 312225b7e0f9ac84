"""The one snapshot replay path: a document's content at a version, from the op log."""

from __future__ import annotations

from editor import ot
from editor.bus import SnapshotCache
from editor.store.protocols import OpLog
from editor.store.records import Snapshot

CACHE_TTL_S = 60.0  # a cached snapshot is never wrong, only older: it bounds replay work


async def content_at(oplog: OpLog, doc_id: str, version: int | None
                     ) -> tuple[int, ot.Document]:
    """The content at ``version`` (the head when ``None``): nearest snapshot plus later ops."""
    target = await oplog.head(doc_id) if version is None else version
    snapshot = await oplog.latest_snapshot(doc_id, at_most=target)
    content = ot.Document.from_delta(snapshot.content)
    for op in await oplog.read_ops(doc_id, snapshot.version, target):
        content = content.apply(op.delta)
    return target, content


async def content_at_head(oplog: OpLog, doc_id: str, cache: SnapshotCache | None
                          ) -> tuple[int, ot.Document, int]:
    """The head, its content and the version of the snapshot it was rebuilt from.

    The snapshot comes from ``cache`` when it holds one at or below the head (a snapshot at a
    version stays true forever), else from the op log; the ops after it from the op log.
    """
    head = await oplog.head(doc_id)
    snapshot = await cache.get(doc_id) if cache is not None else None
    if snapshot is None or snapshot.version > head:
        snapshot = await oplog.latest_snapshot(doc_id, at_most=head)
    content = ot.Document.from_delta(snapshot.content)
    for op in await oplog.read_ops(doc_id, snapshot.version, head):
        content = content.apply(op.delta)
    return head, content, snapshot.version


async def remember(cache: SnapshotCache, doc_id: str, head: int, content: ot.Document) -> None:
    """Offer the content at ``head`` to the cache for the next load of the document."""
    await cache.put(doc_id, Snapshot(head, content.to_delta()), CACHE_TTL_S)
