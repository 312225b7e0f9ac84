"""Load benchmark of `editor serve` with simulated SDK clients in separate processes.

    python -m benchmarks.collab S1            # or S2, S3, S4, all
    python -m benchmarks.collab S2 --duration 10 --client-procs 2
    python -m benchmarks.collab S2 --database postgresql   # a private, durable PostgreSQL
    python -m benchmarks.collab S1 --replicas 2 [--redis-down]   # two servers and a Redis
    python -m benchmarks.collab S2 --light --client-procs 1     # raw-socket writers
    python -m benchmarks.collab S1 --authors 200 --light        # S1 with 200 authors
    python -m benchmarks.collab S3 --profile /tmp/s3.txt        # py-spy of the server

The server runs as a real `editor serve` subprocess on a fresh data directory, pinned to
CPU 0 when the machine has more than one; client processes are pinned to the other CPUs.
Prints committed ops/s, ack and fan-out latency percentiles, convergence, server and client
CPU, and peak RSS. A run whose client core was saturated (the load generator, not the
server, set the pace) is flagged ``valid: False``. Every ack is durable (SQLite WAL with
synchronous=FULL, or PostgreSQL with fsync and synchronous_commit on; its server is not
pinned). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.postgres import start_session_server
from tests.support.redis import start_server as start_redis
from tests.support.servers import LiveServer


@dataclass(frozen=True)
class Scenario:
    """One load shape."""

    name: str
    documents: int
    clients_per_document: int
    rate_per_s: float  # edits per second per client; 0 = next edit as soon as acked
    duration_s: float
    observers_per_document: int = 3


SCENARIOS = {
    "S1": Scenario("S1: 1 document, 10 clients, 10 edits/s each", 1, 10, 10.0, 20.0),
    "S2": Scenario("S2: 1 document, 50 clients, next edit on ack", 1, 50, 0.0, 20.0),
    "S3": Scenario("S3: 100 documents x 5 clients x 2 edits/s", 100, 5, 2.0, 30.0, 2),
    "S4": Scenario("S4: 5,000 sessions on 100 documents, 1 edit per 20 s", 100, 50, 0.05, 40.0,
                   2),
}


def _percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {at(0.50):.2f} ms  p95 {at(0.95):.2f} ms  p99 {at(0.99):.2f} ms  (n={len(values)})"


def _percentile_ms(values: list[float]) -> list[float]:
    """p50, p95 and p99 in milliseconds (empty when there are no values)."""
    if not values:
        return []
    ordered = sorted(values)
    return [ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
            for q in (0.50, 0.95, 0.99)]


def _proc_stats(pid: int) -> tuple[float, int, int]:
    """CPU seconds, current RSS and peak RSS (bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu_s = (int(fields[11]) + int(fields[12])) / ticks
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return cpu_s, int(status["VmRSS"].split()[0]) * 1024, int(status["VmHWM"].split()[0]) * 1024


def _pin(pid: int, cpus: set[int]) -> None:
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError:
        pass


def _setup(server: LiveServer, scenario: Scenario) -> list[dict[str, Any]]:
    """Users and documents: one account per client, everyone editor on their document."""
    sessions: list[dict[str, Any]] = []
    with httpx.Client(base_url=server.http_url, timeout=30) as http:
        def account(name: str) -> tuple[str, str]:
            email = f"{name}@bench.test"
            body = {"email": email, "password": "benchmark-password", "name": name}
            http.post("/v1/auth/register", json=body).raise_for_status()
            tokens = http.post("/v1/auth/login", json={"email": email,
                                                        "password": body["password"]})
            tokens.raise_for_status()
            return email, tokens.json()["access_token"]

        owner_email, owner_token = account("owner")
        writers = [account(f"writer{i}") for i in range(min(scenario.clients_per_document, 50))]
        headers = {"Authorization": f"Bearer {owner_token}"}
        for d in range(scenario.documents):
            doc = http.post("/v1/documents", json={"title": f"bench {d}", "content": "start"},
                            headers=headers)
            doc.raise_for_status()
            doc_id = doc.json()["id"]
            for email, _ in writers:
                http.put(f"/v1/documents/{doc_id}/members/{email}", json={"role": "editor"},
                         headers=headers).raise_for_status()
            for c in range(scenario.clients_per_document):
                _, token = writers[c % len(writers)]
                sessions.append({"doc_id": doc_id, "token": token, "client_id": f"d{d}c{c}",
                                 "observer": c < scenario.observers_per_document})
    return sessions


# Above this share of the client cores busy during the load, the figures are the load
# generator's as much as the server's: the run is flagged invalid.
CLIENT_SATURATED = 0.85


def run(scenario: Scenario, client_procs: int, duration_s: float | None,
        database_url: str = "", replicas: int = 1, redis_down: bool = False, *,
        light: bool = False, profile: str = "") -> dict[str, Any]:
    """Run one scenario and return its figures (on SQLite unless ``database_url``).

    ``replicas`` > 1: that many servers on one database and one private Redis, each
    document's clients spread over them; ``redis_down`` kills Redis before the load.
    """
    duration = duration_s or scenario.duration_s
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = {cpus[0]}
    client_cpus = set(cpus[1:]) or server_cpus
    with tempfile.TemporaryDirectory(prefix="editor-bench-") as tmp, ExitStack() as stack:
        env = {"EDITOR_LOG_LEVEL": "warning", "EDITOR_JWT_SECRET": "bench-" * 8,
               "EDITOR_SHARES_PER_USER_PER_MIN": "100000",  # set-up shares with every writer
               "EDITOR_DOCUMENTS_PER_USER_PER_MIN": "100000"}  # S4 set-up: 5,000 requests
        if replicas > 1:
            database_url = database_url or f"sqlite:///{Path(tmp) / 'shared.db'}"
            redis = start_redis()
            stack.callback(redis.stop)
            env["EDITOR_REDIS_URL"] = redis.url
        if database_url:
            env["EDITOR_DATABASE_URL"] = database_url
        servers = [LiveServer(Path(tmp) / f"data{n}", env=env) for n in range(replicas)]
        for server in servers:
            server.start()
            stack.callback(server.stop)
            assert server.process is not None
            _pin(server.process.pid, server_cpus)
        pids = [s.process.pid for s in servers if s.process is not None]
        server = servers[0]
        sessions = _setup(server, scenario)
        for n, session in enumerate(sessions):
            session["ws_url"] = servers[n % replicas].ws_url
        if redis_down and replicas > 1:
            redis.kill()
        cpu_before, rss_before, _ = _procs_stats(pids)
        procs = []
        for i in range(client_procs):
            spec = {"ws_url": server.ws_url, "rate_per_s": scenario.rate_per_s,
                    "duration_s": duration, "settle_s": 1.0, "connect_timeout_s": 120,
                    "sessions": sessions[i::client_procs], "light_writers": light}
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.collab_worker"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            _pin(proc.pid, client_cpus)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
            procs.append(proc)
        connected = 0
        for proc in procs:
            assert proc.stdout is not None
            connected += json.loads(proc.stdout.readline())["ready"]
        _, rss_connected, _ = _procs_stats(pids)
        cpu_start, _, _ = _procs_stats(pids)
        started = time.monotonic()
        spy = _start_profile(profile, pids[0], duration) if profile else None
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in procs:
            out, _ = proc.communicate(timeout=duration + 120)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - started
        cpu_end, _, peak_rss = _procs_stats(pids)
        if spy is not None:
            spy.wait(timeout=60)
        heads, contents = _final_state(server, sessions)
    replica_of = {s["client_id"]: s["ws_url"] for s in sessions}
    result = _summarise(scenario, reports, sessions, connected, duration, elapsed, heads,
                        contents, cpu_end - cpu_start, cpu_end - cpu_before, peak_rss,
                        rss_connected - rss_before, replica_of if replicas > 1 else None)
    client_cpu = sum(r.get("cpu_s", 0.0) for r in reports)
    load_s = max((r.get("elapsed_s", duration) for r in reports), default=duration)
    client_busy = client_cpu / (load_s * len(client_cpus))
    result.update({
        "server_core_busy": (cpu_end - cpu_start) / duration / len(server_cpus),
        "client_cpu_s": client_cpu, "client_cores": len(client_cpus),
        "client_core_busy": client_busy,
        "valid": client_busy < CLIENT_SATURATED,
        "loadavg_1m": os.getloadavg()[0],
    })
    if profile:
        result["profile"] = profile
    return result


def _start_profile(path: str, pid: int, duration_s: float) -> subprocess.Popen[bytes]:
    """py-spy on the server for the load phase: collapsed stacks (``-f raw``) at ``path``."""
    py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(duration_s)),
         "--rate", "200", "--nonblocking", "--format", "raw", "--output", path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _procs_stats(pids: list[int]) -> tuple[float, int, int]:
    """CPU seconds, RSS and peak RSS summed over the server processes."""
    stats = [_proc_stats(pid) for pid in pids]
    return (sum(s[0] for s in stats), sum(s[1] for s in stats), sum(s[2] for s in stats))


