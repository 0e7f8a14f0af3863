"""One class's row and column of the class matrix, with exact ports (netpol.engine.slices), on small clusters."""

from __future__ import annotations

import pytest

from netpol.engine.slices import PortCodes, Slices
from netpol.model.portsets import ALL_PORTS, NO_PORTS, PortSet
from tests.builders import analyzer, labels, namespace, pod, policy

CLUSTER = (
    namespace("default"),
    pod("a", labels={"role": "a"}), pod("b", labels={"role": "b"}),
    pod("web1", labels={"app": "web"}, ports=[(8080, "TCP", "http")]),
    pod("web2", labels={"app": "web"}, ports=[(9090, "TCP", "http")]),
    policy("web", selector=labels(app="web"), ingress=[
        {"from": [{"podSelector": labels(role="a")}], "ports": [{"port": "http"}]},
        {"from": [{"podSelector": labels(role="b")}], "ports": [{"port": 7000, "endPort": 7002}]}]),
    policy("b-out", selector=labels(role="b"), policyTypes=["Egress"], egress=[
        {"to": [{"podSelector": labels(app="web")}], "ports": [{"port": 7001}]}]),
)


def tcp(*spans: tuple[int, int]) -> PortSet:
    return PortSet.of(("TCP", lo, hi) for lo, hi in spans)


def lines(column: bool) -> dict[tuple[str, str], PortSet]:
    """Every (source, destination) pod pair's ports, read from rows (column=False) or columns."""
    engine = analyzer(*CLUSTER).engine
    codes = PortCodes.common(engine)
    every = range(len(engine.classes))
    slices = Slices(engine, codes, [] if column else every, every if column else [])
    names = {c.id: c.pods[0].name for c in engine.classes}
    out = {}
    for cls in every:
        line = slices.column(cls) if column else slices.row(cls)
        for other in every:
            pair = (names[other], names[cls]) if column else (names[cls], names[other])
            out[pair] = codes.decode(line[other])
    return out


WANT = {  # named ports resolve on each destination; b's egress narrows its ingress range to one port
    ("a", "web1"): tcp((8080, 8080)), ("a", "web2"): tcp((9090, 9090)),
    ("b", "web1"): tcp((7001, 7001)), ("b", "web2"): tcp((7001, 7001)),
    ("web1", "web2"): NO_PORTS, ("web2", "web1"): NO_PORTS,
    ("b", "a"): NO_PORTS,  # b's egress is isolated (only web on 7001); its ingress is not: a -> b is all
}


@pytest.mark.parametrize("column", [False, True], ids=["rows", "columns"])
def test_rows_and_columns_are_exact(column: bool) -> None:
    got = lines(column)
    for (src, dst), ports in got.items():
        if src == dst:
            assert ports == NO_PORTS  # one pod and itself: not a policy question
        else:
            assert ports == WANT.get((src, dst), ALL_PORTS), (src, dst)


def test_only_the_classes_asked_for() -> None:
    engine = analyzer(*CLUSTER).engine
    slices = Slices(engine, PortCodes.common(engine), rows=[0], columns=[])
    slices.row(0)
    with pytest.raises(ValueError, match="not asked for"):
        slices.column(0)
    with pytest.raises(ValueError, match="not asked for"):
        slices.row(1)


def test_codes_round_trip_over_atoms() -> None:
    engine = analyzer(*CLUSTER).engine
    codes = PortCodes.common(engine)
    for ports in (NO_PORTS, ALL_PORTS, tcp((7000, 7002)), tcp((8080, 8080), (9090, 9090))):
        assert codes.decode(codes.encode(ports)) == ports
    assert codes.ports_of(0) == NO_PORTS
