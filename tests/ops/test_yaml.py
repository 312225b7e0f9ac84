"""Every YAML file of ops/ parses and passes yamllint (ops/.yamllint.yaml); the shell
scripts of ops/ pass `bash -n`."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.ops.conftest import OPS, tool

YAML_FILES = sorted([*OPS.rglob("*.yaml"), *OPS.rglob("*.yml")])


def test_there_is_yaml_to_check() -> None:
    assert len(YAML_FILES) > 20


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(OPS)))
def test_it_parses(path) -> None:  # type: ignore[no-untyped-def]
    with path.open() as stream:
        documents = [doc for doc in yaml.safe_load_all(stream) if doc is not None]
    assert documents and all(isinstance(doc, dict) for doc in documents)


def test_yamllint() -> None:
    yamllint = tool("yamllint")
    result = subprocess.run([yamllint, "--strict", "-c", str(OPS / ".yamllint.yaml"), str(OPS)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted(OPS.rglob("*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse(path) -> None:  # type: ignore[no-untyped-def]
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
