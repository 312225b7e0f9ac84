"""Private ``redis-server`` processes for tests: one node per test, one 6-node cluster per session.

Each server runs on a free loopback port with no persistence, and is stopped by its PID. A
single node starts in milliseconds, so each test that needs one gets its own; the cluster
(3 masters, 3 replicas) takes about a second and is shared by the session, emptied with
FLUSHALL on every master before each test.

On CI (``CI=true``) a missing ``redis-server`` is a failure; elsewhere the tests that need it
skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.support.servers import free_port

CLUSTER_NODES = 6
START_TIMEOUT_S = 10.0
CLUSTER_TIMEOUT_S = 30.0
_CLUSTER_KEY = pytest.StashKey["RedisClusterServers"]()


def unavailable(reason: str) -> None:
    """Fail on CI, skip elsewhere: CI must never silently skip the Redis tests."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"Redis is required on CI: {reason}", pytrace=False)
    pytest.skip(f"Redis tests skipped: {reason}")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"no {name} on PATH (install redis-server)")
        raise AssertionError("unreachable")
    return path


@dataclass
class RedisServer:
    """A private ``redis-server`` on 127.0.0.1:``port``, its files in ``base_dir``."""

    base_dir: Path
    port: int = field(default_factory=free_port)
    cluster: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://`` URL of the server's database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A blocking client, for set-up and inspection."""
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        """Start the server (again, on the same port) and wait until it answers PING."""
        argv = [_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.base_dir), "--logfile", "redis.log"]
        if self.cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0"]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        with self.client() as client:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server on {self.port} did not start:"
                                           f" {self._log_tail()}") from None
                    time.sleep(0.005)

    def kill(self) -> None:
        """SIGKILL the server by its PID and reap it (the port is free again)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        """Kill the server and remove its files."""
        self.kill()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _log_tail(self) -> str:
        log = self.base_dir / "redis.log"
        return log.read_text()[-2000:] if log.exists() else "(no log)"


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is a port too, and free right now."""
    while True:
        port = free_port()
        if port + 10_000 < 65_536:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10_000))
                except OSError:
                    continue
            return port


def start_server(*, cluster: bool = False) -> RedisServer:
    """A started single server in a fresh temporary directory."""
    server = RedisServer(Path(tempfile.mkdtemp(prefix="editor-redis-")), cluster=cluster,
                         **({"port": _cluster_port()} if cluster else {}))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class RedisClusterServers:
    """Six cluster-enabled servers joined as 3 masters with a replica each."""

    servers: list[RedisServer]

    @property
    def url(self) -> str:
        """``redis-cluster://`` URL naming two of the nodes as seeds."""
        return "redis-cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers[:2])

    def create(self) -> None:
        """Join the servers into a cluster and wait until it is fully usable."""
        done = subprocess.run(
            [_binary("redis-cli"), "--cluster", "create",
             *(f"127.0.0.1:{s.port}" for s in self.servers),
             "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True, text=True, timeout=CLUSTER_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")
        self.wait_ready()

    def wait_ready(self) -> None:
        """Until every node says cluster_state:ok and every replica's link is up."""
        deadline = time.monotonic() + CLUSTER_TIMEOUT_S
        while not self._ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis cluster did not become ready")
            time.sleep(0.05)

    def _ready(self) -> bool:
        masters = 0
        for server in self.servers:
            with server.client() as client:
                if client.cluster("INFO").get("cluster_state") != "ok":
                    return False
                replication = client.info("replication")
                if replication["role"] == "master":
                    masters += 1
                elif replication.get("master_link_status") != "up":
                    return False
        return masters == CLUSTER_NODES // 2

    def masters(self) -> list[RedisServer]:
        """The servers that are masters now."""
        found = []
        for server in self.servers:
            with server.client() as client:
                if client.info("replication")["role"] == "master":
                    found.append(server)
        return found

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for server in self.masters():
            with server.client() as client:
                client.flushall()

    def stop(self) -> None:
        """Kill every server and remove their files."""
        for server in self.servers:
            server.stop()


def session_cluster(config: pytest.Config) -> RedisClusterServers:
    """The session's cluster, started on first use and stopped when the session ends."""
    if _CLUSTER_KEY in config.stash:
        return config.stash[_CLUSTER_KEY]
    _binary("redis-cli")
    servers: list[RedisServer] = []
    cluster = RedisClusterServers(servers)
    config.add_cleanup(cluster.stop)
    for _ in range(CLUSTER_NODES):
        servers.append(start_server(cluster=True))
    cluster.create()
    config.stash[_CLUSTER_KEY] = cluster
    return cluster


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private single Redis server for one test."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_cluster(request: pytest.FixtureRequest) -> RedisClusterServers:
    """The session's 6-node cluster, emptied for the test."""
    cluster = session_cluster(request.config)
    cluster.wait_ready()
    cluster.flush()
    return cluster
