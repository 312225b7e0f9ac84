"""The chaos table: every degraded mode of DESIGN.md under an edit storm, outside pytest.

    python -m benchmarks.chaos                      # 24 clients, 3 documents, 2 edits/s each
    python -m benchmarks.chaos --clients 48 --rate 1 --check-interval 5

Starts PostgreSQL (primary + 2 synchronous replicas) with `editor run failover`, Redis, a
Kafka-protocol broker (Tansu), S3 (moto) and two `editor serve` replicas behind failover
proxies, runs the same scenarios as tests/chaos (tests/support/chaos.py) and prints the
Markdown table of docs/reliability.md: per mode its budget, the recovery time (the longest gap
in acks any client saw from the fault on), the longest fan-out gap, the acked ops, the lost
ones and whether every client converged. Exits 1 when a mode broke a guarantee or a budget.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import trio

import editor.aio  # noqa: F401 (outside Trio first: plain asyncio stays plain)
from tests.support.chaos import (
    FAILOVER_CHECK_INTERVAL_S,
    MODES,
    StormShape,
    machine,
    run_chaos,
    table,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=StormShape.clients)
    parser.add_argument("--documents", type=int, default=StormShape.documents)
    parser.add_argument("--rate", type=float, default=StormShape.rate_per_s,
                        help="edits per second per client")
    parser.add_argument("--check-interval", type=float, default=FAILOVER_CHECK_INTERVAL_S,
                        help="EDITOR_FAILOVER_CHECK_INTERVAL_S of the failover worker")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args(argv)
    shape = StormShape(args.clients, args.documents, args.rate)
    base_dir = Path(tempfile.mkdtemp(prefix="editor-chaos-"))
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

    try:
        results = trio.run(lambda: run_chaos(base_dir, shape, MODES, progress,
                                             args.check_interval))
    finally:
        if args.keep:
            print(f"logs in {base_dir}", file=sys.stderr)
        else:
            shutil.rmtree(base_dir, ignore_errors=True)
    wall_s = time.monotonic() - started
    print(f"{shape.clients} SDK clients on {shape.documents} documents, {shape.rate_per_s:g}"
          f" edits/s each; failover check every {args.check_interval:g} s; {machine()};"
          f" {wall_s:.0f} s in all\n")
    print(table(results))
    failed = [r for r in results if not r.ok]
    for result in results:
        for note in result.notes:
            print(f"- {result.mode.name}: {note}")
        for problem in result.problems():
            print(f"- {result.mode.name}: FAILED: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
