"""Canonical sets of (protocol, port) as sorted, merged intervals.

Invariant: for every protocol the intervals are sorted, disjoint, non-adjacent
and within 1..65535, and protocols with no ports are absent. Two PortSets are
therefore equal exactly when they allow the same traffic, which makes them
usable as dictionary keys, in equivalence classes and in diffs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Protocol = Literal["TCP", "UDP", "SCTP"]
PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")
MIN_PORT = 1
MAX_PORT = 65535

Interval = tuple[int, int]


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
        return cls(tuple((p, _merge(by_proto[p])) for p in PROTOCOLS if p in by_proto))

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
        for proto in PROTOCOLS:
            ivs = _intersect(self.intervals(proto), other.intervals(proto))
            if ivs:
                out.append((proto, ivs))
        return PortSet(tuple(out))

    def difference(self, other: PortSet) -> PortSet:
        """The ports of self that other lacks."""
        gaps: list[tuple[Protocol, int, int]] = []
        for proto in PROTOCOLS:
            start = MIN_PORT
            for lo, hi in other.intervals(proto):
                if lo > start:
                    gaps.append((proto, start, lo - 1))
                start = hi + 1
            if start <= MAX_PORT:
                gaps.append((proto, start, MAX_PORT))
        return self.intersection(PortSet.of(gaps))

    def first(self) -> tuple[Protocol, int]:
        """The lowest port of the first protocol, as an example of the set."""
        proto, ivs = self.ranges[0]
        return proto, ivs[0][0]

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
        parts = []
        for proto, ivs in self.ranges:
            if ivs == ((MIN_PORT, MAX_PORT),):
                parts.append(f"{proto}:all")
            else:
                spans = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ivs)
                parts.append(f"{proto}:{spans}")
        return " ".join(parts)


ALL_PORTS = PortSet(tuple((p, ((MIN_PORT, MAX_PORT),)) for p in PROTOCOLS))
NO_PORTS = PortSet()


def union_all(sets: Iterable[PortSet]) -> PortSet:
    """Union of many PortSets in one merge instead of pairwise."""
    items = [(p, lo, hi) for ps in sets for p, ivs in ps.ranges for lo, hi in ivs]
    return PortSet.of(items) if items else NO_PORTS


def atoms(spans: Iterable[tuple[Protocol, int, int]]) -> Iterator[tuple[Protocol, int, int]]:
    """The intervals (protocol, first, last) that every span treats alike: each protocol's whole range, cut at
    each span's first value and just after its last. One value of an atom answers for all of it."""
    cuts: dict[Protocol, set[int]] = {p: {MIN_PORT} for p in PROTOCOLS}
    for proto, first, last in spans:
        cuts[proto].add(first)
        if last < MAX_PORT:
            cuts[proto].add(last + 1)
    for proto, points in cuts.items():
        ordered = sorted(points)
        for first, following in zip(ordered, [*ordered[1:], MAX_PORT + 1], strict=True):
            yield proto, first, following - 1
