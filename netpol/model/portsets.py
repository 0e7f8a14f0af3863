"""Canonical sets of (protocol, port) as sorted, merged intervals.

Invariant: for every protocol the intervals are sorted, disjoint, non-adjacent
and within the protocol's bounds, and protocols with nothing allowed are absent.
Two PortSets are therefore equal exactly when they allow the same traffic, which
makes them usable as dictionary keys, in equivalence classes and in diffs.

TCP, UDP and SCTP carry ports 1-65535. ICMP and ICMPv6 have no ports: a
message is a (type, code) pair, each 0-255, encoded as one integer
`type * 256 + code` (`icmp_value`), so that an ICMP set is an interval set like a
port set, 0-65535 is every ICMP message and a range of whole types is one
interval. Port atoms, class partitions and walks then treat ICMP types and codes
exactly as they treat ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

PortProtocol = Literal["TCP", "UDP", "SCTP"]
IcmpProtocol = Literal["ICMP", "ICMPv6"]
Protocol = Literal["TCP", "UDP", "SCTP", "ICMP", "ICMPv6"]
PROTOCOLS: tuple[PortProtocol, ...] = ("TCP", "UDP", "SCTP")  # the protocols with ports
ICMP_PROTOCOLS: tuple[IcmpProtocol, ...] = ("ICMP", "ICMPv6")
ALL_PROTOCOLS: tuple[Protocol, ...] = (*PROTOCOLS, *ICMP_PROTOCOLS)
MIN_PORT = 1
MAX_PORT = 65535
MAX_ICMP = 255  # the largest ICMP type and code
ECHO_REQUEST: dict[IcmpProtocol, int] = {"ICMP": 8, "ICMPv6": 128}  # what ping sends

Interval = tuple[int, int]


def bounds(protocol: Protocol) -> Interval:
    """The values a protocol's sets range over: ports 1-65535, or every encoded ICMP (type, code)."""
    return (0, icmp_value(MAX_ICMP, MAX_ICMP)) if protocol in ICMP_PROTOCOLS else (MIN_PORT, MAX_PORT)


def is_icmp(protocol: str) -> bool:
    return protocol in ICMP_PROTOCOLS


def icmp_value(icmp_type: int, code: int) -> int:
    """An ICMP (type, code) as the integer ICMP sets hold."""
    return icmp_type * 256 + code


def icmp_type_code(value: int) -> tuple[int, int]:
    """The (type, code) an encoded ICMP value stands for (the inverse of icmp_value)."""
    return divmod(value, 256)


def probe_text(protocol: Protocol, value: int) -> str:
    """One probe as a person reads it: `TCP/80`, or `ICMP type 8 code 0`."""
    if is_icmp(protocol):
        icmp_type, code = icmp_type_code(value)
        return f"{protocol} type {icmp_type} code {code}"
    return f"{protocol}/{value}"


def probe_json(protocol: Protocol, value: int | None) -> dict[str, int | None]:
    """A probe's fields in JSON output: its port; for ICMP none, but its type and code."""
    if value is None or not is_icmp(protocol):
        return {"port": value}
    icmp_type, code = icmp_type_code(value)
    return {"port": None, "icmp_type": icmp_type, "icmp_code": code}


def span_text(protocol: Protocol, first: int, last: int) -> str:
    """One interval of a protocol as PortSet text writes it: `TCP:80`, `TCP:all`, `ICMP:8` (type 8, every
    code), `ICMP:3/1-3` (type 3, codes 1-3), `ICMP:0-7,9-255`."""
    return _protocol_text(protocol, ((first, last),))


def _protocol_text(protocol: Protocol, ivs: tuple[Interval, ...]) -> str:
    if ivs == (bounds(protocol),):
        return f"{protocol}:all"
    if not is_icmp(protocol):
        return f"{protocol}:" + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ivs)
    return f"{protocol}:" + ",".join(_icmp_text(lo, hi) for iv in ivs for lo, hi in _icmp_pieces(iv))


def _icmp_pieces(iv: Interval) -> Iterator[Interval]:
    """An encoded interval cut where it starts or ends inside a type: the pieces are either whole types or
    codes of one type."""
    lo, hi = iv
    if lo % 256 and lo // 256 < hi // 256:  # starts inside a type and runs past it
        yield lo, lo | 255
        lo = (lo | 255) + 1
    if hi % 256 != 255 and lo // 256 < hi // 256:  # ends inside a later type
        yield lo, (hi & ~255) - 1
        lo = hi & ~255
    yield lo, hi


