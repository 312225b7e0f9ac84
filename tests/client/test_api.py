"""The SDK's public surface and import hygiene."""

from __future__ import annotations

import ast
from pathlib import Path

import editor.client

CLIENT_DIR = Path(editor.client.__file__).parent


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(editor.client) if not name.startswith("_")}
    modules = {path.stem for path in CLIENT_DIR.glob("*.py")}
    assert set(editor.client.__all__) == public - modules
    for name in editor.client.__all__:
        assert getattr(editor.client, name) is not None


def test_no_module_imports_asyncio() -> None:
    for path in CLIENT_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "asyncio" for name in names), path


def test_the_state_machines_do_no_io() -> None:
    pure = ["protocol", "state", "cursors", "machine", "backoff", "events", "errors"]
    for stem in pure:
        tree = ast.parse((CLIENT_DIR / f"{stem}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                root = (module or "").split(".")[0]
                assert root not in {"trio", "trio_websocket", "httpx", "socket"}, (stem, module)
