"""The event stream: §5 event shapes, the sink and source seams, and the in-process stream.

The outbox relay lives in ``editor.events.relay`` and is not re-exported here: it depends
on ``editor.store``, which imports ``editor.events.shapes``, so importing it from this
package would make the two packages import each other.
"""

from editor.events.base import (
    Delivery,
    EventConsumer,
    EventSink,
    EventSource,
    EventsUnavailable,
)
from editor.events.memory import MemoryEventStream
from editor.events.shapes import (
    COLLABORATION_EVENTS,
    DOCUMENT_EVENTS,
    RECONCILIATION_GROUP,
    STORAGE_GROUP,
    TOPICS,
    USER_EVENTS,
    Event,
)

__all__ = [
    "COLLABORATION_EVENTS", "DOCUMENT_EVENTS", "RECONCILIATION_GROUP", "STORAGE_GROUP",
    "TOPICS", "USER_EVENTS", "Delivery", "Event", "EventConsumer", "EventSink", "EventSource",
    "EventsUnavailable", "MemoryEventStream",
]
