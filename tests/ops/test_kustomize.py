"""The Kustomize renderer of tests/ops/ against small cases and against `kubectl kustomize`;
the rendered overlays against the Kubernetes schemas (kubernetes-validate --strict)."""

from __future__ import annotations

import base64
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.conftest import OVERLAYS, tool
from tests.ops.kustomize import KustomizeError, Obj, build, key, strategic_merge


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return directory


DEPLOYMENT = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 1
      template:
        spec:
          containers:
            - name: app
              image: example/app
              env: [{name: A, value: "1"}, {name: B, value: "2"}]
            - name: side
              image: example/side:1.0
"""


def test_resources_patches_images_namespace_and_generators(tmp_path: Path) -> None:
    write(tmp_path, {
        "base/kustomization.yaml": "resources: [web.yaml]\n",
        "base/web.yaml": DEPLOYMENT,
        "overlay/kustomization.yaml": """\
            namespace: team
            resources: [../base]
            images: [{name: example/app, newName: registry/app, newTag: "2.0"}]
            patches: [{path: patch.yaml}]
            secretGenerator: [{name: creds, envs: [creds.env]}]
            configMapGenerator: [{name: files, files: [conf/a.txt]}]
            generatorOptions: {disableNameSuffixHash: true}
        """,
        "overlay/patch.yaml": """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 3
              template:
                spec:
                  containers:
                    - name: app
                      env: [{name: B, value: "3"}, {name: C, value: "4"}]
        """,
        "overlay/creds.env": "# a comment\nuser=u\npassword=p=q\n",
        "overlay/conf/a.txt": "hello\n",
    })
    objects = {key(obj): obj for obj in build(tmp_path / "overlay")}
    web = objects[("Deployment", "team", "web")]
    assert web["spec"]["replicas"] == 3
    app, side = web["spec"]["template"]["spec"]["containers"]
    assert app["image"] == "registry/app:2.0" and side["image"] == "example/side:1.0"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"},
                          {"name": "C", "value": "4"}]
    secret = objects[("Secret", "team", "creds")]
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "user": "u", "password": "p=q"}
    assert objects[("ConfigMap", "team", "files")]["data"] == {"a.txt": "hello\n"}


def test_strategic_merge_deletes_with_null_and_replaces_plain_lists() -> None:
    base = {"a": {"keep": 1, "drop": 2}, "args": ["x", "y"]}
    assert strategic_merge(base, {"a": {"drop": None}, "args": ["z"]}) == {
        "a": {"keep": 1}, "args": ["z"]}


@pytest.mark.parametrize("kustomization, message", [
    ("resources: [web.yaml]\nnamePrefix: x-\n", "unsupported fields"),
    ("resources: [web.yaml]\npatches: [{path: p.yaml, target: {kind: Deployment}}]\n",
     "only `patches: - path:`"),
    ("resources: [web.yaml]\nconfigMapGenerator: [{name: c, literals: [a=b]}]\n"
     "generatorOptions: {disableNameSuffixHash: true}\n", "only files and envs"),
    ("resources: [web.yaml]\nconfigMapGenerator: [{name: c, files: [web.yaml]}]\n",
     "disableNameSuffixHash"),
    ("resources: [web.yaml, web.yaml]\n", "defined twice"),
    ("resources: [web.yaml]\npatches: [{path: p.yaml}]\n", "matches no object"),
])
def test_what_it_does_not_resolve_is_refused(tmp_path: Path, kustomization: str,
                                             message: str) -> None:
    write(tmp_path, {"kustomization.yaml": kustomization, "web.yaml": DEPLOYMENT,
                     "p.yaml": "kind: Deployment\nmetadata: {name: other}\n"})
    with pytest.raises(KustomizeError, match=message):
        build(tmp_path)


def comparable(value: Any) -> Any:
    """A rendering with list order of named items and Secret encodings made irrelevant
    (kubectl puts patched env entries first and wraps long base64)."""
    if isinstance(value, dict):
        if value.get("kind") == "Secret":
            value = {**value, "data": {k: base64.b64decode(v) for k, v in value["data"].items()}}
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [comparable(item) for item in value]
        if items and all(isinstance(item, dict) and "name" in item for item in items):
            items.sort(key=lambda item: str(item["name"]))
        return items
    return value


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_helper_renders_what_kubectl_kustomize_renders(
        overlay: str, k8s_copy: Path, rendered: dict[str, list[Obj]]) -> None:
    kubectl = tool("kubectl")
    output = subprocess.run([kubectl, "kustomize", str(k8s_copy / "overlays" / overlay)],
                            capture_output=True, text=True, check=True).stdout
    theirs = {key(obj): comparable(obj) for obj in yaml.safe_load_all(output) if obj}
    mine = {key(obj): comparable(obj) for obj in rendered[overlay]}
    assert sorted(mine) == sorted(theirs)
    for name, obj in mine.items():
        assert obj == theirs[name], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_passes_kubernetes_validate_strict(
        overlay: str, rendered: dict[str, list[Obj]], tmp_path: Path) -> None:
    validate = tool("kubernetes-validate")
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(rendered[overlay]))
    result = subprocess.run([validate, "--strict", "--quiet", str(manifest)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # the Prometheus Operator's kinds have no schema there: they are the only ones skipped
    skipped = {line.split("kind ")[1].split(" ")[0] for line in result.stdout.splitlines()
               if "Couldn't find schema" in line}
    assert skipped <= {"PrometheusRule", "PodMonitor"}


def test_kubernetes_validate_catches_a_wrong_field(tmp_path: Path) -> None:
    validate = tool("kubernetes-validate")
    deployment = yaml.safe_load(textwrap.dedent(DEPLOYMENT))
    deployment["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    deployment["spec"]["template"]["metadata"] = {"labels": {"app": "web"}}
    results = []
    for name in ("good", "bad"):
        if name == "bad":
            deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
        manifest = tmp_path / f"{name}.yaml"
        manifest.write_text(yaml.safe_dump(deployment))
        results.append(subprocess.run([validate, "--strict", "--quiet", str(manifest)],
                                      capture_output=True, text=True))
    good, bad = results
    assert good.returncode == 0, good.stdout
    assert bad.returncode != 0 and "imagePullPolice" in bad.stdout + bad.stderr
