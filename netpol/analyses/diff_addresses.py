"""Outside addresses in a diff: both versions' ipBlocks cut the address space into sets of ranges answered
alike, named as endpoints, and the changes whose outside endpoint carries its ranges (netpol.analyses.diff)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from netpol.analyses.families import families, other_families
from netpol.analyses.phrases import address_phrase
from netpol.engine import AddressRange, Engine, PeerMatch
from netpol.engine.bits import bit_ids
from netpol.model import DIRECTIONS, Direction, IPAddress, IPBlock
from netpol.model.portsets import NO_PORTS, PortSet

ChangeKind = Literal["gained", "lost", "changed"]


@dataclass(frozen=True)
class Change:
    """Sources whose connections to one destination changed the same way."""

    kind: ChangeKind
    sources: tuple[str, ...]
    destination: str
    before: PortSet
    after: PortSet
    # For possible pods (netpol.analyses.regions): the named ports each side allows, and the rules that decide.
    named_before: tuple[str, ...] = ()
    named_after: tuple[str, ...] = ()
    because: tuple[str, ...] = ()
    # An outside endpoint among the sources or as the destination: its addresses, as (first, last) ranges.
    source_addresses: tuple[tuple[IPAddress, IPAddress], ...] = ()
    destination_addresses: tuple[tuple[IPAddress, IPAddress], ...] = ()


class AddressSets:
    """Outside addresses cut at every boundary of both versions' ipBlocks (a common refinement): each
    set of ranges inside the same blocks of either version is answered alike by every rule of both."""

    def __init__(self, before: Engine, after: Engine) -> None:
        self.engines = (before, after)
        ranges = before.address_ranges(blocks=after.blocks, by_family=after.names_family)
        self.sets: dict[tuple[tuple[IPBlock, ...], int | None], list[AddressRange]] = {}
        for r in ranges:
            self.sets.setdefault(r.alike, []).append(r)
        self.every = tuple(n for r in ranges for n in r.networks)
        self.named: dict[str, tuple[tuple[IPAddress, IPAddress], ...]] = {}  # a change's name -> its ranges
        self.sources: dict[tuple[str, PortSet, PortSet], str] = {}  # a change with an outside source: its name
        self._cut: dict[tuple[frozenset[IPBlock], tuple[PeerMatch, ...]], list[list[AddressRange]]] = {}
        self._listed = list(self.sets.values())
        self._holding: dict[IPBlock, int] = {}  # per block, the address sets it holds (bit i: set i)
        for i, (held, _) in enumerate(self.sets):
            for block in held:
                self._holding[block] = self._holding.get(block, 0) | (1 << i)
        # the IPv6 sets, where a rule tells the families apart (else none): every part is of one family
        self._ipv6 = sum(1 << i for i, (_, family) in enumerate(self.sets) if family == 6)
        self._tier_held: dict[PeerMatch, int] = {}
        self._names: dict[tuple[int, ...], str] = {}

    def changes(self, pairs: list[tuple[int | None, int | None]], dirty: list[int], members: list[list[str]]
                ) -> Iterator[tuple[tuple[str, PortSet, PortSet], list[str]]]:
        """((destination, before, after), sources) between the dirty groups' pods and the outside: per
        group and direction, the address sets whose ports changed alike, named as one endpoint."""
        for g in dirty:
            pods = members[g]
            for direction in DIRECTIONS:
                alike: dict[tuple[PortSet, PortSet], list[AddressRange]] = {}
                for ranges in self._parts(direction, pairs[g]):
                    ip = ranges[0].first
                    b, a = (NO_PORTS if cls is None else engine.external_ports(direction, cls, ip)
                            for engine, cls in zip(self.engines, pairs[g], strict=True))
                    if b != a:
                        alike.setdefault((b, a), []).extend(ranges)
                for (b, a), ranges in alike.items():
                    node = self.name_of(ranges)
                    if direction == "egress":
                        yield (node, b, a), pods
                    else:
                        for dst in pods:
                            self.sources[(dst, b, a)] = node
                            yield (dst, b, a), [node]

    def _parts(self, direction: Direction, classes: tuple[int | None, int | None]) -> list[list[AddressRange]]:
        """The address sets merged where the rules of these classes (one per version) in `direction` cannot
        tell them apart: each part is answered alike, so it is evaluated once (a repository's ipBlocks cut
        the address space into hundreds of sets, of which one class's rules name a few)."""
        blocks: set[IPBlock] = set()
        tiered: list[PeerMatch] = []
        for engine, cls in zip(self.engines, classes, strict=True):
            if cls is not None:
                views = families(engine)
                blocks.update(b for _, pm in views.rules[direction][cls] if not pm.everything for b in pm.blocks)
                tiered.extend(pm for entries in views.tier_lists(direction, cls) for _, pm in entries
                              if not pm.everything)
                if other_families(engine):  # every stage's blocks (Cilium's CIDRs), and nodes (Calico's own node)
                    blocks.update(b for entries in engine.staged[direction][cls] for _, pm in entries
                                  if not pm.everything for b in pm.blocks)
                    tiered.extend(pm for entries in engine.staged[direction][cls] for _, pm in entries
                                  if not pm.everything and pm.node_ips)
        key = (frozenset(blocks), tuple(dict.fromkeys(tiered)))
        cached = self._cut.get(key)
        if cached is None:
            parts = [(1 << len(self._listed)) - 1]  # bit i: address set i
            for held in (self._ipv6, *(self._holding.get(b, 0) for b in sorted(key[0], key=str)),
                         *(self._tier_holding(pm) for pm in key[1])):
                parts = [q for p in parts for q in (p & held, p & ~held) if q]
            cached = self._cut[key] = [[r for i in bit_ids(p) for r in self._listed[i]] for p in parts]
        return cached

    def _tier_holding(self, pm: PeerMatch) -> int:
        """The address sets (bit i: set i) a tiered rule's networks or nodes hold, or a rule's nodes (own node)."""
        held = self._tier_held.get(pm)
        if held is None:
            held = self._tier_held[pm] = sum(1 << i for i, ranges in enumerate(self._listed)
                                             if pm.matches_ip(ranges[0].first))
        return held

    def name_of(self, ranges: list[AddressRange]) -> str:
        key = tuple(map(id, ranges))  # the ranges live as long as self: the same list of them, the same name
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = address_phrase((n for r in ranges for n in r.networks), self.every)
            self.named.setdefault(name, _merged(ranges))
        return name

    def change(self, kind: ChangeKind, sources: tuple[str, ...], destination: str, before: PortSet,
               after: PortSet) -> Change:
        """A change, with the address ranges of its outside endpoint."""
        outside = self.sources.get((destination, before, after))  # not a scan of the sources: they can be many
        return Change(kind, sources, destination, before, after,
                      source_addresses=self.named[outside] if outside is not None else (),
                      destination_addresses=self.named.get(destination, ()))


def _merged(ranges: list[AddressRange]) -> tuple[tuple[IPAddress, IPAddress], ...]:
    """Ranges in address order, adjacent ones joined: the maximal ranges."""
    out: list[tuple[IPAddress, IPAddress]] = []
    for r in sorted(ranges, key=lambda r: (r.first.version, r.first)):
        if out and out[-1][1].version == r.first.version and int(out[-1][1]) + 1 == int(r.first):
            out[-1] = (out[-1][0], r.last)
        else:
            out.append((r.first, r.last))
    return tuple(out)
