"""The one snapshot replay path: a document's content at a version, from the op log."""

from __future__ import annotations

from editor import ot
from editor.store.protocols import OpLog


async def content_at(oplog: OpLog, doc_id: str, version: int | None
                     ) -> tuple[int, ot.Document]:
    """The content at ``version`` (the head when ``None``): nearest snapshot plus later ops."""
    target = await oplog.head(doc_id) if version is None else version
    snapshot = await oplog.latest_snapshot(doc_id, at_most=target)
    content = ot.Document.from_delta(snapshot.content)
    for op in await oplog.read_ops(doc_id, snapshot.version, target):
        content = content.apply(op.delta)
    return target, content
