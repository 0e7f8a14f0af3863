"""Where possible pods declare the named ports the rules use: at a number no rule names, and at one number per
stretch of the numbers rules name that every rule treats alike (netpol.analyses.placeholder_ports)."""

from __future__ import annotations

from netpol import load_objects
from netpol.analyses.placeholder_ports import named_stretches, placeholders
from netpol.model import ContainerPort
from tests.builders import policy


def test_stretches_are_cut_where_the_rules_that_name_them_change() -> None:
    spans = [("TCP", 53, 8080), ("TCP", 80, 80), ("TCP", 443, 443), ("UDP", 53, 53), ("TCP", 9000, 9001)]
    assert named_stretches(spans, "TCP") == [(53, 79), (80, 80), (81, 442), (443, 443), (444, 8080), (9000, 9001)]
    assert named_stretches(spans, "UDP") == [(53, 53)]
    assert named_stretches(spans, "SCTP") == []


def test_a_named_port_stands_at_every_stretch_of_its_protocol_after_its_free_number() -> None:
    """egress on 80 and 8000-8100, ingress on `http` (TCP): http at 65535 (no rule names it, and Pod.port_named
    finds it first), then one free number per stretch of TCP numbers the rules name."""
    c = load_objects([policy("client", "b", egress=[{"ports": [{"port": 80}, {"port": 8000, "endPort": 8100}]}]),
                      policy("server", "a", ingress=[{"ports": [{"port": "http"}, {"port": 8080}]}])]).cluster
    assert placeholders(c) == (
        ContainerPort(65535, "TCP", "http"), ContainerPort(65534, "TCP", "http", (80, 80)),
        ContainerPort(65533, "TCP", "http", (8000, 8079)), ContainerPort(65532, "TCP", "http", (8080, 8080)),
        ContainerPort(65531, "TCP", "http", (8081, 8100)))
