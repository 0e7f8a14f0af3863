"""Regions are exact for every possible pod: random concrete pods fall in exactly one region, and the
reference evaluator run on them gives the answer the engine gives for their regions."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects, reference_allowed
from netpol.analyses.regions import RegionSet, regions
from netpol.model import DIRECTIONS, Cluster, Pod
from netpol.model.portsets import PROTOCOLS, PortSet
from tests.property.strategies import EXTERNAL, LABEL_VALUES, NAMESPACES, PROBES, cluster, tiered_cluster

POLICIES_ONLY = ("Namespace", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                 "ClusterNetworkPolicy")
BOTH = pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])
FREE_PORT = 40000  # and up to 50000: numbers no random rule names and no placeholder takes


def _labels() -> st.SearchStrategy[dict[str, str]]:
    values = {k: [*v, "zz"] for k, v in LABEL_VALUES.items()}  # "zz": a value no selector names
    return st.dictionaries(st.sampled_from(sorted(values)), st.sampled_from(["p", "q", "r", "f", "b", "x", "y", "zz"]),
                           max_size=3).map(lambda d: {k: v if v in values[k] else "zz" for k, v in d.items()})


@st.composite
def concrete_pods(draw: st.DrawFn, names: list[str], numbers: list[int]) -> list[dict[str, Any]]:
    """Pods in named and unnamed namespaces (with random labels), declaring some of `names` once each, under
    any protocol, at numbers drawn from `numbers` (one number per protocol at most)."""
    objects: list[dict[str, Any]] = []
    for ns in ("other1", "other2"):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": draw(_labels())}})
    for i in range(draw(st.integers(1, 5))):
        chosen = [(name, draw(st.sampled_from(PROTOCOLS)), draw(st.sampled_from(numbers)))
                  for name in names if draw(st.booleans())]
        ports = [{"containerPort": number, "protocol": proto, "name": name}
                 for j, (name, proto, number) in enumerate(chosen)
                 if (proto, number) not in {(p, n) for _, p, n in chosen[:j]}]
        objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"c{i}", "namespace": draw(st.sampled_from([*NAMESPACES, "other1", "other2"])),
            "labels": draw(_labels())}, "spec": {"containers": [{"name": "c", "ports": ports}]}})
    return objects


def region_port(rs: RegionSet, name: str | None, protocol: str, number: int) -> int:
    """Where a region answers for a pod declaring `name` under `protocol` at `number`: the placeholder that stands
    for the rules' numbers around `number`, else the one at a number no rule names; `number` itself for a name no
    rule resolves under `protocol` (no named port to the policies)."""
    mine = [c for c in rs.named_ports if (c.name, c.protocol) == (name, protocol)]
    return next((c.port for c in mine if c.stands_for and c.stands_for[0] <= number <= c.stands_for[1]),
                next((c.port for c in mine if c.stands_for is None), number))


def _pairs(policy_objects: list[dict[str, Any]], pod_objects: list[dict[str, Any]]
           ) -> Iterator[tuple[Cluster, Pod, Pod, PortSet, RegionSet]]:
    """Concrete pods beside the policies; per ordered pair, the concrete cluster, the pods, the ports their
    regions allow, and the regions."""
    rs = regions(load_objects(policy_objects).cluster)
    regional = Analyzer(rs.cluster)
    concrete = load_objects(policy_objects + pod_objects).cluster
    ns_labels = {n.name: n.label_map for n in concrete.namespaces}
    home = {p.key: rs.region_of(p.namespace, ns_labels.get(p.namespace, {}), p.label_map) for p in concrete.pods}
    for src in concrete.pods:
        for dst in concrete.pods:
            if src.key != dst.key:
                yield concrete, src, dst, regional.engine.allowed_ports(
                    regional.engine.class_of[home[src.key].key], regional.engine.class_of[home[dst.key].key]), rs


def _rule_names(policy_objects: list[dict[str, Any]]) -> list[str]:
    """Every name a rule uses as a named port, and one none does."""
    rs = regions(load_objects(policy_objects).cluster)
    return sorted({c.name for c in rs.named_ports if c.name is not None} | {"unused"})


def _answered_by_regions(policy_objects: list[dict[str, Any]], pod_objects: list[dict[str, Any]]) -> None:
    """The reference on every pair of concrete pods, at the probe ports and at each named port the destination
    declares, is its regions' answer there."""
    for concrete, src, dst, got, rs in _pairs(policy_objects, pod_objects):
        declared = {(c.protocol, c.port): c.name for c in dst.ports}
        for proto, port in {*PROBES, *declared}:
            want = reference_allowed(concrete, src, dst, proto, port)  # type: ignore[arg-type]
            at = region_port(rs, declared.get((proto, port)), proto, port)
            assert got.contains(proto, at) == want, (src.key, dst.key, proto, port)  # type: ignore[arg-type]


