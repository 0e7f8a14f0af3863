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

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from netpol.model import (
    DIRECTIONS,
    Action,
    Cluster,
    Direction,
    IPBlock,
    Tier,
    TieredPolicy,
    TierPeer,
    TierPort,
    TierSelector,
)
from netpol.model.portsets import PortSet, Protocol, atoms
from netpol.policies.stages import (
    Addresses,
    Everything,
    NamedPort,
    NodeRule,
    Nodes,
    Peer,
    Pods,
    PortMatch,
    PortRange,
    Stage,
    StagePolicy,
    StageRule,
    Verdict,
)
from netpol.policies.walk import Hit, Step, Walk, walk_stages


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


def tier_stages(cluster: Cluster) -> dict[Direction, tuple[tuple[Stage, ...], tuple[Stage, ...]]]:
    """Per direction, (the Admin stage, the Baseline stage), each only where such policies exist: first
    match, end Pass (the tiers isolate nothing). Once a rule names nodes, every node's address is a cut."""
    compiled = compile_tiers(cluster.tiered)
    nodes_named = any(p.nodes is not None for pol in cluster.tiered for d in DIRECTIONS for r in pol.rules(d)
                      for p in r.peers)
    cuts = tuple(IPBlock(ipaddress.ip_network(ip)) for n in cluster.nodes for ip in n.addresses) if nodes_named else ()
    out = {}
    for d in DIRECTIONS:
        stages: dict[Tier, Stage] = {}
        for tier in ("Admin", "Baseline"):
            policies = [p for p in cluster.tiered if p.tier == tier]
            if policies:
                rules = tuple(_stage_rule(r, cluster) for r in compiled.get((tier, d), ()))
                members = tuple(StagePolicy(f"{p.short_kind} {p.name}", _pods(p.subject)) for p in policies)
                stages[tier] = Stage(tier, True, "Pass", rules, members, cuts)
        out[d] = (tuple(s for t, s in stages.items() if t == "Admin"),
                  tuple(s for t, s in stages.items() if t == "Baseline"))
    return out


_VERDICTS: dict[Action, Verdict] = {"Accept": "Allow", "Deny": "Deny", "Pass": "Pass"}


def _stage_rule(rule: CompiledTierRule, cluster: Cluster) -> StageRule:
    peers: list[Peer] = []
    for p in rule.peers:
        if p.unknown is not None:  # fails closed
            if rule.ref.action != "Accept":
                peers.append(Everything())
        elif p.pods is not None:
            peers.append(_pods(p.pods))
        elif p.networks:
            peers.extend(Addresses(IPBlock(n)) for n in p.networks)
        elif p.nodes is not None:
            matching = [n for n in cluster.nodes if p.nodes.matches(n.label_map)]
            peers.append(Nodes(frozenset(n.name for n in matching),
                               frozenset(ip for n in matching for ip in n.addresses)))
        # domainNames: resolved at run time, they match nothing netpol knows
    return StageRule(rule.ref, _pods(rule.subject), tuple(peers), stage_ports(rule.ports),
                     _VERDICTS[rule.ref.action], rule)


_EVERY_POD = Pods(None, None, None)


def _pods(sel: TierSelector) -> Pods:
    return Pods(None, sel.namespace_selector, sel.pod_selector)


def stage_ports(ports: tuple[TierPort, ...] | None) -> PortMatch:
    """A tiered rule's ports in the form: a named port takes the container port's protocol."""
    if ports is None:
        return None
    out: list[PortRange | NamedPort] = []
    for p in ports:
        if p.name is not None:
            out.append(NamedPort(p.name, None))
        else:
            assert p.protocol is not None
            out.append(PortRange(p.protocol, p.first, p.last))
    return tuple(out)


@dataclass(frozen=True)
class TierHit:
    """A tiered rule that matched the peer, with the ports it covers towards the destination."""

    ref: TierRuleRef
    ports: PortSet


_TIER_STAGES = {tier: Stage(tier, True, "Pass", ()) for tier in ("Admin", "Baseline")}
_NETWORK_POLICY = Stage("NetworkPolicy", False, "Deny", ())


def walk(admin: Iterable[TierHit], v1_selects: bool, v1_allowed: PortSet, baseline: Iterable[TierHit]) -> Walk:
    """The walk over the three tiers (walk.walk_stages), from the tiered rules that match the peer and what
    NetworkPolicy allows where it selects the pod."""
    def hits(tier_hits: Iterable[TierHit]) -> list[Hit]:
        return [Hit(StageRule(h.ref, _EVERY_POD, (), None, _VERDICTS[h.ref.action]), h.ports, True) for h in tier_hits]

    # NetworkPolicy's answer as one allow (a stage that decides as a whole names itself, never this rule)
    v1 = [Hit(StageRule(NodeRule("", "ingress"), _EVERY_POD, (), None, "Allow"), v1_allowed, False)
          ] if v1_selects else []
    return walk_stages([Step(_TIER_STAGES["Admin"], False, hits(admin)), Step(_NETWORK_POLICY, v1_selects, v1),
                        Step(_TIER_STAGES["Baseline"], False, hits(baseline))])


def port_atoms(rules: Iterable[CompiledTierRule], extra: Iterable[tuple[Protocol, int, int]] = ()
               ) -> Iterator[tuple[Protocol, int, int]]:
    """The port atoms (walk.port_atoms) of the given rules' port ranges and the `extra` spans."""
    spans = list(extra)
    for rule in rules:
        spans.extend((p.protocol, p.first, p.last) for p in rule.ports or () if p.protocol is not None)
    return atoms(spans)
