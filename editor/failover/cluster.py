"""The nodes of a PostgreSQL cluster, as ``EDITOR_DATABASE_URL`` lists them (pure).

``postgresql://USER[:PASSWORD]@HOST:PORT[,HOST:PORT…]/DB[?…]`` names every node, primary and
replicas alike (services pick the writable one with ``target_session_attrs=read-write``).
A node is named ``HOST:PORT`` in logs and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from editor.config import POSTGRES_SCHEMES, check_postgres_url

DEFAULT_PORT = 5432


@dataclass(frozen=True)
class Node:
    """One PostgreSQL server."""

    host: str
    port: int

    @property
    def name(self) -> str:
        """``HOST:PORT``, the node's label in logs and metrics."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Cluster:
    """The nodes of the URL, in its order, and how to sign in to them."""

    nodes: tuple[Node, ...]
    user: str
    password: str
    database: str

    def conninfo(self, node: Node, database: str | None = None) -> str:
        """A libpq key/value conninfo for ``node`` (no password: it goes in PGPASSWORD)."""
        return " ".join(f"{key}={quote_conninfo(value)}" for key, value in (
            ("host", node.host), ("port", str(node.port)), ("user", self.user),
            ("dbname", database or self.database), ("connect_timeout", "2"),
            ("application_name", "editor-failover")))

    def node(self, name: str) -> Node:
        """The node called ``HOST:PORT``; ``KeyError`` if the URL lists no such node."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def quote_conninfo(value: str) -> str:
    """A conninfo value, single-quoted when it needs to be."""
    if value and not any(c in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_cluster_url(url: str) -> Cluster:
    """The cluster of a ``postgresql://`` URL (``ConfigError`` for any other URL)."""
    check_postgres_url(url)
    rest = url.split("://", 1)[1].partition("?")[0]
    netloc, _, database = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    nodes = []
    for host in hosts.split(","):
        if host.startswith("["):
            address, _, port = host[1:].partition("]")
            port = port.lstrip(":")
        else:
            address, _, port = host.partition(":")
        nodes.append(Node(address, int(port) if port else DEFAULT_PORT))
    return Cluster(tuple(nodes), unquote(user) or "postgres", unquote(password),
                   unquote(database))


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database."""
    return url.startswith(POSTGRES_SCHEMES)
