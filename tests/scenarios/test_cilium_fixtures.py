"""The Cilium scenarios (fixtures/cilium-*), read as the commands read them (Cilium recognised from their kinds),
with complete truth tables: the exact set of ordered pod pairs allowed on each probe, every other pair denied,
the same for Cilium's reference evaluator (netpol/reference/cilium.py), plus point checks with their reasons."""

from __future__ import annotations

import ipaddress
from itertools import permutations

import pytest

from netpol.reference.cilium import cilium_allowed
from tests.builders import fixture

WEB, API, DB, BATCH = "shop/web", "shop/api", "shop/db", "shop/batch"
PROM, DNS = "monitoring/prometheus", "kube-system/coredns"
SHOP = [WEB, API, DB, BATCH, PROM, DNS]
OPEN = {BATCH, PROM, DNS}  # isolated by no ingress rule


def to_open() -> set[tuple[str, str]]:
    """Pairs into the pods no ingress rule isolates, from every pod but the batch job (its egress is isolated)."""
    return {(s, d) for s, d in permutations(SHOP, 2) if d in OPEN and s != BATCH}


# scenario -> {(protocol, port): allowed pairs}; every other ordered pair of distinct pods is denied
CILIUM: dict[str, dict[tuple[str, int], set[tuple[str, str]]]] = {
    "cilium-shop": {
        ("TCP", 80): to_open() | {(s, WEB) for s in SHOP if s not in (WEB, BATCH)},  # world and cluster on 80
        ("TCP", 8080): to_open() | {(WEB, API), (BATCH, API)},
        ("TCP", 5432): to_open() | {(WEB, DB), (API, DB)},  # shop's pods, but the deny keeps the batch job out
        ("TCP", 9090): to_open() | {(PROM, d) for d in SHOP if d != PROM},  # a CCNP that adds without isolating
        ("UDP", 53): to_open() | {(BATCH, DNS)},
    },
}

# (scenario, src, dst, port, protocol, allowed, the deciding side's reason)
CHECKS = [
    ("cilium-shop", BATCH, DB, 5432, "TCP", False, "denied by CCNP no-batch-to-db spec ingressDeny[0]: a deny wins "
                                                   "over every allow"),
    ("cilium-shop", "203.0.113.7", WEB, 80, "TCP", True, "allowed by CNP shop/web spec ingress[0]"),
    ("cilium-shop", "192.168.1.12", WEB, 80, "TCP", True, "allowed by CNP shop/web spec ingress[0]"),  # a node
    ("cilium-shop", "192.168.1.12", API, 8080, "TCP", False, "denied: shop/api is isolated for ingress by CNP "
                                                             "shop/api and no rule allows receiving TCP/8080 from "
                                                             "192.168.1.12"),
    ("cilium-shop", "192.168.1.11", API, 8080, "TCP", True, "allowed: 192.168.1.11 is an address of shop/api's node "
                                                            "(node-1), and traffic from a pod's own node to the pod "
                                                            "is always allowed (under this network plugin)"),
]


@pytest.mark.parametrize("name", sorted(CILIUM))
def test_truth_tables(name: str) -> None:
    analyzer = fixture(name)
    assert analyzer.cluster.dataplane.profile == "cilium"
    for (protocol, port), allowed in CILIUM[name].items():
        got = {(a.key, b.key) for a, b in analyzer.matrix(port, protocol).allowed_pairs()}  # type: ignore[arg-type]
        assert got == allowed, (protocol, port)
        for src in analyzer.cluster.pods:
            for dst in analyzer.cluster.pods:
                if src.key != dst.key:
                    want = cilium_allowed(analyzer.cluster, src, dst, protocol, port)  # type: ignore[arg-type]
                    assert ((src.key, dst.key) in got) == want, (src.key, dst.key, protocol, port)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: f"{c[1]}->{c[2]}:{c[3]}")
def test_point_checks(check: tuple[str, str, str, int, str, bool, str]) -> None:
    name, src, dst, port, protocol, allowed, reason = check
    analyzer = fixture(name)
    verdict = analyzer.can_reach(src, dst, port, protocol)  # type: ignore[arg-type]
    assert verdict.allowed is allowed
    side = verdict.ingress if not allowed or "/" not in src else verdict.egress
    assert reason in (verdict.ingress.reason, side.reason)
    ends = [analyzer.cluster.pods_by_key.get(e) or ipaddress.ip_address(e) for e in (src, dst)]
    assert cilium_allowed(analyzer.cluster, ends[0], ends[1], protocol, port) is allowed  # type: ignore[arg-type]
