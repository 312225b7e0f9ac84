#!/usr/bin/env python3
"""Wait until every HOST:PORT accepts a TCP connection: init containers and Compose use it.

    wait-for [--timeout-s N] HOST:PORT[|HOST:PORT...] ...

Each argument is a dependency; alternatives joined by "|" (the nodes of one replicated
database, say) are satisfied when any of them answers. Exit 0 once all answer, 1 when the deadline passes (the orchestrator then retries the pod).
Only the standard library: it runs in the editor image before anything else is up.
"""

import argparse
import socket
import sys
import time


def reachable(address: str) -> bool:
    """True when a TCP connection to HOST:PORT opens within a second."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def any_reachable(alternatives: str) -> bool:
    """True when one of the "|"-separated HOST:PORT answers."""
    return any(reachable(address) for address in alternatives.split("|"))


def main() -> int:
    parser = argparse.ArgumentParser(prog="wait-for")
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("addresses", nargs="+", metavar="HOST:PORT[|HOST:PORT...]")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout_s
    waiting = list(args.addresses)
    while waiting:
        waiting = [address for address in waiting if not any_reachable(address)]
        if not waiting:
            break
        if time.monotonic() > deadline:
            print(f"wait-for: gave up on {', '.join(waiting)}", file=sys.stderr, flush=True)
            return 1
        print(f"wait-for: waiting for {', '.join(waiting)}", file=sys.stderr, flush=True)
        time.sleep(2)
    print(f"wait-for: {', '.join(args.addresses)} reachable", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
