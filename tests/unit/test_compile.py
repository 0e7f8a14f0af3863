from __future__ import annotations

from netpol.model import ContainerPort, PolicyPort
from netpol.policies.networkpolicy import policy_ports
from netpol.policies.stages import resolve_ports


def test_no_ports_means_every_port() -> None:
    assert resolve_ports(policy_ports(()), None).is_all


def test_numbers_ranges_and_protocol_only() -> None:
    ports = (PolicyPort("TCP", 80), PolicyPort("TCP", 8000, 8080), PolicyPort("SCTP"))
    assert str(resolve_ports(policy_ports(ports), None)) == "TCP:80,8000-8080 SCTP:all"


def test_named_ports_resolve_per_destination_and_protocol() -> None:
    ports = (PolicyPort("TCP", "http"), PolicyPort("UDP", "dns"))
    dst = (ContainerPort(8080, "TCP", "http"), ContainerPort(53, "TCP", "dns"), ContainerPort(5353, "UDP", "dns"))
    assert str(resolve_ports(policy_ports(ports), dst)) == "TCP:8080 UDP:5353"
    assert resolve_ports(policy_ports(ports), (ContainerPort(80, "TCP"),)).is_empty
    assert resolve_ports(policy_ports(ports), None).is_empty  # outside the cluster: no named ports
