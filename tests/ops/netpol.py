"""Whether Kubernetes NetworkPolicies allow a connection between two pods: the API's
semantics for the selectors and peers ops/k8s uses (podSelector, namespaceSelector with
matchLabels/matchExpressions In, ports; no ipBlock, no named ports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it: its labels and its namespace's labels."""

    labels: dict[str, str]
    namespace: str = "editor"
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def ns_labels(self) -> dict[str, str]:
        """The namespace's labels, with the name label every namespace has."""
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A label selector (an empty one selects everything)."""
    for name, value in selector.get("matchLabels", {}).items():
        if labels.get(name) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "In":
            raise ValueError(f"operator {expression['operator']} is not handled")
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _peer_matches(peer: Obj, pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        raise ValueError("ipBlock peers are not handled")
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], pod.ns_labels()):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector", {}), pod.labels)


def _rule_allows(rule: Obj, peers_field: str, other: Pod, port: int, namespace: str) -> bool:
    ports = rule.get("ports")
    if ports and not any(p.get("port") == port and p.get("protocol", "TCP") == "TCP"
                         for p in ports):
        return False
    peers = rule.get(peers_field)
    return not peers or any(_peer_matches(peer, other, namespace) for peer in peers)


def _side_allows(policies: list[Obj], pod: Pod, direction: str, other: Pod, port: int) -> bool:
    """Egress from ``pod`` (direction "Egress") or ingress into it ("Ingress")."""
    field_name, peers_field = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    selecting = [p for p in policies
                 if p["metadata"].get("namespace", pod.namespace) == pod.namespace
                 and direction in p["spec"].get("policyTypes", ["Ingress"])
                 and selects(p["spec"]["podSelector"], pod.labels)]
    if not selecting:
        return True  # no policy isolates the pod in this direction
    return any(_rule_allows(rule, peers_field, other, port, pod.namespace)
               for policy in selecting for rule in policy["spec"].get(field_name) or [])


def allowed(policies: list[Obj], source: Pod, target: Pod, port: int) -> bool:
    """True when a TCP connection from ``source`` to ``target:port`` is allowed both ways."""
    return (_side_allows(policies, source, "Egress", target, port)
            and _side_allows(policies, target, "Ingress", source, port))
