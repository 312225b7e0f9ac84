"""Import rules for ``editor``: no import cycles, and asyncio only in adapter modules.

Every import counts, also those inside functions and ``if TYPE_CHECKING:`` blocks: a lazy
import is where a cycle hides (house rule 6 for asyncio).
"""

from __future__ import annotations

import ast
import pathlib

import editor

ROOT = pathlib.Path(editor.__file__).parent
# Modules that may touch asyncio libraries, through trio-asyncio (house rule 6).
ASYNCIO_ADAPTERS = (
    "editor.aio", "editor.store.postgres", "editor.bus.redis", "editor.events.kafka")
ASYNCIO_MODULES = ("asyncio", "asyncpg", "trio_asyncio", "aiokafka", "redis.asyncio")


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imported(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """Every module ``name`` imports, absolute. ``from a import b`` imports the module
    ``a.b`` if there is one, else takes ``b`` from (and so depends on) ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                dotted = f"{base}.{alias.name}"
                found.add(dotted if dotted in modules else base)
                if base not in modules:
                    found.add(dotted)  # from redis import asyncio
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {target for target in _imported(name, path, modules)
                   if target in modules and target != name}
            for name, path in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_lazy_and_from_imports() -> None:
    graph = _graph()
    assert len(graph) >= 50
    assert "editor.net.plumbing" in graph["editor.net.routes_docs"]
    assert "editor.ot" in graph["editor.net.routes_docs"]  # from editor import ot
    assert "editor" not in graph["editor.net.routes_docs"]
    assert "editor.config_values" in graph["editor.auth.mail"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_editor_has_no_import_cycle() -> None:
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_config_imports_nothing_from_auth() -> None:
    assert not {m for m in _graph()["editor.config"] if m.startswith("editor.auth")}


def test_only_adapter_modules_import_asyncio() -> None:
    modules = _modules()
    for name, path in modules.items():
        if name.startswith(ASYNCIO_ADAPTERS):
            continue
        imported = _imported(name, path, modules)
        bad = {m for m in imported for a in ASYNCIO_MODULES if m == a or m.startswith(a + ".")}
        assert not bad, f"{name} imports {', '.join(sorted(bad))}; only {ASYNCIO_ADAPTERS} may"
