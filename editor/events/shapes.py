"""The event shapes of PROTOCOL.md §5, built from domain values. Pure: no I/O, no clock.

Every event is one JSON object with ``id`` (a UUID, the same on every re-delivery),
``type`` and ``at`` (RFC 3339, UTC), keyed by ``doc_id`` (``user_id`` on ``user-events``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

COLLABORATION_EVENTS = "collaboration-events"
DOCUMENT_EVENTS = "document-events"
USER_EVENTS = "user-events"
TOPICS = (COLLABORATION_EVENTS, DOCUMENT_EVENTS, USER_EVENTS)
RECONCILIATION_GROUP = "reconciliation-group"
STORAGE_GROUP = "storage-group"
# op.committed ids derive from (doc_id, version): every re-delivery carries the same id.
_OP_NAMESPACE = uuid.UUID("8f0d7c52-4d7e-4d8a-9c1b-5b2f3f6a1e70")


@dataclass(frozen=True)
class Event:
    """One event: its topic, its partition key and its JSON body."""

    topic: str
    key: str
    body: dict[str, Any]

    @property
    def id(self) -> str:
        """The event's stable id."""
        return str(self.body["id"])

    @property
    def type(self) -> str:
        """The event's type, e.g. ``op.committed``."""
        return str(self.body["type"])

    def encode(self) -> bytes:
        """The body as compact UTF-8 JSON, as it goes on the wire."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, topic: str, key: str, value: bytes) -> Event:
        """The event from its wire form."""
        return cls(topic, key, json.loads(value))


def rfc3339(epoch_s: float) -> str:
    """``epoch_s`` as RFC 3339 in UTC with milliseconds, e.g. ``2026-12-07T10:31:13.123Z``."""
    millis = int(epoch_s % 1 * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{millis:03d}Z"


def _event(topic: str, partition_key: str, kind: str, at_s: float, event_id: str | None,
           **fields: Any) -> Event:
    body = {"id": event_id or str(uuid.uuid4()), "type": kind, "at": rfc3339(at_s), **fields}
    return Event(topic, partition_key, body)


def op_committed(doc_id: str, version: int, user_id: str, client_id: str, seq: int,
                 delta: list[dict[str, Any]], at_s: float) -> Event:
    """``op.committed``: the op that took ``doc_id`` from ``version`` to ``version + 1``."""
    event_id = str(uuid.uuid5(_OP_NAMESPACE, f"{doc_id}:{version}"))
    return _event(COLLABORATION_EVENTS, doc_id, "op.committed", at_s, event_id,
                  doc_id=doc_id, version=version, user_id=user_id, client_id=client_id,
                  seq=seq, delta=delta)


def document_changed(kind: str, doc_id: str, owner_id: str, title: str, at_s: float) -> Event:
    """``document.created``, ``document.updated`` or ``document.deleted``."""
    assert kind in ("document.created", "document.updated", "document.deleted")
    return _event(DOCUMENT_EVENTS, doc_id, kind, at_s, None,
                  doc_id=doc_id, owner_id=owner_id, title=title)


def member_changed(doc_id: str, user_id: str, role: str | None, at_s: float) -> Event:
    """``member.put`` with the new role, or ``member.removed`` when ``role`` is ``None``."""
    kind = "member.removed" if role is None else "member.put"
    return _event(DOCUMENT_EVENTS, doc_id, kind, at_s, None,
                  doc_id=doc_id, user_id=user_id, role=role)


def document_restored(doc_id: str, version: int, from_version: int, at_s: float) -> Event:
    """``document.restored``: op ``version`` made the content equal to ``from_version``'s."""
    return _event(DOCUMENT_EVENTS, doc_id, "document.restored", at_s, None,
                  doc_id=doc_id, version=version, from_version=from_version)


def snapshot_archived(doc_id: str, version: int, key: str, at_s: float) -> Event:
    """``snapshot.archived``: the archive holds the content at ``version`` under ``key``."""
    return _event(DOCUMENT_EVENTS, doc_id, "snapshot.archived", at_s, None,
                  doc_id=doc_id, version=version, key=key)


def user_event(kind: str, user_id: str, at_s: float) -> Event:
    """``user.registered``, ``user.verified``, ``user.signed_in`` or ``user.deleted``."""
    assert kind in ("user.registered", "user.verified", "user.signed_in", "user.deleted")
    return _event(USER_EVENTS, user_id, kind, at_s, None, user_id=user_id)
