"""Author sweep: ack and fan-out latency as the number of authors on one document grows.

    python -m benchmarks.sweep run --out /tmp/sweep.jsonl [--authors 10,25,50,100,200,500]
        [--rate 1] [--duration 10] [--reps 1]
    python -m benchmarks.sweep plot /tmp/sweep.jsonl docs/perf-authors.svg

``run`` calls ``benchmarks.collab S1 --light --authors N --rate R`` for each N (raw-socket
writers, three SDK observers that measure fan-out and check convergence) and appends one
JSON line per run. ``plot`` draws ack and fan-out p50/p95/p99 against the number of authors
(log scales), with runs whose client core saturated drawn hollow; it uses matplotlib when it
can be imported (it is not a dependency of the project) and writes the SVG by hand if not.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any


def run(args: argparse.Namespace) -> None:
    for _ in range(args.reps):
        for authors in [int(a) for a in args.authors.split(",")]:
            subprocess.run([sys.executable, "-m", "benchmarks.collab", "S1", "--light",
                            "--authors", str(authors), "--rate", str(args.rate),
                            "--duration", str(args.duration), "--json", args.out], check=True)


def _series(path: Path) -> dict[int, dict[str, Any]]:
    """Per author count: the median over repeated runs of each percentile."""
    runs: dict[int, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        result = json.loads(line)
        runs.setdefault(result["authors"], []).append(result)
    series = {}
    for authors, results in sorted(runs.items()):
        merged: dict[str, Any] = {"valid": all(r["valid"] for r in results),
                                  "converged": all(r["converged"] for r in results),
                                  "ops_per_s": statistics.median(
                                      r["committed_ops_per_s"] for r in results)}
        for key in ("ack_ms", "fanout_ms"):
            merged[key] = [statistics.median(r[key][i] for r in results if r[key])
                           for i in range(3)]
        series[authors] = merged
    return series


LABELS = ("p50", "p95", "p99")
COLOURS = ("#1b9e77", "#d95f02", "#7570b3")


def plot(args: argparse.Namespace) -> None:
    series = _series(Path(args.results))
    out = Path(args.image)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        out.write_text(_svg(series))
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    authors = list(series)
    for ax, key, title in ((axes[0], "ack_ms", "ack (submit → ack)"),
                           (axes[1], "fanout_ms", "fan-out (submit → other session)")):
        for i, (label, colour) in enumerate(zip(LABELS, COLOURS, strict=True)):
            ys = [series[a][key][i] for a in authors]
            ax.plot(authors, ys, color=colour, label=label)
            for a, y in zip(authors, ys, strict=True):
                ax.plot([a], [y], "o", color=colour,
                        markerfacecolor=colour if series[a]["valid"] else "none")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(authors, [str(a) for a in authors])
        ax.set_xlabel("authors on one document")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("latency (ms)")
    axes[0].legend()
    fig.suptitle("editor serve, one core; hollow: load side saturated (invalid)")
    fig.tight_layout()
    fig.savefig(out)


def _svg(series: dict[int, dict[str, Any]]) -> str:
    """The same two panels as matplotlib's, drawn by hand (log-log)."""
    width, height, pad = 900, 360, 60
    authors = list(series)
    values = [v for s in series.values() for k in ("ack_ms", "fanout_ms") for v in s[k] if v > 0]
    lo, hi = math.log10(min(values)), math.log10(max(values))
    xlo, xhi = math.log10(min(authors)), math.log10(max(authors))
    panel = (width - 3 * pad) / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">']
    for p, (key, title) in enumerate((("ack_ms", "ack"), ("fanout_ms", "fan-out"))):
        x0 = pad + p * (panel + pad)

        def xy(a: int, v: float, x0: float = x0) -> tuple[float, float]:
            x = x0 + (math.log10(a) - xlo) / max(1e-9, xhi - xlo) * panel
            y = height - pad - (math.log10(v) - lo) / max(1e-9, hi - lo) * (height - 2 * pad)
            return x, y

        parts.append(f'<rect x="{x0}" y="{pad}" width="{panel}" height="{height - 2 * pad}" '
                     'fill="none" stroke="#888"/>')
        parts.append(f'<text x="{x0 + panel / 2}" y="{pad - 10}" text-anchor="middle">'
                     f'{title} latency (ms) vs authors</text>')
        for a in authors:
            x, _ = xy(a, 10 ** lo)
            parts.append(f'<text x="{x}" y="{height - pad + 15}" text-anchor="middle">{a}</text>')
        for i, colour in enumerate(COLOURS):
            points = [xy(a, series[a][key][i]) for a in authors]
            parts.append('<polyline fill="none" stroke="{}" points="{}"/>'.format(
                colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in points)))
            for a, (x, y) in zip(authors, points, strict=True):
                fill = colour if series[a]["valid"] else "none"
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" stroke="{colour}" '
                             f'fill="{fill}"/>')
            parts.append(f'<text x="{x0 + 5}" y="{pad + 15 + 13 * i}" fill="{colour}">'
                         f'{LABELS[i]}</text>')
        for decade in range(math.floor(lo), math.ceil(hi) + 1):
            _, y = xy(authors[0], 10 ** decade)
            if pad <= y <= height - pad:
                parts.append(f'<text x="{x0 - 5}" y="{y:.1f}" text-anchor="end">'
                             f'{10 ** decade:g}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> None:
    """Run the sweep or plot its results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_args = commands.add_parser("run")
    run_args.add_argument("--out", required=True)
    run_args.add_argument("--authors", default="10,25,50,100,200,500")
    run_args.add_argument("--rate", type=float, default=1.0, help="edits/s per author")
    run_args.add_argument("--duration", type=float, default=10.0)
    run_args.add_argument("--reps", type=int, default=1)
    plot_args = commands.add_parser("plot")
    plot_args.add_argument("results")
    plot_args.add_argument("image")
    args = parser.parse_args()
    run(args) if args.command == "run" else plot(args)


if __name__ == "__main__":
    main()
