"""Calico scenarios (tests/data/calico) and their full truth tables under the Calico reference evaluator: each row
is a source, each column a destination, in the order given; Y allowed, . denied, - the same endpoint. For ICMP
the port is the ICMP type."""

from __future__ import annotations

from pathlib import Path

import pytest

from netpol import load_manifests
from netpol.engine import Engine
from netpol.model import ip_address
from netpol.model.portsets import icmp_value
from netpol.policies.calico import what_if_staged
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed

DATA = Path(__file__).resolve().parents[1] / "data" / "calico"

# file: (endpoints, {(protocol, port, staged): rows})
TABLES: dict[str, tuple[list[str], dict[tuple[str, int, bool], list[str]]]] = {
    # shop is denied both ways but DNS to kube-dns (UDP, the named port dns); kube-system is left open
    "global-default-deny.yaml": (["shop/web", "shop/db", "kube-system/coredns", "203.0.113.9"], {
        ("UDP", 53, False): ["-.Y.",
                             ".-Y.",
                             "..-Y",
                             "..Y-"],
        ("TCP", 80, False): ["-...",
                             ".-..",
                             "..-Y",
                             "..Y-"]}),
    # no Calico object: the ClusterNetworkPolicy's Deny with a nodes peer denies all web's egress (Calico 3.32), the
    # NetworkPolicy admits web to api at the default tier, and api's own node (its hostIP) is not policed
    "np-only.yaml": (["shop/web", "shop/api", "192.168.0.1", "192.168.0.2", "203.0.113.9"], {
        ("TCP", 8080, False): ["-....",
                               "Y-YYY",
                               "Y.-YY",
                               "YYY-Y",
                               "Y.YY-"]}),
    # security denies quarantined sources and Passes the rest; app allows fe -> web:80 and ends in Deny
    "security-tier-pass.yaml": (["shop/web", "shop/fe", "shop/bad", "203.0.113.9"], {
        ("TCP", 80, False): ["-YYY",
                             "Y-YY",
                             "..-Y",
                             ".YY-"]}),
    # office (a NetworkSet holding admin's address too) reaches web:443; web reaches only the partners
    "network-sets.yaml": (["shop/web", "shop/admin", "203.0.113.9", "198.51.100.7", "192.0.2.1"], {
        ("TCP", 443, False): ["-..Y.",
                              "Y-YYY",
                              "YY-YY",
                              ".YY-Y",
                              ".YYY-"]}),
    # the policy selects the pods running as api; its rule admits clients whose account is labelled gold
    "service-accounts.yaml": (["shop/api", "shop/job", "shop/other", "203.0.113.9"], {
        ("TCP", 8080, False): ["-YYY",
                               "Y-YY",
                               ".Y-Y",
                               ".YY-"]}),
    # notSelector in a GlobalNetworkPolicy: everything but the quarantined, outside addresses included
    "not-selector-outside.yaml": (["shop/web", "shop/fe", "shop/bad", "203.0.113.9"], {
        ("TCP", 80, False): ["-YYY",
                             "Y-YY",
                             ".Y-Y",
                             "YYY-"]}),
    # ping only: echo requests (ICMP type 8, in the port's place) reach web; TCP does not
    "icmp-ping.yaml": (["shop/web", "shop/fe", "203.0.113.9"], {
        ("ICMP", 8, False): ["-YY",
                             "Y-Y",
                             "YY-"],
        ("ICMP", 0, False): ["-YY",
                             ".-Y",
                             ".Y-"],
        ("TCP", 80, False): ["-YY",
                             ".-Y",
                             ".Y-"]}),
    # a node's addresses (hostIPs, the Node's, its host-network pods') reach its own pods only; pods' egress is policed
    "node-addresses.yaml": (["shop/web", "shop/api", "kube-system/agent", "192.0.2.1", "192.0.2.11", "192.0.2.2",
                             "203.0.113.9"], {
        ("TCP", 80, False): ["-......",
                             ".-.....",
                             "Y.-YYYY",
                             "Y.Y-YYY",
                             "Y.YY-YY",
                             ".YYYY-Y",
                             "..YYYY-"]}),
    # a ClusterNetworkPolicy's namespaces peer matches shop's NetworkSet (the office) as Calico converts it; the
    # Calico policy before it in kube-admin opens db
    "cnp-beside-calico.yaml": (["shop/web", "shop/db", "198.51.100.7", "203.0.113.9"], {
        ("TCP", 80, False): ["-YYY",
                             ".-YY",
                             ".Y-Y",
                             "YYY-"]}),
    # the staged lockdown is never enforced; the what-if view evaluates it before the enforced allow
    "staged-what-if.yaml": (["shop/web", "shop/fe", "203.0.113.9"], {
        ("TCP", 80, False): ["-YY",
                             "Y-Y",
                             "YY-"],
        ("TCP", 80, True): ["-YY",
                            ".-Y",
                            "YY-"]}),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_truth_table(name: str) -> None:
    result = load_manifests([str(DATA / name)])
    c = result.cluster
    names, tables = TABLES[name]
    ends = [c.pods_by_key.get(n) or ip_address(n) for n in names]
    for (protocol, port, staged), rows in tables.items():
        def mark(s: object, d: object) -> str:
            if s == d:
                return "-"
            return "Y" if calico_allowed(c, result.calico, s, d, protocol, port, staged=staged) else "."  # type: ignore
        got = ["".join(mark(s, d) for d in ends) for s in ends]
        assert got == rows, (protocol, port, staged)


def test_every_scenario_has_a_table() -> None:
    assert sorted(p.name for p in DATA.glob("*.yaml")) == sorted(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_engine_truth_table(name: str) -> None:
    """The engine under --cni calico (netpol/policies/calico.py) gives the same tables as the reference, and
    with the staged policies applied (--staged) those of the what-if view."""
    result = apply(load_manifests([str(DATA / name)]), "calico")
    names, tables = TABLES[name]
    for (protocol, port, staged), rows in tables.items():
        c = what_if_staged(result.cluster) if staged else result.cluster
        engine = Engine(c)
        ends = [engine.class_of[n] if n in c.pods_by_key else ip_address(n) for n in names]
        value = icmp_value(port, 0) if protocol == "ICMP" else port
        got = ["".join("-" if i == j else "Y" if engine.allowed_ports(s, d).contains(protocol, value) else "."
                       for j, d in enumerate(ends)) for i, s in enumerate(ends)]
        assert got == rows, (protocol, port)
