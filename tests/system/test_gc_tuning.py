"""The server processes collect garbage less often (editor/gc_tuning.py)."""

from __future__ import annotations

import subprocess
import sys

from editor.gc_tuning import THRESHOLDS


def test_serving_freezes_the_startup_heap_and_raises_the_thresholds() -> None:
    script = ("import gc; from editor.gc_tuning import tune_for_serving; "
              "before = gc.get_freeze_count(); tune_for_serving(); "
              "print(before, gc.get_freeze_count() > 1000, *gc.get_threshold())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["0", "True", *map(str, THRESHOLDS)]
