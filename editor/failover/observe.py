"""One look at each node: its role, position, upstream and standbys (one psql each)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import trio

from editor.failover.cluster import Cluster, Node
from editor.failover.tools import ToolFailed, Tools

# One statement, so one connection and one consistent answer per node per check.
_STATE_SQL = """
SELECT pg_is_in_recovery(),
       current_setting('default_transaction_read_only'),
       current_setting('cluster_name'),
       CASE WHEN pg_is_in_recovery()
            THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
            ELSE pg_current_wal_lsn() END,
       CASE WHEN pg_is_in_recovery()
            THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver),
                          (SELECT timeline_id FROM pg_control_checkpoint()))
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       END,
       current_setting('primary_conninfo'),
       current_setting('primary_slot_name'),
       current_setting('synchronous_standby_names'),
       (SELECT coalesce(string_agg(application_name || ' ' || state || ' '
                                   || coalesce(extract(epoch FROM replay_lag)::text, '0'), ','),
                        '')
        FROM pg_stat_replication)
"""


@dataclass(frozen=True)
class Standby:
    """A standby streaming from a primary, as the primary sees it."""

    name: str  # its application_name (the standby's cluster_name)
    state: str  # streaming, catchup, …
    lag_s: float  # replay lag


@dataclass(frozen=True)
class NodeState:
    """What one check learned of one node; ``error`` set when it did not answer."""

    node: Node
    error: str = ""
    in_recovery: bool = False
    read_only: bool = False  # default_transaction_read_only: fenced
    cluster_name: str = ""
    lsn: int = 0  # received (standby) or written (primary) WAL position
    timeline: int = 0
    primary_conninfo: str = ""
    slot: str = ""  # primary_slot_name
    sync_names: str = ""  # synchronous_standby_names
    standbys: tuple[Standby, ...] = field(default_factory=tuple)

    @property
    def reachable(self) -> bool:
        return not self.error

    @property
    def writable(self) -> bool:
        """A primary that services would pick (read-write)."""
        return self.reachable and not self.in_recovery and not self.read_only

    @property
    def standby(self) -> bool:
        return self.reachable and self.in_recovery

    @property
    def replication_name(self) -> str:
        """The name it streams under (a primary sees it as ``application_name``): the
        ``application_name`` of its primary_conninfo, else its ``cluster_name``."""
        return conninfo_values(self.primary_conninfo).get("application_name") or self.cluster_name

    @property
    def upstream(self) -> str:
        """``HOST:PORT`` this standby streams from (its primary_conninfo), or ""."""
        values = conninfo_values(self.primary_conninfo)
        if "host" not in values:
            return ""
        return f"{values['host']}:{values.get('port', '5432')}"


def parse_lsn(text: str) -> int:
    """``'16/B374D848'`` as a number (0 for an empty text)."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


_CONNINFO_ITEM = re.compile(r"\s*(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


def conninfo_values(conninfo: str) -> dict[str, str]:
    """The key/value pairs of a libpq conninfo string, in order."""
    values: dict[str, str] = {}
    for match in _CONNINFO_ITEM.finditer(conninfo):
        raw = match[2]
        if raw.startswith("'"):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        values[match[1]] = raw
    return values


def _standbys(text: str) -> tuple[Standby, ...]:
    found = []
    for item in filter(None, text.split(",")):
        name, state, lag = item.rsplit(" ", 2)
        found.append(Standby(name, state, float(lag)))
    return tuple(found)


async def observe(tools: Tools, cluster: Cluster, node: Node, timeout_s: float) -> NodeState:
    """The node's state, or a state with ``error`` when it does not answer in time."""
    with trio.move_on_after(timeout_s):
        try:
            rows = await tools.query(cluster.conninfo(node, "postgres"), _STATE_SQL)
        except ToolFailed as exc:
            return NodeState(node, error=" ".join(str(exc).split()))
        recovery, read_only, name, lsn, timeline, conninfo, slot, sync, standbys = rows[0]
        return NodeState(node, in_recovery=recovery == "t", read_only=read_only == "on",
                         cluster_name=name, lsn=parse_lsn(lsn), timeline=int(timeline or 0),
                         primary_conninfo=conninfo, slot=slot, sync_names=sync,
                         standbys=_standbys(standbys))
    return NodeState(node, error=f"no answer within {timeout_s:g} s")


async def observe_all(tools: Tools, cluster: Cluster, timeout_s: float
                      ) -> dict[str, NodeState]:
    """Every node's state, checked at the same time; keyed by node name, in URL order."""
    states: dict[str, NodeState] = {}

    async def one(node: Node) -> None:
        states[node.name] = await observe(tools, cluster, node, timeout_s)

    async with trio.open_nursery() as nursery:
        for node in cluster.nodes:
            nursery.start_soon(one, node)
    return {node.name: states[node.name] for node in cluster.nodes}
