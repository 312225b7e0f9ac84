"""PostgreSQL's own client tools (psql, pg_dump, pg_restore, pg_rewind, pg_ctl…) as processes.

The failover worker and the backup commands speak to PostgreSQL through libpq's tools rather
than a driver: they need them anyway (pg_rewind, pg_dump), each call is one short process
(a check every few seconds), and passwords travel in ``PGPASSWORD``, never in argv.
Server-side tools (pg_ctl, pg_rewind) refuse to run as root: as root they run as the owner
of the data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from editor.config_values import ConfigError

FIELD_SEPARATOR = "\x1f"  # psql -F: a character no value we read contains
_SERVER_TOOLS = ("pg_ctl", "pg_rewind", "postgres", "initdb")


class ToolFailed(Exception):
    """A tool exited with an error (its stderr is the message), or could not connect."""


def find_bindir(configured: str = "") -> Path:
    """Where the tools live: ``EDITOR_POSTGRES_BINDIR``, ``pg_config --bindir``, Debian's
    layout, then ``PATH``; ``ConfigError`` when psql is nowhere."""
    candidates = [Path(configured)] if configured else []
    pg_config = shutil.which("pg_config")
    if pg_config and not configured:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 check=True, timeout=10).stdout.strip()
            candidates.append(Path(out))
        except (subprocess.SubprocessError, OSError):
            pass
    if not configured:
        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        psql = shutil.which("psql")
        if psql:
            candidates.append(Path(psql).parent)
    for bindir in candidates:
        if (bindir / "psql").is_file():
            return bindir
    raise ConfigError("the PostgreSQL client tools (psql, pg_dump…) are not installed;"
                      " set EDITOR_POSTGRES_BINDIR to their folder")


@dataclass(frozen=True)
class Tools:
    """The tools of one ``bindir``, run with one password."""

    bindir: Path
    password: str = ""

    def _env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PGPASSWORD", None)
        if self.password:
            env["PGPASSWORD"] = self.password
        env.update(extra or {})
        return env

    def argv(self, tool: str, args: Sequence[str], data_dir: Path | None = None) -> list[str]:
        """The command line; server tools run as the data directory's owner under root."""
        command = [str(self.bindir / tool), *args]
        if tool in _SERVER_TOOLS and data_dir is not None and os.geteuid() == 0:
            owner = pwd.getpwuid(_owner_uid(data_dir)).pw_name
            if owner != "root":
                command = ["runuser", "-u", owner, "--", *command]
        return command

    async def run(self, tool: str, *args: str, data_dir: Path | None = None,
                  stdin: bytes = b"", env: Mapping[str, str] | None = None) -> bytes:
        """Run a tool to its end; its stdout, or ``ToolFailed`` with its stderr."""
        done = await trio.run_process(self.argv(tool, args, data_dir), stdin=stdin,
                                      capture_stdout=True, capture_stderr=True, check=False,
                                      env=self._env(env))
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            raise ToolFailed(f"{tool}: {message}")
        return bytes(done.stdout)

    async def query(self, conninfo: str, *statements: str) -> list[list[str]]:
        """Run statements (each its own ``-c``: ALTER SYSTEM refuses a transaction block);
        the rows of the last, as lists of text (NULL is "")."""
        args = ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-F", FIELD_SEPARATOR]
        for statement in statements:
            args += ["-c", statement]
        out = await self.run("psql", *args, "-d", conninfo)
        return [line.split(FIELD_SEPARATOR) for line in out.decode().splitlines() if line]


def _owner_uid(data_dir: Path) -> int:
    path = data_dir
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.stat().st_uid


def sql_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
