"""A long-lived node process running quill-delta 5.1.0 (``js/harness.js``) for the tests.

Requests stream as JSON lines from a writer thread while answers are read back, so thousands
of cases cost one process start. ``npm ci`` runs first if ``js/node_modules`` is missing.
Without node or npm the tests are skipped, except on CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

JS_DIR = pathlib.Path(__file__).parent / "js"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"quill-delta differential test cannot run on CI: {reason}")
    pytest.skip(reason)


class Quill:
    """Calls quill-delta: ``call([(fn, args), ...])`` returns the answers in order."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def call(self, requests: Iterable[tuple[str, list[Any]]]) -> list[Any]:
        """Each answer is ``{"result": ...}`` or ``{"error": message}``."""
        lines = [json.dumps({"fn": fn, "args": args}) + "\n" for fn, args in requests]
        assert self._process.stdin is not None and self._process.stdout is not None

        def write() -> None:
            assert self._process.stdin is not None
            for line in lines:
                self._process.stdin.write(line)
            self._process.stdin.flush()

        writer = threading.Thread(target=write)
        writer.start()
        answers = []
        for _ in lines:
            line = self._process.stdout.readline()
            assert line, "the quill-delta harness stopped"
            answers.append(json.loads(line))
        writer.join()
        return answers


def start_quill() -> Iterator[Quill]:
    """Install quill-delta if needed, then run the harness for the whole session."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are needed to compare with quill-delta")
    assert node is not None and npm is not None
    if not (JS_DIR / "node_modules" / "quill-delta").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=JS_DIR, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            _unavailable(f"npm ci failed: {done.stderr.strip()[-2000:]}")
    process = subprocess.Popen([node, "harness.js"], cwd=JS_DIR, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        quill = Quill(process)
        version = json.loads((JS_DIR / "node_modules" / "quill-delta" / "package.json")
                             .read_text())["version"]
        assert version == "5.1.0", f"quill-delta {version} is installed, not 5.1.0"
        yield quill
    finally:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        process.wait(timeout=10)
        process.stdout.close()
