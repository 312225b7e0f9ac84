"""What an idle WebSocket session costs the server: bytes (tracemalloc), objects, tasks, RSS.

    python -m benchmarks.session_memory [--sessions 2000] [--documents 20] [--top 15]

The server runs in this process (``editor.serve`` on a temporary data directory) so that
tracemalloc and the garbage collector see it; the sessions are opened by a separate process
of raw-socket clients (``benchmarks.light_client``) that say hello and then stay idle. Prints
per session: traced Python bytes, RSS, live objects by type, Trio tasks, and the allocation
sites that grew most.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import trio

import editor.aio  # noqa: F401 (first, outside Trio: see editor/aio.py)
from benchmarks.light_client import RawSocket
from editor.config import load
from editor.serve import serve


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _objects() -> Counter[str]:
    gc.collect()
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def _owner(traceback: tracemalloc.Traceback) -> str:
    """The innermost frame of an allocation in our code or trio-websocket's."""
    for frame in traceback:  # innermost first
        name = frame.filename
        if "/editor/" in name or "trio_websocket" in name:
            return f"{name.split('site-packages/')[-1].split('/main/')[-1]}:{frame.lineno}"
    return "(elsewhere)"


def _tasks() -> int:
    count, stack = 0, [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None:
            continue
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


async def _hold(spec: dict[str, Any]) -> None:
    """The client process: open the sessions, report, stay idle until stdin closes."""
    sockets: list[RawSocket] = []
    for n, doc_id in enumerate(spec["documents"] * (spec["sessions"] // len(spec["documents"]))):
        ws = await RawSocket.connect(spec["ws_url"], f"/v1/docs/{doc_id}/ws")
        await ws.send(json.dumps({"type": "hello", "token": spec["token"],
                                  "client_id": f"m{n}", "version": None}))
        await ws.messages().__anext__()  # the welcome
        sockets.append(ws)
    print(json.dumps({"ready": len(sockets)}), flush=True)
    await trio.to_thread.run_sync(sys.stdin.readline)


async def _measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="editor-mem-") as tmp:
        cfg = load({}, host="127.0.0.1", http_port=0, ws_port=0, data_dir=Path(tmp),
                   jwt_secret="bench-" * 8)
        async with trio.open_nursery() as nursery:
            endpoints = await nursery.start(serve, cfg)
            async with httpx.AsyncClient(base_url=endpoints.http_url, timeout=30) as http:
                body = {"email": "m@bench.test", "password": "benchmark-password",
                        "name": "m"}
                (await http.post("/v1/auth/register", json=body)).raise_for_status()
                login = await http.post("/v1/auth/login", json={
                    "email": body["email"], "password": body["password"]})
                token = login.json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                documents = []
                for d in range(args.documents):
                    doc = await http.post("/v1/documents", json={"title": f"m{d}"},
                                          headers=headers)
                    documents.append(doc.json()["id"])
            spec = {"ws_url": endpoints.ws_url, "token": token, "documents": documents,
                    "sessions": args.sessions}
            # Warm up: a first wave loads the documents and every code path once.
            await _wave(spec | {"sessions": len(documents)})
            objects_before, rss_before, tasks_before = _objects(), _rss(), _tasks()
            if args.rss_only:
                proc = await _start_clients(spec)
                gc.collect()
                n = args.sessions
                print(f"{n} idle sessions on {len(documents)} documents: RSS "
                      f"{(_rss() - rss_before) / n / 1024:.1f} KiB per session, "
                      f"{(_tasks() - tasks_before) / n:.2f} Trio tasks per session")
                assert proc.stdin is not None
                proc.stdin.close()
                await trio.to_thread.run_sync(proc.wait)
                nursery.cancel_scope.cancel()
                return
            tracemalloc.start(25)
            traced_before = tracemalloc.take_snapshot()
            proc = await _start_clients(spec)
            snapshot = tracemalloc.take_snapshot()
            rss_after, tasks_after, objects_after = _rss(), _tasks(), _objects()
            tracemalloc.stop()
            n = args.sessions
            growth = snapshot.compare_to(traced_before, "lineno")
            traced = sum(stat.size_diff for stat in growth)
            print(f"{n} idle sessions on {len(documents)} documents")
            print(f"  traced Python memory: {traced / n / 1024:.1f} KiB per session")
            print(f"  RSS (with tracemalloc's own overhead): "
                  f"{(rss_after - rss_before) / n / 1024:.1f} KiB per session")
            print(f"  Trio tasks: {(tasks_after - tasks_before) / n:.2f} per session")
            print("  live objects per session:")
            diff = objects_after - objects_before
            for name, count in diff.most_common(args.top):
                print(f"    {count / n:6.2f}  {name}")
            print("  allocation sites (bytes per session):")
            for stat in growth[:args.top]:
                frame = stat.traceback[0]
                print(f"    {stat.size_diff / n:8.0f}  {frame.filename.split('site-packages/')[-1]}"
                      f":{frame.lineno}")
            print("  by the caller in editor/ or trio_websocket (bytes per session):")
            callers: Counter[str] = Counter()
            for stat in snapshot.compare_to(traced_before, "traceback"):
                callers[_owner(stat.traceback)] += stat.size_diff
            for where, size in callers.most_common(args.top):
                print(f"    {size / n:8.0f}  {where}")
            assert proc.stdin is not None
            proc.stdin.close()
            await trio.to_thread.run_sync(proc.wait)
            nursery.cancel_scope.cancel()


async def _start_clients(spec: dict[str, Any]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(  # noqa: ASYNC220 (started once, before the measurement)
        [sys.executable, "-m", "benchmarks.session_memory", "--hold"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec) + "\n")
    proc.stdin.flush()
    stdout = proc.stdout
    ready = await trio.to_thread.run_sync(stdout.readline)
    assert json.loads(ready)["ready"] == spec["sessions"], ready
    await trio.sleep(0.5)  # let the last sessions settle into their idle state
    return proc


async def _wave(spec: dict[str, Any]) -> None:
    proc = await _start_clients(spec)
    assert proc.stdin is not None
    proc.stdin.close()
    await trio.to_thread.run_sync(proc.wait)
    await trio.sleep(0.5)


def main() -> None:
    """Parse arguments; measure, or (``--hold``) be the client process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--rss-only", action="store_true",
                        help="only RSS and tasks, without tracemalloc (which inflates RSS)")
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.hold:
        trio.run(_hold, json.loads(sys.stdin.readline()))
        return
    os.environ.setdefault("EDITOR_LOG_LEVEL", "warning")
    trio.run(_measure, args)


if __name__ == "__main__":
    main()
