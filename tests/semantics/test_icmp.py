"""ICMP and ICMPv6 under NetworkPolicy and the tiered policies, as truth tables.

A rule without ports allows (or denies, or passes) every protocol, ICMP included; a rule with ports
names only TCP, UDP or SCTP, so it matches no ICMP message. The engine (can_reach, the class
matrices, the port sets) and the reference evaluator must each give exactly these answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from netpol import reference_allowed
from netpol.model.portsets import PortSet, icmp_value
from tests.builders import analyzer, labels, namespace, pod, policy

ECHO = icmp_value(8, 0)
ECHO6 = icmp_value(128, 0)
UNREACHABLE = icmp_value(3, 13)
PODS = [namespace("default"), pod("a", labels={"app": "a"}, ip="10.0.0.1"),
        pod("b", labels={"app": "b"}, ip="10.0.0.2")]
PROBES = [("TCP", 80), ("TCP", 81), ("ICMP", ECHO), ("ICMP", UNREACHABLE), ("ICMPv6", ECHO6)]


def anp(action: str, ports: list[dict[str, Any]] | None = None, priority: int = 10) -> dict[str, Any]:
    """An AdminNetworkPolicy on b's ingress from a: one rule, with `ports` when given."""
    rule: dict[str, Any] = {"name": "r", "action": action, "from": [{"pods": {"namespaceSelector": {},
                                                                             "podSelector": labels(app="a")}}]}
    if ports is not None:
        rule["ports"] = ports
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": f"{action.lower()}-{priority}"},
            "spec": {"priority": priority, "subject": {"pods": {"namespaceSelector": {},
                                                                "podSelector": labels(app="b")}},
                     "ingress": [rule]}}


def banp(action: str, ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": "r", "action": action, "from": [{"namespaces": {}}]}
    if ports is not None:
        rule["ports"] = ports
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
            "metadata": {"name": "default"},
            "spec": {"subject": {"pods": {"namespaceSelector": {}, "podSelector": labels(app="b")}},
                     "ingress": [rule]}}


TCP80 = [{"portNumber": {"protocol": "TCP", "port": 80}}]
ISOLATE_B = policy("isolate", selector=labels(app="b"), policyTypes=["Ingress"])

