"""A NetworkPolicy and the CiliumNetworkPolicy written to say the same give one truth table under Cilium (the
reference evaluator, netpol/reference/cilium.py): on random clusters, and on every scenario of the course.

The rewrite follows brief §6.1 (how the agent itself translates a NetworkPolicy): the podSelector becomes the
endpointSelector; each peer one entry (podSelector -> fromEndpoints, namespaceSelector -> namespace-label
terms, ipBlock -> fromCIDRSet) with the rule's ports (protocol TCP when omitted, no port -> "0"); a rule without
peers is any peer (`fromEntities: [all]`); a direction isolated without rules is `ingress: [{}]`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.model import Cluster, Direction, IPBlockPeer, NetworkPolicy, PolicyPort, Rule
from netpol.model.portsets import icmp_value
from netpol.model.selectors import LabelSelector
from netpol.reference.cilium import cilium_allowed
from netpol.sources import load_manifests, load_objects
from tests.builders import scenario_dirs
from tests.property.strategies import PROBES, cluster

NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."


def _selector(sel: LabelSelector, prefix: str = "") -> dict[str, Any]:
    return {"matchExpressions": [{"key": prefix + r.key, "operator": r.operator,
                                  **({"values": list(r.values)} if r.values else {})} for r in sel.requirements]}


def _ports(ports: tuple[PolicyPort, ...]) -> dict[str, Any]:
    if not ports:
        return {}
    return {"toPorts": [{"ports": [{"port": "0" if p.port is None else str(p.port), "protocol": p.protocol,
                                    **({"endPort": p.end_port} if p.end_port is not None else {})}
                                   for p in ports]}]}


def _entries(rule: Rule, direction: Direction) -> list[dict[str, Any]]:
    side = "from" if direction == "ingress" else "to"
    if not rule.peers:
        return [{f"{side}Entities": ["all"], **_ports(rule.ports)}]
    out = []
    for peer in rule.peers:
        if isinstance(peer, IPBlockPeer):
            block = {"cidr": str(peer.block.cidr), **({"except": [str(e) for e in peer.block.excepts]}
                                                       if peer.block.excepts else {})}
            out.append({f"{side}CIDRSet": [block], **_ports(rule.ports)})
            continue
        selector = _selector(peer.pod_selector or LabelSelector())
        if peer.namespace_selector is not None:
            namespaces = _selector(peer.namespace_selector, NAMESPACE_LABELS)["matchExpressions"] or [
                {"key": "io.kubernetes.pod.namespace", "operator": "Exists"}]
            selector["matchExpressions"] += namespaces
        out.append({f"{side}Endpoints": [selector], **_ports(rule.ports)})
    return out


def knp_as_cnp(policy: NetworkPolicy) -> dict[str, Any]:
    spec: dict[str, Any] = {"endpointSelector": _selector(policy.pod_selector)}
    types = policy.policy_types
    for direction in ("ingress", "egress"):
        rules = policy.rules(direction)  # type: ignore[arg-type]
        isolated = ("Ingress" in types or "Egress" not in types) if direction == "ingress" else "Egress" in types
        if rules:
            spec[direction] = [e for r in rules for e in _entries(r, direction)]  # type: ignore[arg-type]
        elif isolated:
            spec[direction] = [{}]
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": policy.name, "namespace": policy.namespace}, "spec": spec}


def as_cilium(c: Cluster) -> Cluster:
    """The cluster with each NetworkPolicy replaced by its CiliumNetworkPolicy, loaded as a user would."""
    cnps = load_objects([knp_as_cnp(p) for p in c.policies]).cluster.cilium if c.policies else ()
    return replace(c, policies=(), cilium=cnps)


def _same_table(c: Cluster, probes: list[tuple[str, int]]) -> None:
    cnp = as_cilium(c)
    for protocol, port in probes:
        for src in c.pods:
            for dst in c.pods:
                assert cilium_allowed(c, src, dst, protocol, port) == cilium_allowed(  # type: ignore[arg-type]
                    cnp, src, dst, protocol, port), (src.key, dst.key, protocol, port)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_network_policy_and_its_cnp_agree(data: st.DataObject) -> None:
    _same_table(load_objects(data.draw(cluster())).cluster, [*PROBES, ("ICMP", icmp_value(8, 0))])


@pytest.mark.parametrize("scenario", [d for d in scenario_dirs()
                                      if not d.name.startswith(("tiered-", "cilium-", "calico-"))], ids=lambda d: d.name)
def test_the_course_s_scenarios_as_cnp(scenario: Any) -> None:
    """fixtures/: every course scenario (NetworkPolicy only) has the same truth table written as CNPs."""
    _same_table(load_manifests([str(scenario)]).cluster, [("TCP", 80), ("UDP", 53), ("TCP", 53),
    ("ICMP", icmp_value(8, 0))])
