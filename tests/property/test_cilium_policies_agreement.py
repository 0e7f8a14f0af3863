"""The engine compiles CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy together under the cilium
profile (netpol/policies/cilium.py); the Cilium reference evaluator (netpol/reference/cilium.py, written from the
brief) must agree with it on random sets of all three: every pod pair (host-network pods included), every probe
(ports of TCP, UDP and SCTP, ICMP and ICMPv6 types), every outside address and every node address (Cilium's `host`
for the node's own pods, `remote-node` for the others), with or without the API server's EndpointSlice (the
kube-apiserver entity), under random agent options (--cni-option).

Seeded mutations of the compiler (a deny that does not win, a CIDR that matches pods, an omitted protocol read as
TCP) each make the comparison fail: tests/property/test_cilium_mutations.py.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects
from netpol.model import Cluster
from netpol.model.portsets import icmp_value
from netpol.policies.profiles import apply
from netpol.reference.cilium import cilium_allowed
from tests.property.strategies import EXTERNAL, NODES, PROBES, cluster
from tests.property.strategies_cilium import ACCOUNTS, cilium_policies, with_accounts

ICMP = [("ICMP", icmp_value(8, 0)), ("ICMP", icmp_value(0, 3)), ("ICMPv6", icmp_value(128, 0))]
SERVICES: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "a", "labels": {"tier": "f"}},
     "spec": {"selector": {"app": "p"}, "ports": [{"port": 80}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "b"},
     "spec": {"selector": {"team": "x"}, "ports": [{"port": 80}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "c", "labels": {"tier": "f"}},
     "spec": {"ports": [{"port": 80}]}},
]


API_SERVER = ["192.168.0.2", "203.0.113.1", "198.51.100.9", "10.0.0.9"]  # node, outside and pod addresses
OPTIONS = ["enable-policy=always", "enable-policy=never", "allow-localhost=policy", "policy-cidr-match-mode=nodes",
           "enable-non-default-deny-policies=false", "policy-default-local-cluster=false"]


@st.composite
def cilium_cluster(draw: st.DrawFn) -> Cluster:
    """A random cluster with NetworkPolicies, CNPs and CCNPs, under the cilium profile."""
    objects = draw(cluster())
    objects = with_accounts(objects, draw(st.lists(st.sampled_from([None, *ACCOUNTS]), min_size=6, max_size=6)))
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
              "status": {"addresses": [{"type": "InternalIP", "address": a} for a in n["addresses"]]}}
             for name, n in NODES.items() if draw(st.booleans())]
    options = draw(st.lists(st.sampled_from(OPTIONS), max_size=2))  # the agent options (--cni-option)
    api = draw(st.lists(st.sampled_from(API_SERVER), max_size=2, unique=True))  # the kube-apiserver entity's
    slices = [{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "kubernetes"}},
               "endpoints": [{"addresses": api}]}] if api else []
    return apply(load_objects([*objects, *nodes, *slices, *SERVICES, *draw(cilium_policies())]), "cilium",
                 cni_options=options).cluster


def disagreements(c: Cluster) -> list[tuple[str, str, str, int]]:
    """Every (source, destination, protocol, port) where the engine and the reference differ."""
    analyzer = Analyzer(c)
    asked = sorted({*EXTERNAL, *API_SERVER, *(a for n in NODES.values() for a in n["addresses"])})
    outside = [ipaddress.ip_address(ip) for ip in asked]
    outside = [ip for ip in outside if not any(ip in p.ips for p in c.pods)]  # a pod's IP is the pod
    out = []
    for protocol, port in [*PROBES, *ICMP]:
        matrix = analyzer.matrix(port, protocol)  # type: ignore[arg-type]
        for src in c.pods:
            for dst in c.pods:
                if matrix.allowed(src, dst) != cilium_allowed(c, src, dst, protocol, port):  # type: ignore[arg-type]
                    out.append((src.key, dst.key, protocol, port))
            for ip in outside:
                for a, b in ((src, ip), (ip, src)):
                    got = analyzer.can_reach(str(a), str(b), port, protocol).allowed  # type: ignore[arg-type]
                    if got != cilium_allowed(c, a, b, protocol, port):  # type: ignore[arg-type]
                        out.append((str(a), str(b), protocol, port))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=cilium_cluster())
def test_engine_agrees_with_the_cilium_reference_on_cilium_policies(c: Cluster) -> None:
    assert disagreements(c) == []
