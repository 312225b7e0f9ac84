"""A failover proxy that can also drop every connection it forwards (a network blip), so
clients reconnect and land on the first live upstream again: how the chaos run moves clients
back to a replica restarted after a kill."""

from __future__ import annotations

import trio

from tests.support.proxy import FailoverProxy


class ResettableProxy(FailoverProxy):
    """``FailoverProxy`` plus ``drop_all()``."""

    def __init__(self, upstream_ports: list[int]) -> None:
        super().__init__(upstream_ports)
        self._connections: set[trio.CancelScope] = set()

    async def _forward(self, client: trio.SocketStream) -> None:
        with trio.CancelScope() as scope:
            self._connections.add(scope)
            try:
                await super()._forward(client)
            finally:
                self._connections.discard(scope)

    def drop_all(self) -> int:
        """Cut every forwarded connection; how many there were."""
        scopes = list(self._connections)
        for scope in scopes:
            scope.cancel()
        return len(scopes)