def _final_state(server: LiveServer, sessions: list[dict[str, Any]]
                 ) -> tuple[dict[str, int], dict[str, str]]:
    import hashlib

    heads, contents = {}, {}
    token = sessions[0]["token"]
    with httpx.Client(base_url=server.http_url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for doc_id in sorted({s["doc_id"] for s in sessions}):
            body = http.get(f"/v1/documents/{doc_id}").json()
            heads[doc_id] = body["version"]
            contents[doc_id] = hashlib.sha256(
                json.dumps(body["content"], sort_keys=True).encode()).hexdigest()
    return heads, contents


def _summarise(scenario: Scenario, reports: list[dict[str, Any]], sessions: list[Any],
               connected: int, duration: float, elapsed: float, heads: dict[str, int],
               contents: dict[str, str], cpu_run_s: float, cpu_total_s: float,
               peak_rss: int, rss_sessions: int,
               replica_of: dict[str, str] | None = None) -> dict[str, Any]:
    acks = [a for r in reports for a in r["acks"]]
    sends = {k: v for r in reports for k, v in r["sends"].items()}
    fanout = [t - sends[f"{cid}:{seq}"] for r in reports for cid, seq, t, _ in r["recvs"]
              if f"{cid}:{seq}" in sends]
    cross = [t - sends[f"{cid}:{seq}"] for r in reports for cid, seq, t, to in r["recvs"]
             if f"{cid}:{seq}" in sends and replica_of and replica_of[cid] != replica_of[to]]
    converged = all(
        set(digests) == {contents[doc_id]}
        for r in reports for doc_id, digests in r["contents"].items())
    at_head = all(version == heads[doc_id] for r in reports
                  for doc_id, versions in r.get("versions", {}).items() for version in versions)
    clients_reported = sum(len(d) for r in reports for d in r["contents"].values())
    light = sum(r.get("light", 0) for r in reports)  # writers that do not hold the content
    errors = [e for r in reports for e in r["errors"]]
    committed = sum(heads.values())
    return {
        "scenario": scenario.name, "sessions": len(sessions), "connected": connected,
        "duration_s": duration, "committed_ops": committed,
        "committed_ops_per_s": committed / duration,
        "ack": _percentiles(acks), "fanout": _percentiles(fanout),
        "ack_ms": _percentile_ms(acks), "fanout_ms": _percentile_ms(fanout),
        **({"fanout_cross_replica": _percentiles(cross)} if replica_of else {}),
        "converged": converged and clients_reported + light == len(sessions) and not errors,
        "clients_reported": clients_reported, "clients_at_head": at_head,
        "errors": errors[:5],
        "server_cpu_s": cpu_run_s, "server_cpu_incl_connect_s": cpu_total_s,
        "server_peak_rss_mib": peak_rss / 2**20,
        "rss_per_session_kib": rss_sessions / max(1, connected) / 1024,
    }


def main() -> None:
    """Parse arguments, run the scenarios, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--client-procs", type=int, default=0,
                        help="client processes (default: 1, or 4 for S4)")
    parser.add_argument("--duration", type=float, help="seconds of load (default per scenario)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="the store: SQLite in the data directory (default), or a private"
                             " durable PostgreSQL server started for the run")
    parser.add_argument("--replicas", type=int, default=1,
                        help="servers sharing the database and a private Redis (default 1)")
    parser.add_argument("--light", action="store_true",
                        help="writers on raw sockets that insert at 0 (the observers stay SDK"
                             " clients and check convergence): a load side that is not the"
                             " bottleneck")
    parser.add_argument("--authors", type=int, default=0,
                        help="clients per document instead of the scenario's")
    parser.add_argument("--observers", type=int, default=0,
                        help="SDK observers per document instead of the scenario's (each"
                             " applies every op of its document: at S2's rates three of them"
                             " saturate the client core)")
    parser.add_argument("--rate", type=float, default=-1.0,
                        help="edits per second per client instead of the scenario's"
                             " (0: next edit on ack)")
    parser.add_argument("--profile", default="",
                        help="write py-spy collapsed stacks of the server's load phase here"
                             " (py-spy on PATH or in $PY_SPY)")
    parser.add_argument("--json", default="", help="also append each result as a JSON line here")
    parser.add_argument("--redis-down", action="store_true",
                        help="with --replicas: kill Redis before the load (the degraded path)")
    args = parser.parse_args()
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    postgres = start_session_server(durable=True) if args.database == "postgresql" else None
    try:
        for name in names:
            scenario = SCENARIOS[name]
            if args.authors:
                scenario = dataclasses.replace(
                    scenario, name=f"{scenario.name} ({args.authors} authors)",
                    clients_per_document=args.authors)
            if args.observers:
                scenario = dataclasses.replace(
                    scenario, name=f"{scenario.name}, {args.observers} observer(s)",
                    observers_per_document=args.observers)
            if args.rate >= 0:
                scenario = dataclasses.replace(
                    scenario, name=f"{scenario.name} at {args.rate:g} edits/s",
                    rate_per_s=args.rate)
            procs = args.client_procs or (4 if name == "S4" else 1)
            light = " (light writers)" if args.light else ""
            print(f"== {scenario.name}{light} on {args.database}, {args.replicas} replica(s)"
                  f"{', Redis down' if args.redis_down else ''} ({procs} client processes)",
                  flush=True)
            database_url = postgres.new_database() if postgres else ""
            result = run(scenario, procs, args.duration, database_url, args.replicas,
                         args.redis_down, light=args.light, profile=args.profile)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps({"name": name, "authors": scenario.clients_per_document,
                                          "light": args.light, **result}) + "\n")
            for key, value in result.items():
                if key not in ("scenario", "ack_ms", "fanout_ms"):
                    shown = f"{value:.2f}" if isinstance(value, float) else value
                    print(f"  {key:28} {shown}", flush=True)
    finally:
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
