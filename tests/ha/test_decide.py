"""The failover worker's decisions, as pure functions of what it saw (no servers)."""

from __future__ import annotations

from editor.failover import Memory, Node, decide, parse_cluster_url
from editor.failover.decide import (
    Fence,
    Promote,
    Repoint,
    SetSyncNames,
    format_sync_names,
    parse_sync_names,
)
from editor.failover.observe import NodeState, Standby, conninfo_values, parse_lsn

A, B, C = Node("a", 1), Node("b", 2), Node("c", 3)


def primary(node: Node, timeline: int = 1, sync: str = 'ANY 1 ("nb", "nc")',
            standbys: tuple[Standby, ...] = ()) -> NodeState:
    return NodeState(node, cluster_name=f"n{node.host}", timeline=timeline, lsn=100,
                     sync_names=sync, standbys=standbys)


def standby(node: Node, lsn: int, upstream: Node = A) -> NodeState:
    return NodeState(node, in_recovery=True, cluster_name=f"n{node.host}", lsn=lsn, timeline=1,
                     primary_conninfo=f"user=postgres host={upstream.host} port={upstream.port}")


def dead(node: Node) -> NodeState:
    return NodeState(node, error="connection refused")


def states(*found: NodeState) -> dict[str, NodeState]:
    return {s.node.name: s for s in found}


def test_the_newest_writable_node_is_the_primary_and_a_stale_one_is_fenced() -> None:
    seen = states(primary(A, timeline=1), primary(B, timeline=2, sync=""), standby(C, 5, B))
    decision = decide(seen, Memory(), 3)
    assert decision.memory.primary == "b:2"
    assert decision.actions == (Fence("a:1", decision.actions[0].reason),)


def test_dead_after_n_failures_then_promote_the_highest_lsn_and_repoint() -> None:
    memory = decide(states(primary(A), standby(B, 90), standby(C, 95)), Memory(), 3).memory
    seen = states(dead(A), standby(B, 90), standby(C, 95))
    for failure in (1, 2):
        decision = decide(seen, memory, 3)
        assert decision.actions == () and decision.memory.failures == failure
        memory = decision.memory
    decision = decide(seen, memory, 3)
    kinds = [type(action) for action in decision.actions]
    assert kinds == [Fence, Promote, SetSyncNames, Repoint]
    assert decision.actions[0].node == "a:1"
    assert decision.actions[1].node == "c:3"  # the highest received LSN
    assert decision.actions[2] == SetSyncNames("c:3", 'ANY 1 ("nb")', "the replicas left")
    assert decision.actions[3].node == "b:2" and decision.actions[3].upstream == "c:3"
    assert decision.memory.primary == "c:3" and decision.memory.failures == 0


def test_no_replica_left_relaxes_synchronous_replication_and_it_comes_back() -> None:
    memory = Memory(primary="a:1", timeline=1, failures=2, names={"a:1": "na", "c:3": "nc"})
    decision = decide(states(dead(A), standby(B, 90), dead(C)), memory, 3)
    relax = [a for a in decision.actions if isinstance(a, SetSyncNames)]
    assert relax == [SetSyncNames("b:2", "", relax[0].reason)] and "RELAXED" in relax[0].reason
    # Later a standby streams from the new primary: synchronous replication is restored.
    later = states(dead(A), primary(B, timeline=2, sync="", standbys=(
        Standby("nc", "streaming", 0.0),)), standby(C, 95, B))
    actions = decide(later, decision.memory, 3).actions
    assert actions == (SetSyncNames("b:2", 'ANY 1 ("nc")', actions[0].reason),)


def test_nothing_to_promote_without_a_replica() -> None:
    memory = Memory(primary="a:1", timeline=1, failures=2)
    decision = decide(states(dead(A), dead(B)), memory, 3)
    assert decision.actions == () and "nothing to promote" in decision.warnings[0]


def test_a_primary_promoted_elsewhere_is_adopted() -> None:
    memory = Memory(primary="a:1", timeline=1)
    decision = decide(states(dead(A), primary(B, timeline=2), standby(C, 5, B)), memory, 3)
    assert decision.memory.primary == "b:2" and decision.memory.failures == 0


def test_sync_names_and_conninfo_and_urls_parse() -> None:
    assert parse_sync_names('ANY 1 ("node2", node3)') == ("ANY", 1, ["node2", "node3"])
    assert parse_sync_names("2 (a, b, c)") == ("FIRST", 2, ["a", "b", "c"])
    assert parse_sync_names("a, b") == ("FIRST", 1, ["a", "b"])
    assert parse_sync_names("") == ("FIRST", 1, [])
    assert format_sync_names("ANY", 1, ['we"ird']) == 'ANY 1 ("we""ird")'
    assert conninfo_values("user=x password='a b\\'c' host=h port=5") == {
        "user": "x", "password": "a b'c", "host": "h", "port": "5"}
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    cluster = parse_cluster_url("postgresql://u:p%40ss@h1:5433,[::1]:5434,h3/db"
                                "?target_session_attrs=read-write")
    assert [n.name for n in cluster.nodes] == ["h1:5433", "::1:5434", "h3:5432"]
    assert (cluster.user, cluster.password, cluster.database) == ("u", "p@ss", "db")
