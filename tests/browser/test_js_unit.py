"""The page's pure JavaScript (OT client, session machine, cursors, backoff) under `node --test`."""

from __future__ import annotations

import shutil
import subprocess

from tests.browser.conftest import WEB


def test_javascript_unit_tests_pass(built_page: object) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed for the web page's unit tests"
    tests = sorted(str(path) for path in (WEB / "test").glob("*.test.mjs"))
    assert tests, "no JavaScript tests found"
    result = subprocess.run([node, "--test", "--test-timeout=60000", *tests], cwd=WEB,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
