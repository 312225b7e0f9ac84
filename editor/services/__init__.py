"""The services of ``editor run SERVICE`` (PROTOCOL.md §6): what each one runs.

Each service is one Trio nursery with its listeners and pumps, and answers ``/healthz``,
``/readyz`` (the store answers) and ``/metrics`` on its HTTP port, which is the
cluster-internal port (the ingress routes only the public paths to it). A service that
writes events (accounts, documents, ops) runs the outbox relay. SIGINT/SIGTERM drain like
``editor serve``: stop accepting, close sessions with 1001, let committers finish, publish
the outbox, let a worker write what is pending, then exit 0.

This module is only the table, cheap to import (the command line lists it in ``--help``);
``editor.services.runner`` runs a service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from editor.config_values import ConfigError

__all__ = ["SERVICES", "ServiceSpec", "service_spec"]


@dataclass(frozen=True)
class ServiceSpec:
    """What one service runs."""

    summary: str
    # Route groups of ``editor.net.http`` (``ALL_ROUTES``); none: health and metrics only.
    routes: frozenset[str] = frozenset()
    engine: bool = False  # runs the engine's committers (it commits ops)
    relay: bool = False  # writes events, so drains the outbox to the stream
    websocket: bool = False  # the collaboration listener on --ws-port
    worker: Literal["reconciler", "archiver", "failover"] | None = None


SERVICES: dict[str, ServiceSpec] = {
    "auth": ServiceSpec("REST /v1/auth/* (accounts, tokens, OIDC sign-in)",
                        routes=frozenset({"auth"}), relay=True),
    "documents": ServiceSpec("REST /v1/documents/* (documents, members, history, restore)",
                             routes=frozenset({"documents"}), engine=True, relay=True),
    "collaboration": ServiceSpec("the WebSocket listener (--ws-port) and GET /v1/config",
                                 routes=frozenset({"config"}), engine=True, relay=True,
                                 websocket=True),
    "presence": ServiceSpec("GET /v1/documents/{id}/presence",
                            routes=frozenset({"presence"})),
    "reconciler": ServiceSpec("snapshots from collaboration-events (reconciliation-group)",
                              worker="reconciler"),
    "archiver": ServiceSpec("snapshots into the archive (storage-group)", worker="archiver"),
    "failover": ServiceSpec("watches the PostgreSQL nodes, fences a dead primary, promotes a"
                            " replica (one per cluster)", worker="failover"),
}


def service_spec(name: str) -> ServiceSpec:
    """The service called ``name``; ``ConfigError`` naming the valid ones otherwise."""
    spec = SERVICES.get(name)
    if spec is None:
        raise ConfigError(f"unknown service {name!r}; choose one of: {', '.join(SERVICES)}")
    return spec


