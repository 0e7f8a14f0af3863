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


def test_classes_of_one_kind_share_their_own_side_exactly() -> None:
    """x1 and x2 are one kind as subjects (the same ingress rules hold them) and two classes as peers (y's
    egress holds only x1): their columns share their own side's regions, and each is still exact."""
    engine = analyzer(
        namespace("default"),
        pod("x1", labels={"app": "x", "tier": "front"}), pod("x2", labels={"app": "x", "tier": "back"}),
        pod("y", labels={"role": "y"}),
        policy("x-in", selector=labels(app="x"), ingress=[{"from": [{"podSelector": labels(role="y")}],
                                                           "ports": [{"port": 5432}]}]),
        policy("y-out", selector=labels(role="y"), policyTypes=["Egress"],
               egress=[{"to": [{"podSelector": labels(tier="front")}], "ports": [{"port": 5432}]}]),
    ).engine
    x1, x2, y = (engine.class_of[f"default/{name}"] for name in ("x1", "x2", "y"))
    assert x1 != x2
    every = range(len(engine.classes))
    codes = PortCodes.common(engine)
    slices = Slices(engine, codes, [], every)
    assert slices._own_kind("ingress", x1) == slices._own_kind("ingress", x2)
    got = {(src, dst): codes.decode(slices.column(dst)[src]) for dst in (x1, x2) for src in (x1, x2, y)}
    assert got == {(y, x1): tcp((5432, 5432)), (y, x2): NO_PORTS, (x1, x1): NO_PORTS, (x2, x1): NO_PORTS,
                   (x1, x2): NO_PORTS, (x2, x2): NO_PORTS}
    assert len(slices._owns) == 1  # x2's own side was not evaluated again
