"""`editor run SERVICE` as real processes on one data directory (one SQLite file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.servers import free_port

SHARED_SECRET = "service-test-secret-service-test-secret"


@dataclass
class ServiceProcess:
    """One `editor run NAME` process on loopback ports."""

    name: str
    data_dir: Path
    http_port: int = field(default_factory=free_port)
    ws_port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    def start(self) -> None:
        """Spawn the process (``wait_ready`` waits for it)."""
        command = [sys.executable, "-m", "editor", "run", self.name, "--host", "127.0.0.1",
                   "--port", str(self.http_port), "--data-dir", str(self.data_dir)]
        if self.ws_port is not None:
            command += ["--ws-port", str(self.ws_port)]
        # The same signing key everywhere, and no key file race between processes.
        env = {**os.environ, "EDITOR_JWT_SECRET": SHARED_SECRET, "EDITOR_LOG_LEVEL": "info"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)

    def wait_ready(self, deadline: float) -> None:
        """Wait until /readyz answers 200."""
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"editor run {self.name} exited:"
                                   f" {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.http_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"editor run {self.name} was not ready in time")

    def terminate(self) -> int:
        """SIGTERM, then the exit code (SIGKILL after 20 s)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9


def start_all(services: list[ServiceProcess]) -> None:
    """Start the processes together, then wait until each is ready (30 s in all)."""
    for service in services:
        service.start()
    deadline = time.monotonic() + 30
    for service in services:
        service.wait_ready(deadline)
