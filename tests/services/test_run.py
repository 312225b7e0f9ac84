"""`editor run SERVICE` as real processes sharing one SQLite file: probes, metrics, an edit
across auth + documents + collaboration, drain on SIGTERM, and the command's errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from editor.services import SERVICES
from tests.services.support import ServiceProcess, start_all
from tests.support.api import create_document, sign_up
from tests.support.raw import connect
from tests.support.servers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def services(tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    """Every runnable service, started together on one data directory."""
    data_dir = tmp_path / "data"
    # failover watches PostgreSQL nodes; on SQLite it refuses to start (tests/ha runs it).
    running = {name: ServiceProcess(name, data_dir) for name in SERVICES if name != "failover"}
    running["collaboration"].ws_port = free_port()
    # The schema is made once before the others open the database.
    start_all([running["auth"]])
    try:
        start_all([service for name, service in running.items() if name != "auth"])
        yield running
    finally:
        for service in running.values():
            if service.process is not None:
                service.terminate()


async def test_services_edit_together_answer_probes_and_drain(
        services: dict[str, ServiceProcess]) -> None:
    auth, documents = services["auth"].http_url, services["documents"].http_url
    with trio.fail_after(30):
        async with httpx.AsyncClient(base_url=auth, timeout=10) as http:
            owner = await sign_up(http, "owner")
            # Auth answers only its own routes.
            assert (await http.get("/v1/documents", headers=owner.headers)).status_code == 404
        async with httpx.AsyncClient(base_url=documents, timeout=10) as http:
            doc_id = (await create_document(http, owner, content=[{"insert": "hi\n"}]))["id"]
        async with httpx.AsyncClient(timeout=10) as http:
            config = (await http.get(f"{services['collaboration'].http_url}/v1/config")).json()
        assert config["ws_url"] == f"ws://127.0.0.1:{services['collaboration'].ws_port}"
        async with connect(config["ws_url"], doc_id) as client:
            welcome = await client.hello(owner.access_token)
            assert welcome["head"] == 0
            await client.send({"type": "op", "seq": 1, "version": 0,
                               "delta": [{"insert": "well, "}]})
            assert (await client.recv_type("ack"))["version"] == 0
        async with httpx.AsyncClient(base_url=documents, timeout=10) as http:
            state = (await http.get(f"/v1/documents/{doc_id}", headers=owner.headers)).json()
            assert (state["version"], state["content"]) == (1, [{"insert": "well, hi\n"}])
            presence = await http.get(f"{services['presence'].http_url}/v1/documents/{doc_id}"
                                      "/presence", headers=owner.headers)
            assert presence.status_code == 200
        async with httpx.AsyncClient(timeout=10) as http:
            for name, service in services.items():
                assert (await http.get(f"{service.http_url}/healthz")).json() == {
                    "status": "ok"}, name
                assert (await http.get(f"{service.http_url}/readyz")).json() == {
                    "status": "ready"}, name
                metrics = await http.get(f"{service.http_url}/metrics")
                assert metrics.status_code == 200, name
                assert "editor_http_requests_total" in metrics.text or name in (
                    "reconciler", "archiver"), name
            reconciler = (await http.get(f"{services['reconciler'].http_url}/metrics")).text
            assert "editor_reconciler_divergence_total" in reconciler
            archiver = (await http.get(f"{services['archiver'].http_url}/metrics")).text
            assert "editor_archive_writes_total" in archiver
            collab_metrics = (await http.get(
                f"{services['collaboration'].http_url}/metrics")).text
            assert "editor_ops_committed_total 1.0" in collab_metrics
    for name, service in services.items():
        assert service.terminate() == 0, f"{name}: {service.log_path.read_text()[-2000:]}"


async def test_a_second_sigterm_during_the_drain_exits_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As `editor serve` (tests/system/test_process.py): a connection that never says hello
    holds the drain; a second SIGTERM ends the process at once, with a warning."""
    monkeypatch.setenv("EDITOR_HELLO_TIMEOUT_S", "120")
    monkeypatch.setenv("EDITOR_DRAIN_TIMEOUT_S", "120")
    service = ServiceProcess("collaboration", tmp_path / "data", ws_port=free_port())
    start_all([service])
    assert service.process is not None
    try:
        with trio.fail_after(30):
            async with connect(f"ws://127.0.0.1:{service.ws_port}", "doc"):  # holds the drain
                service.process.send_signal(signal.SIGTERM)
                while '"draining"' not in service.log_path.read_text():  # noqa: ASYNC110 - a log file
                    await trio.sleep(0.02)
                service.process.send_signal(signal.SIGTERM)
                code = service.process.wait(timeout=5)
    finally:
        service.terminate()
    assert code == 128 + signal.SIGTERM
    warning = json.loads(service.log_path.read_text().splitlines()[-1])
    assert (warning["level"], warning["signal"]) == ("warning", "SIGTERM")
    assert warning["event"].startswith("second signal during drain: exiting at once")


def run_editor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args], capture_output=True,
                          text=True, timeout=60)


def test_unknown_services_are_refused_with_the_valid_ones() -> None:
    result = run_editor("run", "nope")
    assert result.returncode == 2, result.stderr
    assert all(service in result.stderr for service in SERVICES), result.stderr
    on_sqlite = run_editor("run", "failover")
    assert on_sqlite.returncode == 2 and "PostgreSQL" in on_sqlite.stderr, on_sqlite.stderr
    ws_port = run_editor("run", "auth", "--ws-port", "9")
    assert ws_port.returncode == 2 and "--ws-port" in ws_port.stderr
    help_text = run_editor("run", "--help").stdout
    assert all(service in help_text for service in SERVICES)
    assert "/metrics" in help_text
