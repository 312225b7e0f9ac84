"""The OT core: quill-delta 5.1's algebra on JSON Deltas, in pure Python (no I/O, no trio).

Every length and index is in UTF-16 code units, as in JavaScript. See docs/ot.md.
"""

from editor.ot.algebra import apply, compose, diff, invert, transform, transform_position
from editor.ot.document import Document
from editor.ot.errors import InvalidOp, TooLarge
from editor.ot.ops import length, normalize
from editor.ot.sizes import MAX_CONTENT_BYTES
from editor.ot.validate import check_shape, validate

__all__ = [
    "MAX_CONTENT_BYTES",
    "Document",
    "InvalidOp",
    "TooLarge",
    "apply",
    "check_shape",
    "compose",
    "diff",
    "invert",
    "length",
    "normalize",
    "transform",
    "transform_position",
    "validate",
]
