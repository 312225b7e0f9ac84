"""`editor serve`: the whole editor in one process on embedded defaults.

One ``trio.run``, one nursery: the engine, the WebSocket listener and the HTTP listener.
SIGINT/SIGTERM drain: stop accepting, close sessions with 1001, let committers finish.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from editor import logs
from editor.auth.keys import signing_secrets, token_issuer
from editor.auth.mail import mailer_for
from editor.auth.oidc import FlowCookie, OidcSignIn, parse_providers
from editor.auth.service import AuthService
from editor.backends import open_backends
from editor.config import Config
from editor.engine.engine import Engine
from editor.events.relay import OutboxRelay
from editor.net.http import Services, create_app
from editor.net.ws import CollabServer

log = logs.get(__name__)


@dataclass(frozen=True)
class Endpoints:
    """Where a running server listens."""

    http_url: str
    ws_url: str


async def serve(cfg: Config, *, stop: trio.Event | None = None,
                task_status: trio.TaskStatus[Endpoints] = trio.TASK_STATUS_IGNORED) -> None:
    """Run everything until SIGINT/SIGTERM (or ``stop``), then drain and return."""
    await trio.Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    ring = signing_secrets(cfg)
    tokens = token_issuer(cfg, ring)
    mailer = mailer_for(cfg.smtp_url, cfg.mail_from, Path(cfg.data_dir))
    async with open_backends(cfg) as backends:
        store = backends.store
        engine = Engine(cfg, store)
        collab = CollabServer(cfg, engine, store, store, tokens, backends.limiter)
        http_stopped = trio.Event()
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            await nursery.start(OutboxRelay(store, backends.events).run)
            ws_port = await nursery.start(collab.serve)
            ws_url = cfg.public_ws_url or f"ws://{cfg.host}:{ws_port}"
            auth = AuthService(store, tokens, mailer, refresh_ttl_s=cfg.refresh_token_ttl_s,
                               email_token_ttl_s=cfg.email_token_ttl_s,
                               require_verified_email=cfg.require_verified_email,
                               public_url=cfg.public_url)
            oidc = OidcSignIn(parse_providers(cfg.oidc_providers), store, auth,
                              FlowCookie(ring))
            app = create_app(Services(cfg, store, engine, tokens, auth, ws_url,
                                      backends.limiter, oidc))
            hconfig = HypercornConfig()
            hconfig.bind = [f"{cfg.host}:{cfg.http_port}"]
            hconfig.backlog = 1024
            hconfig.accesslog = None
            # Hypercorn's warnings go through our logs; its "Running on …" would repeat the banner.
            hconfig.errorlog = logs.get("editor.hypercorn")
            hconfig.errorlog.setLevel(logging.WARNING)
            hconfig.graceful_timeout = cfg.drain_timeout_s
            binds = await nursery.start(partial(
                hypercorn_serve, app, hconfig, shutdown_trigger=http_stopped.wait))
            endpoints = Endpoints(binds[0], ws_url)
            if not cfg.public_url:
                auth.public_url = endpoints.http_url
            log.debug("serving", extra={"http_url": endpoints.http_url, "ws_url": ws_url,
                                       "data_dir": str(cfg.data_dir)})
            task_status.started(endpoints)
            await _wait_for_stop(stop)
            log.info("draining")
            with trio.move_on_after(cfg.drain_timeout_s):
                await collab.drain()
            http_stopped.set()
            await engine.stop()
            log.info("stopped")
            nursery.cancel_scope.cancel()


async def _wait_for_stop(stop: trio.Event | None) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
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
