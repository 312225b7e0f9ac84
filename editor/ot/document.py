"""``Document``: an immutable, structure-sharing document for the engine's hot path.

Content is a list of *chunks*, each a short canonical list of insert ops (at most
``_MAX_OPS`` ops and about ``_MAX_UNITS`` UTF-16 units) with the ops' lengths and JSON sizes.
A prefix sum of chunk lengths finds a position's chunk by bisection. ``apply`` recomposes
only the ops around each edited place and shares every other chunk with the old document, so
a keystroke costs O(chunk size + number of chunks / a C-speed copy), never a copy of the text.

Invariants: no chunk is empty; ops inside a chunk are canonical (adjacent ops never merge),
although the last op of a chunk may merge with the first of the next (a long run split in
two); ``to_delta`` merges those. ``json_size_bytes`` is exact: the sum of the chunks' sizes
plus, at each chunk boundary, a comma or minus the framing that a merge removes.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any

from editor.ot import utf16
from editor.ot.algebra import compose
from editor.ot.attributes import attrs_equal
from editor.ot.errors import InvalidOp
from editor.ot.iterator import DELETE, INSERT, OpIterator, op_length
from editor.ot.ops import chop, normalize, push
from editor.ot.sizes import attrs_framing_bytes, op_json_bytes

__all__ = ["Document"]

Op = dict[str, Any]

_MAX_UNITS = 2048  # chunk text is split around here
_MAX_OPS = 64
_MIN_UNITS = 256  # an edited chunk smaller than this absorbs its right neighbour


class _Chunk:
    """A canonical run of insert ops, immutable once built."""

    __slots__ = ("ops", "units", "sizes", "length", "json_bytes")

    def __init__(self, ops: list[Op], units: list[int], sizes: list[int]) -> None:
        self.ops = ops
        self.units = units
        self.sizes = sizes
        self.length = sum(units)
        self.json_bytes = sum(sizes) + len(ops) - 1


def _mergeable(left: Op, right: Op) -> bool:
    return (left["insert"].__class__ is str and right["insert"].__class__ is str
            and attrs_equal(left.get("attributes"), right.get("attributes")))


def _merge(left: Op, right: Op) -> Op:
    merged: Op = {"insert": left["insert"] + right["insert"]}
    if right.get("attributes"):
        merged["attributes"] = right["attributes"]
    return merged


def _junction_bytes(left: _Chunk, right: _Chunk) -> int:
    """JSON bytes that the boundary between two chunks adds to the whole content."""
    last = left.ops[-1]
    if _mergeable(last, right.ops[0]):
        return -attrs_framing_bytes(last.get("attributes"))
    return 1


def _split_text(text: str, units: int) -> list[str]:
    """``text`` cut into equal parts of at most about ``units`` UTF-16 units, never inside a
    pair. Equal, not ``units`` and a remainder: typing in front of a full chunk would
    otherwise split off a one-character chunk per keystroke."""
    step = units if text.isascii() else max(1, units // 2)  # an astral code point is 2 units
    parts = -(-len(text) // step)
    size = -(-len(text) // parts)
    return [text[i:i + size] for i in range(0, len(text), size)]


def _build_chunks(ops: list[Op], units: list[int], sizes: list[int]) -> list[_Chunk]:
    """Pack canonical ops into chunks, cutting long string runs into several chunks."""
    chunks: list[_Chunk] = []
    cur_ops: list[Op] = []
    cur_units: list[int] = []
    cur_sizes: list[int] = []
    cur_length = 0
    for op, op_units, op_size in zip(ops, units, sizes, strict=True):
        if op_units > _MAX_UNITS:
            parts = _split_text(op["insert"], _MAX_UNITS)
            attrs = op.get("attributes")
            for part in parts:
                part_op: Op = {"insert": part, "attributes": attrs} if attrs else {"insert": part}
                if cur_ops:
                    chunks.append(_Chunk(cur_ops, cur_units, cur_sizes))
                cur_ops = [part_op]
                cur_units = [utf16.utf16_len(part)]
                cur_sizes = [op_json_bytes(part_op)]
                cur_length = cur_units[0]
            continue
        if cur_ops and (cur_length + op_units > _MAX_UNITS or len(cur_ops) >= _MAX_OPS):
            chunks.append(_Chunk(cur_ops, cur_units, cur_sizes))
            cur_ops, cur_units, cur_sizes, cur_length = [], [], [], 0
        cur_ops.append(op)
        cur_units.append(op_units)
        cur_sizes.append(op_size)
        cur_length += op_units
    if cur_ops:
        chunks.append(_Chunk(cur_ops, cur_units, cur_sizes))
    return chunks


class Document:
    """An immutable document (a Delta of inserts); ``apply`` returns a new one sharing chunks."""

    __slots__ = ("_chunks", "_starts", "_length", "_json_size")

    def __init__(self, chunks: list[_Chunk], json_size: int) -> None:
        self._chunks = chunks
        lengths = [chunk.length for chunk in chunks]
        self._starts = [0, *accumulate(lengths)]
        self._length = self._starts[-1]
        self._json_size = json_size

    @classmethod
    def from_delta(cls, ops: list[Op]) -> Document:
        """The document whose content is ``ops`` (inserts only)."""
        canonical = normalize(ops)
        for index, op in enumerate(canonical):
            if "insert" not in op:
                raise InvalidOp(f"op {index}: a document holds only inserts")
        units = [op_length(op) for op in canonical]
        sizes = [op_json_bytes(op) for op in canonical]
        chunks = _build_chunks(canonical, units, sizes)
        return cls(chunks, _total_json(chunks))

    @property
    def length(self) -> int:
        """Length in UTF-16 units."""
        return self._length

    @property
    def json_size_bytes(self) -> int:
        """Exact UTF-8 size of ``to_delta()`` as compact JSON (``ensure_ascii=False``)."""
        return self._json_size

    def to_delta(self) -> list[Op]:
        """The content as a canonical Delta (fresh op dicts; attribute maps are shared)."""
        result: list[Op] = []
        for chunk in self._chunks:
            ops = chunk.ops
            start = 0
            if result and _mergeable(result[-1], ops[0]):
                result[-1] = _merge(result[-1], ops[0])
                start = 1
            result.extend([dict(op) for op in ops[start:]] if start else map(dict, ops))
        return result

    def _chunk_at(self, position: int) -> int:
        """Index of the chunk holding ``position`` (the last chunk for the end)."""
        return min(bisect_right(self._starts, position) - 1, len(self._chunks) - 1)

    def _op_at(self, position: int) -> tuple[Op, int]:
        """The op holding ``position`` (< length) and the offset of ``position`` in it."""
        index = self._chunk_at(position)
        chunk = self._chunks[index]
        offset = position - self._starts[index]
        starts = list(accumulate(chunk.units))
        op_index = bisect_right(starts, offset)
        return chunk.ops[op_index], offset - (starts[op_index - 1] if op_index else 0)

    def splits_surrogate_pair(self, position: int) -> bool:
        """Whether ``position`` falls between the two UTF-16 units of an astral character."""
        if position <= 0 or position >= self._length:
            return False
        op, offset = self._op_at(position)
        text = op["insert"]
        if offset == 0 or text.__class__ is not str or text.isascii():
            return False
        try:
            utf16.split(text, offset)
        except utf16.SplitSurrogate:
            return True
        return False

    def split_cost_bytes(self, position: int) -> int:
        """JSON bytes added by cutting the run at ``position`` in two (0 at a run boundary)."""
        if position <= 0 or position >= self._length:
            return 0
        op, offset = self._op_at(position)
        if offset == 0:
            return 0
        return attrs_framing_bytes(op.get("attributes")) + 1

    def slice(self, start: int, end: int) -> list[Op]:
        """The canonical ops for the UTF-16 range ``[start, end)``."""
        start = max(start, 0)
        end = min(end, self._length)
        result: list[Op] = []
        if start >= end:
            return result
        first = self._chunk_at(start)
        last = self._chunk_at(end - 1)
        ops = [op for chunk in self._chunks[first:last + 1] for op in chunk.ops]
        it = OpIterator(ops)
        skip = start - self._starts[first]
        while skip > 0:
            skip -= it.take(skip)[1]
        left = end - start
        while left > 0:
            piece = it.take(left)
            left -= piece[1]
            push(result, *piece)
        return result

    def apply(self, op: list[Op]) -> Document:
        """The document after ``op``: ``to_delta()`` equals ``compose(old.to_delta(), op)``."""
        groups = self._groups(op)
        if not groups:
            return self
        if not self._chunks:
            return Document.from_delta(compose([], op))
        return _apply_groups(self, groups)

    def _groups(self, op: list[Op]) -> list[list[Any]]:
        """The op's edits grouped by the chunk ranges they touch, with their positions."""
        groups: list[list[Any]] = []  # [first chunk, last chunk, [(position, piece), ...]]
        position = 0
        length = self._length
        last_chunk = len(self._chunks) - 1
        it = OpIterator(op)
        while it.has_next():
            piece = it.take()
            kind, count = piece[0], piece[1]
            if kind == INSERT:
                end = position
            else:
                end = position + count
                if end > length:
                    raise InvalidOp(f"{'delete' if kind == DELETE else 'retain'} {count} at"
                                    f" {position} reaches past the end of the document"
                                    f" (length {length})")
                if kind != DELETE and piece[3] is None:
                    position = end
                    continue
            first = self._chunk_at(max(position - 1, 0)) if last_chunk >= 0 else 0
            last = self._chunk_at(min(end, length - 1)) if last_chunk >= 0 else 0
            if groups and first <= groups[-1][1] + 1:
                # Touching groups are one: each group then has untouched chunks around it.
                groups[-1][1] = max(groups[-1][1], last)
                groups[-1][2].append((position, piece))
            else:
                groups.append([first, last, [(position, piece)]])
            position = end
        return groups


