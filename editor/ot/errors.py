"""Errors of the OT core, with the stable machine codes of PROTOCOL.md §3.

    ValueError
     └── InvalidOp        invalid_op   malformed, or inapplicable to the document
          └── TooLarge    too_large    the result would exceed MAX_CONTENT_BYTES of JSON
"""

from __future__ import annotations

__all__ = ["InvalidOp", "TooLarge"]


class InvalidOp(ValueError):
    """An op is malformed or cannot apply to the document; ``str(exc)`` says precisely why."""

    code = "invalid_op"


class TooLarge(InvalidOp):
    """Applying the op would make the document's content larger than allowed."""

    code = "too_large"
