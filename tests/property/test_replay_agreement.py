"""Flows generated from a random cluster's own verdicts replay with no break and no mismatch."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import load_objects, reference_allowed
from netpol.analyses.query import Analyzer
from netpol.analyses.replay import replay
from netpol.sources.flow_records import Flow, FlowEndpoint
from tests.property.strategies import PROBES, cluster, tiered_cluster


@pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flows_from_the_verdicts_replay_to_them(clusters: Any, data: st.DataObject) -> None:
    """Every pod pair on every probe, observed as the reference decides: replay predicts exactly that (or
    says it cannot, only for a pod whose IP the input lacks), so nothing breaks and nothing disagrees."""
    c = load_objects(data.draw(clusters)).cluster
    analyzer = Analyzer.with_possible(c)
    flows, want = [], {}
    for i, (src, dst) in enumerate((s, d) for s in c.pods for d in c.pods if s.key != d.key):
        for protocol, port in PROBES:
            allowed = reference_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
            observed = "allowed" if allowed else "denied"
            want[(src.key, dst.key, protocol, port)] = observed
            ends = [FlowEndpoint(p.namespace, p.name, ip=p.ips[0] if p.ips else None) for p in (src, dst)]
            flows.append(Flow(ends[0], ends[1], protocol, port, observed, f"f:{i}"))  # type: ignore[arg-type]
    result = replay(analyzer, flows)
    assert len(result.connections) == len(want)
    for conn in result.connections:
        key = (conn.source.name, conn.destination.name, conn.protocol, conn.port)
        if conn.predicted == "unknown":
            assert any(p.endpoint is not None and p.endpoint.pod is not None and not p.endpoint.pod.ips
                       for p in (conn.source, conn.destination)), key
            continue
        assert conn.predicted == want[key], key
        assert conn.classification == "unchanged", key
