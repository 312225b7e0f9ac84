"""The failover worker's decisions: pure, one per check, each with its reason.

Every check the worker observes all nodes (``observe``), calls ``decide`` with what it
remembers, then carries out the actions in order. The rules:

- The primary is the writable node (not in recovery, not fenced read-only). With several,
  the one on the newest timeline wins (a promotion starts a new timeline), so a worker that
  restarts finds the same primary, and an old primary that comes back writable is *stale*.
- A stale writable node is fenced at once (never two primaries).
- The primary is dead after ``max_failures`` failed checks in a row. Then: fence it, promote
  the reachable replica with the highest received LSN, give the new primary the replicas
  left as synchronous standbys (or relax synchronous replication, loudly, when none is
  reachable), and point the other replicas at it.
- While the primary is healthy: replicas streaming from elsewhere are pointed at it, and
  its ``synchronous_standby_names`` gains any standby that streams from it (restoring
  synchronous replication after it was relaxed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from editor.failover.observe import NodeState


@dataclass(frozen=True)
class Fence:
    """Keep ``node`` from taking writes: the fence command, and the built-in fence."""

    node: str
    reason: str


@dataclass(frozen=True)
class Promote:
    """``pg_promote()`` on ``node``."""

    node: str
    reason: str


@dataclass(frozen=True)
class SetSyncNames:
    """``synchronous_standby_names`` of the primary ``node`` ('' relaxes it)."""

    node: str
    value: str
    reason: str


@dataclass(frozen=True)
class Repoint:
    """Make the standby ``node`` stream from ``upstream``."""

    node: str
    upstream: str
    reason: str


Action = Fence | Promote | SetSyncNames | Repoint


@dataclass(frozen=True)
class Memory:
    """What the worker carries from one check to the next."""

    primary: str | None = None
    timeline: int = 0  # the primary's timeline when last seen
    failures: int = 0  # failed checks of the primary in a row
    names: Mapping[str, str] = field(default_factory=dict)  # node -> replication name


@dataclass(frozen=True)
class Decision:
    """The new memory, the actions to take in order, and warnings to log."""

    memory: Memory
    actions: tuple[Action, ...] = ()
    warnings: tuple[str, ...] = ()


def decide(states: Mapping[str, NodeState], memory: Memory, max_failures: int) -> Decision:
    """What to do after one check of every node (``states`` in URL order)."""
    names = dict(memory.names)
    names.update({n: s.replication_name for n, s in states.items()
                  if s.reachable and s.replication_name})
    memory = replace(memory, names=names)
    writable = [s for s in states.values() if s.writable]
    current = states.get(memory.primary) if memory.primary else None
    if current is not None and current.writable:
        newer = [s for s in writable if s.timeline > current.timeline]
        if newer:
            return _adopt(_newest(newer), states, memory, "on a newer timeline")
        memory = replace(memory, timeline=current.timeline, failures=0)
        fences = tuple(Fence(s.node.name, f"writable but stale (timeline {s.timeline},"
                             f" the primary's is {current.timeline})")
                       for s in writable if s is not current)
        return Decision(memory, fences + _maintain(current, states, memory))
    if memory.primary is None and writable:
        return _adopt(_newest(writable), states, memory, "the newest writable node")
    newer = [s for s in writable if s.timeline > memory.timeline]
    if newer:
        return _adopt(_newest(newer), states, memory, "promoted elsewhere (newer timeline)")
    fences = tuple(Fence(s.node.name, f"writable but stale (timeline {s.timeline})")
                   for s in writable)
    failures = memory.failures + 1
    memory = replace(memory, failures=failures)
    why = current.error if current is not None and current.error else "not a writable primary"
    if failures < max_failures:
        return Decision(memory, fences, (f"primary {memory.primary or '(none found)'} failed"
                                         f" check {failures} of {max_failures}: {why}",))
    return _failover(states, memory, fences, why)


def _newest(candidates: list[NodeState]) -> NodeState:
    best = candidates[0]
    for state in candidates[1:]:
        if (state.timeline, state.lsn) > (best.timeline, best.lsn):
            best = state
    return best


def _adopt(primary: NodeState, states: Mapping[str, NodeState], memory: Memory, why: str
           ) -> Decision:
    memory = replace(memory, primary=primary.node.name, timeline=primary.timeline, failures=0)
    fences = tuple(Fence(s.node.name, f"writable beside the primary {primary.node.name}"
                         f" ({why})")
                   for s in states.values() if s.writable and s is not primary)
    return Decision(memory, fences, (f"primary is {primary.node.name}: {why}",))


def _failover(states: Mapping[str, NodeState], memory: Memory, fences: tuple[Fence, ...],
              why: str) -> Decision:
    old = memory.primary
    standbys = [s for s in states.values() if s.standby and s.node.name != old]
    if not standbys:
        return Decision(memory, fences, (f"primary {old or '(none found)'} is dead ({why}) but"
                                         " no replica answers: nothing to promote",))
    candidate = standbys[0]
    for state in standbys[1:]:
        if state.lsn > candidate.lsn:
            candidate = state
    dead = [old] if old else [n for n, s in states.items() if not s.reachable]
    actions: list[Action] = [*fences, *(Fence(n, f"the primary is dead: {why}") for n in dead)]
    actions.append(Promote(candidate.node.name, f"highest received LSN ({lsn_text(candidate.lsn)})"
                           f" of {len(standbys)} reachable replica(s)"))
    others = [n for n in states if n not in (old, candidate.node.name)]
    left = sorted({memory.names[n] for n in others if n in memory.names})
    reachable_left = [n for n in others if states[n].standby]
    if left and reachable_left:
        actions.append(SetSyncNames(candidate.node.name, format_sync_names("ANY", 1, left),
                                    "the replicas left"))
    else:
        actions.append(SetSyncNames(candidate.node.name, "",
                                    "RELAXED: no replica left; commits are not replicated"))
    actions += [Repoint(n, candidate.node.name, "follow the new primary")
                for n in reachable_left]
    memory = replace(memory, primary=candidate.node.name, timeline=candidate.timeline + 1,
                     failures=0)
    return Decision(memory, tuple(actions))


def _maintain(primary: NodeState, states: Mapping[str, NodeState], memory: Memory
              ) -> tuple[Action, ...]:
    actions: list[Action] = [
        Repoint(n, primary.node.name, f"streams from {s.upstream or 'nowhere'}")
        for n, s in states.items() if s.standby and s.upstream != primary.node.name]
    method, count, listed = parse_sync_names(primary.sync_names)
    if "*" in listed:  # any standby is synchronous already
        return tuple(actions)
    streaming = {s.name for s in primary.standbys if s.state == "streaming"}
    wanted = sorted((set(listed) | streaming) - {primary.replication_name})
    if not listed and streaming:
        actions.append(SetSyncNames(primary.node.name, format_sync_names("ANY", 1, wanted),
                                    "a standby streams again: synchronous replication"
                                    " restored"))
    elif listed and wanted != sorted(listed):
        actions.append(SetSyncNames(primary.node.name,
                                    format_sync_names(method, min(count, len(wanted)), wanted),
                                    "the standbys changed"))
    return tuple(actions)


_SYNC = re.compile(r"^\s*(?:(ANY|FIRST)\s+)?(?:(\d+)\s*)?\((.*)\)\s*$", re.IGNORECASE)


def parse_sync_names(value: str) -> tuple[str, int, list[str]]:
    """``synchronous_standby_names`` as (method, count, names); no names when empty."""
    match = _SYNC.match(value)
    method, count, body = ("FIRST", 1, value) if match is None else (
        (match[1] or "FIRST").upper(), int(match[2] or 1), match[3])
    names = [part.strip().strip('"') for part in body.split(",")]
    return method, count, [name for name in names if name]


def format_sync_names(method: str, count: int, names: list[str]) -> str:
    """``ANY 1 ("a", "b")``: names double-quoted (they may hold any character)."""
    quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    return f"{method} {max(count, 1)} ({quoted})"


def lsn_text(lsn: int) -> str:
    """An LSN as PostgreSQL writes it."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
