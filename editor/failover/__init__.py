"""High availability of PostgreSQL: the failover worker, its fence, and rejoining a node.

``editor run failover`` runs ``Watcher`` (observe every node, ``decide``, act) on the nodes
of ``EDITOR_DATABASE_URL``; ``editor failover rejoin`` turns a fenced old primary into a
standby of the new one (``rejoin``). See docs/runbooks/Failover.md.
"""

from editor.failover.cluster import Cluster, Node, parse_cluster_url
from editor.failover.decide import Decision, Memory, decide
from editor.failover.observe import NodeState
from editor.failover.tools import ToolFailed, Tools, find_bindir
from editor.failover.watcher import Watcher

__all__ = ["Cluster", "Decision", "Memory", "Node", "NodeState", "ToolFailed", "Tools",
           "Watcher", "decide", "find_bindir", "parse_cluster_url"]
