"""The probes of a service: readiness follows the store; the service table names real routes."""

from __future__ import annotations

from editor.net.http import ALL_ROUTES, create_probe_app
from editor.services import SERVICES
from editor.store.records import Unavailable


class Store:
    """Just ``ping``, failing while ``down``."""

    def __init__(self) -> None:
        self.down = False

    async def ping(self) -> None:
        if self.down:
            raise Unavailable("database unreachable")


async def test_readyz_is_503_while_the_store_does_not_answer() -> None:
    store = Store()
    client = create_probe_app(store).test_client()  # type: ignore[arg-type]
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    store.down = True
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert await ready.get_json() == {"status": "unavailable", "reason": "database unreachable"}
    assert (await client.get("/healthz")).status_code == 200, "liveness never asks the store"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "# TYPE editor_ops_committed_total counter" in (await metrics.get_data(as_text=True))
    assert (await client.get("/v1/config")).status_code == 404


def test_every_service_mounts_known_route_groups() -> None:
    for name, spec in SERVICES.items():
        assert spec.routes <= ALL_ROUTES, name
        assert not (spec.routes and spec.worker), name
