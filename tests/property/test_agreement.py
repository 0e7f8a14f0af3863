"""The engine and the reference evaluator agree on every pair of random clusters."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings

from netpol import Analyzer, load_objects, reference_allowed
from tests.property.strategies import EXTERNAL, PROBES, cluster


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster())
def test_engine_agrees_with_reference(objects: list[dict[str, Any]]) -> None:
    c = load_objects(objects).cluster
    analyzer = Analyzer(c)
    ports_matrix = analyzer.matrix()
    for protocol, port in PROBES:
        m = analyzer.matrix(port, protocol)
        for src in c.pods:
            for dst in c.pods:
                want = reference_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
                assert m.allowed(src, dst) == want, (src.key, dst.key, protocol, port)
                if src.key != dst.key:
                    assert ports_matrix.ports(src, dst).contains(protocol, port) == want  # type: ignore[arg-type]
            for ip in EXTERNAL:
                addr = ipaddress.ip_address(ip)
                owners = [p for p in c.pods if addr in p.ips]
                if owners:
                    continue  # the address is a pod's: covered by the pod pairs
                out = analyzer.can_reach(src.key, ip, port, protocol).allowed
                assert out == reference_allowed(c, src, addr, protocol, port), (src.key, ip)  # type: ignore[arg-type]
                inn = analyzer.can_reach(ip, src.key, port, protocol).allowed
                assert inn == reference_allowed(c, addr, src, protocol, port), (ip, src.key)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster())
def test_allow_graph_agrees_with_reference(objects: list[dict[str, Any]]) -> None:
    """Edges between classes, and to/from external nodes, give the reference's answers."""
    c = load_objects(objects).cluster
    engine = Analyzer(c).engine
    g = engine.graph
    for protocol, port in PROBES:
        for src in c.pods:
            s = engine.class_of[src.key]
            for dst in c.pods:
                if src.key == dst.key:
                    continue
                d = engine.class_of[dst.key]
                edge = g.get_edge_data(s, d)
                got = edge is not None and edge["ports"].contains(protocol, port)
                assert got == reference_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
            for ip in EXTERNAL:
                addr = ipaddress.ip_address(ip)
                if any(addr in p.ips for p in c.pods):
                    continue
                out_nodes = [n for n in g.successors(s) if _admits(g, n, addr)]
                in_nodes = [n for n in g.predecessors(s) if _admits(g, n, addr)]
                out = any(g.edges[s, n]["ports"].contains(protocol, port) for n in out_nodes)
                inn = any(g.edges[n, s]["ports"].contains(protocol, port) for n in in_nodes)
                assert out == reference_allowed(c, src, addr, protocol, port)  # type: ignore[arg-type]
                assert inn == reference_allowed(c, addr, src, protocol, port)  # type: ignore[arg-type]


def _admits(g: Any, node: Any, addr: Any) -> bool:
    data = g.nodes[node]
    if data["kind"] != "external":
        return False
    return data["block"] is None or data["block"].contains(addr)
