"""`editor run failover`: the watcher, with ``/healthz``, ``/readyz`` and ``/metrics``.

It opens no store (the primary may be the thing that is down): it speaks to each node of
``EDITOR_DATABASE_URL`` on its own. Ready once the first check has run.
"""

from __future__ import annotations

from functools import partial
from typing import cast

import trio
from hypercorn.trio import serve as hypercorn_serve

from editor import logs
from editor.config import Config
from editor.config_values import ConfigError
from editor.failover.cluster import is_postgres_url, parse_cluster_url
from editor.failover.tools import Tools, find_bindir
from editor.failover.watcher import Watcher
from editor.net.http import create_probe_app
from editor.serve import Endpoints, hypercorn_config, wait_for_stop
from editor.store import Store

log = logs.get(__name__)


def watcher_for(cfg: Config) -> Watcher:
    """The failover worker of ``cfg`` (``ConfigError`` unless the database is PostgreSQL)."""
    if not is_postgres_url(cfg.effective_database_url):
        raise ConfigError("the failover service watches PostgreSQL: set EDITOR_DATABASE_URL to"
                          " postgresql://USER@PRIMARY:PORT,REPLICA:PORT,…/DB")
    cluster = parse_cluster_url(cfg.effective_database_url)
    tools = Tools(find_bindir(cfg.postgres_bindir), cluster.password)
    return Watcher(cluster, tools, max_failures=cfg.failover_failures,
                   fence_command=cfg.fence_command)


async def run_failover_service(cfg: Config, *, stop: trio.Event | None = None,
                               task_status: trio.TaskStatus[Endpoints] = trio.TASK_STATUS_IGNORED
                               ) -> None:
    """Watch and fail over until SIGINT/SIGTERM (or ``stop``)."""
    watcher = watcher_for(cfg)
    http_stopped = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(watcher.run, cfg.failover_check_interval_s)
        # The probe app asks its "store" to ping: the watcher answers once it has checked.
        app = create_probe_app(cast(Store, watcher))
        binds = await nursery.start(partial(
            hypercorn_serve, app, hypercorn_config(cfg, cfg.host, cfg.http_port),
            shutdown_trigger=http_stopped.wait))
        endpoints = Endpoints(binds[0], "", f"{binds[0]}/metrics")
        log.info("service running", extra={"service": "failover",
                                           "http_url": endpoints.http_url,
                                           "primary": watcher.memory.primary or ""})
        task_status.started(endpoints)
        await wait_for_stop(stop)
        http_stopped.set()
        log.info("stopped", extra={"service": "failover"})
        nursery.cancel_scope.cancel()
