"""What the engine hands to a session to send, as domain values; ``editor.net.wire`` encodes.

Values sent to many sessions (a committed batch, a cursor, a leave) carry a small cache so
the wire layer encodes them once per document, not once per session: the JSON text and the
complete WebSocket frame (``wire``), the same bytes for every session that sends it alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from editor.store.records import CommittedOp


@dataclass(frozen=True, eq=False)
class OpsOut:
    """Committed ops, consecutive versions, for every session of the document."""

    ops: tuple[CommittedOp, ...]
    # Epoch seconds when the batch became durable, for editor_fanout_seconds: by default
    # now, since a batch is made as soon as it is durable.
    committed_at: float = field(default_factory=time.time)
    frames: list[str] = field(default_factory=list, repr=False)  # one per op, once encoded
    message: list[str] = field(default_factory=list, repr=False)  # all of them, packed
    wire: list[bytes] = field(default_factory=list, repr=False)  # that message's frame


@dataclass(frozen=True, eq=False)
class OwnOpsOut:
    """A committed batch as its sender sees it: the ops at ``ack_positions`` become acks."""

    batch: OpsOut
    ack_positions: frozenset[int]


@dataclass(frozen=True, eq=False)
class CursorOut:
    """Another session's selection at ``version``."""

    client_id: str
    user: dict[str, str]
    version: int
    index: int | None
    length: int
    encoded: list[str] = field(default_factory=list, repr=False)
    wire: list[bytes] = field(default_factory=list, repr=False)


@dataclass(frozen=True, eq=False)
class LeaveOut:
    """That session ended."""

    client_id: str
    encoded: list[str] = field(default_factory=list, repr=False)
    wire: list[bytes] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class AckOut:
    """Your op ``seq`` is committed as ``version``."""

    seq: int
    version: int


@dataclass(frozen=True)
class ErrorOut:
    """An error frame (PROTOCOL.md §3); ``seq`` when about an op."""

    code: str
    message: str
    seq: int | None = None


@dataclass(frozen=True)
class PongOut:
    """The answer to a ping."""

    t: Any


Outgoing = OpsOut | OwnOpsOut | CursorOut | LeaveOut | AckOut | ErrorOut | PongOut
