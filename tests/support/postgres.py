"""A private PostgreSQL server for the test session, and a fresh database per test.

``initdb --no-sync`` once per session (≈1 s) in a temporary directory owned by the
``postgres`` user, on a free loopback port, stopped by its PID at the end; the machine's own
PostgreSQL (port 5432) is never touched. The schema is migrated once into a template
database; each test gets ``CREATE DATABASE … TEMPLATE`` (≈0.04 s).

On CI (``CI=true``) a missing PostgreSQL is a failure; elsewhere the tests that need it skip.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

from tests.support.servers import free_port

TEMPLATE_DB = "editor_template"
SERVER_USER = "postgres"  # PostgreSQL refuses to run as root


def _bindir() -> Path | None:
    """Where initdb and pg_ctl live: ``pg_config --bindir``, then Debian's layout, then PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 check=True, timeout=10).stdout.strip()
            candidates.append(Path(out))
        except (subprocess.SubprocessError, OSError):
            pass
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "psql")):
            return bindir
    return None


def unavailable(reason: str) -> None:
    """Fail on CI, skip elsewhere: CI must never silently skip the PostgreSQL tests."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required on CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@dataclass
class PostgresServer:
    """A private PostgreSQL server on 127.0.0.1:``port``, data in ``base_dir``."""

    bindir: Path
    base_dir: Path
    port: int = field(default_factory=free_port)
    durable: bool = False  # fsync and synchronous_commit on, as in production (benchmarks)
    pid: int | None = None
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _maker: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="createdb"))
    _next: Future[str] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def url(self, database: str) -> str:
        """The URL of one of the server's databases."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    def start(self) -> None:
        """initdb, configure for tests, start and wait until it accepts connections."""
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(self.base_dir, owner.pw_uid, owner.pw_gid)
        self.base_dir.chmod(0o700)
        done = self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                         "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base_dir}'",
            "max_connections": "200",
            "shared_buffers": "32MB",
        }
        if not self.durable:  # tests need no durability, only speed
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        done = self._run("pg_ctl", "-D", str(self.data_dir), "-l",
                         str(self.base_dir / "server.log"), "-w", "-t", "30", "start")
        if done.returncode != 0:
            log = (self.base_dir / "server.log")
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}"
                               f"{log.read_text() if log.exists() else ''}")
        self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Stop the server by its PID, then remove its files.

        Immediate shutdown (SIGQUIT): the data is thrown away, so no shutdown checkpoint.
        """
        self._maker.shutdown(wait=True, cancel_futures=True)
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGQUIT)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    os.kill(self.pid, 0)
                    time.sleep(0.02)
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql; its output."""
        done = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-Atqc", sql)
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {done.stderr}")
        return done.stdout

    def create_template(self) -> None:
        """Create the template database and apply the migrations to it (once)."""
        from editor.store.postgres import opened_postgres_store

        self.psql(f"CREATE DATABASE {TEMPLATE_DB}")

        async def migrate() -> None:
            async with opened_postgres_store(self.url(TEMPLATE_DB)):
                pass

        trio.run(migrate)

    def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database cloned from the migrated template (or an empty one without the
        schema); its URL. Blocking: call it outside Trio or from a thread.

        CREATE DATABASE costs ≈0.25 s of wall time here, so the next migrated database is
        made in the background while the test runs.
        """
        if not migrated:
            return self._create("template0")
        ready = self._next
        self._next = self._maker.submit(self._create, TEMPLATE_DB)
        return ready.result() if ready is not None else self._create(TEMPLATE_DB)

    def _create(self, template: str) -> str:
        name = f"test_{next(self._names)}"
        for attempt in itertools.count():
            try:
                self.psql(f"CREATE DATABASE {name} TEMPLATE {template}")
                return self.url(name)
            except RuntimeError as exc:
                # The template's last session may still be ending right after migration.
                if "being accessed by other users" not in str(exc) or attempt >= 50:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")


def start_session_server(*, durable: bool = False) -> PostgresServer:
    """Start the session's server with its template, or skip/fail when impossible."""
    bindir = _bindir()
    if bindir is None:
        unavailable("no initdb/pg_ctl/psql found (install postgresql)")
        raise AssertionError("unreachable")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            unavailable(f"running as root and there is no {SERVER_USER!r} user")
    server = PostgresServer(bindir, Path(tempfile.mkdtemp(prefix="editor-pg-")),
                            durable=durable)
    try:
        server.start()
        server.create_template()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the session, with a migrated template database."""
    server = start_session_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh database with the schema, on the session's server."""
    return postgres_server.new_database()
