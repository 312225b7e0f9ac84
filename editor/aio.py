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

import trio
from trio_asyncio import TrioEventLoop, aio_as_trio, open_loop


def keep_plain_asyncio_outside_trio() -> None:
    """Outside Trio, make this thread's asyncio loops plain asyncio loops again."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


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
