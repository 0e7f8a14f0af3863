"""Table-driven semantics: one small cluster per rule of the NetworkPolicy v1 API.

Each case lists connections and whether they are allowed. Both the engine
(through Analyzer.can_reach) and the reference evaluator must give exactly
that answer.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pytest

from netpol import reference_allowed
from netpol.analyses.query import endpoint_key
from tests.builders import analyzer, labels, namespace, pod, policy, workload

Check = tuple[str, str, int, str, bool]  # src, dst, port, protocol, allowed


@dataclass
class Case:
    objects: list[dict[str, Any]]
    checks: list[Check]


A = pod("a", labels={"app": "a"}, ip="10.0.0.1")
B = pod("b", labels={"app": "b"}, ip="10.0.0.2")
C = pod("c", labels={"app": "c"}, ip="10.0.0.3")
WEB = pod("web", labels={"app": "web"}, ports=[(80, "TCP", "http"), (53, "UDP", "dns"), (8443, "TCP", "metrics")],
          ip="10.0.0.10")
NS = [namespace("default"), namespace("other", team="x"), namespace("third", team="y")]
OTHER_A = pod("a", ns="other", labels={"app": "a"}, ip="10.0.1.1")
THIRD_A = pod("a", ns="third", labels={"app": "a"}, ip="10.0.2.1")
OUT = "198.51.100.7"

CASES: dict[str, Case] = {
    "no policy: everything allowed": Case(
        [A, B], [("a", "b", 80, "TCP", True), ("b", "a", 9, "UDP", True), (OUT, "a", 1, "SCTP", True)],
    ),
    "policyTypes absent, egress rules present: Ingress and Egress both apply": Case(
        [A, B, C, policy("p", selector=labels(app="a"), egress=[{"to": [{"podSelector": labels(app="b")}]}])],
        [("a", "b", 80, "TCP", True), ("a", "c", 80, "TCP", False), ("b", "a", 80, "TCP", False),
         ("c", "b", 80, "TCP", True)],
    ),
    "policyTypes absent, egress: [] present but empty: Ingress only": Case(
        [A, B, policy("p", selector=labels(app="a"), egress=[])],
        [("a", "b", 80, "TCP", True), ("b", "a", 80, "TCP", False)],
    ),
    "policyTypes [Egress] only: its ingress rules are ignored, ingress is not isolated": Case(
        [A, B, policy("p", selector=labels(app="a"), policyTypes=["Egress"],
                      ingress=[{"from": [{"podSelector": labels(app="nobody")}]}])],
        [("b", "a", 80, "TCP", True), ("a", "b", 80, "TCP", False)],
    ),
    "ingress absent and ingress [] both deny all ingress": Case(
        [A, B, C, policy("p1", selector=labels(app="a")), policy("p2", selector=labels(app="b"), ingress=[])],
        [("c", "a", 80, "TCP", False), ("c", "b", 80, "TCP", False), ("a", "c", 80, "TCP", True)],
    ),
    "rule with from absent, from [] and {}: every source": Case(
        [A, B, C, policy("p1", selector=labels(app="a"), ingress=[{"ports": [{"port": 80}]}]),
         policy("p2", selector=labels(app="b"), ingress=[{"from": [], "ports": [{"port": 80}]}]),
         policy("p3", selector=labels(app="c"), ingress=[{}])],
        [("b", "a", 80, "TCP", True), ("b", "a", 81, "TCP", False), (OUT, "a", 80, "TCP", True),
         ("a", "b", 80, "TCP", True), (OUT, "c", 5, "UDP", True)],
    ),
    "ports absent or []: every port and protocol": Case(
        [A, B, policy("p", selector=labels(app="a"), ingress=[{"from": [{"podSelector": {}}], "ports": []}])],
        [("b", "a", 1, "TCP", True), ("b", "a", 65535, "UDP", True), ("b", "a", 9, "SCTP", True)],
    ),
    "podSelector alone: pods of the policy's namespace only": Case(
        NS + [A, B, OTHER_A, policy("p", selector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}]}])],
        [("a", "b", 80, "TCP", True), ("other/a", "b", 80, "TCP", False)],
    ),
    "namespaceSelector alone: every pod of the matching namespaces": Case(
        NS + [A, B, OTHER_A, THIRD_A,
              policy("p", selector=labels(app="b"), ingress=[{"from": [{"namespaceSelector": labels(team="x")}]}])],
        [("other/a", "b", 80, "TCP", True), ("third/a", "b", 80, "TCP", False), ("a", "b", 80, "TCP", False)],
    ),
    "podSelector and namespaceSelector in one peer: AND": Case(
        NS + [B, OTHER_A, THIRD_A, pod("c", ns="other", labels={"app": "c"}),
              policy("p", selector=labels(app="b"), ingress=[{"from": [
                  {"namespaceSelector": labels(team="x"), "podSelector": labels(app="a")}]}])],
        [("other/a", "b", 80, "TCP", True), ("other/c", "b", 80, "TCP", False), ("third/a", "b", 80, "TCP", False)],
    ),
    "podSelector and namespaceSelector in two peers: OR": Case(
        NS + [A, B, OTHER_A, THIRD_A, pod("c", ns="other", labels={"app": "c"}),
              policy("p", selector=labels(app="b"), ingress=[{"from": [
                  {"namespaceSelector": labels(team="x")}, {"podSelector": labels(app="a")}]}])],
        [("other/a", "b", 80, "TCP", True), ("other/c", "b", 80, "TCP", True), ("a", "b", 80, "TCP", True),
         ("third/a", "b", 80, "TCP", False)],
    ),
    "namespaceSelector {} with podSelector: those pods in every namespace": Case(
        NS + [B, OTHER_A, THIRD_A, pod("c", ns="third", labels={"app": "c"}),
              policy("p", selector=labels(app="b"), ingress=[{"from": [
                  {"namespaceSelector": {}, "podSelector": labels(app="a")}]}])],
        [("other/a", "b", 80, "TCP", True), ("third/a", "b", 80, "TCP", True), ("third/c", "b", 80, "TCP", False),
         (OUT, "b", 80, "TCP", False)],
    ),
    "matchExpressions In / NotIn / Exists / DoesNotExist; an absent key satisfies NotIn": Case(
        [pod("t1", labels={"role": "t", "tier": "fe"}), pod("t2", labels={"role": "t", "tier": "be"}),
         pod("t3", labels={"role": "t"}), pod("t4", labels={"role": "t", "tier": "db", "env": "prod"}),
         pod("s", labels={"role": "s"}),
         policy("in", selector=labels(role="s"), ingress=[{"from": [{"podSelector": {"matchExpressions": [
             {"key": "tier", "operator": "In", "values": ["fe", "be"]}]}}], "ports": [{"port": 1}]}]),
         policy("notin", selector=labels(role="s"), ingress=[{"from": [{"podSelector": {"matchExpressions": [
             {"key": "tier", "operator": "NotIn", "values": ["fe"]}]}}], "ports": [{"port": 2}]}]),
         policy("exists", selector=labels(role="s"), ingress=[{"from": [{"podSelector": {"matchExpressions": [
             {"key": "env", "operator": "Exists"}]}}], "ports": [{"port": 3}]}]),
         policy("dne", selector=labels(role="s"), ingress=[{"from": [{"podSelector": {"matchExpressions": [
             {"key": "tier", "operator": "DoesNotExist"}]}}], "ports": [{"port": 4}]}])],
        [("t1", "s", 1, "TCP", True), ("t2", "s", 1, "TCP", True), ("t3", "s", 1, "TCP", False),
         ("t4", "s", 1, "TCP", False),
         ("t1", "s", 2, "TCP", False), ("t2", "s", 2, "TCP", True), ("t3", "s", 2, "TCP", True),
         ("t4", "s", 2, "TCP", True),
         ("t4", "s", 3, "TCP", True), ("t1", "s", 3, "TCP", False),
         ("t3", "s", 4, "TCP", True), ("t1", "s", 4, "TCP", False)],
    ),
    "matchLabels and matchExpressions are ANDed; a missing key never equals a value": Case(
        [pod("x", labels={"app": "a", "v": "1"}), pod("y", labels={"app": "a", "v": "2"}), pod("z", labels={"app": "a"}),
         pod("s", labels={"role": "s"}),
         policy("p", selector=labels(role="s"), ingress=[{"from": [{"podSelector": {
             "matchLabels": {"app": "a"}, "matchExpressions": [{"key": "v", "operator": "In", "values": ["1"]}]}}]}])],
        [("x", "s", 80, "TCP", True), ("y", "s", 80, "TCP", False), ("z", "s", 80, "TCP", False)],
    ),
    "kubernetes.io/metadata.name is set on every namespace, declared or not, and cannot be overridden": Case(
        [namespace("other", **{"kubernetes.io/metadata.name": "spoofed"}), B, OTHER_A,
         pod("a", ns="implied", labels={"app": "a"}),
         policy("p", selector=labels(app="b"), ingress=[{"from": [
             {"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "other"})},
             {"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "implied"})}]}])],
        [("other/a", "b", 80, "TCP", True), ("implied/a", "b", 80, "TCP", True)],
    ),
    "named port resolves against the destination's container ports, with the protocol": Case(
        [A, WEB, pod("web2", labels={"app": "web"}, ports=[(8080, "TCP", "http")]),
         pod("web3", labels={"app": "web"}, ports=[(80, "UDP", "http")]),
         pod("web4", labels={"app": "web"}, ports=[80]),
         policy("p", selector=labels(app="web"), ingress=[{"ports": [{"port": "http"}]}])],
        [("a", "web", 80, "TCP", True), ("a", "web", 8080, "TCP", False), ("a", "web2", 8080, "TCP", True),
         ("a", "web2", 80, "TCP", False), ("a", "web3", 80, "UDP", False), ("a", "web3", 80, "TCP", False),
         ("a", "web4", 80, "TCP", False)],
    ),
    "named port in an egress rule resolves against the destination pod; never matches an address": Case(
        [A, WEB, pod("web2", labels={"app": "web"}, ports=[(8080, "TCP", "http")]),
         policy("p", selector=labels(app="a"), policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}])],
        [("a", "web", 80, "TCP", True), ("a", "web2", 8080, "TCP", True), ("a", "web2", 80, "TCP", False),
         ("a", OUT, 80, "TCP", False)],
    ),
    "endPort: an inclusive range": Case(
        [A, B, policy("p", selector=labels(app="b"), ingress=[{"ports": [{"port": 32000, "endPort": 32768}]}])],
        [("a", "b", 31999, "TCP", False), ("a", "b", 32000, "TCP", True), ("a", "b", 32768, "TCP", True),
         ("a", "b", 32769, "TCP", False), ("a", "b", 32000, "UDP", False)],
    ),
    "protocols: TCP by default; UDP and SCTP explicit; a protocol without a port is all its ports": Case(
        [A, B, policy("p", selector=labels(app="b"), ingress=[{"ports": [
            {"port": 53}, {"port": 53, "protocol": "UDP"}, {"protocol": "SCTP"}]}])],
        [("a", "b", 53, "TCP", True), ("a", "b", 53, "UDP", True), ("a", "b", 54, "UDP", False),
         ("a", "b", 7, "SCTP", True), ("a", "b", 65535, "SCTP", True), ("a", "b", 80, "TCP", False)],
    ),
    "ipBlock with except: addresses outside, and pods whose IP is inside": Case(
        [A, B, pod("c", labels={"app": "c"}, ip="10.0.9.1"),
         policy("p", selector=labels(app="b"), ingress=[{"from": [
             {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.9.0/24"]}}]}])],
        [("a", "b", 80, "TCP", True), ("c", "b", 80, "TCP", False), ("10.0.200.1", "b", 80, "TCP", True),
         ("10.0.9.5", "b", 80, "TCP", False), ("10.1.0.1", "b", 80, "TCP", False), ("2001:db8::1", "b", 80, "TCP", False)],
    ),
    "ipBlock CIDR with host bits set means its network": Case(
        [A, B, policy("p", selector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "10.0.1.1/4"}}]}])],
        [("a", "b", 80, "TCP", True), ("15.1.2.3", "b", 80, "TCP", True), ("16.0.0.1", "b", 80, "TCP", False)],
    ),
    "egress to an ipBlock": Case(
        [A, B, policy("p", selector=labels(app="a"), policyTypes=["Egress"], egress=[{"to": [
            {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}])],
        [("a", OUT, 443, "TCP", True), ("a", "b", 443, "TCP", False), ("a", "10.1.1.1", 443, "TCP", False)],
    ),
    "a pod without a known IP never matches an ipBlock": Case(
        [pod("a", labels={"app": "a"}), B,
         policy("p", selector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])],
        [("a", "b", 80, "TCP", False), (OUT, "b", 80, "TCP", True)],
    ),
    "isolation is per direction: ingress isolation leaves egress open": Case(
        [A, B, policy("p", selector=labels(app="a"))],
        [("a", "b", 80, "TCP", True), ("b", "a", 80, "TCP", False), ("a", OUT, 80, "TCP", True)],
    ),
    "a connection needs the source's egress and the destination's ingress": Case(
        [A, B, C,
         policy("egress-a", selector=labels(app="a"), policyTypes=["Egress"], egress=[{"to": [{"podSelector": labels(app="b")}]}]),
         policy("ingress-b", selector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="c")}]}])],
        [("a", "b", 80, "TCP", False), ("c", "b", 80, "TCP", True), ("a", "c", 80, "TCP", False),
         ("b", "a", 80, "TCP", True)],
    ),
    "policies are additive: the union of their rules": Case(
        [A, B, C, policy("p1", selector=labels(app="c"), ingress=[{"from": [{"podSelector": labels(app="a")}], "ports": [{"port": 80}]}]),
         policy("p2", selector={}, ingress=[{"from": [{"podSelector": labels(app="b")}], "ports": [{"port": 443}]}])],
        [("a", "c", 80, "TCP", True), ("a", "c", 443, "TCP", False), ("b", "c", 443, "TCP", True),
         ("b", "c", 80, "TCP", False), ("c", "a", 443, "TCP", False)],
    ),
    "a policy selects pods of its own namespace only": Case(
        NS + [A, OTHER_A, B, policy("p", ns="other", selector={})],
        [("b", "a", 80, "TCP", True), ("b", "other/a", 80, "TCP", False)],
    ),
    "hostNetwork pods: not isolated, not matched by selectors, matched by ipBlock on their IP": Case(
        [A, B, pod("h", labels={"app": "a"}, ip="192.168.1.5", host_network=True),
         policy("p", selector={}, ingress=[{"from": [{"podSelector": labels(app="a")}]}]),
         policy("q", selector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "192.168.1.0/24"}}]}])],
        [("a", "b", 80, "TCP", True), ("b", "h", 80, "TCP", True), ("h", "a", 80, "TCP", False),
         ("h", "b", 80, "TCP", True)],
    ),
    "ingress from the pod's own node (a hostNetwork pod on it) is always allowed": Case(
        [pod("a", labels={"app": "a"}, ip="10.0.0.1", node="n1"), pod("b", labels={"app": "b"}, ip="10.0.0.2", node="n2"),
         pod("c", labels={"app": "c"}, ip="10.0.0.3", node="n1"),
         pod("h", labels={"app": "h"}, ip="192.168.1.5", host_network=True, node="n1"),
         policy("p", selector={}, ingress=[])],
        [("h", "a", 80, "TCP", True), ("h", "a", 9, "UDP", True), ("h", "b", 80, "TCP", False),
         ("c", "a", 80, "TCP", False), ("a", "h", 80, "TCP", True)],
    ),
    "egress to the pod's own node (a hostNetwork pod or the node's address) is always allowed": Case(
        [pod("a", labels={"app": "a"}, ip="10.0.0.1", node="n1", host_ip="192.168.1.9"),
         pod("b", labels={"app": "b"}, ip="10.0.0.2", node="n2", host_ip="192.168.1.8"),
         pod("h", labels={"app": "h"}, ip="192.168.1.5", host_network=True, node="n1"),
         policy("p", selector={}, policyTypes=["Ingress", "Egress"])],
        [("a", "h", 53, "UDP", True), ("b", "h", 53, "UDP", False), ("a", "b", 80, "TCP", False),
         ("a", "192.168.1.9", 10250, "TCP", True), ("b", "192.168.1.9", 10250, "TCP", False),
         ("192.168.1.9", "a", 10250, "TCP", True), ("192.168.1.9", "b", 10250, "TCP", False)],
    ),
    "a workload of several replicas with itself is traffic between distinct pods": Case(
        [workload("db", replicas=3, labels={"app": "db"}), workload("one", replicas=1, labels={"app": "one"}),
         workload("agent", kind="DaemonSet", labels={"app": "agent"}),
         policy("deny", selector={}, policyTypes=["Ingress"])],
        [("deployment/db", "deployment/db", 5432, "TCP", False), ("deployment/one", "deployment/one", 80, "TCP", True),
         ("daemonset/agent", "daemonset/agent", 80, "TCP", False)],
    ),
    "replicas allowed to reach each other": Case(
        [workload("db", replicas=3, labels={"app": "db"}),
         policy("peers", selector=labels(app="db"), ingress=[{"from": [{"podSelector": labels(app="db")}],
                                                             "ports": [{"port": 5432}]}])],
        [("deployment/db", "deployment/db", 5432, "TCP", True), ("deployment/db", "deployment/db", 80, "TCP", False)],
    ),
    "traffic from a pod to itself is allowed": Case(
        [A, policy("p", selector={}, policyTypes=["Ingress", "Egress"])],
        [("a", "a", 80, "TCP", True)],
    ),
    "IPv6 addresses and blocks": Case(
        [pod("v6", labels={"app": "v6"}, ip="fd00::1"),
         policy("p", selector=labels(app="v6"), ingress=[{"from": [{"ipBlock": {"cidr": "2001:db8::/32",
                                                                                "except": ["2001:db8:1::/48"]}}]}])],
        [("2001:db8::5", "v6", 80, "TCP", True), ("2001:db8:1::5", "v6", 80, "TCP", False),
         ("198.51.100.1", "v6", 80, "TCP", False)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(name: str) -> None:
    case = CASES[name]
    a = analyzer(*case.objects)
    for src, dst, port, proto, expected in case.checks:
        verdict = a.can_reach(src, dst, port, proto)
        assert verdict.allowed is expected, (src, dst, port, proto)
        ends = [a.cluster.pods_by_key.get(endpoint_key(e, "default")) or ipaddress.ip_address(e) for e in (src, dst)]
        assert reference_allowed(a.cluster, ends[0], ends[1], proto, port) is expected, "reference"  # type: ignore[arg-type]


def test_host_network_and_ip_block_are_reported_as_assumptions() -> None:
    case = CASES["hostNetwork pods: not isolated, not matched by selectors, matched by ipBlock on their IP"]
    a = analyzer(*case.objects)
    verdict = a.can_reach("h", "b", 80)
    assert any("hostNetwork" in note for note in verdict.assumptions)
    assert any("only through an ipBlock" in note for note in verdict.assumptions)


def test_local_node_reason() -> None:
    a = analyzer(*CASES["ingress from the pod's own node (a hostNetwork pod on it) is always allowed"].objects)
    assert a.can_reach("h", "a", 80).ingress.reason == (
        "allowed: default/h uses the host network of default/a's node (n1), and traffic to and from a pod's own "
        "node is always allowed"
    )
    a = analyzer(*CASES["egress to the pod's own node (a hostNetwork pod or the node's address) is always allowed"]
                 .objects)
    assert a.can_reach("a", "h", 53, "UDP").egress.reason == (
        "allowed: default/h uses the host network of default/a's node (n1), and traffic to and from a pod's own "
        "node is always allowed")
    assert a.can_reach("a", "192.168.1.9", 10250).egress.reason == (
        "allowed: 192.168.1.9 is the address of default/a's node (status.hostIP), and traffic to and from a pod's "
        "own node is always allowed")
    assert a.can_reach("192.168.1.9", "a", 10250).ingress.allowed


def test_missing_ip_is_reported() -> None:
    a = analyzer(*CASES["a pod without a known IP never matches an ipBlock"].objects)
    assert any("no known IP" in note for note in a.can_reach("a", "b", 80).assumptions)


def test_self_traffic_is_reported() -> None:
    a = analyzer(*CASES["traffic from a pod to itself is allowed"].objects)
    verdict = a.can_reach("a", "a", 80)
    assert not verdict.ingress.allowed  # the rules alone would deny it
    assert any("to itself" in note for note in verdict.assumptions)
