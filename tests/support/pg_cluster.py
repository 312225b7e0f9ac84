"""A private PostgreSQL cluster for the HA tests: a primary and two streaming replicas.

Built from INFRA.md's commands: ``initdb --no-sync`` for ``node1``, ``pg_basebackup -R`` for
``node2`` and ``node3``, ``synchronous_standby_names = 'ANY 1 (node2, node3)'`` on the
primary, so a commit is acknowledged only once a replica has it (RPO 0). Each node's
``cluster_name`` is its name: the walreceiver reports it as ``application_name``, which is
how the failover worker names standbys. Every server runs on a free loopback port, as the
``postgres`` user when the tests run as root, and is stopped by its PID.

``fsync`` is off (a killed process loses nothing the OS holds; the machine does not crash
in tests) but ``full_page_writes`` stays on: ``pg_rewind`` needs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.postgres import SERVER_USER, _bindir, unavailable
from tests.support.servers import free_port

DATABASE = "editor"


def run_as_server_user(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool, as ``postgres`` when we are root (it refuses root)."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", SERVER_USER, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                          **kwargs)  # type: ignore[call-overload, no-any-return]


def give_to_server_user(path: Path) -> None:
    """Make ``path`` (a directory) the server user's, mode 0700."""
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVER_USER)
        os.chown(path, owner.pw_uid, owner.pw_gid)
    path.chmod(0o700)


