"""The workers that consume the event stream: the reconciler and the archiver.

Each is a consumer group's logic (``Reconciler``, ``Archiver``) driven by
``loop.run_worker``; ``editor serve`` runs both on its embedded stream, and
``editor run reconciler`` / ``editor run archiver`` run one each.
"""

from __future__ import annotations

from editor.backends import Backends
from editor.config import Config
from editor.workers.archiver import Archiver
from editor.workers.loop import OffsetBook, run_worker
from editor.workers.reconciler import Reconciler

__all__ = ["Archiver", "OffsetBook", "Reconciler", "archiver_for", "reconciler_for",
           "run_worker"]


def reconciler_for(cfg: Config, backends: Backends) -> Reconciler:
    """The reconciler of a process: snapshots every ``snapshot_every_ops`` versions and
    after ``archive_idle_s`` without events."""
    return Reconciler(backends.store, backends.cache,
                      snapshot_every_ops=cfg.snapshot_every_ops, idle_s=cfg.archive_idle_s)


def archiver_for(cfg: Config, backends: Backends) -> Archiver:
    """The archiver of a process (``EDITOR_ARCHIVE_EVERY_OPS``, ``EDITOR_ARCHIVE_IDLE_S``)."""
    return Archiver(backends.store, backends.archive, backends.events,
                    every_ops=cfg.archive_every_ops, idle_s=cfg.archive_idle_s)
