"""`editor run SERVICE`: runs one service of ``editor.services.SERVICES`` in one nursery."""

from __future__ import annotations

from functools import partial

import trio
from hypercorn.trio import serve as hypercorn_serve

from editor import logs
from editor.backends import Backends, open_backends
from editor.config import Config
from editor.engine.engine import Engine
from editor.events.relay import OutboxRelay
from editor.gc_tuning import tune_for_serving
from editor.net.http import create_app, create_probe_app
from editor.net.ws import CollabServer
from editor.serve import (
    Endpoints,
    drain_relay,
    hypercorn_config,
    second_signal_exits,
    wait_for_stop,
    web_services,
)
from editor.services import service_spec
from editor.workers import archiver_for, reconciler_for, run_worker
from editor.workers.loop import Worker

log = logs.get(__name__)


async def run_service(name: str, cfg: Config, *, stop: trio.Event | None = None,
                      tune_gc: bool = False,
                      task_status: trio.TaskStatus[Endpoints] = trio.TASK_STATUS_IGNORED
                      ) -> None:
    """Run service ``name`` until SIGINT/SIGTERM (or ``stop``), then drain and return;
    ``tune_gc``: collect garbage less often once it listens (a process of its own)."""
    spec = service_spec(name)
    if spec.worker == "failover":  # opens no store: the primary may be what is down
        from editor.failover.service import run_failover_service

        await run_failover_service(cfg, stop=stop, task_status=task_status)
        return
    await trio.Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    if not cfg.kafka_bootstrap and (spec.relay or spec.worker):
        log.warning("in-process event stream: no other process sees this one's events; set"
                    " EDITOR_KAFKA_BOOTSTRAP when services run apart", extra={"service": name})
    async with open_backends(cfg) as backends:
        store = backends.store
        http_stopped, worker_stop = trio.Event(), trio.Event()
        async with trio.open_nursery() as nursery:
            engine = Engine(cfg, store, shared=backends.shared, cache=backends.cache)
            if spec.engine:
                await nursery.start(engine.run)
            relay = OutboxRelay(store, backends.events, holder=backends.origin)
            if spec.relay:
                await nursery.start(relay.run)
            worker_done = trio.Event()
            worker_scope = trio.CancelScope()
            if spec.worker == "archiver":  # database dumps every EDITOR_BACKUP_EVERY_S
                from editor.backups import run_backup_schedule

                await nursery.start(run_backup_schedule, cfg, backends.archive)
            if spec.worker is not None:
                worker = _worker(spec.worker, cfg, backends)
                await nursery.start(_run_worker_until, worker, backends, worker_stop,
                                    worker_scope, worker_done)
            else:
                worker_done.set()
            collab = None
            ws_url = cfg.public_ws_url
            if spec.routes:
                services = web_services(cfg, backends, engine, ws_url)
                if spec.websocket:
                    collab = CollabServer(cfg, engine, store, store, services.tokens,
                                          backends.limiter)
                    ws_port = await nursery.start(collab.serve)
                    ws_url = services.ws_url = cfg.public_ws_url or f"ws://{cfg.host}:{ws_port}"
                app = create_app(services, routes=spec.routes, metrics_route=True)
            else:
                app = create_probe_app(store)
            binds = await nursery.start(partial(
                hypercorn_serve, app, hypercorn_config(cfg, cfg.host, cfg.http_port),
                shutdown_trigger=http_stopped.wait))
            endpoints = Endpoints(binds[0], ws_url, f"{binds[0]}/metrics")
            if spec.routes and not cfg.public_url:
                services.auth.public_url = endpoints.http_url
            log.info("service running", extra={"service": name, "http_url": endpoints.http_url,
                                               "ws_url": ws_url})
            task_status.started(endpoints)
            if tune_gc:
                tune_for_serving()
            with second_signal_exits():
                await wait_for_stop(stop)
                log.info("draining", extra={"service": name})
                if collab is not None:
                    with trio.move_on_after(cfg.drain_timeout_s):
                        await collab.drain()
                http_stopped.set()
                if spec.engine:
                    await engine.stop()
                if spec.relay:
                    await drain_relay(cfg, relay)
                worker_stop.set()
                worker_scope.deadline = trio.current_time() + cfg.drain_timeout_s
                await worker_done.wait()
                log.info("stopped", extra={"service": name})
            nursery.cancel_scope.cancel()


def _worker(kind: str, cfg: Config, backends: Backends) -> Worker:
    return reconciler_for(cfg, backends) if kind == "reconciler" else archiver_for(cfg, backends)


async def _run_worker_until(worker: Worker, backends: Backends, stop: trio.Event,
                            scope: trio.CancelScope, done: trio.Event, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
    try:
        with scope:
            await run_worker(worker, backends.event_source, stop=stop, task_status=task_status)
    finally:
        done.set()
