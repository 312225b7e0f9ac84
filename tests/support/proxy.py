"""A load balancer for tests: a TCP proxy that sends each new connection to the first
upstream that accepts it, so clients of a killed replica reconnect to the next one."""

from __future__ import annotations

import trio


class FailoverProxy:
    """Listens on a loopback port; forwards each connection to the first live upstream."""

    def __init__(self, upstream_ports: list[int]) -> None:
        self.upstream_ports = upstream_ports
        self.port = 0

    @property
    def ws_url(self) -> str:
        """The proxy as a WebSocket base URL."""
        return f"ws://127.0.0.1:{self.port}"

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        """Accept and forward until cancelled."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._forward, listeners)

    async def _forward(self, client: trio.SocketStream) -> None:
        async with client:
            for port in self.upstream_ports:
                try:
                    upstream = await trio.open_tcp_stream("127.0.0.1", port)
                    break
                except OSError:
                    continue
            else:
                return  # nobody to send it to: the client sees the connection close
            async with upstream, trio.open_nursery() as nursery:
                nursery.start_soon(_pump, client, upstream, nursery.cancel_scope)
                nursery.start_soon(_pump, upstream, client, nursery.cancel_scope)


async def _pump(source: trio.SocketStream, sink: trio.SocketStream,
                both: trio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    both.cancel()  # one side ended: end the other (as a dead upstream would)
