"""Pytest plugin: name a test that has been running for a while, so a slow stretch of the
suite says what it is doing instead of going silent (`-p tests.progress_plugin`).

After ``SLOW_TEST_AFTER_S`` seconds (default 10) a test, its setup or teardown
included, is reported on its own line; when it finishes, its duration follows. Why not
pytest-xdist: several tests restart ``editor serve`` on the same ports and pick free ports
by binding and releasing them, which races between workers, and the machines that run the
suite often have two shared cores.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

SLOW_AFTER_S = float(os.environ.get("SLOW_TEST_AFTER_S", "10"))


class SlowTestReporter:
    """Starts a timer per test; the timer prints the test's id if it is still running."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.started = 0.0
        self.reported = False

    def _write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        stream = reporter._tw if reporter is not None else None  # noqa: SLF001
        try:
            if stream is not None:
                stream.line()
                stream.line(line)
                stream.flush()
            else:
                print(line, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass  # a closed terminal must not fail the run

    def _still_running(self, nodeid: str) -> None:
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        with self.lock:
            self.reported = True
            line = f"    … still running after {SLOW_AFTER_S:.0f} s: {nodeid}"
            if capture is None:
                self._write(line)
                return
            # the test's output is being captured: step around it for one line, as live logging does
            with capture.global_and_fixture_disabled():
                self._write(line)

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """Arm the timer for this test."""
        with self.lock:
            self.started = time.monotonic()
            self.reported = False
            self.timer = threading.Timer(SLOW_AFTER_S, self._still_running, args=(nodeid,))
            self.timer.daemon = True
            self.timer.start()

    @pytest.hookimpl
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        """Disarm it; a test that was reported as slow gets its duration."""
        timer = self.timer
        if timer is not None:
            timer.cancel()
        with self.lock:
            if self.reported:
                self._write(f"    done in {time.monotonic() - self.started:.0f} s: {nodeid}")
            self.reported = False


def pytest_configure(config: pytest.Config) -> None:
    """Register the reporter (SLOW_TEST_AFTER_S=0 turns it off)."""
    if SLOW_AFTER_S > 0:
        config.pluginmanager.register(SlowTestReporter(config), "editor-slow-tests")
