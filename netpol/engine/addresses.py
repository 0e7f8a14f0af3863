"""Addresses outside the cluster: the ranges every address block treats alike, and their graph nodes."""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from netpol.model import IPAddress, IPBlock, IPNetwork


@dataclass(frozen=True)
class AddressRange:
    """Addresses outside the cluster that every ipBlock treats alike: `first` to `last`, inside `blocks`.

    The policies' CIDRs and excepts cut the address space at their first
    address and just after their last; every address between two cuts is in
    the same blocks, so one answer per range is the answer for each address.
    """

    first: IPAddress
    last: IPAddress
    blocks: tuple[IPBlock, ...]  # the ipBlocks (cidr minus excepts) that contain this range
    family: int | None = None  # its IP version, where some rule tells the IP families apart; else None

    @property
    def alike(self) -> tuple[tuple[IPBlock, ...], int | None]:
        """Ranges with the same `alike` are answered alike by every rule: in the same blocks, and of the same
        family where a rule tells the families apart (an IPv4-only nets matches no IPv6 packet)."""
        return self.blocks, self.family

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The range as CIDRs."""
        return tuple(ipaddress.summarize_address_range(self.first, self.last))

    def __str__(self) -> str:
        return ", ".join(str(n) for n in self.networks)


def address_ranges(every: tuple[IPBlock, ...], network: IPNetwork | None = None,
                   by_family: bool = False) -> tuple[AddressRange, ...]:
    """`network` (default: every IPv4 and IPv6 address) cut at every boundary of the blocks `every`
    (sorted), in address order; each range is in the same blocks throughout (`AddressRange.blocks`:
    which of them, sorted). Both families are always there: a probe may name an IPv6 address when
    every block is IPv4, and every surface must cover what can-reach answers. `by_family`: some rule
    tells the families apart, so each range carries its own (`AddressRange.family`)."""
    networks = [network] if network is not None else [ipaddress.ip_network(n) for n in ("0.0.0.0/0", "::/0")]
    out = []
    for net in networks:
        first, last = int(net.network_address), int(net.broadcast_address)
        cuts = {first}
        for block in every:
            for part in (block.cidr, *block.excepts):
                if part.version != net.version:
                    continue
                for cut in (int(part.network_address), int(part.broadcast_address) + 1):
                    if first <= cut <= last:
                        cuts.add(cut)
        bounds = sorted(cuts) + [last + 1]
        make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
        for lo, hi in zip(bounds, bounds[1:], strict=False):
            start = make(lo)
            out.append(AddressRange(start, make(hi - 1), tuple(b for b in every if b.contains(start)),
                                    net.version if by_family else None))
    return tuple(out)


ANY_ADDRESS = "any address"


def block_node(block: IPBlock) -> str:
    return f"ipBlock {block}"


def address_set_node(within: tuple[IPBlock, ...], family: int | None = None) -> str:
    """The graph node of outside addresses in exactly these blocks (inputs with first-match stages), of one
    family where a rule tells the families apart (blocks are of one family: only the rest needs it)."""
    if within:
        return "addresses in " + " and ".join(str(b) for b in within) + " only"
    return "any other address" if family is None else f"any other IPv{family} address"


def block_membership(blocks: tuple[IPBlock, ...]) -> Callable[[tuple[IPAddress, ...]], tuple[bool, ...]]:
    """Which blocks contain any of a pod's IPs. The blocks' edges cut each family's addresses into intervals
    that every block holds whole or not at all; each IP finds its interval by bisection, so 150k pods cost
    150k look-ups, not 150k x blocks tests."""
    none = (False,) * len(blocks)
    cuts: dict[int, list[int]] = {4: [], 6: []}
    for b in blocks:
        for net in (b.cidr, *b.excepts):
            cuts[net.version] += [int(net.network_address), int(net.broadcast_address) + 1]
    edges = {v: sorted(set(points)) for v, points in cuts.items()}
    inside = {v: [tuple(b.contains_int(v, lo) for b in blocks) for lo in points] for v, points in edges.items()}

    def member(ips: tuple[IPAddress, ...]) -> tuple[bool, ...]:
        found = [inside[ip.version][i] for ip in ips if (i := bisect.bisect_right(edges[ip.version], int(ip)) - 1) >= 0]
        if len(found) < 2:
            return found[0] if found else none
        return tuple(any(column) for column in zip(*found, strict=True))

    return member