@BOTH
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_concrete_pod_is_answered_by_its_region(clusters: Any, data: st.DataObject) -> None:
    """Pods declaring the rules' named ports under any protocol, at numbers no rule names."""
    policy_objects = [o for o in data.draw(clusters) if o["kind"] in POLICIES_ONLY]
    _answered_by_regions(policy_objects, data.draw(concrete_pods(_rule_names(policy_objects),
                                                                 [FREE_PORT, FREE_PORT + 1, FREE_PORT + 9000])))


GAP = [  # egress from namespace c on port 80, ingress to namespace a on `http`: a pod declaring http at 80 is reached
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "client", "namespace": "c"},
     "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 80}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "server", "namespace": "a"},
     "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}}]
GAP_PODS = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c0", "namespace": "c"},
             "spec": {"containers": [{"name": "c"}]}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c1", "namespace": "a"},
             "spec": {"containers": [{"name": "c", "ports": [
                 {"containerPort": 80, "protocol": "TCP", "name": "http"}]}]}}]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_objects=st.one_of(cluster(), tiered_cluster()).map(
    lambda objects: [o for o in objects if o["kind"] in POLICIES_ONLY]),
    pod_objects=concrete_pods(["dns", "http"], [53, 80, 100, 443, 8080, 9000, FREE_PORT]))
@example(policy_objects=GAP, pod_objects=GAP_PODS)
def test_named_ports_at_numbers_rules_name(policy_objects: list[dict[str, Any]],
                                           pod_objects: list[dict[str, Any]]) -> None:
    """Pods declaring named ports at numbers rules name (inside and at the ends of their ranges), and at numbers
    none names: a possible pod declares each name at one number of every stretch of the numbers that rules treat
    alike too, so the region answers for each, NetworkPolicies and Admin and Baseline policies alike."""
    _answered_by_regions(policy_objects, pod_objects)


@BOTH
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_focused_regions_answer_as_every_region_does(clusters: Any, data: st.DataObject) -> None:
    """Regions with a focus (the namespaces an answer is about) against the full enumeration, old and new
    methods side by side: every pair of full regions with an end in a focus namespace (and every outside
    address) gets the same ports from the focused regions it falls in, with pods of the input beside them; with
    `directions`, the pairs into the focus ("ingress") or out of it ("egress") alone."""
    objects = data.draw(clusters)
    with_pods = data.draw(st.booleans())
    cluster_ = load_objects([o for o in objects if with_pods or o["kind"] in POLICIES_ONLY]).cluster
    focus = data.draw(st.sets(st.sampled_from(NAMESPACES)))
    directions = data.draw(st.sampled_from([DIRECTIONS, ("ingress",), ("egress",)]))
    full, part = regions(cluster_), regions(cluster_, focus=focus, directions=directions)
    old, new = Analyzer(full.cluster), Analyzer(part.cluster)
    assert len(part.regions) <= len(full.regions)

    def placed(region: Any) -> str:
        ns = region.namespace
        return part.region_of(ns.name, dict(ns.labels), region.pod.label_map).key

    ends: list[tuple[str, str]] = [(r.key, placed(r)) for r in full.regions]
    ends += [(p.key, p.key) for p in cluster_.pods]
    inside = {key for key, _ in ends if old.cluster.pods_by_key[key].namespace in focus}
    outside = [ipaddress.ip_address(a) for a in EXTERNAL]
    for src, src_new in ends:
        for dst, dst_new in ends:
            asked = (src in inside and "egress" in directions) or (dst in inside and "ingress" in directions)
            if src != dst and asked and src_new != dst_new:
                assert old.engine.allowed_ports(old.engine.class_of[src], old.engine.class_of[dst]) == \
                    new.engine.allowed_ports(new.engine.class_of[src_new], new.engine.class_of[dst_new]), (src, dst)
        if src in inside:
            for ip in outside:
                assert "egress" not in directions or old.engine.allowed_ports(old.engine.class_of[src], ip) == \
                    new.engine.allowed_ports(new.engine.class_of[src_new], ip)
                assert "ingress" not in directions or old.engine.allowed_ports(ip, old.engine.class_of[src]) == \
                    new.engine.allowed_ports(ip, new.engine.class_of[src_new])
