"""`editor failover rejoin`: turn an old primary into a standby of the new one (pg_rewind).

Run on the old primary's machine, with its data directory, as root or its owner. It finds
the primary among the nodes of ``EDITOR_DATABASE_URL`` (the writable node on the newest
timeline), stops the local server if it runs, rewinds the data directory onto the primary
(``pg_rewind`` undoes whatever the old primary wrote after the fork), keeps the node's own
``postgresql.conf`` (pg_rewind copies the source's: port, cluster_name…), drops the fence
and primary-only settings from ``postgresql.auto.conf``, points ``primary_conninfo`` at the
primary and writes ``standby.signal``. With ``start`` it starts the server; the failover
worker then adds it to the primary's synchronous standbys once it streams.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import trio

from editor import logs
from editor.failover.cluster import Cluster, quote_conninfo
from editor.failover.decide import lsn_text
from editor.failover.observe import NodeState, observe_all
from editor.failover.tools import ToolFailed, Tools

log = logs.get(__name__)
_DROPPED = ("primary_conninfo", "primary_slot_name", "synchronous_standby_names",
            "default_transaction_read_only", "restore_command", "recovery_target_time",
            "recovery_target_action")


class RejoinFailed(Exception):
    """The node could not be rejoined (the message says why and what to do)."""


@dataclass(frozen=True)
class Rejoined:
    """What ``rejoin`` did."""

    primary: str
    rewind_output: str
    started: bool


async def find_primary(tools: Tools, cluster: Cluster) -> NodeState:
    """The writable node on the newest timeline; ``RejoinFailed`` when none answers."""
    states = await observe_all(tools, cluster, 5.0)
    writable = [s for s in states.values() if s.writable]
    if not writable:
        raise RejoinFailed("no node of EDITOR_DATABASE_URL answers as a writable primary: "
                           + "; ".join(f"{n}: {s.error or 'read-only or standby'}"
                                       for n, s in states.items()))
    return max(writable, key=lambda s: (s.timeline, s.lsn))


def standby_conninfo(cluster: Cluster, primary: NodeState) -> str:
    """primary_conninfo of a standby of ``primary`` (with the password when the URL has one:
    the walreceiver needs it, as pg_basebackup -R would write it)."""
    values = {"host": primary.node.host, "port": str(primary.node.port), "user": cluster.user}
    if cluster.password:
        values["password"] = cluster.password
    return " ".join(f"{k}={quote_conninfo(v)}" for k, v in values.items())


async def rejoin(tools: Tools, cluster: Cluster, pgdata: Path, *, start: bool = False,
                 log_file: Path | None = None) -> Rejoined:
    """Rewind ``pgdata`` onto the current primary and make it a standby of it."""
    if not (pgdata / "PG_VERSION").is_file():
        raise RejoinFailed(f"{pgdata} is not a PostgreSQL data directory")
    primary = await find_primary(tools, cluster)
    log.warning("rejoining", extra={"pgdata": str(pgdata), "primary": primary.node.name,
                                    "primary_lsn": lsn_text(primary.lsn)})
    status = await trio.run_process(tools.argv("pg_ctl", ["status", "-D", str(pgdata)], pgdata),
                                    capture_stdout=True, capture_stderr=True, check=False)
    if status.returncode == 0:  # running: stop it first (pg_rewind needs it down)
        await _tool(tools, "pg_ctl", "stop", "-D", str(pgdata), "-m", "fast", "-w",
                    data_dir=pgdata)
    own_conf = await trio.to_thread.run_sync((pgdata / "postgresql.conf").read_bytes)
    source = cluster.conninfo(primary.node, "postgres")
    output = await _tool(tools, "pg_rewind", "-D", str(pgdata), "--source-server", source,
                         data_dir=pgdata)
    await trio.to_thread.run_sync(_make_standby, pgdata, own_conf,
                                  standby_conninfo(cluster, primary))
    if start:
        log_path = log_file or pgdata / "rejoin.log"
        await _tool(tools, "pg_ctl", "start", "-D", str(pgdata), "-l", str(log_path), "-w",
                    "-t", "120", data_dir=pgdata)
    log.warning("rejoined as a standby", extra={"pgdata": str(pgdata),
                                                "primary": primary.node.name,
                                                "started": start})
    return Rejoined(primary.node.name, output, start)


def _make_standby(pgdata: Path, own_conf: bytes, conninfo: str) -> None:
    """The node's own postgresql.conf back, the fence and primary-only settings out of
    postgresql.auto.conf, primary_conninfo in, standby.signal written (owned like PGDATA)."""
    (pgdata / "postgresql.conf").write_bytes(own_conf)
    auto = pgdata / "postgresql.auto.conf"
    kept = [line for line in auto.read_text().splitlines(keepends=True)
            if not re.match(rf"\s*({'|'.join(_DROPPED)})\s*=", line)]
    value = conninfo.replace("'", "''")
    auto.write_text("".join(kept) + f"primary_conninfo = '{value}'\n")
    signal = pgdata / "standby.signal"
    signal.touch()
    owner = pgdata.stat()
    if os.geteuid() == 0:
        for path in (auto, signal):
            os.chown(path, owner.st_uid, owner.st_gid)


async def _tool(tools: Tools, name: str, *args: str, data_dir: Path) -> str:
    try:
        return (await tools.run(name, *args, data_dir=data_dir)).decode(errors="replace")
    except ToolFailed as exc:
        raise RejoinFailed(str(exc)) from exc
