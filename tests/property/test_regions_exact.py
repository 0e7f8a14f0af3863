"""Regions are exact for every possible pod: random concrete pods fall in exactly one region, and the
reference evaluator run on them gives the answer the engine gives for their regions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects, reference_allowed
from netpol.regions import regions
from tests.property.strategies import LABEL_VALUES, NAMESPACES, PROBES, cluster, tiered_cluster

POLICIES_ONLY = ("Namespace", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                 "ClusterNetworkPolicy")
BOTH = pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])
FREE_PORT = 40000  # and up: numbers no random rule names


def _labels() -> st.SearchStrategy[dict[str, str]]:
    values = {k: [*v, "zz"] for k, v in LABEL_VALUES.items()}  # "zz": a value no selector names
    return st.dictionaries(st.sampled_from(sorted(values)), st.sampled_from(["p", "q", "r", "f", "b", "x", "y", "zz"]),
                           max_size=3).map(lambda d: {k: v if v in values[k] else "zz" for k, v in d.items()})


@st.composite
def concrete_pods(draw: st.DrawFn, named_ports: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Pods in named and unnamed namespaces (with random labels), declaring some named ports at free numbers."""
    objects: list[dict[str, Any]] = []
    for ns in ("other1", "other2"):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": draw(_labels())}})
    for i in range(draw(st.integers(1, 5))):
        ports = [{"containerPort": FREE_PORT + j, "protocol": proto, "name": name}
                 for j, (name, proto) in enumerate(named_ports) if draw(st.booleans())]
        objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"c{i}", "namespace": draw(st.sampled_from([*NAMESPACES, "other1", "other2"])),
            "labels": draw(_labels())}, "spec": {"containers": [{"name": "c", "ports": ports}]}})
    return objects


@BOTH
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_concrete_pod_is_answered_by_its_region(clusters: Any, data: st.DataObject) -> None:
    policy_objects = [o for o in data.draw(clusters) if o["kind"] in POLICIES_ONLY]
    policy_cluster = load_objects(policy_objects).cluster
    rs = regions(policy_cluster)
    regional = Analyzer(rs.cluster)
    # one named port per name, with the protocol the placeholder has (a pod declares a name once)
    named = [(c.name, c.protocol) for c in rs.named_ports if c.name is not None]
    concrete_objects = data.draw(concrete_pods(named))
    concrete = load_objects(policy_objects + concrete_objects).cluster
    ns_labels = {n.name: n.label_map for n in concrete.namespaces}
    home = {p.key: rs.region_of(p.namespace, ns_labels.get(p.namespace, {}), p.label_map) for p in concrete.pods}
    placeholder = {(c.name, c.protocol): c.port for c in rs.named_ports}
    for src in concrete.pods:
        for dst in concrete.pods:
            if src.key == dst.key:
                continue
            probes: list[tuple[Any, int, int]] = [(proto, port, port) for proto, port in PROBES]
            probes += [(c.protocol, c.port, placeholder[(c.name, c.protocol)]) for c in dst.ports]
            for proto, concrete_port, region_port in probes:
                want = reference_allowed(concrete, src, dst, proto, concrete_port)
                got = regional.engine.allowed_ports(regional.engine.class_of[home[src.key].key],
                                                    regional.engine.class_of[home[dst.key].key])
                assert got.contains(proto, region_port) == want, (src.key, dst.key, proto, concrete_port)
