"""Fixtures of the ops checks: the repository's paths, the rendered overlays, the tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.kustomize import Obj, build

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
K8S = OPS / "k8s"
OVERLAYS = ("dev", "prod")
PROTOCOL = ROOT / "docs" / "protocol.md"  # the repository's copy of the shared PROTOCOL.md
# `editor run SERVICE` of PROTOCOL.md §6
SERVICES = ("auth", "documents", "collaboration", "presence", "reconciler", "archiver",
            "failover")


def tool(name: str) -> str:
    """The path of a command-line tool (the venv's first); missing: a failure on CI, else a skip."""
    venv_bin = Path(sys.executable).parent / name
    found = str(venv_bin) if venv_bin.is_file() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed (scripts/test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ops/k8s whose dev overlay has credentials from its own make-secrets.sh."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("*.env"))
    subprocess.run([str(copy / "overlays" / "dev" / "make-secrets.sh")], check=True,
                   capture_output=True)
    return copy


@pytest.fixture(scope="session")
def rendered(k8s_copy: Path) -> dict[str, list[Obj]]:
    """Every overlay, rendered by tests/ops/kustomize.py."""
    return {name: build(k8s_copy / "overlays" / name) for name in OVERLAYS}