def _icmp_text(lo: int, hi: int) -> str:
    (t1, c1), (t2, c2) = icmp_type_code(lo), icmp_type_code(hi)
    if c1 == 0 and c2 == MAX_ICMP:
        return str(t1) if t1 == t2 else f"{t1}-{t2}"
    return f"{t1}/{c1}" if c1 == c2 else f"{t1}/{c1}-{c2}"


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def _intersect(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass(frozen=True)
class PortSet:
    """Allowed traffic as protocol -> intervals; see the module invariant."""

    ranges: tuple[tuple[Protocol, tuple[Interval, ...]], ...] = ()

    @classmethod
    def of(cls, items: Iterable[tuple[Protocol, int, int]]) -> PortSet:
        by_proto: dict[Protocol, list[Interval]] = {}
        for proto, lo, hi in items:
            by_proto.setdefault(proto, []).append((lo, hi))
        return cls(tuple((p, _merge(by_proto[p])) for p in ALL_PROTOCOLS if p in by_proto))

    @classmethod
    def whole(cls, protocol: Protocol) -> PortSet:
        """Everything of one protocol: its every port, or every ICMP message."""
        return cls(((protocol, (bounds(protocol),)),))

    def intervals(self, protocol: Protocol) -> tuple[Interval, ...]:
        for proto, ivs in self.ranges:
            if proto == protocol:
                return ivs
        return ()

    def contains(self, protocol: Protocol, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.intervals(protocol))

    def union(self, other: PortSet) -> PortSet:
        if not other.ranges or self is other:
            return self
        if not self.ranges:
            return other
        return PortSet.of(
            (p, lo, hi) for ps in (self, other) for p, ivs in ps.ranges for lo, hi in ivs
        )

    def intersection(self, other: PortSet) -> PortSet:
        out: list[tuple[Protocol, tuple[Interval, ...]]] = []
        for proto in ALL_PROTOCOLS:
            ivs = _intersect(self.intervals(proto), other.intervals(proto))
            if ivs:
                out.append((proto, ivs))
        return PortSet(tuple(out))

    def difference(self, other: PortSet) -> PortSet:
        """The ports of self that other lacks."""
        gaps: list[tuple[Protocol, int, int]] = []
        for proto in ALL_PROTOCOLS:
            start, end = bounds(proto)
            for lo, hi in other.intervals(proto):
                if lo > start:
                    gaps.append((proto, start, lo - 1))
                start = hi + 1
            if start <= end:
                gaps.append((proto, start, end))
        return self.intersection(PortSet.of(gaps))

    def first(self) -> tuple[Protocol, int]:
        """The lowest port of the first protocol (the lowest ICMP value), as an example of the set."""
        proto, ivs = self.ranges[0]
        return proto, ivs[0][0]

    def to_json(self) -> dict[str, list[list[int]] | list[list[list[int]]]]:
        """Protocol -> [first, last] intervals; an ICMP interval as [[type, code], [type, code]]."""
        return {proto: [[list(icmp_type_code(v)) for v in iv] for iv in ivs] if is_icmp(proto)
                else [list(iv) for iv in ivs] for proto, ivs in self.ranges}

    @property
    def is_empty(self) -> bool:
        return not self.ranges

    @property
    def is_all(self) -> bool:
        return self == ALL_PORTS

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __str__(self) -> str:
        if self.is_all:
            return "all"
        if self.is_empty:
            return "none"
        return " ".join(_protocol_text(proto, ivs) for proto, ivs in self.ranges)


ALL_PORTS = PortSet(tuple((p, (bounds(p),)) for p in ALL_PROTOCOLS))  # every port and every ICMP message
NO_PORTS = PortSet()


def union_all(sets: Iterable[PortSet]) -> PortSet:
    """Union of many PortSets in one merge instead of pairwise."""
    items = [(p, lo, hi) for ps in sets for p, ivs in ps.ranges for lo, hi in ivs]
    return PortSet.of(items) if items else NO_PORTS


def atoms(spans: Iterable[tuple[Protocol, int, int]]) -> Iterator[tuple[Protocol, int, int]]:
    """The intervals (protocol, first, last) that every span treats alike: each protocol's whole range, cut at
    each span's first value and just after its last. One value of an atom answers for all of it."""
    cuts: dict[Protocol, set[int]] = {p: {bounds(p)[0]} for p in ALL_PROTOCOLS}
    for proto, first, last in spans:
        cuts[proto].add(first)
        if last < bounds(proto)[1]:
            cuts[proto].add(last + 1)
    for proto, points in cuts.items():
        ordered = sorted(points)
        for first, following in zip(ordered, [*ordered[1:], bounds(proto)[1] + 1], strict=True):
            yield proto, first, following - 1
