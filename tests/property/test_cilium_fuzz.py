"""Mutated Cilium objects: loading either succeeds or fails with one clean line (InputError), never another
exception; what loads, the Cilium reference evaluator decides without failing."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import InputError, load_objects
from netpol.model.portsets import icmp_value
from netpol.reference.cilium import cilium_allowed
from tests.builders import pod
from tests.property.test_fuzz_loader import mutate, values

SEEDS: list[dict[str, Any]] = [
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "p", "namespace": "a"},
     "spec": {"endpointSelector": {"matchLabels": {"app": "web", "k8s:tier": "front"},
                                   "matchExpressions": [{"key": "$host", "operator": "DoesNotExist"}]},
              "enableDefaultDeny": {"egress": False},
              "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "a"}}],
                           "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}, {"port": "http"},
                                                  {"port": "8000", "endPort": 8080, "protocol": "UDP"}]}]},
                          {"fromEntities": ["world", "host"], "icmps": [{"fields": [{"type": "EchoRequest"}]}]}],
              "ingressDeny": [{"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
                                               {"cidrGroupRef": "g"}]}],
              "egress": [{"toServices": [{"k8sService": {"serviceName": "api", "namespace": "b"}},
                                         {"k8sServiceSelector": {"selector": {"matchLabels": {"app": "db"}}}}]},
                         {"toFQDNs": [{"matchPattern": "*.example.com"}],
                          "toPorts": [{"ports": [{"port": "443"}], "rules": {"http": [{"method": "GET"}]}}]}]}},
    {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "c"},
     "specs": [{"endpointSelector": {}, "egressDeny": [{"toEntities": ["world"], "toPorts": [
         {"ports": [{"port": "0", "protocol": "ANY"}]}]}]},
               {"nodeSelector": {}, "ingress": [{}]}]},
    {"apiVersion": "cilium.io/v2alpha1", "kind": "CiliumCIDRGroup", "metadata": {"name": "g", "labels": {"a": "b"}},
     "spec": {"externalCIDRs": ["192.0.2.0/24"]}},
    pod("web", "a", {"app": "web"}, [(80, "TCP", "http")], ip="10.0.0.1", node="n1"),
    pod("db", "b", {"app": "db"}, [5432], ip="10.0.0.2", node="n2"),
]


# Values that reach Cilium's own checks: source prefixes, entities, protocols, ICMP names, digits of other scripts.
CILIUM_VALUES = st.one_of(values, st.sampled_from([
    "k8s:app", "reserved:host", "$host", "any:", ":x", "world", "World", "ANY", "VRRP", "0", "65536", "EchoRequest",
    "Echo", "IPv6", "²", "١٢", "1.0.0.0/8", "fd00::/64", [{}], [], {}, [{"fields": []}], [{"ports": []}]]))


@st.composite
def mutated(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs = copy.deepcopy(SEEDS)
    policies = docs[:3]  # the pods stay as they are
    mutate(draw, policies, CILIUM_VALUES)
    return policies + docs[3:]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_cilium_objects_load_or_fail_in_one_line(objects: list[dict[str, Any]]) -> None:
    try:
        cluster = load_objects(objects).cluster
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for src in cluster.pods:
        for dst in cluster.pods:
            for protocol, port in (("TCP", 80), ("UDP", 8000), ("ICMP", icmp_value(8, 0))):
                cilium_allowed(cluster, src, dst, protocol, port)  # type: ignore[arg-type]
