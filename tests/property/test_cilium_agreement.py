"""The engine under the cilium profile and the Cilium reference evaluator (netpol/reference/cilium.py, written from
the brief) agree on random NetworkPolicy clusters: every pod pair and probe, and every outside address.

These clusters hold NetworkPolicies only (tests/property/test_cilium_policies_agreement.py adds CNP and CCNP); what
the profile states as not modelled (node addresses asked about directly) is outside what is compared here.
"""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects
from netpol.policies.profiles import apply
from netpol.reference.cilium import cilium_allowed
from tests.builders import pod, policy
from tests.property.strategies import EXTERNAL, PROBES, cluster


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_under_cilium_agrees_with_the_cilium_reference(data: st.DataObject) -> None:
    c = apply(load_objects(data.draw(cluster())), "cilium").cluster
    analyzer = Analyzer(c)
    node_addresses = {p.host_ip for p in c.pods} | {ip for p in c.pods if p.host_network for ip in p.ips}
    outside = [ipaddress.ip_address(ip) for ip in EXTERNAL]
    outside = [ip for ip in outside if ip not in node_addresses and not any(ip in p.ips for p in c.pods)]
    for protocol, port in PROBES:
        matrix = analyzer.matrix(port, protocol)
        for src in c.pods:
            for dst in c.pods:
                want = cilium_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
                assert matrix.allowed(src, dst) == want, (src.key, dst.key, protocol, port)
            for ip in outside:
                assert analyzer.can_reach(src.key, str(ip), port, protocol).allowed == cilium_allowed(
                    c, src, ip, protocol, port), (src.key, str(ip), protocol, port)  # type: ignore[arg-type]
                assert analyzer.can_reach(str(ip), src.key, port, protocol).allowed == cilium_allowed(
                    c, ip, src, protocol, port), (str(ip), src.key, protocol, port)  # type: ignore[arg-type]


def test_a_named_port_never_matches_a_host_network_pod() -> None:
    """Found by the agreement test above: egress allowed to port `http` reached a host-network pod's `http`; Cilium
    never matches a named port on a node (brief §5, §9 Q3), and neither does the engine under --cni cilium."""
    c = apply(load_objects([
        pod("web", "b", ip="10.0.0.2", node="n1"),
        pod("agent", "a", ports=[(80, "TCP", "http")], ip="10.0.0.1", host_network=True, node="n2"),
        policy("out", "b", policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}])]), "cilium").cluster
    web, agent = c.pods_by_key["b/web"], c.pods_by_key["a/agent"]
    assert not cilium_allowed(c, web, agent, "TCP", 80)
    assert not Analyzer(c).can_reach("b/web", "a/agent", 80).allowed
    generic = load_objects([pod("web", "b", ip="10.0.0.2", node="n1"),
                            pod("agent", "a", ports=[(80, "TCP", "http")], ip="10.0.0.1", host_network=True, node="n2"),
                            policy("out", "b", policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}])]).cluster
    assert Analyzer(generic).can_reach("b/web", "a/agent", 80).allowed  # the generic profile resolves it, as before
