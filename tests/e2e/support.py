"""End-to-end helpers: `editor run SERVICE` processes on real backends, users editing over
WebSocket, the events read back from Kafka with a fresh group, metrics scraped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
from prometheus_client.parser import text_string_to_metric_families

from editor.events.kafka import opened_kafka
from editor.events.shapes import Event
from tests.services.support import SHARED_SECRET, ServiceProcess
from tests.support.api import Account
from tests.support.kafka import TEST_HEARTBEAT_INTERVAL_MS, TEST_SESSION_TIMEOUT_MS
from tests.support.raw import connect
from tests.support.servers import free_port

PASSWORD = "correct horse battery"  # tests.support.api.sign_up's
WORKERS = ("reconciler", "archiver")


@dataclass
class Service(ServiceProcess):
    """An ``editor run NAME`` process with its own ``EDITOR_*`` environment."""

    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        """Spawn the process with ``env`` on top of the test's (``wait_ready`` waits)."""
        command = [sys.executable, "-m", "editor", "run", self.name, "--host", "127.0.0.1",
                   "--port", str(self.http_port), "--data-dir", str(self.data_dir)]
        if self.ws_port is not None:
            command += ["--ws-port", str(self.ws_port)]
        env = {**os.environ, "EDITOR_JWT_SECRET": SHARED_SECRET, "EDITOR_LOG_LEVEL": "info",
               **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def kill(self) -> None:
        """SIGKILL by PID, as a crash."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        """Start again on the same ports after a kill; wait until ready."""
        self.start()
        self.wait_ready(time.monotonic() + 30)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@dataclass
class Stack:
    """The separate services of one deployment, sharing the backends of ``env``."""

    data_dir: Path
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    def add(self, name: str, **env: str) -> Service:
        service = Service(name, self.data_dir, env={**self.env, **env})
        if name == "collaboration":
            service.ws_port = free_port()
        self.services[name] = service
        return service

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def start(self, names: Iterable[str]) -> None:
        """Start ``names`` together and wait until each is ready (60 s in all)."""
        started = [self.services[name] for name in names]
        for service in started:
            service.start()
        deadline = time.monotonic() + 60
        for service in started:
            service.wait_ready(deadline)

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every running process; their exit codes."""
        return {name: service.terminate() for name, service in self.services.items()
                if service.process is not None}

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{service.log_tail()}"
                         for name, service in self.services.items()
                         if service.log_path.exists())


async def wait_until(check: Callable[[], Awaitable[bool]], within_s: float, what: str,
                     every_s: float = 0.2) -> None:
    """Poll ``check`` until it is true; AssertionError naming ``what`` after ``within_s``."""
    with trio.move_on_after(within_s):
        while True:
            if await check():
                return
            await trio.sleep(every_s)
    raise AssertionError(f"not within {within_s} s: {what}")


async def edit(ws_url: str, doc_id: str, user: Account, texts: Sequence[str],
               client_id: str | None = None) -> list[int]:
    """Insert each of ``texts`` at the start, one op at a time, each acked; the versions."""
    versions: list[int] = []
    async with connect(ws_url, doc_id) as client:
        welcome = await client.hello(user.access_token, client_id or uuid.uuid4().hex[:12])
        version = welcome["head"]
        for seq, text in enumerate(texts, start=1):
            await client.send({"type": "op", "seq": seq, "version": version,
                               "delta": [{"insert": text}]})
            ack = await client.recv_type("ack")
            versions.append(ack["version"])
            version = ack["version"] + 1
    return versions


async def read_events(bootstrap: str, topics: Sequence[str],
                      done: Callable[[list[Event]], bool], within_s: float) -> list[Event]:
    """Every event of ``topics`` from the start (a fresh group), once ``done`` holds for
    what was read; AssertionError with what was read when it does not within ``within_s``."""
    read: list[Event] = []
    async with opened_kafka(bootstrap, partitions=1, replication_factor=1,
                            client_id="e2e-reader", session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
                            heartbeat_interval_ms=TEST_HEARTBEAT_INTERVAL_MS,
                            request_timeout_ms=5_000) as stream:
        async with stream.consume(f"e2e-{uuid.uuid4().hex[:8]}", topics) as consumer:
            with trio.move_on_after(within_s):
                while not done(read):
                    read += [delivery.event for delivery in await consumer.fetch(500)]
    if not done(read):
        raise AssertionError(f"events not complete within {within_s} s; read {len(read)}: "
                             f"{[(e.type, e.body.get('version')) for e in read][:200]}")
    return read


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of ``url``'s /metrics: ``(name, sorted labels) → value``."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{url}/metrics")).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float | None:
    """One sample's value, None when absent."""
    return samples.get((name, tuple(sorted(labels.items()))))


def no_secrets(events: Iterable[Event], users: Iterable[Account]) -> None:
    """Assert no event body carries an email, a password or a password hash."""
    for event in events:
        body = json.dumps(event.body)
        assert "@" not in body or not any(u.email in body for u in users), event.body
        lowered = body.lower()
        for word in (PASSWORD, "password", "$argon2", "$2b$", "pbkdf2", "scrypt", "email"):
            assert word not in lowered, (word, event.body)


def op_versions(events: Iterable[Event]) -> dict[str, list[int]]:
    """Per document, the versions of its ``op.committed`` events in stream order."""
    seen: dict[str, list[int]] = {}
    for event in events:
        if event.type == "op.committed":
            seen.setdefault(event.body["doc_id"], []).append(event.body["version"])
    return seen


def check_op_events(events: Sequence[Event], heads: dict[str, int],
                    starts: dict[str, int] | None = None) -> None:
    """Every version from each start (0) below each head on collaboration-events, keyed by
    its doc_id, first appearances in version order, a repeat only as a re-delivery of the
    same event."""
    first_ids: dict[tuple[str, int], Event] = {}
    order: dict[str, list[int]] = {}
    for event in events:
        if event.type != "op.committed":
            continue
        body = event.body
        assert event.key == body["doc_id"], event
        assert set(body) == {"id", "type", "at", "doc_id", "version", "user_id", "client_id",
                             "seq", "delta"}, body
        assert body["at"].endswith("Z"), body
        place = (body["doc_id"], body["version"])
        if place in first_ids:
            assert first_ids[place].body == body, (first_ids[place].body, body)
            continue
        first_ids[place] = event
        order.setdefault(body["doc_id"], []).append(body["version"])
    for doc_id, head in heads.items():
        start = (starts or {}).get(doc_id, 0)
        assert order.get(doc_id) == list(range(start, head)), (doc_id, head, order.get(doc_id))


def heads_covered(heads: dict[str, int]) -> Callable[[list[Event]], bool]:
    """``done`` for ``read_events``: every version of every document read."""
    def done(events: list[Event]) -> bool:
        seen = {(e.body.get("doc_id"), e.body.get("version")) for e in events
                if e.type == "op.committed"}
        return all((doc_id, v) in seen for doc_id, head in heads.items() for v in range(head))
    return done


def shape_keys(event: Event) -> set[str]:
    return set(event.body) - {"id", "type", "at"}


JsonDict = dict[str, Any]
