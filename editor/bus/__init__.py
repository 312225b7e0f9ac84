"""The bus seam: live fan-out between replicas, presence, snapshot cache and rate limits."""

from editor.bus.base import (
    Bus,
    BusMessage,
    BusUnavailable,
    CursorMessage,
    LeaveMessage,
    OpsMessage,
    Presence,
    PresenceEntry,
    RateLimiter,
    SharedBus,
    SnapshotCache,
    check_bucket,
)
from editor.bus.codec import MessageDecodeError, decode_message, encode_message
from editor.bus.memory import MemoryBus, MemoryPresence, MemoryRateLimiter, MemorySnapshotCache

__all__ = [
    "Bus",
    "BusMessage",
    "BusUnavailable",
    "CursorMessage",
    "LeaveMessage",
    "MemoryBus",
    "MemoryPresence",
    "MemoryRateLimiter",
    "MemorySnapshotCache",
    "MessageDecodeError",
    "OpsMessage",
    "Presence",
    "PresenceEntry",
    "RateLimiter",
    "SharedBus",
    "SnapshotCache",
    "check_bucket",
    "decode_message",
    "encode_message",
]
