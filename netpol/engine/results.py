"""What the engine answers with: what a rule's peers match, and one direction's verdict with provenance."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from netpol.model import Direction, IPAddress, IPBlock
from netpol.model.portsets import PortSet, Protocol
from netpol.policies.stages import AllOf, NodeRule, StageRule, address_matches
from netpol.policies.walk import Hit, Walk


@dataclass(frozen=True)
class PeerMatch:
    """What one rule's peers match: class bitsets, addresses (blocks, node addresses), or everything."""

    classes: int
    via_ip_block: int  # classes matched only because their IPs fall in an address block
    blocks: tuple[IPBlock, ...]
    node_ips: frozenset[IPAddress]
    everything: bool

    def matches_class(self, cls: int) -> bool:
        return self.everything or bool((self.classes >> cls) & 1)

    def matches_ip(self, ip: IPAddress) -> bool:
        return self.everything or ip in self.node_ips or any(b.contains(ip) for b in self.blocks)


@dataclass(frozen=True)
class ConditionPeerMatch(PeerMatch):
    """What a peer that is one conjunction (stages.AllOf) matches: an address outside the cluster by the
    condition itself, not by a union of blocks."""

    condition: AllOf | None = None

    def matches_ip(self, ip: IPAddress) -> bool:
        return self.condition is not None and address_matches(self.condition, ip)


Entry = tuple[StageRule, PeerMatch]


@dataclass(frozen=True)
class DirectionResult:
    """One direction of one connection: which policies select the subject, which rules match the peer (with
    the ports they cover), and the walk over the stages that decided every port."""

    direction: Direction
    isolated_by: tuple[str, ...]  # the policies of stages that deny what they leave undecided
    hits: tuple[Hit, ...]  # in walking order
    full_walk: Walk
    first_match: bool = False  # a first-match stage holds rules for the subject: its verdict names the walk

    @property
    def isolated(self) -> bool:
        return bool(self.isolated_by)

    @property
    def walk(self) -> Walk | None:
        """The walk, where a first-match stage holds rules for the subject (else the allowing rules say it)."""
        return self.full_walk if self.first_match else None

    @cached_property
    def matches(self) -> tuple[Hit, ...]:
        """The rules of stages that decide as a whole which allow the peer some port (not the node rule)."""
        return tuple(h for h in self.hits if not h.first_match and h.ports and not isinstance(h.ref, NodeRule))

    @property
    def from_local_node(self) -> bool:
        """The peer is a hostNetwork pod on the subject's node: the node rule allows it."""
        return any(isinstance(h.ref, NodeRule) for h in self.hits)

    @property
    def first_match_hits(self) -> tuple[Hit, ...]:
        """The first-match rules that match the peer, in evaluation order."""
        return tuple(h for h in self.hits if h.first_match)

    @cached_property
    def ports(self) -> PortSet:
        return self.full_walk.allowed

    def allowed_by(self, protocol: Protocol, port: int) -> tuple[Hit, ...]:
        return tuple(m for m in self.matches if m.ports.contains(protocol, port))
