"""``EDITOR_REDIS_URL`` (PROTOCOL.md §6): one node or the seed nodes of a Redis Cluster.

Pure: no I/O and no Redis client, so configuration can check the value at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from editor.config_values import ConfigError

SINGLE_SCHEME = "redis://"
CLUSTER_SCHEME = "redis-cluster://"
_FORMS = "redis://HOST:PORT/N or redis-cluster://HOST:PORT[,HOST:PORT…]"


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: ``nodes`` is one node, or a cluster's seed nodes when ``cluster``."""

    cluster: bool
    nodes: tuple[tuple[str, int], ...]
    db: int
    username: str | None
    password: str | None


def redact(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hosts = rest.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{userinfo}{at}{hosts}"


def parse_redis_url(url: str) -> RedisTarget:
    """The target of ``url``; ``ConfigError`` naming EDITOR_REDIS_URL when it is not one."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"EDITOR_REDIS_URL={redact(url)!r}: {why}; expected {_FORMS}")

    cluster = url.startswith(CLUSTER_SCHEME)
    if not (cluster or url.startswith(SINGLE_SCHEME)):
        raise bad("unknown scheme")
    rest = url.removeprefix(CLUSTER_SCHEME if cluster else SINGLE_SCHEME)
    if "?" in rest or "#" in rest:
        raise bad("options are not supported")
    userinfo, _, rest = rest.rpartition("@")
    hosts, slash, db_text = rest.partition("/")
    if cluster and slash and db_text:
        raise bad("a cluster has only database 0")
    if not cluster and not db_text.isdigit() and slash + db_text:
        raise bad(f"the database {db_text!r} is not a number")
    nodes = tuple(_node(part, bad) for part in hosts.split(","))
    if not cluster and len(nodes) != 1:
        raise bad("one node only (use redis-cluster:// for a cluster's seed nodes)")
    username, _, password = userinfo.partition(":")
    return RedisTarget(cluster, nodes, int(db_text) if db_text else 0,
                       unquote(username) or None, unquote(password) or None)


def check_redis_url(url: str) -> None:
    """Refuse a URL that is not one of the forms PROTOCOL.md §6 names."""
    parse_redis_url(url)


def _node(text: str, bad: Callable[[str], ConfigError]) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise bad(f"{text!r} is not HOST:PORT")
    return host, int(port)
