"""A private S3 server for tests: moto's server (PyPI ``moto[server]``) as a subprocess.

It takes about a second to start, so one server serves the whole test session (stopped by
its PID when the session ends) and each test gets a bucket of its own. Tests that stop or
kill the server start a private one (``running_moto``). ``start()`` after ``kill()`` brings a
server back, empty, on the same port.

On CI (``CI=true``) a missing moto is a failure; elsewhere the tests that need it skip.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.servers import free_port, stop_process

READY_WITHIN_S = 30.0
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"
_SESSION_KEY = pytest.StashKey["MotoServer"]()


def unavailable(reason: str) -> None:
    """Fail on CI, skip elsewhere: CI must never silently skip the S3 tests."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"an S3 server is required on CI: {reason}", pytrace=False)
    pytest.skip(f"S3 tests skipped: {reason}")


def fresh_bucket() -> str:
    """A bucket name no other test uses."""
    return f"test-{uuid.uuid4().hex[:16]}"


@dataclass
class MotoServer:
    """moto's S3 on 127.0.0.1:``port``, memory only."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The ``EDITOR_S3_ENDPOINT`` of this server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it answers HTTP."""
        if importlib.util.find_spec("moto.server") is None:
            unavailable("moto is not installed (pip install 'moto[server]')")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                unavailable(f"moto's server exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto did not answer on {self.endpoint} in {READY_WITHIN_S} s")

    def kill(self) -> None:
        """SIGKILL by PID, as a crash; every bucket is gone."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server by its PID (SIGKILL if ``sig`` is not enough within 10 s)."""
        stop_process(self.process, sig)
        self.process = None


def session_moto(session: pytest.Session) -> MotoServer:
    """The session's shared server, started on first use and stopped with the session."""
    server = session.stash.get(_SESSION_KEY, None)
    if server is None:
        server = MotoServer()
        server.start()
        session.stash[_SESSION_KEY] = server
        session.addfinalizer(server.stop)
    return server


@contextmanager
def running_moto() -> Iterator[MotoServer]:
    """A private server for one test (to stop or kill), stopped at its end."""
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