# name -> (objects beside PODS, the allowed set of PROBES from a to b)
TABLE: dict[str, tuple[list[dict[str, Any]], set[tuple[str, int]]]] = {
    "no policy: everything, ICMP included": ([], set(PROBES)),
    "v1 isolation, no rule: nothing, ICMP included": ([ISOLATE_B], set()),
    "v1 rule without ports: every protocol, ICMP included": (
        [policy("p", selector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}]}])],
        set(PROBES)),
    "v1 rule with ports: those ports, no ICMP": (
        [policy("p", selector=labels(app="b"), ingress=[{"ports": [{"port": 80}]}])], {("TCP", 80)}),
    "v1 rule with protocols only (every port of TCP, UDP, SCTP): still no ICMP": (
        [policy("p", selector=labels(app="b"), ingress=[{"ports": [{"protocol": p} for p in ("TCP", "UDP", "SCTP")]}])],
        {("TCP", 80), ("TCP", 81)}),
    "v1 egress rule with ports denies ICMP on the sending side": (
        [policy("p", selector=labels(app="a"), policyTypes=["Egress"], egress=[{"ports": [{"port": 80}]}])],
        {("TCP", 80)}),
    "Admin Deny without ports: denies ICMP": ([anp("Deny")], set()),
    "Admin Deny with ports: denies those ports, ICMP goes on (allowed by default)": (
        [anp("Deny", TCP80)], {("TCP", 81), ("ICMP", ECHO), ("ICMP", UNREACHABLE), ("ICMPv6", ECHO6)}),
    "Admin Allow without ports beats v1 isolation, ICMP included": ([anp("Allow"), ISOLATE_B], set(PROBES)),
    "Admin Allow with ports beats v1 isolation on those ports only: ICMP denied by v1": (
        [anp("Allow", TCP80), ISOLATE_B], {("TCP", 80)}),
    "Admin Pass without ports hands ICMP to v1, which denies it": ([anp("Pass"), ISOLATE_B], set()),
    "Admin Pass with ports passes those ports only: ICMP falls to the Admin Deny after it": (
        [anp("Pass", TCP80), anp("Deny", priority=20)], {("TCP", 80)}),
    "Baseline Deny without ports: denies ICMP": ([banp("Deny")], set()),
    "Baseline Deny with ports: ICMP allowed by default": (
        [banp("Deny", TCP80)], {("TCP", 81), ("ICMP", ECHO), ("ICMP", UNREACHABLE), ("ICMPv6", ECHO6)}),
    "Baseline Allow with ports after an Admin Deny of TCP: ICMP by default": (
        [anp("Deny", [{"portRange": {"protocol": "TCP", "start": 1, "end": 65535}}]), banp("Allow", TCP80)],
        {("ICMP", ECHO), ("ICMP", UNREACHABLE), ("ICMPv6", ECHO6)}),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_icmp_truth_table(name: str) -> None:
    objects, allowed = TABLE[name]
    a = analyzer(*PODS, *objects)
    src, dst = a.cluster.pods_by_key["default/a"], a.cluster.pods_by_key["default/b"]
    engine = a.engine
    s, d = engine.class_of[src.key], engine.class_of[dst.key]
    got = {(proto, value) for proto, value in PROBES if a.can_reach("a", "b", value, proto).allowed}
    assert got == allowed
    assert {(p, v) for p, v in PROBES if reference_allowed(a.cluster, src, dst, p, v)} == allowed  # type: ignore[arg-type]
    assert {(p, v) for p, v in PROBES if engine.reachability(p, v).allowed(s, d)} == allowed  # type: ignore[arg-type]
    ports = a.allowed_ports(a.endpoint("a"), a.endpoint("b"))
    assert {(p, v) for p, v in PROBES if ports.contains(p, v)} == allowed  # type: ignore[arg-type]
    assert bool(engine.candidates.allowed(s, d)) == bool(ports)  # "on some port" sees ICMP too


def test_only_icmp_allowed_still_connects_on_some_port() -> None:
    """Every TCP, UDP and SCTP port denied by an Admin rule with ports, ICMP left to the default: the pair
    connects on ICMP alone, and every answer that asks "on some port" says so."""
    everything = [{"portRange": {"protocol": p, "start": 1, "end": 65535}} for p in ("TCP", "UDP", "SCTP")]
    a = analyzer(*PODS, anp("Deny", everything))
    ports = a.allowed_ports(a.endpoint("a"), a.endpoint("b"))
    assert ports == PortSet.of([("ICMP", 0, 65535), ("ICMPv6", 0, 65535)])
    assert str(ports) == "ICMP:all ICMPv6:all"
    m = a.matrix()
    pods = {p.key: p for p in m.pods}
    assert m.allowed(pods["default/a"], pods["default/b"]) and str(m.ports(pods["default/a"], pods["default/b"])) == (
        "ICMP:all ICMPv6:all")
    assert not a.matrix(80).allowed(pods["default/a"], pods["default/b"])
    assert a.matrix(ECHO, "ICMP").allowed(pods["default/a"], pods["default/b"])
    assert str(a.matrix(protocol="ICMP").ports(pods["default/a"], pods["default/b"])) == "ICMP:all"


def test_icmp_verdicts_name_the_type_and_code() -> None:
    a = analyzer(*PODS, policy("p", selector=labels(app="b"), ingress=[{"ports": [{"port": 80}]}]))
    v = a.can_reach("a", "b", ECHO, "ICMP")
    assert (v.allowed, v.probe) == (False, "ICMP type 8 code 0")
    assert v.ingress.reason == ("denied: default/b is isolated for ingress by default/p and no rule allows receiving "
                                "ICMP type 8 code 0 from default/a")
    data = v.to_dict()
    assert (data["protocol"], data["port"], data["icmp_type"], data["icmp_code"]) == ("ICMP", None, 8, 0)
    assert "icmp_type" not in a.can_reach("a", "b", 80).to_dict()
