"""Attribute maps (quill-delta ``AttributeMap``) and JavaScript-faithful value equality.

An attribute map is a dict or ``None`` (no attributes; an empty dict is treated as ``None``).
A value of ``None`` (JSON ``null``) in a retain removes that attribute.

JavaScript equality differs from Python's: ``true == 1`` in Python but not in lodash
``isEqual`` nor under ``===``. ``deep_equal`` is lodash ``isEqual`` on JSON values;
``strict_equal`` is ``===`` (objects compare by identity).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Attrs", "compose", "deep_equal", "diff", "invert", "strict_equal", "transform"]

Attrs = dict[str, Any] | None


def deep_equal(a: Any, b: Any) -> bool:
    """lodash ``isEqual`` on JSON values: like ``==`` but a bool never equals a number."""
    if a is b:
        return True
    if a != b:
        # Python == is never stricter than isEqual on JSON values.
        return False
    return _same_kinds(a, b)


def _same_kinds(a: Any, b: Any) -> bool:
    if (a.__class__ is bool) is not (b.__class__ is bool):
        return False
    if isinstance(a, dict):
        return all(_same_kinds(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return all(_same_kinds(x, y) for x, y in zip(a, b, strict=True))
    return True


def strict_equal(a: Any, b: Any) -> bool:
    """JavaScript ``===``: objects and arrays by identity, primitives by value and type."""
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return a == b and (a.__class__ is bool) is (b.__class__ is bool)


def attrs_equal(a: Attrs, b: Attrs) -> bool:
    """Whether two attribute maps are equal (``None`` and ``{}`` both mean none)."""
    if not a:
        return not b
    if not b:
        return False
    return deep_equal(a, b)


def compose(a: Attrs, b: Attrs, keep_null: bool) -> Attrs:
    """``AttributeMap.compose``: ``b`` over ``a``; nulls of ``b`` kept only if ``keep_null``."""
    if not a:
        if not b:
            return None
        if keep_null:
            return b
        result = {key: value for key, value in b.items() if value is not None}
        return result or None
    if not b:
        return a
    if keep_null:
        result = dict(b)
    else:
        result = {key: value for key, value in b.items() if value is not None}
    for key, value in a.items():
        if key not in b:
            result[key] = value
    return result or None


def diff(a: Attrs, b: Attrs) -> Attrs:
    """``AttributeMap.diff``: what to apply to ``a`` to get ``b`` (removed keys become null)."""
    a = a or {}
    b = b or {}
    result: dict[str, Any] = {}
    for key in (*a, *b):
        if key in result:
            continue
        if key not in b:
            result[key] = None
        elif key not in a or not deep_equal(a[key], b[key]):
            result[key] = b[key]
    return result or None


def invert(attr: Attrs, base: Attrs) -> Attrs:
    """``AttributeMap.invert``: the attributes that undo ``attr`` applied over ``base``."""
    attr = attr or {}
    base = base or {}
    result = {key: value for key, value in base.items()
              if key in attr and not strict_equal(value, attr[key])}
    for key in attr:
        if key not in base:
            result[key] = None
    return result or None


def transform(a: Attrs, b: Attrs, priority: bool) -> Attrs:
    """``AttributeMap.transform``: ``b`` as seen after ``a``; with priority ``a`` wins clashes."""
    if not a or not b or not priority:
        return b or None
    result = {key: value for key, value in b.items() if key not in a}
    return result or None
