"""The tiered scenarios (fixtures/tiered-*), each in its v1alpha1 and v1alpha2 form, with complete
truth tables: the exact set of ordered pod pairs allowed on each probe, every other pair denied, the
same for both API versions and for the reference evaluator, plus point checks with their reasons."""

from __future__ import annotations

import ipaddress
from itertools import permutations

import pytest

from netpol import Analyzer, reference_allowed
from tests.builders import analyzer, fixture

H, C, D = "gryffindor/harry", "hufflepuff/cedric", "slytherin/draco"
DNS, PROM, NODE = "kube-system/coredns", "monitoring/prometheus", "monitoring/node-exporter"
HOUSES = [H, C, D]


def everyone(pods: list[str]) -> set[tuple[str, str]]:
    return set(permutations(pods, 2))


# scenario -> {(protocol, port): allowed pairs}; every other ordered pair of distinct pods is denied
TABLES: dict[str, dict[tuple[str, int], set[tuple[str, str]]]] = {
    "admin-deny": {("TCP", 80): everyone(HOUSES) - {(D, H), (C, H)}},
    "pass": {("TCP", 80): everyone(HOUSES) - {(C, H)}},
    "baseline-deny": {("TCP", 80): everyone(HOUSES) - {(D, H)}},
    "zero-trust": {("TCP", 80): {(C, H)}},
    "keep-dns-and-monitoring": {
        ("TCP", 80): everyone([H, C, DNS, PROM, D]) - {(C, H), (DNS, H), (D, H), (H, DNS), (C, DNS), (D, DNS)},
        ("UDP", 53): everyone([H, C, DNS, PROM, D]) - {(C, H), (DNS, H), (D, H)},
    },
    "egress-cidr": {("TCP", 80): everyone(HOUSES) - {(H, C)}},
    "nodes": {("TCP", 9100): everyone([H, C, NODE, D]) - {(H, NODE)}},
    "named-port": {("TCP", 80): everyone(HOUSES) - {(D, H)}, ("TCP", 8080): everyone(HOUSES)},
    "same-priority": {("TCP", 80): everyone(HOUSES)},  # name order: the Allow policy first (ambiguous)
}

# (scenario, src, dst, port, protocol, allowed, the deciding side's reason starts with)
CHECKS = [
    ("admin-deny", D, H, 80, "TCP", False,
     "denied by {kind} gryffindor-no-slytherin priority 10 ingress[0] 'no-slytherin' (Deny) (Admin tier)"),
    ("pass", D, H, 80, "TCP", True,
     "passed on by {kind} gryffindor-delegates priority 10 ingress[0] 'let-namespaces-decide' (Pass); "
     "NetworkPolicy tier: allowed by gryffindor/allow-from-slytherin ingress[0]"),
    ("baseline-deny", D, H, 80, "TCP", False, "no NetworkPolicy selects gryffindor/harry for ingress; denied by "),
    ("baseline-deny", C, H, 80, "TCP", True, "allowed by default: no rule of any tier matched"),
    ("zero-trust", C, H, 80, "TCP", True, "NetworkPolicy tier: allowed by gryffindor/allow-from-hufflepuff"),
    ("egress-cidr", H, "198.51.100.1", 443, "TCP", False, "denied by {kind} deny-everything priority 20 egress[0]"),
    ("egress-cidr", H, D, 443, "TCP", True, "allowed by {kind} allow-draco priority 10 egress[0] 'draco'"),
    ("nodes", H, "192.168.1.10", 9100, "TCP", False, "denied by {kind} no-nodes-for-gryffindor priority 10"),
    ("named-port", D, H, 8080, "TCP", True, "allowed by {kind} slytherin-web-only priority 10 ingress[0] 'web'"),
]


def versions(name: str) -> list[Analyzer]:
    return [fixture(f"tiered-{name}-v1alpha1"), fixture(f"tiered-{name}-v1alpha2")]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_truth_table_in_both_api_versions(name: str) -> None:
    for a in versions(name):
        pods = [p.key for p in a.cluster.pods]
        for (protocol, port), allowed in TABLES[name].items():
            m = a.matrix(port, protocol)
            got = {(s.key, d.key) for s, d in m.allowed_pairs()}
            assert got == allowed, (name, protocol, port, sorted(got ^ allowed))
            for s in a.cluster.pods:
                for d in a.cluster.pods:
                    if s.key != d.key:
                        assert reference_allowed(a.cluster, s, d, protocol, port) == ((s.key, d.key) in allowed)
        assert sorted(pods) == sorted({p for pair in everyone(pods) for p in pair})


@pytest.mark.parametrize(("name", "src", "dst", "port", "protocol", "allowed", "reason"), CHECKS)
def test_point_checks_and_reasons(name: str, src: str, dst: str, port: int, protocol: str, allowed: bool,
                                  reason: str) -> None:
    for a, kind in zip(versions(name), ("ANP", "CNP"), strict=True):
        v = a.can_reach(src, dst, port, protocol)
        assert v.allowed is allowed
        side = v.ingress if not v.ingress.allowed or v.ingress.tier is not None else v.egress
        if not allowed:
            side = v.egress if not v.egress.allowed else v.ingress
        want = reason.replace("{kind}", kind)
        if kind == "CNP":
            want = want.replace("(Allow)", "(Accept)").replace("BANP default", "CNP baseline")
        assert side.reason.startswith(want), side.reason
        ends = [a.cluster.pods_by_key.get(e) or ipaddress.ip_address(e) for e in (src, dst)]
        assert reference_allowed(a.cluster, ends[0], ends[1], protocol, port) is allowed  # type: ignore[arg-type]


def test_same_priority_is_reported_as_ambiguous() -> None:
    for a in versions("same-priority"):
        v = a.can_reach(D, H, 80)
        (note,) = [n for n in v.assumptions if n.startswith("ambiguous")]
        assert "b-deny-slytherin (Deny) has the same priority 5 as" in note
        assert "the API leaves their order undefined (netpol applied a-allow-slytherin, by name)" in note
        assert not [n for n in a.can_reach(C, H, 80).assumptions if n.startswith("ambiguous")]


def test_egress_accept_does_not_override_the_destination_ingress() -> None:
    objects = [{"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
                "metadata": {"name": "out"}, "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
                                                      "egress": [{"action": "Accept", "to": [{"namespaces": {}}]}]}},
               {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "closed", "namespace": "gryffindor"},
                "spec": {"podSelector": {}, "ingress": []}}]
    raw = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("gryffindor", "slytherin")]
    raw += [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": p, "namespace": n},
             "spec": {"containers": [{"name": "c"}]}}
            for p, n in (("harry", "gryffindor"), ("draco", "slytherin"))]
    b = analyzer(*raw, *objects)
    v = b.can_reach(D, H, 80)
    assert (v.allowed, v.egress.allowed, v.ingress.allowed) == (False, True, False)


def test_matrices_state_same_priority_ties() -> None:
    for a in versions("same-priority"):
        (note,) = [n for n in a.matrix(80).assumptions() if "share priority" in n]
        assert note.startswith("Admin policies ") and "a-allow-slytherin" in note and "b-deny-slytherin" in note
    assert not [n for n in versions("admin-deny")[0].matrix(80).assumptions() if "share priority" in n]
