"""Every scenario of the course chapter, with its complete truth table.

For each fixture: the exact set of ordered pod pairs allowed on a probe port
(every other pair must be denied), point checks that involve addresses
outside the cluster, and the exact port sets of some pairs. Each matrix cell
is also checked against the reference evaluator.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from itertools import permutations

import pytest

from netpol import Analyzer, reference_allowed
from tests.builders import fixture

Pair = tuple[str, str]


def every_pair(pods: list[str]) -> set[Pair]:
    return set(permutations(pods, 2))


@dataclass
class Probe:
    protocol: str
    port: int
    allowed: set[Pair]


@dataclass
class Scenario:
    pods: list[str]
    probes: list[Probe]
    checks: list[tuple[str, str, int, str, bool]] = field(default_factory=list)
    ports: dict[Pair, str] = field(default_factory=dict)


D = "default/"
EXT = "203.0.113.7"

LIMIT_PODS = [D + "apiserver", D + "test-1", D + "test-2"]
EXT_PODS = [D + "test-1", D + "test-nginx", D + "web"]
EGRESS_PODS = [D + "test", D + "web", "kube-system/coredns"]
MULTI = [D + "api", D + "db", D + "search", D + "test-1", D + "test-2", D + "test-3"]
NS_EGRESS = [D + "test-1", D + "web", "kube-system/coredns", "other/api"]
SOME = [D + "hello", D + "test", D + "web", "kube-system/coredns"]
TO_NS = [D + "test", D + "web", "dev/api", "kube-system/coredns", "prod/api"]
CLUSTER_ONLY = [D + "test", D + "web", "kube-system/coredns", "other/api"]

SCENARIOS: dict[str, Scenario] = {
    "deny-all": Scenario(
        [D + "test-1", D + "web"],
        [Probe("TCP", 80, set())],
        [(EXT, D + "web", 80, "TCP", False), (D + "web", EXT, 80, "TCP", True)],
    ),
    "limit": Scenario(
        LIMIT_PODS,
        [Probe("TCP", 80, every_pair(LIMIT_PODS) - {(D + "test-1", D + "apiserver")})],
        [(D + "test-2", D + "apiserver", 8080, "TCP", True), (D + "test-1", D + "apiserver", 443, "TCP", False),
         (EXT, D + "apiserver", 80, "TCP", False)],
        {(D + "test-2", D + "apiserver"): "all", (D + "test-1", D + "apiserver"): "none"},
    ),
    "allow-all": Scenario(
        [D + "test-1", D + "test-2", D + "web"],
        [Probe("TCP", 80, every_pair([D + "test-1", D + "test-2", D + "web"]))],
        [(EXT, D + "web", 80, "TCP", True), (EXT, D + "web", 443, "TCP", True), (EXT, D + "web", 53, "UDP", True)],
    ),
    "deny-all-non-whitelisted": Scenario(
        [D + "test-1", D + "test-2", D + "web"],
        [Probe("TCP", 80, every_pair([D + "test-1", D + "test-2", D + "web"]) - {(D + "test-2", D + "web")})],
        [(EXT, D + "web", 80, "TCP", False)],
    ),
    "deny-from-other-namespaces": Scenario(
        ["bar/test-3", D + "test-1", "foo/test-2", "foo/web"],
        [Probe("TCP", 80, {
            ("bar/test-3", D + "test-1"),
            (D + "test-1", "bar/test-3"),
            ("foo/test-2", "bar/test-3"), ("foo/test-2", D + "test-1"), ("foo/test-2", "foo/web"),
            ("foo/web", "bar/test-3"), ("foo/web", D + "test-1"), ("foo/web", "foo/test-2"),
        })],
        [(EXT, "foo/web", 80, "TCP", False)],
    ),
    "allow-from-all-namespaces": Scenario(
        ["bar/test-1", "foo/web", "foo/web2"],
        [Probe("TCP", 80, {
            ("bar/test-1", "foo/web"),
            ("foo/web", "bar/test-1"), ("foo/web", "foo/web2"),
            ("foo/web2", "bar/test-1"), ("foo/web2", "foo/web"),
        })],
        # namespaceSelector {} selects pods of every namespace, not addresses outside the cluster.
        [(EXT, "foo/web", 80, "TCP", False)],
    ),
    "allow-from-a-namespace": Scenario(
        [D + "web", "dev/test-1", "prod/test-2"],
        [Probe("TCP", 80, every_pair([D + "web", "dev/test-1", "prod/test-2"]) - {("dev/test-1", D + "web")})],
    ),
    "external": Scenario(
        EXT_PODS,
        [Probe("TCP", 80, {(D + "test-1", D + "web"), (D + "test-nginx", D + "web")})],
        [(EXT, D + "web", 80, "TCP", True), (EXT, D + "web", 443, "TCP", True),
         (EXT, D + "test-nginx", 80, "TCP", False), (D + "web", EXT, 443, "TCP", True)],
        {(D + "test-1", D + "web"): "all", (D + "web", D + "test-1"): "none"},
    ),
    "external-port-80": Scenario(
        EXT_PODS,
        [Probe("TCP", 80, {(D + "test-1", D + "web"), (D + "test-nginx", D + "web")}),
         Probe("TCP", 443, set()), Probe("UDP", 80, set())],
        [(EXT, D + "web", 80, "TCP", True), (EXT, D + "web", 443, "TCP", False),
         (EXT, D + "test-nginx", 80, "TCP", False)],
        {(D + "test-1", D + "web"): "TCP:80"},
    ),
    "specific-port": Scenario(
        LIMIT_PODS,
        [Probe("TCP", 5000, every_pair(LIMIT_PODS) - {(D + "test-1", D + "apiserver")}),
         Probe("TCP", 8000, every_pair(LIMIT_PODS) - {(D + "test-1", D + "apiserver"), (D + "test-2", D + "apiserver")})],
        # The Service's ports (5001, 8001) are not what the policy names.
        [(D + "test-2", D + "apiserver", 5001, "TCP", False), (D + "test-2", D + "apiserver", 5000, "UDP", False)],
        {(D + "test-2", D + "apiserver"): "TCP:5000", (D + "test-1", D + "apiserver"): "none"},
    ),
    "multiple-selectors": Scenario(
        MULTI,
        [Probe("TCP", 6379, every_pair(MULTI) - {(D + "test-2", D + "db"), (D + "test-3", D + "db")})],
    ),
    "egress-deny": Scenario(
        EGRESS_PODS,
        [Probe(proto, port, every_pair(EGRESS_PODS) - {(D + "test", D + "web"), (D + "test", "kube-system/coredns")})
         for proto, port in (("TCP", 80), ("UDP", 53))],
        [(D + "test", EXT, 80, "TCP", False), (D + "test", EXT, 53, "UDP", False), (EXT, D + "test", 80, "TCP", True)],
        {(D + "test", D + "web"): "none", (D + "web", D + "test"): "all"},
    ),
    "egress-allow-dns": Scenario(
        EGRESS_PODS,
        [Probe("TCP", 80, every_pair(EGRESS_PODS) - {(D + "test", D + "web"), (D + "test", "kube-system/coredns")}),
         Probe("UDP", 53, every_pair(EGRESS_PODS)), Probe("TCP", 53, every_pair(EGRESS_PODS))],
        [(D + "test", EXT, 53, "UDP", True), (D + "test", EXT, 80, "TCP", False)],
        {(D + "test", "kube-system/coredns"): "TCP:53 UDP:53", (D + "test", D + "web"): "TCP:53 UDP:53"},
    ),
    "egress-deny-all-namespace": Scenario(
        NS_EGRESS,
        [Probe("TCP", 80, {(a, b) for a, b in every_pair(NS_EGRESS) if not a.startswith(D)})],
        [(D + "web", EXT, 443, "TCP", False), (D + "test-1", "kube-system/coredns", 53, "UDP", False)],
    ),
    "egress-to-some-pods": Scenario(
        SOME,
        [Probe("TCP", 8080, every_pair(SOME) - {(D + "test", D + "web"), (D + "test", "kube-system/coredns")})],
        [(D + "test", D + "hello", 80, "TCP", True), (D + "test", "kube-system/coredns", 53, "UDP", False),
         (D + "test", EXT, 443, "TCP", False)],
    ),
    "egress-to-a-namespace": Scenario(
        TO_NS,
        [Probe("TCP", 8080, every_pair(TO_NS) - {(D + "test", D + "web"), (D + "test", "dev/api"),
                                                  (D + "test", "kube-system/coredns")}),
         Probe("UDP", 53, every_pair(TO_NS) - {(D + "test", D + "web"), (D + "test", "dev/api")})],
        [(D + "test", "kube-system/coredns", 9153, "TCP", False), (D + "test", EXT, 53, "UDP", False)],
        {(D + "test", "kube-system/coredns"): "TCP:53 UDP:53", (D + "test", "prod/api"): "all"},
    ),
    "egress-cluster-only": Scenario(
        CLUSTER_ONLY,
        [Probe("TCP", 443, every_pair(CLUSTER_ONLY))],
        [(D + "test", EXT, 443, "TCP", False), (D + "test", EXT, 53, "UDP", True),
         (D + "test", EXT, 53, "TCP", True), (D + "test", EXT, 80, "TCP", False)],
    ),
}


def test_every_fixture_has_a_scenario() -> None:
    from tests.builders import scenario_dirs
    from tests.scenarios.test_calico_fixtures import TABLES as CALICO
    from tests.scenarios.test_cilium_fixtures import CILIUM
    from tests.scenarios.test_tiered import TABLES

    tiered = {f"tiered-{name}-{v}" for name in TABLES for v in ("v1alpha1", "v1alpha2")}
    assert [p.name for p in scenario_dirs()] == sorted(set(SCENARIOS) | tiered | set(CILIUM) | set(CALICO))


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def case(request: pytest.FixtureRequest) -> tuple[str, Analyzer, Scenario]:
    return request.param, fixture(request.param), SCENARIOS[request.param]


def test_pods(case: tuple[str, Analyzer, Scenario]) -> None:
    _, analyzer, scenario = case
    assert [p.key for p in analyzer.cluster.pods] == sorted(scenario.pods)


def test_truth_tables(case: tuple[str, Analyzer, Scenario]) -> None:
    _, analyzer, scenario = case
    for probe in scenario.probes:
        m = analyzer.matrix(probe.port, probe.protocol)
        got = {(a.key, b.key) for a, b in m.allowed_pairs()}
        assert got == probe.allowed, f"{probe.protocol}/{probe.port}"
        for src in analyzer.cluster.pods:
            for dst in analyzer.cluster.pods:
                if src.key != dst.key:
                    want = reference_allowed(analyzer.cluster, src, dst, probe.protocol, probe.port)  # type: ignore[arg-type]
                    assert ((src.key, dst.key) in got) == want, (src.key, dst.key, probe)
                    verdict = analyzer.can_reach(src.key, dst.key, probe.port, probe.protocol)
                    assert verdict.allowed == want


def test_point_checks(case: tuple[str, Analyzer, Scenario]) -> None:
    _, analyzer, scenario = case
    for src, dst, port, proto, expected in scenario.checks:
        verdict = analyzer.can_reach(src, dst, port, proto)
        assert verdict.allowed is expected, (src, dst, port, proto)
        ends = [analyzer.cluster.pods_by_key.get(e) or ipaddress.ip_address(e) for e in (src, dst)]
        assert reference_allowed(analyzer.cluster, ends[0], ends[1], proto, port) is expected  # type: ignore[arg-type]


def test_port_sets(case: tuple[str, Analyzer, Scenario]) -> None:
    _, analyzer, scenario = case
    m = analyzer.matrix()
    pods = analyzer.cluster.pods_by_key
    for (src, dst), expected in scenario.ports.items():
        assert str(m.ports(pods[src], pods[dst])) == expected, (src, dst)


def test_limit_explains_both_directions() -> None:
    analyzer = fixture("limit")
    denied = analyzer.can_reach("test-1", "apiserver", 80)
    assert not denied.allowed
    assert denied.egress.allowed and not denied.egress.isolated_by
    assert denied.ingress.isolated_by == ("default/api-allow",)
    assert denied.ingress.allowed_by == ()
    allowed = analyzer.can_reach("test-2", "apiserver", 80)
    assert [str(r) for r in allowed.ingress.allowed_by] == ["default/api-allow ingress[0]"]


def test_allow_all_is_additive_over_deny_all() -> None:
    verdict = fixture("allow-all").can_reach("test-2", "web", 80)
    assert verdict.ingress.isolated_by == ("default/web-allow-all", "default/web-deny-all")
    assert [str(r) for r in verdict.ingress.allowed_by] == ["default/web-allow-all ingress[0]"]


def test_external_address_side_is_not_governed() -> None:
    verdict = fixture("external").can_reach(EXT, "default/web", 80)
    assert verdict.allowed and not verdict.egress.governed
    assert any("outside the cluster" in a for a in verdict.assumptions)