def _total_json(chunks: list[_Chunk]) -> int:
    total = 2 + sum(chunk.json_bytes for chunk in chunks)
    for left, right in zip(chunks, chunks[1:], strict=False):
        total += _junction_bytes(left, right)
    return total


def _concat(chunks: list[_Chunk]) -> tuple[list[Op], list[int], list[int]]:
    """The ops of consecutive chunks as one canonical list, with their lengths and sizes."""
    ops: list[Op] = []
    units: list[int] = []
    sizes: list[int] = []
    for chunk in chunks:
        if ops and _mergeable(ops[-1], chunk.ops[0]):
            merged = _merge(ops[-1], chunk.ops[0])
            ops[-1] = merged
            units[-1] += chunk.units[0]
            sizes[-1] = op_json_bytes(merged)
            ops.extend(chunk.ops[1:])
            units.extend(chunk.units[1:])
            sizes.extend(chunk.sizes[1:])
        else:
            ops.extend(chunk.ops)
            units.extend(chunk.units)
            sizes.extend(chunk.sizes)
    return ops, units, sizes


def _edit(ops: list[Op], units: list[int], sizes: list[int], base: int,
          edits: list[tuple[int, Any]]) -> tuple[list[Op], list[int], list[int]]:
    """Apply ``edits`` (positions in the document) to ops starting at ``base``."""
    starts = [0, *accumulate(units)]
    begin = edits[0][0] - base
    last_position, last_piece = edits[-1]
    end = last_position - base + (0 if last_piece[0] == INSERT else last_piece[1])
    lo = max(bisect_right(starts, begin - 1) - 1, 0)
    hi = min(bisect_right(starts, end), len(ops))
    window_start = starts[lo]
    sub_op: list[Op] = []
    cursor = window_start
    for position, piece in edits:
        relative = position - base
        if relative > cursor:
            push(sub_op, 1, relative - cursor, None, None)
        push(sub_op, *piece)
        cursor = relative if piece[0] == INSERT else relative + piece[1]
    new_window = chop(compose(ops[lo:hi], sub_op))
    return (ops[:lo] + new_window + ops[hi:],
            units[:lo] + [op_length(op) for op in new_window] + units[hi:],
            sizes[:lo] + [op_json_bytes(op) for op in new_window] + sizes[hi:])


