"""`editor run failover`: the leader loop (observe, decide, act), metrics and logs.

Checks every node each ``EDITOR_FAILOVER_CHECK_INTERVAL_S``; after a failed check of the
primary it checks again every ``SUSPECT_INTERVAL_S`` (at most the interval), so with the
defaults (5 s, 3 failures) a dead primary is declared within 5 + 2 × 1 = 7 s and writes
resume within the 10 s RTO. Run ONE failover worker per cluster.
"""

from __future__ import annotations

import trio
from prometheus_client import Counter, Gauge

from editor import logs
from editor.failover.act import ActionFailed, Actor
from editor.failover.cluster import Cluster
from editor.failover.decide import (
    Decision,
    Fence,
    Memory,
    Promote,
    Repoint,
    SetSyncNames,
    decide,
    parse_sync_names,
)
from editor.failover.observe import NodeState, observe_all
from editor.failover.tools import Tools

log = logs.get(__name__)
SUSPECT_INTERVAL_S = 1.0
CHECK_TIMEOUT_S = 3.0

DB_PRIMARY = Gauge("editor_db_primary", "1 for the node the failover worker holds for the"
                   " primary, 0 for the other nodes", ["node"])
DB_REPLICATION_LAG = Gauge("editor_db_replication_lag_seconds", "Replay lag of each standby"
                           " as its primary reports it", ["replica"])
DB_NODE_UP = Gauge("editor_db_node_up", "1 if the node answered the last check", ["node"])
DB_SYNC_STANDBYS = Gauge("editor_db_synchronous_standbys", "Standbys named in the primary's"
                         " synchronous_standby_names (0: commits are acknowledged before any"
                         " replica has them)")
DB_FAILOVERS = Counter("editor_db_failovers_total", "Replicas promoted by the failover worker")
DB_FENCES = Counter("editor_db_fences_total", "Fence actions by node and by what succeeded"
                    " (command, builtin, both, none)", ["node", "result"])
DB_ACTION_FAILURES = Counter("editor_db_failover_action_failures_total",
                             "Failover actions that failed (retried at the next check)",
                             ["action"])


class Watcher:
    """The failover worker of one cluster."""

    def __init__(self, cluster: Cluster, tools: Tools, *, max_failures: int,
                 fence_command: str = "") -> None:
        self.cluster = cluster
        self.memory = Memory()
        self.checks = 0
        self._tools = tools
        self._max_failures = max_failures
        self._actor = Actor(tools, cluster, fence_command)

    async def ping(self) -> None:
        """Ready once a check has run (``/readyz``)."""
        if self.checks == 0:
            raise RuntimeError("no check has run yet")

    async def check(self) -> Decision:
        """One cycle: observe every node, decide, act; returns the decision."""
        states = await observe_all(self._tools, self.cluster, CHECK_TIMEOUT_S)
        decision = decide(states, self.memory, self._max_failures)
        before = self.memory.primary
        self.memory = decision.memory
        for warning in decision.warnings:
            log.warning(warning, extra={"primary": self.memory.primary or ""})
        for action in decision.actions:
            await self._act(action, states)
        if self.memory.primary != before and before is not None:
            log.warning("primary changed", extra={"old": before, "new": self.memory.primary})
        self._publish(states)
        self.checks += 1
        return decision

    async def _act(self, action: Fence | Promote | SetSyncNames | Repoint,
                   states: dict[str, NodeState]) -> None:
        kind = type(action).__name__.lower()
        log.warning(f"failover action: {kind}", extra={
            "node": action.node, "reason": action.reason,
            **({"upstream": action.upstream} if isinstance(action, Repoint) else {}),
            **({"value": action.value} if isinstance(action, SetSyncNames) else {})})
        try:
            if isinstance(action, Fence):
                command_ok, builtin_ok = await self._actor.fence(action, states.get(action.node))
                result = {(True, True): "both", (True, False): "command",
                          (False, True): "builtin"}.get((command_ok, builtin_ok), "none")
                DB_FENCES.labels(action.node, result).inc()
            elif isinstance(action, Promote):
                await self._actor.promote(action)
                DB_FAILOVERS.inc()
                log.warning("promoted", extra={"node": action.node, "reason": action.reason})
            elif isinstance(action, SetSyncNames):
                await self._actor.set_sync_names(action)
                if not action.value:
                    log.error("synchronous replication RELAXED: commits on the new primary"
                              " are acknowledged before any replica has them (RPO > 0) until"
                              " a standby streams again", extra={"node": action.node})
            else:
                await self._actor.repoint(action, states[action.node])
        except ActionFailed as exc:
            DB_ACTION_FAILURES.labels(kind).inc()
            log.error(f"failover action {kind} failed; retried at the next check",
                      extra={"node": action.node, "error": str(exc)})

    def _publish(self, states: dict[str, NodeState]) -> None:
        by_name = {name: node for node, name in self.memory.names.items()}
        for name, state in states.items():
            DB_NODE_UP.labels(name).set(1 if state.reachable else 0)
            DB_PRIMARY.labels(name).set(1 if name == self.memory.primary else 0)
        primary = states.get(self.memory.primary or "")
        if primary is not None and primary.writable:
            DB_SYNC_STANDBYS.set(len(parse_sync_names(primary.sync_names)[2]))
            for standby in primary.standbys:
                DB_REPLICATION_LAG.labels(by_name.get(standby.name, standby.name)).set(
                    standby.lag_s)

    async def run(self, interval_s: float, *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Check forever; ready after the first check."""
        log.info("failover worker watching", extra={
            "nodes": ",".join(n.name for n in self.cluster.nodes), "interval_s": interval_s,
            "failures": self._max_failures})
        while True:
            started = trio.current_time()
            await self.check()
            if self.checks == 1:
                log.info("failover worker ready", extra={"primary": self.memory.primary or ""})
                task_status.started()
            wait_s = interval_s if self.memory.failures == 0 else min(interval_s,
                                                                      SUSPECT_INTERVAL_S)
            await trio.sleep_until(started + wait_s)
