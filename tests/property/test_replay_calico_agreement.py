"""Replay under Calico tells what can-reach and the matrix tell: random Calico clusters (test_calico_agreement's
generator: tiers, Pass, Log, network sets, service accounts, nodes, Kubernetes NetworkPolicies) and random flows
between their pods and outside addresses, each endpoint named by namespace and name or by IP. Every connection's
prediction is can-reach's verdict (a separate Analyzer, as `netpol can-reach` builds it), with the same deciding
walk, the matrix's answer (Engine.allowed_ports) and the Calico reference evaluator's; an unknown only where an
endpoint lacks the IP a rule's nets could match."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.query import Analyzer
from netpol.analyses.replay import decided_by, replay
from netpol.analyses.verdicts import Endpoint
from netpol.errors import QueryError
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from netpol.sources.flow_records import Flow, FlowEndpoint
from tests.property.strategies import EXTERNAL, PROBES
from tests.property.test_calico_agreement import calico_cluster


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=calico_cluster(), data=st.data())
def test_replay_predicts_what_can_reach_and_the_matrix_answer(objects: list[dict[str, Any]],
                                                              data: st.DataObject) -> None:
    result = apply(load_objects(objects), "calico")
    c = result.cluster
    try:  # as netpol replay: possible pods beside the input's, or without them when refused
        replayer = Analyzer.with_possible(c)
    except (RegionLimitError, QueryError):
        replayer = Analyzer(c)
    asked = Analyzer(c)  # as netpol can-reach builds it
    owners: dict[str, int] = {}
    for p in c.pods:
        for ip in p.ips:
            owners[str(ip)] = owners.get(str(ip), 0) + 1
    ends: list[Any] = [*c.pods, *(ipaddress.ip_address(ip) for ip in EXTERNAL)]
    flows, asked_about = [], {}
    for i in range(data.draw(st.integers(1, 12))):
        src, dst = data.draw(st.sampled_from(ends)), data.draw(st.sampled_from(ends))
        protocol, port = data.draw(st.sampled_from(PROBES))
        named = []
        for end in (src, dst):
            if not hasattr(end, "key"):  # an address: a pod's when one pod has it, as can-reach places it
                if owners.get(str(end), 0) > 1:
                    break  # can-reach asks to name the pod; replay takes it for an outside address
                placed = asked.endpoint(str(end))
                named.append((FlowEndpoint(ip=end), placed.name, placed))
            elif end.ips and owners[str(end.ips[0])] == 1 and data.draw(st.booleans()):  # by its IP alone
                named.append((FlowEndpoint(ip=end.ips[0]), end.key, Endpoint(pod=end)))
            else:
                named.append((FlowEndpoint(end.namespace, end.name), end.key, Endpoint(pod=end)))
        if len(named) < 2 or (named[0][2].pod is None and named[1][2].pod is None):
            continue  # nothing netpol governs
        s, d = named[0][2], named[1][2]
        observed = data.draw(st.sampled_from(["allowed", "denied", None]))
        flows.append(Flow(named[0][0], named[1][0], protocol, port, observed, f"f:{i}"))  # type: ignore[arg-type]
        asked_about[(named[0][1], named[1][1], protocol, port)] = (s.pod or s.ip, d.pod or d.ip, s, d)
    got = replay(replayer, flows)
    assert len(got.connections) == len(asked_about)
    for conn in got.connections:
        src, dst, s, d = asked_about[(conn.source.name, conn.destination.name, conn.protocol, conn.port)]
        verdict = asked.can_reach(s, d, conn.port, conn.protocol)
        if conn.predicted == "unknown":
            assert any(not e.ips for e in (src, dst) if hasattr(e, "key")), conn
            continue
        assert conn.predicted == ("allowed" if verdict.allowed else "denied"), conn
        assert conn.decided_by == decided_by(verdict), conn
        if not (hasattr(src, "key") and src is dst and src.is_one_pod):  # a pod to itself: netpol's assumption
            ports = asked.engine.allowed_ports(asked.peer_ref(s), asked.peer_ref(d))
            assert ports.contains(conn.protocol, conn.port) == verdict.allowed, conn
            assert calico_allowed(c, result.calico, src, dst, conn.protocol, conn.port) == verdict.allowed, conn
