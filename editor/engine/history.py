"""The recent committed ops of one document, kept in memory for transforms and catch-up."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from editor.store.records import CommittedOp


class OpHistory:
    """A bounded window of consecutive committed ops ending at the head."""

    def __init__(self, head: int, max_ops: int) -> None:
        self._ops: deque[CommittedOp] = deque(maxlen=max_ops)
        self._head = head

    @property
    def head(self) -> int:
        """The version after the newest op."""
        return self._head

    @property
    def first_version(self) -> int:
        """The oldest version held in memory (equal to the head when empty)."""
        return self._head - len(self._ops)

    def append(self, op: CommittedOp) -> None:
        """Add the op committed at the head."""
        if op.version != self._head:
            raise ValueError(f"history expected version {self._head}, got {op.version}")
        self._ops.append(op)
        self._head += 1

    def covers(self, from_version: int) -> bool:
        """Whether every op from ``from_version`` to the head is in memory."""
        return self.first_version <= from_version <= self._head

    def since(self, from_version: int) -> list[CommittedOp]:
        """The ops from ``from_version`` to the head; ``covers`` must hold."""
        start = from_version - self.first_version
        return [self._ops[i] for i in range(start, len(self._ops))]

    def newest_first(self) -> Iterator[CommittedOp]:
        """The ops in memory from the newest to the oldest."""
        return reversed(self._ops)
