"""``editor.ot`` is pure: it imports only a few standard modules and itself (house rule 7)."""

from __future__ import annotations

import ast
import pathlib

import editor.ot

ALLOWED = {"__future__", "bisect", "itertools", "json", "math", "re", "typing"}
OT_DIR = pathlib.Path(editor.ot.__file__).parent


def _imports(path: pathlib.Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.add(node.module or "")
    return names


def test_ot_imports_only_pure_modules() -> None:
    files = sorted(OT_DIR.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        for name in _imports(path):
            if name == "editor.ot" or name.startswith("editor.ot."):
                continue
            assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"


def test_all_is_exported() -> None:
    expected = {"compose", "transform", "transform_position", "invert", "diff", "normalize",
                "length", "apply", "validate", "check_shape", "InvalidOp", "TooLarge",
                "Document", "MAX_CONTENT_BYTES"}
    assert set(editor.ot.__all__) == expected
    for name in expected:
        assert getattr(editor.ot, name) is not None
    assert editor.ot.MAX_CONTENT_BYTES == 5 * 1024 * 1024
    assert issubclass(editor.ot.TooLarge, editor.ot.InvalidOp)
    assert issubclass(editor.ot.InvalidOp, ValueError)
    assert (editor.ot.InvalidOp.code, editor.ot.TooLarge.code) == ("invalid_op", "too_large")
