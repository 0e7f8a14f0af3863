from __future__ import annotations

import pytest

from netpol.model.portsets import (
    ALL_PORTS,
    NO_PORTS,
    PortSet,
    atoms,
    icmp_type_code,
    icmp_value,
    probe_text,
    span_text,
    union_all,
)


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
    ports_only = union_all([PortSet.of([("TCP", 1, 65535)]), PortSet.of([("UDP", 1, 65535), ("SCTP", 1, 65535)])])
    assert not ports_only.is_all and str(ports_only) == "TCP:all UDP:all SCTP:all"  # no ICMP: not everything
    assert ports_only.union(PortSet.of([("ICMP", 0, 65535), ("ICMPv6", 0, 65535)])).is_all
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


def test_icmp_values_encode_type_and_code() -> None:
    assert icmp_value(8, 0) == 2048 and icmp_type_code(2048) == (8, 0)
    assert icmp_value(255, 255) == 65535 and icmp_type_code(icmp_value(3, 13)) == (3, 13)
    assert probe_text("ICMP", icmp_value(8, 0)) == "ICMP type 8 code 0"
    assert probe_text("ICMPv6", icmp_value(128, 0)) == "ICMPv6 type 128 code 0"
    assert probe_text("TCP", 80) == "TCP/80"


@pytest.mark.parametrize(("items", "text"), [
    ([("ICMP", 0, 65535)], "ICMP:all"),
    ([("ICMP", icmp_value(8, 0), icmp_value(8, 255))], "ICMP:8"),
    ([("ICMP", icmp_value(8, 0), icmp_value(8, 0))], "ICMP:8/0"),
    ([("ICMP", icmp_value(3, 1), icmp_value(3, 3))], "ICMP:3/1-3"),
    ([("ICMP", 0, icmp_value(7, 255)), ("ICMP", icmp_value(9, 0), 65535)], "ICMP:0-7,9-255"),
    ([("ICMP", icmp_value(3, 4), icmp_value(5, 2))], "ICMP:3/4-255,4,5/0-2"),  # a span across types, cut at them
    ([("ICMP", icmp_value(3, 0), icmp_value(5, 2))], "ICMP:3-4,5/0-2"),
    ([("ICMPv6", icmp_value(128, 0), icmp_value(129, 255)), ("TCP", 80, 80)], "TCP:80 ICMPv6:128-129"),
])
def test_icmp_text_names_types_and_codes(items: list[tuple[str, int, int]], text: str) -> None:
    assert str(PortSet.of(items)) == text  # type: ignore[arg-type]


def test_icmp_sets_complement_over_their_own_range() -> None:
    echo = PortSet.of([("ICMP", icmp_value(8, 0), icmp_value(8, 255))])
    rest = ALL_PORTS.difference(echo)
    assert rest.intervals("ICMP") == ((0, icmp_value(7, 255)), (icmp_value(9, 0), 65535))
    assert rest.intervals("TCP") == ((1, 65535),) and rest.intervals("ICMPv6") == ((0, 65535),)
    assert PortSet.whole("ICMP") == PortSet.of([("ICMP", 0, 65535)]) and PortSet.whole("UDP").intervals("UDP") == (
        (1, 65535),)
    assert ALL_PORTS.contains("ICMP", 0) and ALL_PORTS.contains("ICMPv6", 65535) and not ALL_PORTS.contains("TCP", 0)
    assert echo.to_json() == {"ICMP": [[[8, 0], [8, 255]]]}
    assert PortSet.of([("TCP", 80, 81)]).to_json() == {"TCP": [[80, 81]]}
    assert span_text("ICMP", 0, 65535) == "ICMP:all" and span_text("TCP", 1, 79) == "TCP:1-79"


def test_atoms_cover_every_protocol_and_cut_at_spans() -> None:
    assert list(atoms([])) == [("TCP", 1, 65535), ("UDP", 1, 65535), ("SCTP", 1, 65535), ("ICMP", 0, 65535),
                               ("ICMPv6", 0, 65535)]
    spans = [("ICMP", icmp_value(8, 0), icmp_value(8, 255)), ("TCP", 80, 80)]
    cut = [a for a in atoms(spans) if a[0] in ("TCP", "ICMP")]  # type: ignore[arg-type]
    assert cut == [("TCP", 1, 79), ("TCP", 80, 80), ("TCP", 81, 65535),
                   ("ICMP", 0, icmp_value(7, 255)), ("ICMP", icmp_value(8, 0), icmp_value(8, 255)),
                   ("ICMP", icmp_value(9, 0), 65535)]
