"""One benchmark client process: many SDK sessions, reporting latencies as JSON on stdout.

Started by ``benchmarks.collab`` with a JSON spec on stdin; not meant to be run by hand.
Every client sends its next edit only after the previous one was acknowledged (at most at
``rate_per_s``, or at once when the rate is 0), so its n-th op has seq n and latencies can be
matched across processes by (client_id, seq) on the shared monotonic clock.
"""

from __future__ import annotations

import hashlib
import json
import random
import resource
import sys
import time
from typing import Any

import trio

from benchmarks.light_client import light_client
from editor.client import Acked, ClientOptions, RemoteChange, open_document

EMOJI = ["\U0001F600", "\u00e9", "\u0301", "x", "y", " "]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _edit(rng: random.Random, text: str) -> list[dict[str, Any]]:
    """A small random edit at a code-point boundary: mostly typing, some deletes and bold."""
    body = text[:-1]  # never touch the final newline
    at = rng.randrange(0, len(body) + 1)
    prefix: list[dict[str, Any]] = [{"retain": _units(body[:at])}] if at else []
    roll = rng.random()
    if roll < 0.75 or len(body) < 4 or at == len(body):
        typed = rng.choice(EMOJI) if rng.random() < 0.1 else rng.choice("abcdefgh ")
        return prefix + [{"insert": typed}]
    width = _units(body[at])
    if roll < 0.9:
        return prefix + [{"delete": width}]
    return prefix + [{"retain": width, "attributes": {"bold": rng.choice([True, None])}}]


async def _client(spec: dict[str, Any], session: dict[str, Any], report: dict[str, Any],
                  clock: dict[str, float], start_gate: trio.Event, connected: list[int]) -> None:
    rng = random.Random(session["client_id"])
    options = ClientOptions(ping_interval_s=30.0, event_queue_size=100_000)
    ws_url = session.get("ws_url", spec["ws_url"])  # with replicas, each session has its own
    async with open_document(None, session["doc_id"], session["token"], ws_url=ws_url,
                             client_id=session["client_id"], options=options) as doc:
        connected[0] += 1
        acked = trio.Event()
        observer = session["observer"]

        async def consume() -> None:
            async for event in doc.events():
                now = time.monotonic()
                if isinstance(event, Acked):
                    acked.set()
                elif observer and isinstance(event, RemoteChange):
                    report["recvs"].append([event.client_id, event.seq, now,
                                            session["client_id"]])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await start_gate.wait()
            rate = spec["rate_per_s"]
            # Spread the first edits so rate-driven clients do not all fire together.
            await trio.sleep(rng.random() / rate if rate else 0)
            seq = 0
            next_at = time.monotonic()
            deadline = clock["deadline"]
            while time.monotonic() < deadline:
                # A Python SDK document is mostly typing, so keep it bounded in size.
                text = doc.text
                delta = _edit(rng, text) if len(text) < 4000 else [{"delete": _units(text[0])}]
                acked = trio.Event()
                seq += 1
                sent = time.monotonic()
                report["sends"][f"{session['client_id']}:{seq}"] = sent
                await doc.submit(delta)
                with trio.move_on_after(max(0.0, deadline + 5 - time.monotonic())):
                    await acked.wait()
                report["acks"].append(time.monotonic() - sent)
                if rate:
                    next_at += 1 / rate
                    await trio.sleep(max(0.0, next_at - time.monotonic()))
            with trio.move_on_after(15):
                await doc.wait_synchronized()
            # Quiescence, not a fixed pause: the others' last ops may take as long as their
            # acks (seconds on a loaded machine) to arrive.
            with trio.move_on_after(30):
                while True:
                    version = doc.version
                    await trio.sleep(spec["settle_s"])
                    if doc.version == version and doc.synchronized:
                        break
            report.setdefault("versions", {}).setdefault(session["doc_id"], []).append(
                doc.version)
            digest = hashlib.sha256(json.dumps(doc.content, sort_keys=True).encode()).hexdigest()
            report["contents"].setdefault(session["doc_id"], []).append(digest)
            nursery.cancel_scope.cancel()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {"acks": [], "sends": {}, "recvs": [], "contents": {}, "errors": []}
    start_gate = trio.Event()
    connected = [0]
    clock = {"deadline": float("inf")}
    sessions = spec["sessions"]
    async with trio.open_nursery() as nursery:
        async def run(session: dict[str, Any]) -> None:
            try:
                await _client(spec, session, report, clock, start_gate, connected)
            except Exception as exc:  # reported, so one failing client does not hide the rest
                report["errors"].append(f"{session['client_id']}: {exc!r}")

        async def run_light(session: dict[str, Any]) -> None:
            try:
                await light_client(spec, session, report, clock, start_gate, connected)
            except Exception as exc:  # reported, so one failing client does not hide the rest
                report["errors"].append(f"{session['client_id']}: {exc!r}")

        for index, session in enumerate(sessions):
            light = spec.get("light_writers") and not session["observer"]
            nursery.start_soon(run_light if light else run, session)
            if index % 50 == 49:
                await trio.sleep(0.05)  # connect in waves: the accept rate is finite
        with trio.move_on_after(spec["connect_timeout_s"]):
            while connected[0] < len(sessions):
                await trio.sleep(0.05)
        report["connected"] = connected[0]
        print(json.dumps({"ready": connected[0]}), flush=True)
        # The parent sends a line when every process is connected: start together.
        await trio.to_thread.run_sync(sys.stdin.readline)
        clock["deadline"] = time.monotonic() + spec["duration_s"]
        cpu_at_start, started = _cpu_s(), time.monotonic()
        start_gate.set()
        await trio.sleep(spec["duration_s"])
        # The load phase alone: the settle and convergence waits that follow are idle time.
        report["cpu_s"] = _cpu_s() - cpu_at_start
        report["elapsed_s"] = time.monotonic() - started
    return report


def main() -> None:
    """Read the spec, run the sessions, print the report."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    spec = json.loads(sys.stdin.readline())
    report = trio.run(_main, spec)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
