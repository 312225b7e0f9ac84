"""Invariants of the rendered Kubernetes manifests (issue 15): resources, security, probes,
stateful sets, autoscaling, disruption budgets, secrets, ingress, init containers, RBAC,
and that every EDITOR_* variable and `editor run` service is one the editor knows."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from editor.config import Config
from tests.ops.conftest import OVERLAYS, PROTOCOL, ROOT, SERVICES
from tests.ops.kustomize import Obj, containers, pod_spec

STATELESS = ("auth", "documents", "collaboration", "presence")  # autoscaled
STATEFUL = {"postgres": 3, "redis": 6, "kafka": 3, "minio": 1}


@pytest.fixture(params=OVERLAYS)
def objects(request: pytest.FixtureRequest, rendered: dict[str, list[Obj]]) -> list[Obj]:
    return rendered[request.param]


def of_kind(objects: list[Obj], *kinds: str) -> Iterator[Obj]:
    return (obj for obj in objects if obj["kind"] in kinds)


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def workloads(objects: list[Obj]) -> Iterator[Obj]:
    return (obj for obj in objects if pod_spec(obj) is not None)


def test_every_container_has_requests_and_limits(objects: list[Obj]) -> None:
    for obj in workloads(objects):
        for container in containers(obj):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (
                    obj["metadata"]["name"], container["name"], bound)


def test_every_container_runs_as_non_root_on_a_read_only_root(objects: list[Obj]) -> None:
    for obj in workloads(objects):
        spec = pod_spec(obj)
        assert spec is not None
        for container in containers(obj):
            context = container.get("securityContext", {})
            non_root = context.get("runAsNonRoot", spec.get("securityContext", {})
                                   .get("runAsNonRoot"))
            where = (obj["metadata"]["name"], container["name"])
            assert non_root is True, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("capabilities", {}).get("drop") == ["ALL"], where


def test_services_run_editor_run_with_health_probes(objects: list[Obj]) -> None:
    deployments = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "Deployment")}
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        (main,) = pod_spec(deployment)["containers"]  # type: ignore[index]
        assert main["args"] == ["run", name]
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert main["livenessProbe"]["httpGet"]["port"] == "http"
        assert {"name": "http", "containerPort": 8080} in main["ports"]


def test_every_container_has_probes_except_one_shot_ones(objects: list[Obj]) -> None:
    for obj in workloads(objects):
        if obj["kind"] == "Job":
            continue
        for container in pod_spec(obj)["containers"]:  # type: ignore[index]
            assert "livenessProbe" in container and "readinessProbe" in container, (
                obj["metadata"]["name"], container["name"])


def test_every_editor_run_names_a_service_of_protocol_section_6(objects: list[Obj]) -> None:
    section_6 = PROTOCOL.read_text().split("## 6.")[1]
    for service in SERVICES:
        assert f"`{service}`" in section_6
    for obj in workloads(objects):
        for container in containers(obj):
            words = [*container.get("command", []), *container.get("args", [])]
            if "run" in words and container["image"].startswith("collab-editor"):
                assert words[words.index("run") + 1] in SERVICES


def editor_variables_known() -> set[str]:
    """EDITOR_* names of Config's fields, and those PROTOCOL §6 names."""
    from_config = {f"EDITOR_{field.name.upper()}" for field in dataclasses.fields(Config)}
    from_protocol = set(re.findall(r"EDITOR_[A-Z0-9_]+", PROTOCOL.read_text().split("## 6.")[1]))
    return from_config | from_protocol


def test_every_editor_variable_is_one_the_editor_knows(objects: list[Obj]) -> None:
    known = editor_variables_known()
    used = set()
    for obj in workloads(objects):
        for container in containers(obj):
            used |= {env["name"] for env in container.get("env", [])}
    for config_map in of_kind(objects, "ConfigMap"):
        used |= set(config_map.get("data", {}))
    unknown = {name for name in used if name.startswith("EDITOR_")} - known
    assert not unknown, f"not in editor/config.py nor PROTOCOL §6: {sorted(unknown)}"


def test_stateful_parts_are_statefulsets_with_volume_claims(objects: list[Obj]) -> None:
    sets = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "StatefulSet")}
    assert {name: s["spec"]["replicas"] for name, s in sets.items()} == STATEFUL
    for statefulset in sets.values():
        (claim,) = statefulset["spec"]["volumeClaimTemplates"]
        mounts = [m["name"] for c in containers(statefulset) for m in c.get("volumeMounts", [])]
        assert claim["metadata"]["name"] in mounts
        assert claim["spec"]["resources"]["requests"]["storage"]