@dataclass
class Node:
    """One PostgreSQL server of the cluster."""

    name: str
    bindir: Path
    base_dir: Path
    port: int = field(default_factory=free_port)
    pid: int | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / self.name

    @property
    def log_path(self) -> Path:
        return self.base_dir / f"{self.name}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_as_server_user([str(self.bindir / name), *args])

    def start(self) -> None:
        """``pg_ctl start -w``; remembers the postmaster's PID."""
        done = self.tool("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w",
                         "-t", "60", "start")
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: pg_ctl start failed: {done.stdout}{done.stderr}"
                               f"{self.log_path.read_text() if self.log_path.exists() else ''}")
        self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster, then its children (they hold the port otherwise)."""
        if self.pid is None:
            return
        children = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True,
                                  text=True, check=False).stdout.split()
        for pid in [self.pid, *map(int, children)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._wait_gone(self.pid)
        for pid in map(int, children):
            self._wait_gone(pid)
        self.pid = None

    def stop(self) -> None:
        """Immediate shutdown by PID (SIGQUIT), SIGKILL if it lingers."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGQUIT)
        except ProcessLookupError:
            pass
        if not self._wait_gone(self.pid, 15):
            self.kill()
        self.pid = None

    @staticmethod
    def _wait_gone(pid: int, seconds: float = 10) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.01)
        return False

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL (one statement per ``-c``: ALTER SYSTEM refuses a transaction)."""
        done = self.tool("psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                         "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atq",
                         *[arg for statement in sql.split(";;") for arg in ("-c", statement)])
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} psql {sql!r}: {done.stderr}")
        return done.stdout.strip()

    def configure(self, **settings: str) -> None:
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())


@dataclass
class PgCluster:
    """``node1`` (primary at start) and the replicas ``node2``, ``node3``."""

    nodes: list[Node]
    base_dir: Path

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def url(self, database: str = DATABASE, order: list[str] | None = None) -> str:
        """The multi-host URL services use (``target_session_attrs=read-write``)."""
        names = order or [node.name for node in self.nodes]
        hosts = ",".join(self.node(name).address for name in names)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def primaries(self) -> list[str]:
        """The names of running nodes that are not in recovery and not fenced read-only."""
        found = []
        for node in self.nodes:
            if node.pid is None:
                continue
            try:
                state = node.psql("SELECT pg_is_in_recovery(),"
                                  " current_setting('default_transaction_read_only')")
            except RuntimeError:
                continue
            if state == "f|off":
                found.append(node.name)
        return found

    def wait_streaming(self, primary: str, standbys: list[str], seconds: float = 30) -> None:
        """Until every one of ``standbys`` streams from ``primary``."""
        deadline = time.monotonic() + seconds
        names = ""
        while time.monotonic() < deadline:
            names = self.node(primary).psql(
                "SELECT string_agg(application_name, ',' ORDER BY application_name)"
                " FROM pg_stat_replication WHERE state = 'streaming'")
            if set(standbys) <= set(names.split(",")):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{standbys} not streaming from {primary} (only {names!r})")

    def stop(self) -> None:
        """Immediate shutdown of every node at once (each takes ≈ 2 s), then remove the files."""
        running = [node for node in self.nodes if node.pid is not None]
        for node in running:
            try:
                os.kill(node.pid, signal.SIGQUIT)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass
        for node in running:
            node.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_cluster(*, archive_command: str = "") -> PgCluster:
    """Start a primary and two synchronous replicas with a migrated ``editor`` database."""
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_basebackup").is_file():
        unavailable("no initdb/pg_ctl/pg_basebackup found (install postgresql)")
        raise AssertionError("unreachable")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            unavailable(f"running as root and there is no {SERVER_USER!r} user")
    base_dir = Path(tempfile.mkdtemp(prefix="editor-ha-"))
    give_to_server_user(base_dir)
    cluster = PgCluster([Node(name, bindir, base_dir) for name in ("node1", "node2", "node3")],
                        base_dir)
    try:
        _build(cluster, archive_command)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _build(cluster: PgCluster, archive_command: str) -> None:
    primary, *replicas = cluster.nodes
    done = primary.tool("initdb", "-D", str(primary.data_dir), "-U", "postgres",
                        "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8")
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
    with open(primary.data_dir / "pg_hba.conf", "a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    primary.configure(
        listen_addresses="'127.0.0.1'", unix_socket_directories=f"'{cluster.base_dir}'",
        wal_level="replica", max_wal_senders="10", hot_standby="on", wal_log_hints="on",
        wal_keep_size="'256MB'", max_connections="100", shared_buffers="'32MB'",
        fsync="off", wal_receiver_status_interval="'1s'", wal_retrieve_retry_interval="'200ms'",
        archive_mode="on" if archive_command else "off",
        archive_command=f"'{archive_command}'" if archive_command else "''",
        archive_timeout="0")
    primary.configure(port=str(primary.port), cluster_name=f"'{primary.name}'")
    primary.start()
    primary.psql(f"CREATE DATABASE {DATABASE}")
    _migrate(primary)
    for replica in replicas:
        done = replica.tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                            "-U", "postgres", "-D", str(replica.data_dir), "-R", "-X", "stream",
                            "-c", "fast")
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {done.stdout}{done.stderr}")
        replica.configure(port=str(replica.port), cluster_name=f"'{replica.name}'")
        replica.start()
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (node2, node3)';;"
                 "SELECT pg_reload_conf()")
    cluster.wait_streaming(primary.name, [r.name for r in replicas])


def _migrate(node: Node) -> None:
    import trio

    from editor.store.postgres import opened_postgres_store

    async def migrate() -> None:
        async with opened_postgres_store(
                f"postgresql://postgres@{node.address}/{DATABASE}"):
            pass

    trio.run(migrate)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A fresh three-node cluster for the test module (≈ 5 s to build)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@dataclass
class FailoverWorker:
    """An `editor run failover` process on a cluster, stopped by its PID."""

    url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "failover.log"

    def start(self) -> None:
        """Start it and wait until its first check has run (/readyz)."""
        import sys

        import httpx

        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "EDITOR_DATABASE_URL": self.url, "EDITOR_LOG_LEVEL": "info",
               **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "editor", "run", "failover", "--host", "127.0.0.1",
                 "--port", str(self.http_port), "--data-dir", str(self.data_dir)],
                stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"editor run failover exited: {self.log()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.http_port}/readyz",
                             timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"editor run failover not ready in 30 s: {self.log()[-3000:]}")

    def metrics(self) -> str:
        import httpx

        return httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5).text

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> int:
        """SIGTERM by PID; its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
