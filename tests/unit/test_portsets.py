from __future__ import annotations

from netpol.portsets import ALL_PORTS, NO_PORTS, PortSet, union_all


def test_intervals_merge_and_stay_canonical() -> None:
    a = PortSet.of([("TCP", 80, 80), ("TCP", 81, 90), ("TCP", 100, 200), ("UDP", 53, 53), ("TCP", 150, 300)])
    assert a.intervals("TCP") == ((80, 90), (100, 300))
    assert a == PortSet.of([("UDP", 53, 53), ("TCP", 100, 300), ("TCP", 80, 90)])
    assert str(a) == "TCP:80-90,100-300 UDP:53"


def test_contains_and_intersection() -> None:
    a = PortSet.of([("TCP", 1, 100), ("UDP", 53, 53)])
    b = PortSet.of([("TCP", 50, 60), ("TCP", 90, 200), ("SCTP", 1, 5)])
    assert a.contains("TCP", 100) and not a.contains("TCP", 101) and not a.contains("SCTP", 1)
    assert a.intersection(b) == PortSet.of([("TCP", 50, 60), ("TCP", 90, 100)])
    assert a.intersection(NO_PORTS).is_empty and not a.intersection(NO_PORTS)
    assert ALL_PORTS.intersection(a) == a


def test_union_and_text() -> None:
    assert union_all([]) == NO_PORTS
    assert union_all([PortSet.of([("TCP", 1, 65535)]), PortSet.of([("UDP", 1, 65535), ("SCTP", 1, 65535)])]).is_all
    assert str(ALL_PORTS) == "all" and str(NO_PORTS) == "none"
    assert str(PortSet.of([("UDP", 1, 65535), ("TCP", 53, 53)])) == "TCP:53 UDP:all"
    assert PortSet.of([("TCP", 1, 2)]).union(PortSet.of([("TCP", 3, 4)])) == PortSet.of([("TCP", 1, 4)])


def test_difference_and_first() -> None:
    a = PortSet.of([("TCP", 1, 100), ("UDP", 53, 53)])
    b = PortSet.of([("TCP", 50, 60), ("TCP", 90, 200)])
    assert a.difference(b) == PortSet.of([("TCP", 1, 49), ("TCP", 61, 89), ("UDP", 53, 53)])
    assert a.difference(ALL_PORTS) == NO_PORTS
    assert ALL_PORTS.difference(NO_PORTS) == ALL_PORTS
    assert b.first() == ("TCP", 50)
    assert PortSet.of([("UDP", 53, 53)]).first() == ("UDP", 53)
