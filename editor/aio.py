"""The asyncio bridge: the only import of trio-asyncio, with its side effect contained.

asyncio-only clients (asyncpg, redis.asyncio, aiokafka) run on a trio-asyncio loop opened by
their adapter (``open_loop``) and are called through ``aio_as_trio``, one bridged call per
whole operation (INFRA.md: a bridged call costs ~0.5 ms).

Importing trio-asyncio installs its own asyncio policy: outside Trio, in a thread that set no
policy, ``asyncio.new_event_loop()`` then returns a trio-asyncio "sync loop", which breaks
plain asyncio code in the same process (Playwright's sync API, a tool's ``asyncio.run``).
Importing this module outside Trio gives the importing thread asyncio's default policy back;
inside Trio, trio-asyncio's policy is the right one anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio_asyncio
from trio_asyncio import TrioEventLoop, aio_as_trio

from editor import logs

log = logs.get(__name__)


def keep_plain_asyncio_outside_trio() -> None:
    """Outside Trio, make this thread's asyncio loops plain asyncio loops again."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


@asynccontextmanager
async def open_loop() -> AsyncIterator[TrioEventLoop]:
    """A trio-asyncio loop for one adapter, that logs (not raises) connection errors nobody
    awaited."""
    async with trio_asyncio.open_loop() as loop:
        loop.set_exception_handler(_log_lost_connections)
        yield loop


def _log_lost_connections(loop: asyncio.AbstractEventLoop, context: dict[str, object]
                          ) -> None:
    """Log, rather than raise, a connection error that no caller was waiting for.

    asyncio clients leave the error of an abandoned connection attempt (asyncpg's TLS probe
    of a node that died during a failover, a connect cut off by a timeout) in a future nobody
    awaits; asyncio reports it when the future is collected, and trio-asyncio's default
    handler re-raises it in the loop's nursery, which ended the whole process (found by
    tests/chaos). The error reached no operation, so nothing is lost by logging it; anything
    else still raises.
    """
    exc = context.get("exception")
    if isinstance(exc, OSError):  # ConnectionError included
        log.warning("connection error nobody awaited", extra={
            "error": f"{type(exc).__name__}: {exc}", "context": str(context.get("message"))})
        return
    loop.default_exception_handler(context)


def sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The only exception inside (possibly nested) groups, if there is exactly one.

    An adapter's loop and nurseries wrap whatever crosses them; its callers should get the
    error itself (``raise sole from sole.__cause__``).
    """
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            leaves.append(exc)
    return leaves[0] if len(leaves) == 1 else None


keep_plain_asyncio_outside_trio()

__all__ = ["TrioEventLoop", "aio_as_trio", "keep_plain_asyncio_outside_trio", "open_loop",
           "sole_exception"]
