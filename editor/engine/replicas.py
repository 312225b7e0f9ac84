"""A loaded document shared with the other replicas through the bus (DESIGN.md step 5).

Per document, beside its committer: publish what this replica commits and what its sessions
do (cursors, leaves) on the document's channel, in order, without ever making a commit wait;
apply what other replicas publish (ops through the committer, which reads the op log when a
version is missing); and keep this replica's sessions in the shared presence, which also
forgets sessions of a replica that died.

The bus is a hint: a message lost or a bus down costs latency (the op log's notices and polls
bring the ops), never an op.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from editor import logs, metrics
from editor.bus import (
    Bus,
    BusMessage,
    BusUnavailable,
    CursorMessage,
    LeaveMessage,
    OpsMessage,
    Presence,
    PresenceEntry,
)
from editor.engine.committer import Committer
from editor.engine.document import DocumentRuntime
from editor.engine.outgoing import CursorOut, LeaveOut
from editor.store.records import CommittedOp

log = logs.get(__name__)
OUTBOUND_MESSAGES = 256  # per document; beyond it messages are dropped (receivers catch up)
PRESENCE_TTL_S = 15.0  # a replica that dies is forgotten this long after its last refresh
PRESENCE_REFRESH_S = 5.0


class SharedDocument:
    """The bus side of one loaded document."""

    def __init__(self, runtime: DocumentRuntime, committer: Committer, bus: Bus,
                 presence: Presence, origin: str) -> None:
        self.runtime = runtime
        self.committer = committer
        self.bus = bus
        self.presence = presence
        self.origin = origin
        self._outbound, self._to_publish = trio.open_memory_channel[BusMessage](
            OUTBOUND_MESSAGES)
        self._refresh = trio.Event()  # a session joined: list it in the presence now
        runtime.on_join = self._refresh.set
        runtime.on_local = self._local_change

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Subscribe, then publish, apply and refresh presence until cancelled."""
        doc_id = self.runtime.doc_id
        try:
            async with self.bus.subscribe(doc_id) as messages, trio.open_nursery() as nursery:
                nursery.start_soon(self._publish_loop)
                nursery.start_soon(self._presence_loop)
                task_status.started()
                async for message in messages:
                    self._apply(message)
        finally:
            self.runtime.on_join = self.runtime.on_local = None
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await self._forget_local_sessions()

    def committed(self, ops: Sequence[CommittedOp]) -> None:
        """This replica committed ``ops``: tell the others."""
        self._send(OpsMessage(self.origin, self.runtime.doc_id, tuple(ops)))

    def _local_change(self, item: CursorOut | LeaveOut) -> None:
        doc_id = self.runtime.doc_id
        if isinstance(item, LeaveOut):
            self._send(LeaveMessage(self.origin, doc_id, item.client_id))
        else:
            self._send(CursorMessage(self.origin, doc_id, item.client_id, item.user,
                                     item.version, item.index, item.length))

    def _send(self, message: BusMessage) -> None:
        try:
            self._outbound.send_nowait(message)
        except trio.WouldBlock:
            metrics.BUS_MESSAGES.labels("dropped").inc()

    async def _publish_loop(self) -> None:
        async for message in self._to_publish:
            try:
                await self.bus.publish(message)
                metrics.BUS_MESSAGES.labels("published").inc()
            except BusUnavailable:
                metrics.BUS_MESSAGES.labels("unpublished").inc()
            if isinstance(message, LeaveMessage):
                await self._remove_presence(message.client_id)

    def _apply(self, message: BusMessage) -> None:
        if message.origin == self.origin:
            return
        metrics.BUS_MESSAGES.labels("received").inc()
        if isinstance(message, OpsMessage):
            self.committer.offer_foreign(message.ops)
        elif isinstance(message, CursorMessage):
            self.runtime.show_remote(CursorOut(message.client_id, message.user,
                                               message.version, message.index, message.length))
        else:
            self.runtime.show_remote(LeaveOut(message.client_id))

    async def _presence_loop(self) -> None:
        """Refresh this replica's sessions; forget other replicas' sessions that expired."""
        doc_id = self.runtime.doc_id
        while True:
            runtime = self.runtime
            local = runtime.local_cursors()
            try:
                for cursor in local:
                    await self.presence.put(doc_id, PresenceEntry(
                        cursor.client_id, cursor.user, cursor.index, cursor.length,
                        cursor.version), PRESENCE_TTL_S)
                listed = await self.presence.list(doc_id)
            except BusUnavailable:
                listed = None
            if listed is not None:
                runtime.keep_remote({e.client_id for e in listed}
                                    - {c.client_id for c in local})
            with trio.move_on_after(PRESENCE_REFRESH_S):
                await self._refresh.wait()
            self._refresh = trio.Event()
            runtime.on_join = self._refresh.set

    async def _remove_presence(self, client_id: str) -> None:
        try:
            await self.presence.remove(self.runtime.doc_id, client_id)
        except BusUnavailable:
            pass  # the entry expires by itself

    async def _forget_local_sessions(self) -> None:
        for session in list(self.runtime.sessions):
            await self._remove_presence(session.client_id)


async def shared_presence(presence: Presence, doc_id: str, local: list[PresenceEntry]
                          ) -> list[PresenceEntry]:
    """Everyone on the document on every replica: this replica's sessions as they are now,
    the others' from the shared presence (this replica's view alone when it is down)."""
    try:
        listed = await presence.list(doc_id)
    except BusUnavailable:
        listed = []
    mine = {e.client_id for e in local}
    return sorted(local + [e for e in listed if e.client_id not in mine],
                  key=lambda e: e.client_id)
