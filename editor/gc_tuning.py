"""Garbage-collector settings for the long-running server processes.

A full (generation 2) collection walks every live object: with hundreds of sessions that is
tens of milliseconds in which no op is sequenced or sent — most of the ack latency's tail
under load (docs/performance.md, "Garbage collection"). The servers free almost everything
by reference counting, so they collect less often: what exists once the process listens is
moved out of the collector's sight (``gc.freeze``), and the youngest generation is collected
every 50,000 net allocations instead of Python's 700. Only ``editor serve`` and ``editor
run`` call this; library users and the tests keep Python's defaults.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_serving() -> None:
    """Freeze what the process holds now and collect less often from here on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
