"""The check of ``EDITOR_KAFKA_BOOTSTRAP``: ``HOST:PORT[,HOST:PORT…]``. Pure."""

from __future__ import annotations

import re

from editor.config_values import ConfigError

# A host name or IPv4 address, or an IPv6 address in brackets; then a port.
_SERVER = re.compile(r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
                     r":(?P<port>[0-9]{1,5})")


def check_kafka_bootstrap(value: str) -> None:
    """``ConfigError`` naming ``EDITOR_KAFKA_BOOTSTRAP`` unless ``value`` is
    ``HOST:PORT[,HOST:PORT…]``."""
    servers = value.split(",")
    for server in servers:
        match = _SERVER.fullmatch(server)
        if match is None or not 1 <= int(match["port"]) <= 65535:
            raise ConfigError(f"EDITOR_KAFKA_BOOTSTRAP={value!r}: expected HOST:PORT"
                              f"[,HOST:PORT…] with ports 1-65535, not {server!r}")


def bootstrap_servers(value: str) -> list[str]:
    """The ``HOST:PORT`` entries of a checked bootstrap value."""
    check_kafka_bootstrap(value)
    return value.split(",")
