"""`editor serve`: the whole editor in one process, and the parts every process is built of.

One ``trio.run``, one nursery: the engine, the outbox relay, the reconciler and the
archiver on the event stream, the WebSocket listener, the public HTTP listener, and
``/metrics`` on a private listener (loopback, ``EDITOR_METRICS_PORT``), never on the public
one. SIGINT/SIGTERM drain: stop accepting, close sessions with 1001, let committers finish,
publish what the outbox holds, let the workers write what is pending. A second SIGINT/SIGTERM
during the drain ends the process at once (exit code 128 + the signal's number).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from editor import logs
from editor.auth.keys import signing_secrets, token_issuer
from editor.auth.mail import mailer_for
from editor.auth.oidc import FlowCookie, OidcSignIn, parse_providers
from editor.auth.service import AuthService
from editor.backends import Backends, open_backends
from editor.config import Config
from editor.engine.engine import Engine
from editor.events import EventsUnavailable
from editor.events.relay import OutboxRelay
from editor.net.http import Services, create_app, create_probe_app
from editor.net.ws import CollabServer
from editor.store.records import Unavailable
from editor.workers import archiver_for, reconciler_for, run_worker

log = logs.get(__name__)
METRICS_HOST = "127.0.0.1"  # the private listener of `editor serve`: loopback only
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Endpoints:
    """Where a running server listens."""

    http_url: str
    ws_url: str
    metrics_url: str = ""  # the /metrics URL


def web_services(cfg: Config, backends: Backends, engine: Engine, ws_url: str) -> Services:
    """What the REST routes use: tokens, accounts (with mail and OIDC), the engine."""
    ring = signing_secrets(cfg)
    tokens = token_issuer(cfg, ring)
    mailer = mailer_for(cfg.smtp_url, cfg.mail_from, Path(cfg.data_dir))
    store = backends.store
    auth = AuthService(store, tokens, mailer, refresh_ttl_s=cfg.refresh_token_ttl_s,
                       email_token_ttl_s=cfg.email_token_ttl_s,
                       require_verified_email=cfg.require_verified_email,
                       public_url=cfg.public_url)
    oidc = OidcSignIn(parse_providers(cfg.oidc_providers), store, auth, FlowCookie(ring))
    return Services(cfg, store, engine, tokens, auth, ws_url, backends.limiter, oidc)


def hypercorn_config(cfg: Config, host: str, port: int) -> HypercornConfig:
    """Hypercorn on ``host:port`` with the editor's logs and drain deadline."""
    hconfig = HypercornConfig()
    hconfig.bind = [f"{host}:{port}"]
    hconfig.backlog = 1024
    hconfig.accesslog = None
    # Hypercorn's warnings go through our logs; its "Running on …" would repeat the banner.
    hconfig.errorlog = logs.get("editor.hypercorn")
    hconfig.errorlog.setLevel(logging.WARNING)
    hconfig.graceful_timeout = cfg.drain_timeout_s
    return hconfig


async def serve(cfg: Config, *, stop: trio.Event | None = None,
                task_status: trio.TaskStatus[Endpoints] = trio.TASK_STATUS_IGNORED) -> None:
    """Run everything until SIGINT/SIGTERM (or ``stop``), then drain and return."""
    await trio.Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    async with open_backends(cfg) as backends:
        store = backends.store
        engine = Engine(cfg, store, shared=backends.shared, cache=backends.cache)
        http_stopped = trio.Event()
        workers_stop = trio.Event()
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            relay = OutboxRelay(store, backends.events, holder=backends.origin)
            await nursery.start(relay.run)
            workers = trio.CancelScope()
            workers_done = trio.Event()
            nursery.start_soon(run_workers, cfg, backends, workers_stop, workers, workers_done)
            metrics_binds = await nursery.start(partial(
                hypercorn_serve, create_probe_app(store),
                hypercorn_config(cfg, METRICS_HOST, cfg.metrics_port),
                shutdown_trigger=http_stopped.wait))
            metrics_url = f"{metrics_binds[0]}/metrics"
            log.info("metrics listening", extra={"url": metrics_url})
            services = web_services(cfg, backends, engine, "")
            collab = CollabServer(cfg, engine, store, store, services.tokens, backends.limiter)
            ws_port = await nursery.start(collab.serve)
            services.ws_url = cfg.public_ws_url or f"ws://{cfg.host}:{ws_port}"
            binds = await nursery.start(partial(
                hypercorn_serve, create_app(services),
                hypercorn_config(cfg, cfg.host, cfg.http_port),
                shutdown_trigger=http_stopped.wait))
            endpoints = Endpoints(binds[0], services.ws_url, metrics_url)
            if not cfg.public_url:
                services.auth.public_url = endpoints.http_url
            log.debug("serving", extra={"http_url": endpoints.http_url,
                                       "ws_url": services.ws_url,
                                       "data_dir": str(cfg.data_dir)})
            task_status.started(endpoints)
            with second_signal_exits():
                await wait_for_stop(stop)
                log.info("draining")
                with trio.move_on_after(cfg.drain_timeout_s):
                    await collab.drain()
                http_stopped.set()
                await engine.stop()
                await drain_relay(cfg, relay)
                workers_stop.set()
                workers.deadline = trio.current_time() + cfg.drain_timeout_s
                await workers_done.wait()
                log.info("stopped")
            nursery.cancel_scope.cancel()


async def run_workers(cfg: Config, backends: Backends, stop: trio.Event,
                      scope: trio.CancelScope, done: trio.Event) -> None:
    """The reconciler and the archiver on the backends' stream until ``stop``, then their
    last writes (bounded by ``scope``'s deadline, set by the caller when it stops them);
    ``done`` is set when both have returned."""
    try:
        with scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(partial(run_worker, reconciler_for(cfg, backends),
                                            backends.event_source, stop=stop))
                await nursery.start(partial(run_worker, archiver_for(cfg, backends),
                                            backends.event_source, stop=stop))
    finally:
        done.set()


async def drain_relay(cfg: Config, relay: OutboxRelay) -> None:
    """One last relay pass, so events committed during the drain reach the stream now."""
    with trio.move_on_after(cfg.drain_timeout_s):
        try:
            await relay.relay_pending()
        except (EventsUnavailable, Unavailable) as exc:
            log.warning("outbox left for the next start", extra={"error": str(exc)})


@contextmanager
def second_signal_exits() -> Iterator[None]:
    """Around ``wait_for_stop`` and the drain: the signal after the one that stopped the
    server ends the process at once, with a warning (``wait_for_stop`` hands back any signal
    it did not take, so none falls between the two)."""
    previous = {signum: signal.signal(signum, _exit_at_once) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _exit_at_once(signum: int, _frame: FrameType | None) -> None:
    """Log the signal and exit with 128 + its number, leaving the rest of the drain undone."""
    log.warning("second signal during drain: exiting at once without finishing the drain",
                extra={"signal": signal.Signals(signum).name})
    os._exit(128 + signum)


async def wait_for_stop(stop: trio.Event | None) -> None:
    """Return on SIGINT or SIGTERM, or when ``stop`` is set."""
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:
            if stop is not None:
                async def on_event() -> None:
                    await stop.wait()
                    nursery.cancel_scope.cancel()
                nursery.start_soon(on_event)

            async def on_signal() -> None:
                async for signum in signals:
                    log.info("signal", extra={"signal": signal.Signals(signum).name})
                    nursery.cancel_scope.cancel()
                    return
            nursery.start_soon(on_signal)
