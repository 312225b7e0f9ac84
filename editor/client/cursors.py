"""Remote cursors kept in server coordinates and rebased as versions go by. No I/O.

A ``cursor`` frame is tagged with the version its position refers to. A cursor at the
client's version is *current*; one tagged older is rebased through the recent committed
ops (kept in a bounded window); one tagged newer (possible while catching up after a
resume) waits until the client reaches its version. Positions in the local content
(over unacknowledged edits) are computed on demand by the owner of this table.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from editor.client.protocol import CursorFrame, Delta
from editor.ot import transform_position


def rebase_selection(
    delta: Delta, index: int | None, length: int
) -> tuple[int | None, int]:
    """A selection moved through ``delta`` (inserts at its edges push it right)."""
    if index is None:
        return None, length
    start = transform_position(delta, index)
    end = transform_position(delta, index + length) if length else start
    return start, max(0, end - start)


class CursorTable:
    """Remote cursors by client id, plus the window of recent ops used to rebase them."""

    def __init__(self, *, max_cursors: int, history_ops: int) -> None:
        self._max_cursors = max_cursors
        self._cursors: dict[str, CursorFrame] = {}
        self._history: deque[Delta] = deque(maxlen=history_ops)
        self._history_end = 0

    def reset(self, version: int) -> None:
        """Forget every cursor and the op window (a new session starts at ``version``)."""
        self._cursors.clear()
        self._history.clear()
        self._history_end = version

    def committed(self, version: int, delta: Delta) -> None:
        """The op ``version -> version + 1`` was applied: move current cursors with it."""
        if self._history_end != version:
            self._history.clear()
        self._history.append(delta)
        self._history_end = version + 1
        for client_id, frame in self._cursors.items():
            if frame.version == version:
                index, length = rebase_selection(delta, frame.index, frame.length)
                self._cursors[client_id] = replace(
                    frame, version=version + 1, index=index, length=length
                )

    def update(self, frame: CursorFrame, version: int) -> bool:
        """Store a cursor frame received at client ``version``; ``False`` if it was dropped."""
        if frame.version < version:
            missing = version - frame.version
            if self._history_end != version or missing > len(self._history):
                self._cursors.pop(frame.client_id, None)
                return False
            index, length = frame.index, frame.length
            for delta in list(self._history)[len(self._history) - missing :]:
                index, length = rebase_selection(delta, index, length)
            frame = replace(frame, version=version, index=index, length=length)
        if frame.client_id not in self._cursors and len(self._cursors) >= self._max_cursors:
            return False
        self._cursors[frame.client_id] = frame
        return True

    def remove(self, client_id: str) -> bool:
        """Forget a cursor; ``True`` if there was one."""
        return self._cursors.pop(client_id, None) is not None

    def current(self, version: int) -> list[CursorFrame]:
        """The cursors whose positions refer to ``version``."""
        return [frame for frame in self._cursors.values() if frame.version == version]

    def get(self, client_id: str, version: int) -> CursorFrame | None:
        """One cursor, if it refers to ``version``."""
        frame = self._cursors.get(client_id)
        return frame if frame is not None and frame.version == version else None