def test_kafka_runs_kraft_with_a_quorum_of_its_three_nodes(objects: list[Obj]) -> None:
    (kafka,) = pod_spec(named(objects, "StatefulSet", "kafka"))["containers"]  # type: ignore[index]
    env = {e["name"]: e.get("value") for e in kafka["env"]}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert voters == [f"{i}@kafka-{i}.kafka-headless:9093" for i in range(3)]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"])


def test_autoscalers_cover_the_stateless_services(objects: list[Obj]) -> None:
    hpas = {obj["spec"]["scaleTargetRef"]["name"]: obj
            for obj in of_kind(objects, "HorizontalPodAutoscaler")}
    assert set(hpas) == set(STATELESS)
    for hpa in hpas.values():
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_every_workload_with_more_than_one_pod_has_a_disruption_budget(
        objects: list[Obj]) -> None:
    budgets = [obj["spec"]["selector"]["matchLabels"]
               for obj in of_kind(objects, "PodDisruptionBudget")]
    for obj in of_kind(objects, "Deployment", "StatefulSet"):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        autoscaled = obj["metadata"]["name"] in STATELESS
        if obj["spec"].get("replicas", 1) > 1 or autoscaled:
            assert any(b.items() <= labels.items() for b in budgets), obj["metadata"]["name"]


def test_secrets_are_generated_or_referenced_never_written(
        rendered: dict[str, list[Obj]]) -> None:
    referenced, optional = set(), set()
    for obj in workloads(rendered["prod"]):
        for container in containers(obj):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add((ref["name"], ref["key"]))
                    if ref.get("optional"):
                        optional.add((ref["name"], ref["key"]))
    assert {name for name, _ in referenced} == {"editor-secrets", "infra-secrets"}
    # prod holds no Secret at all: the operator creates them (docs/operations.md lists keys)
    assert not list(of_kind(rendered["prod"], "Secret"))
    operations = (ROOT / "docs" / "operations.md").read_text()
    for _name, secret_key in referenced:
        assert f"`{secret_key}`" in operations, f"docs/operations.md does not list {secret_key}"
    # dev generates them from files that make-secrets.sh writes and git ignores
    generated = {(s["metadata"]["name"], k) for s in of_kind(rendered["dev"], "Secret")
                 for k in s["data"]}
    assert referenced - optional <= generated
    for path in (ROOT / "ops").rglob("*"):
        assert not (path.is_file() and path.suffix == ".env"), f"{path} must not be committed"


def test_the_websocket_route_has_affinity_by_document(objects: list[Obj]) -> None:
    ws = named(objects, "Ingress", "editor-ws")
    assert ws["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-hash-by"] \
        == "$uri"
    (rule,) = ws["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert re.fullmatch(path["path"], "/v1/docs/0f5c1e9a-doc/ws")
    assert not re.fullmatch(path["path"], "/v1/docs/a/b/ws")
    assert path["backend"]["service"] == {"name": "collaboration", "port": {"name": "ws"}}


def test_services_wait_for_their_dependencies_then_migrate(objects: list[Obj]) -> None:
    for deployment in of_kind(objects, "Deployment"):
        wait, migrate = pod_spec(deployment)["initContainers"]  # type: ignore[index]
        assert wait["command"][0] == "wait-for"
        assert any("postgres-0.postgres-headless:5432" in arg for arg in wait["command"])
        assert migrate["args"] == ["migrate"]
        assert "EDITOR_DATABASE_URL" in {e["name"] for e in migrate["env"]}


def test_only_the_failover_worker_may_fence_and_only_postgres_pods(objects: list[Obj]) -> None:
    bindings = list(of_kind(objects, "RoleBinding", "ClusterRoleBinding"))
    assert [b["metadata"]["name"] for b in bindings] == ["failover-fencing"]
    (subject,) = bindings[0]["subjects"]
    assert subject["kind"] == "ServiceAccount" and subject["name"] == "failover"
    role = named(objects, "Role", bindings[0]["roleRef"]["name"])
    for rule in role["rules"]:
        if {"delete", "patch"} & set(rule["verbs"]):
            assert rule["resourceNames"] == ["postgres-0", "postgres-1", "postgres-2"]
    tokens = {obj["metadata"]["name"]: obj.get("automountServiceAccountToken")
              for obj in of_kind(objects, "ServiceAccount")}
    assert tokens == {s: s == "failover" for s in SERVICES}
    failover = named(objects, "Deployment", "failover")
    assert failover["spec"]["replicas"] == 1
    assert failover["spec"]["strategy"]["type"] == "Recreate"


def test_images_are_pinned(rendered: dict[str, list[Obj]]) -> None:
    for obj in workloads(rendered["prod"]):
        for container in containers(obj):
            image = container["image"]
            assert "@sha256:" in image or re.search(r":[\w.-]+$", image), image
            assert not image.endswith(":latest"), image
