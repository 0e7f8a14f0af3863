"""The tiers around NetworkPolicy: compiled Admin and Baseline rules, and the first-match walk.

Each direction of a connection walks the tiers on its own (both must allow):

1. Admin: AdminNetworkPolicies and ClusterNetworkPolicies of tier Admin whose subject selects the
   pod, by ascending priority, rules in written order; the first rule whose peers and ports match
   decides. Accept (v1alpha1: Allow) allows, Deny denies, Pass skips every remaining Admin rule.
2. NetworkPolicy: if one selects the pod for this direction, v1 decides (allowed iff a rule allows).
3. Baseline: the BaselineAdminNetworkPolicy `default`, or ClusterNetworkPolicies of tier Baseline by
   priority; Pass skips the rest of the tier.
4. Nothing decided: allowed.

Decisions are per port: a walk takes the port space and hands each part to the first rule that
covers it, so one walk answers every port at once (`Walk.segments`). Sources: the brief in
shared/reference/tiered-policies.md, §3, and the API doc comments it cites.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from netpol.model import (
    DIRECTIONS,
    Action,
    ContainerPort,
    Direction,
    Tier,
    TieredPolicy,
    TierPeer,
    TierPort,
    TierSelector,
)
from netpol.portsets import ALL_PORTS, NO_PORTS, PortSet, Protocol, atoms


@dataclass(frozen=True, order=True)
class TierRuleRef:
    """Names one tiered rule with everything a verdict must say about it."""

    tier: Tier
    priority: int  # -1 for the BaselineAdminNetworkPolicy, which has none
    kind: str  # AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy
    api_version: str
    policy: str
    direction: Direction
    index: int
    action: Action
    written_action: str
    name: str | None = None

    @property
    def short_kind(self) -> str:
        return {"AdminNetworkPolicy": "ANP", "BaselineAdminNetworkPolicy": "BANP",
                "ClusterNetworkPolicy": "CNP"}[self.kind]

    def __str__(self) -> str:
        priority = f" priority {self.priority}" if self.priority >= 0 else ""
        name = f" {self.name!r}" if self.name else ""
        return f"{self.short_kind} {self.policy}{priority} {self.direction}[{self.index}]{name} ({self.written_action})"

    def to_dict(self) -> dict[str, object]:
        return {"tier": self.tier, "kind": self.kind, "api_version": self.api_version, "policy": self.policy,
                "priority": self.priority if self.priority >= 0 else None, "direction": self.direction,
                "rule": self.index, "rule_name": self.name, "action": self.written_action}


@dataclass(frozen=True)
class CompiledTierRule:
    ref: TierRuleRef
    subject: TierSelector
    peers: tuple[TierPeer, ...]
    ports: tuple[TierPort, ...] | None  # None: every port

    @property
    def fails_closed(self) -> bool:
        """A peer netpol does not know: an Accept matches nothing with it, a Deny or Pass matches all."""
        return any(p.unknown is not None for p in self.peers)


def compile_tiers(policies: Iterable[TieredPolicy]) -> dict[tuple[Tier, Direction], tuple[CompiledTierRule, ...]]:
    """Per (tier, direction), the rules in evaluation order (policies come sorted by evaluation_key)."""
    out: dict[tuple[Tier, Direction], list[CompiledTierRule]] = {}
    for pol in policies:
        for direction in DIRECTIONS:
            for i, rule in enumerate(pol.rules(direction)):
                ref = TierRuleRef(pol.tier, pol.priority if pol.priority is not None else -1, pol.kind,
                                  pol.api_version, pol.name, direction, i, rule.action, rule.written_action,
                                  rule.name)
                out.setdefault((pol.tier, direction), []).append(
                    CompiledTierRule(ref, pol.subject, rule.peers, rule.ports))
    return {k: tuple(v) for k, v in out.items()}


def tier_ports(ports: tuple[TierPort, ...] | None, destination: tuple[ContainerPort, ...] | None) -> PortSet:
    """The ports a tiered rule covers towards one destination; a named port resolves on the destination
    pod (with that container port's protocol) and never matches an address."""
    if ports is None:
        return ALL_PORTS
    items: list[tuple[Protocol, int, int]] = []
    for p in ports:
        if p.name is None:
            assert p.protocol is not None
            items.append((p.protocol, p.first, p.last))
        else:
            items.extend((c.protocol, c.port, c.port) for c in destination or () if c.name == p.name)
    return PortSet.of(items) if items else NO_PORTS


@dataclass(frozen=True)
class TierHit:
    """A tiered rule that matched the peer, with the ports it covers towards the destination."""

    ref: TierRuleRef
    ports: PortSet


Decider = TierRuleRef | Literal["NetworkPolicy", "default"]


@dataclass(frozen=True)
class Segment:
    """Ports that one step of the walk decided: by a tiered rule, by NetworkPolicy, or by default.

    `passed`: the Admin Pass rule that handed these ports on, if one did.
    """

    ports: PortSet
    decider: Decider
    allowed: bool
    passed: TierRuleRef | None = None


@dataclass(frozen=True)
class Walk:
    """One direction's decision for every port: the segments partition the whole port space."""

    segments: tuple[Segment, ...]

    @property
    def allowed(self) -> PortSet:
        out = NO_PORTS
        for s in self.segments:
            if s.allowed:
                out = out.union(s.ports)
        return out

    def at(self, protocol: Protocol, port: int) -> Segment:
        return next(s for s in self.segments if s.ports.contains(protocol, port))


def walk(admin: Iterable[TierHit], v1_selects: bool, v1_allowed: PortSet, baseline: Iterable[TierHit]) -> Walk:
    """The first-match walk over the port space (see the module docstring)."""
    segments: list[Segment] = []
    remaining = ALL_PORTS
    passed: list[tuple[PortSet, TierRuleRef]] = []
    for hit in admin:
        take = remaining.intersection(hit.ports)
        if not take:
            continue
        remaining = remaining.difference(take)
        if hit.ref.action == "Pass":
            passed.append((take, hit.ref))
        else:
            segments.append(Segment(take, hit.ref, hit.ref.action == "Accept"))
    handed = [(remaining, None), *passed]  # what the Admin tier left to the next tiers, and who passed it
    if v1_selects:
        for ports, by in handed:
            for part, allowed in ((ports.intersection(v1_allowed), True), (ports.difference(v1_allowed), False)):
                if part:
                    segments.append(Segment(part, "NetworkPolicy", allowed, by))
        return Walk(tuple(segments))
    baseline = list(baseline)
    for ports, by in handed:
        rest = ports
        for hit in baseline:
            take = rest.intersection(hit.ports)
            if not take:
                continue
            rest = rest.difference(take)
            if hit.ref.action == "Pass":  # skips the rest of the Baseline tier: the default decides
                segments.append(Segment(take, "default", True, hit.ref))
            else:
                segments.append(Segment(take, hit.ref, hit.ref.action == "Accept", by))
        if rest:
            segments.append(Segment(rest, "default", True, by))
    return Walk(tuple(segments))


def port_atoms(rules: Iterable[CompiledTierRule], extra: Iterable[tuple[Protocol, int, int]] = ()
               ) -> Iterator[tuple[Protocol, int, int]]:
    """The intervals (protocol, first, last) that every given rule, and every `extra` span, treats alike:
    each protocol's whole range (ports 1-65535, every ICMP message), cut at each span's first value and
    just after its last (portsets.atoms). One port of an interval answers for all of it."""
    spans = list(extra)
    for rule in rules:
        for p in rule.ports or ():
            if p.protocol is not None:
                spans.append((p.protocol, p.first, p.last))
    return atoms(spans)
