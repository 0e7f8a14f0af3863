"""Regions are exact for every possible pod: random concrete pods fall in exactly one region, and the
reference evaluator run on them gives the answer the engine gives for their regions."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects, reference_allowed
from netpol.analyses.regions import regions
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


def _pairs(data: st.DataObject, policy_objects: list[dict[str, Any]], names: list[str] | None, numbers: list[int]
           ) -> Iterator[tuple[Cluster, Pod, Pod, PortSet, dict[tuple[str | None, str], int]]]:
    """Concrete pods drawn beside the policies (declaring `names`, default: every name a rule uses, at
    `numbers`); per ordered pair, the concrete cluster, the pods, the ports their regions allow, and
    the placeholders' numbers per (name, protocol)."""
    rs = regions(load_objects(policy_objects).cluster)
    regional = Analyzer(rs.cluster)
    if names is None:
        names = sorted({c.name for c in rs.named_ports if c.name is not None} | {"unused"})
    concrete = load_objects(policy_objects + data.draw(concrete_pods(names, numbers))).cluster
    ns_labels = {n.name: n.label_map for n in concrete.namespaces}
    home = {p.key: rs.region_of(p.namespace, ns_labels.get(p.namespace, {}), p.label_map) for p in concrete.pods}
    placeholder = {(c.name, c.protocol): c.port for c in rs.named_ports}
    for src in concrete.pods:
        for dst in concrete.pods:
            if src.key != dst.key:
                yield concrete, src, dst, regional.engine.allowed_ports(
                    regional.engine.class_of[home[src.key].key], regional.engine.class_of[home[dst.key].key]), \
                    placeholder


@BOTH
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_concrete_pod_is_answered_by_its_region(clusters: Any, data: st.DataObject) -> None:
    """Pods declaring the rules' named ports under any protocol, at numbers no rule names."""
    policy_objects = [o for o in data.draw(clusters) if o["kind"] in POLICIES_ONLY]
    for concrete, src, dst, got, placeholder in _pairs(data, policy_objects, None,
                                                       [FREE_PORT, FREE_PORT + 1, FREE_PORT + 9000]):
        probes: list[tuple[Any, int, int]] = [(proto, port, port) for proto, port in PROBES]
        # a name no rule resolves under that protocol is no named port to the policies
        probes += [(c.protocol, c.port, placeholder.get((c.name, c.protocol), c.port)) for c in dst.ports]
        for proto, concrete_port, region_port in probes:
            want = reference_allowed(concrete, src, dst, proto, concrete_port)
            assert got.contains(proto, region_port) == want, (src.key, dst.key, proto, concrete_port)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_named_ports_at_numbers_rules_name(data: st.DataObject) -> None:
    """NetworkPolicies only (their rules add up): a pod declaring a named port at a number a rule names is
    allowed there when its region is allowed on the name's placeholder or on that number."""
    policy_objects = [o for o in data.draw(cluster()) if o["kind"] in POLICIES_ONLY]
    for concrete, src, dst, got, placeholder in _pairs(data, policy_objects, ["dns", "http"],
                                                       [53, 80, 443, 100, FREE_PORT]):
        for c in dst.ports:
            named = placeholder.get((c.name, c.protocol))
            want = reference_allowed(concrete, src, dst, c.protocol, c.port)
            assert (named is not None and got.contains(c.protocol, named) or got.contains(c.protocol, c.port)) == want


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
