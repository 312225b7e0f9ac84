"""Per-call costs of the OT core, beside quill-delta 5.1.0's for the same cases.

Run: ``python -m benchmarks.ot_bench`` (or ``python benchmarks/ot_bench.py``). quill-delta's
figures come from ``benchmarks/ot_bench_quill.js``, run with node on the package that the
differential tests install in ``tests/ot/js/node_modules`` (``npm ci`` there first); without
node they are left out. Documented in docs/ot.md.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from editor import ot  # noqa: E402

Op = dict[str, Any]
TARGETS_US = {"transform, one char vs one char": 10.0,
              "Document.apply, 1 char, 5 MiB": 1000.0}


def styled_document(size_bytes: int) -> list[Op]:
    """About ``size_bytes`` of content JSON: runs of 20 to 60 characters, varied attributes."""
    styles: list[dict[str, Any] | None] = [None, {"bold": True}, None, {"italic": True},
                                           {"color": "#cc0000", "bold": True}, {"link": "x"}]
    words = "lorem ipsum dolor sit amet, consectetur adipiscing elit 😀 é "
    ops: list[Op] = []
    total = 0
    index = 0
    while total < size_bytes:
        run = (words * 2)[index % 50:index % 50 + 20 + index % 41]
        if index % 17 == 0:
            run += "\n"
        attrs = styles[index % len(styles)]
        op = {"insert": run, "attributes": attrs} if attrs else {"insert": run}
        ops.append(op)
        total += len(json.dumps(op, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        index += 1
    ops.append({"insert": "\n"})
    return ot.normalize(ops)


def per_call_us(function: Callable[[], Any], min_time_s: float = 0.3) -> float:
    """Best-of-5 mean time per call, in microseconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            function()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time_s / 5:
            break
        number *= 2 if elapsed == 0 else max(2, int(min_time_s / 5 / elapsed) + 1)
    best = elapsed
    for _ in range(4):
        start = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


def make_inputs() -> dict[str, Any]:
    """The inputs of every case, shared with the quill-delta script."""
    small = styled_document(100 * 1024)
    large = styled_document(ot.MAX_CONTENT_BYTES - 4096)
    return {
        "one_a": [{"retain": 50}, {"insert": "a"}],
        "one_b": [{"retain": 60}, {"insert": "b"}],
        "batch": [[{"retain": 7 * i}, {"insert": "x"}] for i in range(100)],
        "mine": [{"retain": 400}, {"insert": "y"}],
        "small": small,
        "large": large,
        "edit_small": [{"retain": ot.length(small) // 2}, {"insert": "z"}],
        "edit_large": [{"retain": ot.length(large) // 2}, {"insert": "z"}],
    }


def python_cases(inputs: dict[str, Any]) -> dict[str, float]:
    """Our per-call costs, in microseconds."""
    one_a, one_b, batch, mine = inputs["one_a"], inputs["one_b"], inputs["batch"], inputs["mine"]
    small, large = inputs["small"], inputs["large"]
    edit_small, edit_large = inputs["edit_small"], inputs["edit_large"]

    def against_batch() -> None:
        op = mine
        for committed in batch:
            op = ot.transform(committed, op, True)

    small_doc = ot.Document.from_delta(small)
    large_doc = ot.Document.from_delta(large)
    results = {
        "transform, one char vs one char": per_call_us(lambda: ot.transform(one_a, one_b, True)),
        "transform, one op vs 100 ops": per_call_us(against_batch),
        "Document.apply, 1 char, 100 KB": per_call_us(lambda: small_doc.apply(edit_small)),
        "Document.apply, 1 char, 5 MiB": per_call_us(lambda: large_doc.apply(edit_large)),
        "validate, 1 char, 5 MiB Document": per_call_us(
            lambda: ot.validate(edit_large, large_doc)),
        "apply (JSON list), 1 char, 100 KB": per_call_us(lambda: ot.apply(small, edit_small)),
        "apply (JSON list), 1 char, 5 MiB": per_call_us(lambda: ot.apply(large, edit_large),
                                                        min_time_s=1.0),
        "compose, one char then one char": per_call_us(lambda: ot.compose(one_a, one_b)),
        "transform_position, one char": per_call_us(
            lambda: ot.transform_position(one_a, 55, False)),
    }
    print(f"(documents: 100 KB = {len(small)} runs, 5 MiB = {len(large)} runs,"
          f" {large_doc.json_size_bytes} bytes of JSON)")
    return results


def quill_cases(inputs: dict[str, Any]) -> dict[str, float]:
    """quill-delta's per-call costs for the same cases, through node (empty if unavailable)."""
    node = shutil.which("node")
    script = ROOT / "benchmarks" / "ot_bench_quill.js"
    if node is None or not (ROOT / "tests/ot/js/node_modules/quill-delta").is_dir():
        print("(quill-delta figures skipped: needs node and `npm ci` in tests/ot/js)")
        return {}
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as file:
        json.dump(inputs, file)
        file.flush()
        done = subprocess.run([node, str(script), file.name], capture_output=True, text=True,
                              check=True, cwd=ROOT)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> None:
    """Print the table."""
    inputs = make_inputs()
    ours = python_cases(inputs)
    theirs = quill_cases(inputs)
    width = max(map(len, ours)) + 2
    print(f"{'case':<{width}}{'editor.ot µs/call':>20}{'quill-delta µs/call':>22}{'target':>10}")
    for case, value in ours.items():
        quill = f"{theirs[case]:.2f}" if case in theirs else "n/a"
        target = f"≤ {TARGETS_US[case]:g}" if case in TARGETS_US else ""
        print(f"{case:<{width}}{value:>20.2f}{quill:>22}{target:>10}")


if __name__ == "__main__":
    main()
