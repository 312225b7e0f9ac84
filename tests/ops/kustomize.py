"""A small Kustomize renderer for the features ops/k8s uses, so the manifests can be checked
with no kubectl: resources (files and directories), namespace, images, patches (strategic
merge, matched by kind and name), and configMap/secret generators (files, envs) without
name hashes. Anything else in a kustomization is refused, so a new feature cannot slip past
the checks unrendered. tests/ops/test_kustomize.py checks it against `kubectl kustomize`.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches",
             "configMapGenerator", "secretGenerator", "generatorOptions"}
# Kinds that live outside namespaces (the namespace transformer leaves them alone).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "PriorityClass"}
POD_SPEC_PATHS = {  # where each workload kind keeps its pod spec
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not resolve, or is wrong."""


def load_documents(path: Path) -> list[Obj]:
    """The non-empty YAML documents of a file."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def build(directory: Path) -> list[Obj]:
    """Render the kustomization in ``directory`` into its list of objects."""
    kustomization_file = directory / "kustomization.yaml"
    if not kustomization_file.is_file():
        raise KustomizeError(f"{directory} has no kustomization.yaml")
    (kustomization,) = load_documents(kustomization_file)
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kustomization_file}: unsupported fields {sorted(unknown)}")
    options = kustomization.get("generatorOptions", {})
    generators = "configMapGenerator" in kustomization or "secretGenerator" in kustomization
    if set(options) - {"disableNameSuffixHash"} or (
            generators and options.get("disableNameSuffixHash") is not True):
        raise KustomizeError(f"{kustomization_file}: generators need disableNameSuffixHash: true")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        objects += build(target) if target.is_dir() else load_documents(target)
    objects += _generated(directory, kustomization)
    _check_unique(objects, kustomization_file)
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise KustomizeError(f"{kustomization_file}: only `patches: - path:` is supported")
        for patch in load_documents(directory / patch_entry["path"]):
            _apply_patch(objects, patch, kustomization_file)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    return objects


def key(obj: Obj) -> tuple[str, str, str]:
    """(kind, namespace, name): what identifies an object in a rendering."""
    metadata = obj.get("metadata", {})
    return obj["kind"], metadata.get("namespace", ""), metadata["name"]


def _check_unique(objects: list[Obj], where: Path) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        if key(obj) in seen:
            raise KustomizeError(f"{where}: {key(obj)} is defined twice")
        seen.add(key(obj))


def _generated(directory: Path, kustomization: Obj) -> list[Obj]:
    generated = []
    for kind, field in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in kustomization.get(field, []):
            if set(generator) - {"name", "files", "envs"}:
                raise KustomizeError(f"{field} {generator.get('name')}: only files and envs")
            data: dict[str, str] = {}
            for file_name in generator.get("files", []):
                data[Path(file_name).name] = (directory / file_name).read_text(encoding="utf-8")
            for env_name in generator.get("envs", []):
                data.update(_read_env_file(directory / env_name))
            if kind == "Secret":
                data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            obj: Obj = {"apiVersion": "v1", "kind": kind,
                        "metadata": {"name": generator["name"]}, "data": data}
            if kind == "Secret":
                obj["type"] = "Opaque"
            generated.append(obj)
    return generated


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise KustomizeError(f"{path}: {line!r} is not NAME=VALUE")
        values[name] = value
    return values


def _apply_patch(objects: list[Obj], patch: Obj, where: Path) -> None:
    for index, obj in enumerate(objects):
        if obj["kind"] == patch["kind"] and obj["metadata"]["name"] == patch["metadata"]["name"]:
            objects[index] = strategic_merge(obj, patch)
            return
    raise KustomizeError(f"{where}: the patch of {patch['kind']}/{patch['metadata']['name']}"
                         " matches no object")


def strategic_merge(base: Any, patch: Any) -> Any:
    """Kubernetes' strategic merge, as far as ops/k8s needs it: maps merge key by key, a null
    deletes the key, lists of named maps (containers, env, volumes…) merge by name, and any
    other list is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = strategic_merge(merged[name], value)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        merged_list = copy.deepcopy(base)
        by_name = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in by_name:
                i = by_name[item["name"]]
                merged_list[i] = strategic_merge(merged_list[i], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload, or None for other kinds."""
    path = POD_SPEC_PATHS.get(obj["kind"])
    if path is None:
        return None
    spec: Obj = obj
    for step in path:
        spec = spec[step]
    return spec


def containers(obj: Obj) -> list[Obj]:
    """Every container of a workload, init containers included."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _set_image(objects: list[Obj], image: Obj) -> None:
    if set(image) - {"name", "newName", "newTag", "digest"}:
        raise KustomizeError(f"images: unsupported fields in {image}")
    for obj in objects:
        for container in containers(obj):
            name, tag = _split_image(container["image"])
            if name != image["name"]:
                continue
            new_name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new_name}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{new_name}:{image['newTag']}"
            else:
                container["image"] = new_name + (f":{tag}" if tag else "")


def _split_image(reference: str) -> tuple[str, str]:
    if "@" in reference:
        return reference.split("@", 1)[0], ""
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        return reference.rsplit(":", 1)[0], reference.rsplit(":", 1)[1]
    return reference, ""


def _set_namespace(objects: list[Obj], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] in CLUSTER_SCOPED:
            continue
        obj["metadata"]["namespace"] = namespace
        if obj["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj.get("subjects", []):
                if subject.get("kind") == "ServiceAccount":
                    subject["namespace"] = namespace
