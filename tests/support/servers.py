"""Running the editor for tests: in-process (fast) or as a real `editor serve` subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def stop_process(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started, by its PID, with ``sig`` (SIGKILL after 10 s), and reap it."""
    if process is None or process.poll() is not None:
        return
    os.kill(process.pid, sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """An `editor serve` process on fixed loopback ports and a data directory."""

    data_dir: Path
    http_port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def start(self) -> None:
        """Start the process and wait until /readyz answers."""
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        env = {**os.environ, **self.env}
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "editor", "serve", "--host", "127.0.0.1",
                 "--port", str(self.http_port), "--ws-port", str(self.ws_port),
                 "--data-dir", str(self.data_dir)],
                stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"editor serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.http_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("editor serve did not become ready in 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the process with ``sig`` and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        """Stop and start again on the same ports and data directory."""
        self.stop()
        self.start()