def _apply_groups(doc: Document, groups: list[list[Any]]) -> Document:
    old = doc._chunks
    starts = doc._starts
    new_chunks: list[_Chunk] = []
    json_size = doc._json_size
    kept_from = 0  # old chunks from here on are not yet copied
    for group_index, (first, last, edits) in enumerate(groups):
        # Keep one untouched chunk before the next group, so junctions are counted once.
        limit = groups[group_index + 1][0] - 1 if group_index + 1 < len(groups) else len(old)
        ops, units, sizes = _edit(*_concat(old[first:last + 1]), starts[first], edits)
        while sum(units) < _MIN_UNITS and last + 1 < limit:
            last += 1
            ops, units, sizes = _concat_lists((ops, units, sizes), old[last])
        replaced = old[first:last + 1]
        fresh = _build_chunks(ops, units, sizes)
        json_size -= sum(chunk.json_bytes for chunk in replaced)
        json_size += sum(chunk.json_bytes for chunk in fresh)
        json_size -= _junctions(old, first, last)
        new_chunks.extend(old[kept_from:first])
        before = new_chunks[-1] if new_chunks else None
        after = old[last + 1] if last + 1 < len(old) else None
        json_size += _fresh_junctions(before, fresh, after)
        new_chunks.extend(fresh)
        kept_from = last + 1
    new_chunks.extend(old[kept_from:])
    return Document(new_chunks, json_size)


def _concat_lists(lists: tuple[list[Op], list[int], list[int]],
                  chunk: _Chunk) -> tuple[list[Op], list[int], list[int]]:
    return _concat([_Chunk(*lists), chunk])


def _junctions(chunks: list[_Chunk], first: int, last: int) -> int:
    """Junction bytes around and between ``chunks[first..last]``."""
    total = 0
    for index in range(max(first, 1), min(last + 2, len(chunks))):
        total += _junction_bytes(chunks[index - 1], chunks[index])
    return total


def _fresh_junctions(before: _Chunk | None, fresh: list[_Chunk], after: _Chunk | None) -> int:
    sequence = [chunk for chunk in (before, *fresh, after) if chunk is not None]
    return sum(_junction_bytes(left, right)
               for left, right in zip(sequence, sequence[1:], strict=False))
