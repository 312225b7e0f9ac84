"""Summarise py-spy collapsed stacks (``benchmarks.collab --profile PATH``) by where the
server's CPU goes: top self-time frames and a few buckets of the fan-out path.

    python -m benchmarks.profile_summary /tmp/s3.txt [--top 25] [--ops N --deliveries M]

With ``--ops``/``--deliveries`` (from the run's figures) it also prints the CPU per committed
op and per delivered op, from the sample rate (``--rate``, default 200 Hz as collab uses).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# The first bucket whose pattern matches any frame of a stack takes the sample.
BUCKETS = [
    ("send: trio-websocket / wsproto / socket", re.compile(
        r"send_message|WebSocketConnection\._send|_Writer\._send|wsconn|send_all|"
        r"FrameProtocol\.send|_serialize_frame")),
    ("receive: client frames read and parsed", re.compile(
        r"_reader_task|CollabServer\._read|wire\.py.*parse|receive_some")),
    ("commit: sequence, store, fsync", re.compile(
        r"Committer|committer\.py|editor/store|sqlite")),
    ("fan-out: publish, deliver, encode", re.compile(
        r"DocumentRuntime\.publish|Session\.deliver|encode_outgoing|_Writer")),
    ("HTTP / other services", re.compile(r"hypercorn|quart|editor/services|editor/events")),
]


def _frames(stack: str) -> list[str]:
    return stack.split(";")


# Leaves where a thread waits rather than runs (py-spy's idle detection misses these).
IDLE = re.compile(r"EpollIOManager\.get_events|WorkerThread\._work|_thread_cache\.py|"
                  r"Condition\.wait|Lock\.acquire|in_transaction")


def summarise(path: Path, top: int) -> tuple[int, Counter[str], Counter[str]]:
    total, buckets, leaves = 0, Counter[str](), Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = _frames(stack)
        if IDLE.search(frames[-1]):
            buckets["(waiting: epoll, worker threads, SQLite fsync)"] += count
            continue
        total += count
        leaves[frames[-1]] += count
        for name, pattern in BUCKETS:
            if any(pattern.search(frame) for frame in frames):
                buckets[name] += count
                break
        else:
            buckets["other (trio scheduler, timers, metrics)"] += count
    return total, buckets, leaves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy samples per second")
    parser.add_argument("--ops", type=int, default=0, help="committed ops during the profile")
    parser.add_argument("--deliveries", type=int, default=0,
                        help="op deliveries (ops x sessions) during the profile")
    args = parser.parse_args()
    total, buckets, leaves = summarise(args.path, args.top)
    cpu_s = total / args.rate
    print(f"{total} busy samples = {cpu_s:.2f} s of server CPU (at {args.rate:.0f} Hz)")
    for name, count in buckets.most_common():
        if name.startswith("(waiting"):
            print(f"  (not counted: {count} samples waiting on epoll, threads, fsync)")
            continue
        per = ""
        if args.deliveries:
            per = f"  {count / args.rate / args.deliveries * 1e6:7.1f} µs/delivery"
        print(f"  {100 * count / total:5.1f} %  {name}{per}")
    if args.ops:
        print(f"CPU per committed op: {cpu_s / args.ops * 1e6:.0f} µs")
    if args.deliveries:
        print(f"CPU per delivered op: {cpu_s / args.deliveries * 1e6:.1f} µs")
    print("top self time:")
    for frame, count in leaves.most_common(args.top):
        print(f"  {100 * count / total:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
