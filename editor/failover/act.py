"""Carrying out the failover worker's actions on the nodes (through psql and a shell).

The built-in fence does not depend on the fence command: on a reachable node it sets
``default_transaction_read_only = on`` (services connect with
``target_session_attrs=read-write``, so no new service session picks the node) and
``synchronous_standby_names = '"editor-fenced"'`` (no standby has that name, so no commit
on the node is ever acknowledged, even one that asks for a read-write transaction), both
with ALTER SYSTEM so they survive a restart, then ends every client session there.
"""

from __future__ import annotations

import trio

from editor import logs
from editor.failover.cluster import Cluster, quote_conninfo
from editor.failover.decide import Fence, Promote, Repoint, SetSyncNames
from editor.failover.observe import NodeState, conninfo_values
from editor.failover.tools import ToolFailed, Tools, sql_literal

log = logs.get(__name__)
FENCED_STANDBY_NAME = "editor-fenced"
FENCE_COMMAND_TIMEOUT_S = 30.0
PROMOTE_WAIT_S = 30


class ActionFailed(Exception):
    """An action could not be carried out (the message says which and why)."""


class Actor:
    """Carries out actions on the nodes of ``cluster``."""

    def __init__(self, tools: Tools, cluster: Cluster, fence_command: str) -> None:
        self._tools = tools
        self._cluster = cluster
        self._fence_command = fence_command

    async def _sql(self, node_name: str, *statements: str) -> list[list[str]]:
        conninfo = self._cluster.conninfo(self._cluster.node(node_name), "postgres")
        try:
            return await self._tools.query(conninfo, *statements)
        except ToolFailed as exc:
            raise ActionFailed(f"{node_name}: {exc}") from exc

    async def fence(self, action: Fence, state: NodeState | None) -> tuple[bool, bool]:
        """Run the fence command and the built-in fence; whether each succeeded."""
        command_ok = await self.run_fence_command(action.node)
        builtin_ok = False
        if state is not None and state.reachable:
            try:
                await self.builtin_fence(action.node)
                builtin_ok = True
            except ActionFailed as exc:
                log.error("built-in fence failed", extra={"node": action.node,
                                                          "error": str(exc)})
        return command_ok, builtin_ok

    async def run_fence_command(self, node_name: str) -> bool:
        """``EDITOR_FENCE_COMMAND`` with ``{host}`` and ``{port}``; False if it failed."""
        if not self._fence_command:
            return False
        node = self._cluster.node(node_name)
        command = (self._fence_command.replace("{host}", node.host)
                   .replace("{port}", str(node.port)))
        with trio.move_on_after(FENCE_COMMAND_TIMEOUT_S):
            done = await trio.run_process(["sh", "-c", command], capture_stdout=True,
                                          capture_stderr=True, check=False)
            if done.returncode == 0:
                log.warning("fence command succeeded", extra={"node": node_name})
                return True
            log.error("fence command failed", extra={
                "node": node_name, "exit": done.returncode,
                "stderr": done.stderr.decode(errors="replace").strip()[-500:]})
            return False
        log.error("fence command timed out", extra={"node": node_name,
                                                    "timeout_s": FENCE_COMMAND_TIMEOUT_S})
        return False

    async def builtin_fence(self, node_name: str) -> None:
        """Make the node refuse service writes, durably, and end its client sessions."""
        await self._sql(node_name,
                        "ALTER SYSTEM SET default_transaction_read_only = on",
                        "ALTER SYSTEM SET synchronous_standby_names = "
                        + sql_literal(f'"{FENCED_STANDBY_NAME}"'),
                        "SELECT pg_reload_conf()")
        # Backends apply a reload on their own time: wait until a new session sees it.
        for _ in range(100):
            rows = await self._sql(node_name, "SHOW default_transaction_read_only")
            if rows and rows[0][0] == "on":
                break
            await trio.sleep(0.02)
        await self._sql(node_name, "SELECT count(pg_terminate_backend(pid)) FROM"
                        " pg_stat_activity WHERE backend_type = 'client backend'"
                        " AND pid <> pg_backend_pid()")
        log.warning("node fenced: read-only, no synchronous standby, sessions ended",
                    extra={"node": node_name})

    async def promote(self, action: Promote) -> None:
        """``pg_promote()`` and wait for it."""
        rows = await self._sql(action.node, f"SELECT pg_promote(true, {PROMOTE_WAIT_S})")
        if not rows or rows[0][0] != "t":
            raise ActionFailed(f"{action.node}: pg_promote() did not finish in"
                               f" {PROMOTE_WAIT_S} s")

    async def set_sync_names(self, action: SetSyncNames) -> None:
        """ALTER SYSTEM SET synchronous_standby_names, then reload."""
        await self._sql(action.node, "ALTER SYSTEM SET synchronous_standby_names = "
                        + sql_literal(action.value), "SELECT pg_reload_conf()")

    async def repoint(self, action: Repoint, state: NodeState) -> None:
        """Point the standby's primary_conninfo at ``upstream`` (keeping its other keys,
        credentials included), create its replication slot there if it uses one, reload."""
        upstream = self._cluster.node(action.upstream)
        values = conninfo_values(state.primary_conninfo)
        values.update(host=upstream.host, port=str(upstream.port))
        if "user" not in values:
            values["user"] = self._cluster.user
        conninfo = " ".join(f"{k}={quote_conninfo(v)}" for k, v in values.items())
        if state.slot:
            await self._sql(action.upstream,
                            "SELECT pg_create_physical_replication_slot(" + sql_literal(state.slot)
                            + ", true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots"
                            " WHERE slot_name = " + sql_literal(state.slot) + ")")
        await self._sql(action.node, "ALTER SYSTEM SET primary_conninfo = "
                        + sql_literal(conninfo), "SELECT pg_reload_conf()")
