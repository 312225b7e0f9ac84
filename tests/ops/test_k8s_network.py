"""The NetworkPolicies of ops/k8s allow exactly the connections the editor needs: checked
with tests/ops/netpol.py over every pair of parts, from the table below."""

from __future__ import annotations

import itertools

import pytest

from tests.ops.conftest import OVERLAYS
from tests.ops.kustomize import Obj
from tests.ops.netpol import Pod, allowed

# What each editor service connects to (DESIGN.md: parts and workers), and on which port.
NEEDS = {
    "auth": {"postgres", "redis", "kafka"},  # accounts; rate limits; user-events outbox
    "documents": {"postgres", "redis", "kafka"},  # documents; cache; document-events
    "collaboration": {"postgres", "redis", "kafka"},  # op log; fan-out bus; events
    "presence": {"postgres", "redis"},  # membership checks; presence with TTL
    "reconciler": {"postgres", "redis", "kafka"},  # snapshots; cache invalidation; consumer
    "archiver": {"postgres", "kafka", "minio"},  # pg_dump; storage-group; the archive
    "failover": {"postgres", "redis"},  # watches and promotes; publishes the primary
}
BACKENDS = {"postgres": 5432, "redis": 6379, "kafka": 9092, "minio": 9000}
PEER_PORTS = {"postgres": [5432], "redis": [6379, 16379], "kafka": [9092, 9093], "minio": []}
PUBLIC = {"auth": [8080], "documents": [8080], "collaboration": [8080, 8081],
          "presence": [8080]}


def pod(name: str, namespace: str = "editor") -> Pod:
    component = "service" if name in NEEDS else "backend"
    return Pod({"app.kubernetes.io/name": name, "app.kubernetes.io/component": component},
               namespace=namespace)


INGRESS_CONTROLLER = Pod({"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx")
PROMETHEUS = Pod({"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
STRANGER = Pod({"app": "something-else"})
DNS = Pod({"k8s-app": "kube-dns"}, namespace="kube-system")


@pytest.fixture(params=OVERLAYS)
def policies(request: pytest.FixtureRequest, rendered: dict[str, list[Obj]]) -> list[Obj]:
    """The overlay's policies, moved to the namespace "editor" that pod() places pods in."""
    found = [o for o in rendered[request.param] if o["kind"] == "NetworkPolicy"]
    return [{**o, "metadata": {**o["metadata"], "namespace": "editor"}} for o in found]


def test_everything_is_denied_by_default_both_ways(policies: list[Obj]) -> None:
    (deny,) = [p for p in policies if p["metadata"]["name"] == "default-deny"]
    assert deny["spec"]["podSelector"] == {}
    assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    assert not allowed(policies, STRANGER, pod("postgres"), 5432)
    assert not allowed(policies, pod("auth"), STRANGER, 8080)


def test_each_service_reaches_exactly_the_backends_it_needs(policies: list[Obj]) -> None:
    for service, backend in itertools.product(NEEDS, BACKENDS):
        expected = backend in NEEDS[service]
        assert allowed(policies, pod(service), pod(backend), BACKENDS[backend]) is expected, (
            service, backend)


def test_services_do_not_talk_to_each_other(policies: list[Obj]) -> None:
    for a, b in itertools.permutations(NEEDS, 2):
        assert not allowed(policies, pod(a), pod(b), 8080), (a, b)


def test_backends_reach_their_own_peers_only(policies: list[Obj]) -> None:
    for backend, ports in PEER_PORTS.items():
        for port in ports:
            assert allowed(policies, pod(backend), pod(backend), port), (backend, port)
        for other in BACKENDS:
            if other != backend:
                assert not allowed(policies, pod(backend), pod(other), BACKENDS[other])


def test_the_ingress_controller_reaches_the_public_services_only(policies: list[Obj]) -> None:
    for service in NEEDS:
        for port in (8080, 8081):
            expected = port in PUBLIC.get(service, [])
            assert allowed(policies, INGRESS_CONTROLLER, pod(service), port) is expected, (
                service, port)
    assert not allowed(policies, INGRESS_CONTROLLER, pod("postgres"), 5432)


def test_prometheus_scrapes_every_service_and_nothing_else(policies: list[Obj]) -> None:
    for service in NEEDS:
        assert allowed(policies, PROMETHEUS, pod(service), 8080)
    for backend, port in BACKENDS.items():
        assert not allowed(policies, PROMETHEUS, pod(backend), port)


def test_every_pod_resolves_names(policies: list[Obj]) -> None:
    for name in [*NEEDS, *BACKENDS]:
        assert allowed(policies, pod(name), DNS, 53)


def test_the_evaluator_itself() -> None:
    deny = {"metadata": {"name": "d"}, "spec": {"podSelector": {},
                                                 "policyTypes": ["Ingress", "Egress"]}}
    a, b = Pod({"n": "a"}), Pod({"n": "b"})
    assert allowed([], a, b, 1)
    assert not allowed([deny], a, b, 1)
    egress = {"metadata": {"name": "e"}, "spec": {
        "podSelector": {"matchLabels": {"n": "a"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"n": "b"}}}],
                    "ports": [{"protocol": "TCP", "port": 1}]}]}}
    ingress = {"metadata": {"name": "i"}, "spec": {
        "podSelector": {"matchLabels": {"n": "b"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchExpressions": [
            {"key": "n", "operator": "In", "values": ["a", "c"]}]}}]}]}}
    assert not allowed([deny, egress], a, b, 1)  # b's ingress still denied
    assert allowed([deny, egress, ingress], a, b, 1)
    assert not allowed([deny, egress, ingress], a, b, 2)  # port
    assert not allowed([deny, egress, ingress], b, a, 1)  # direction
    other_namespace = Pod({"n": "a"}, namespace="elsewhere")
    assert not allowed([egress, ingress], other_namespace, b, 1)  # podSelector: same namespace
