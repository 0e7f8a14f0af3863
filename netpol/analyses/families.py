"""The engine's answers in each family's own terms, for the analyses that explain a family's rules.

The engine reads only the stages (netpol/policies/stages.py) and knows no family. The analyses that speak a
family's words (explain, lint, verdict notes, the report's marks) read them here: a family's stage found by
its name ("NetworkPolicy", "Admin", "Baseline"), and its rules as the family compiled them
(`StageRule.written`: networkpolicy.CompiledRule, tiered.CompiledTierRule) with what their peers match.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from functools import cached_property
from typing import TypeVar

from netpol.engine import Engine, PeerMatch
from netpol.model import DIRECTIONS, ContainerPort, Direction, IPBlock, PodPeer, Tier, TierSelector
from netpol.model.portsets import ALL_PORTS, PortSet
from netpol.model.selectors import LabelSelector
from netpol.policies.networkpolicy import CompiledRule, policy_ports
from netpol.policies.stages import Addresses, Pods, StageRule
from netpol.policies.tiered import CompiledTierRule, stage_ports

NETWORK_POLICY = "NetworkPolicy"
TIERS: tuple[Tier, ...] = ("Admin", "Baseline")

_Rule = TypeVar("_Rule", CompiledRule, CompiledTierRule)
RuleEntry = tuple[CompiledRule, PeerMatch]
TierEntry = tuple[CompiledTierRule, PeerMatch]


class Families:
    """NetworkPolicy and tiered views of one engine's per-class stage rules (see `families`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _written(self, direction: Direction, name: str, kind: type[_Rule]) -> list[list[tuple[_Rule, PeerMatch]]]:
        """Per class, the rules of stage `name` as their family wrote them (the node rule left out)."""
        e = self.engine
        k = next((k for k, s in enumerate(e.stages[direction]) if s.name == name), None)
        if k is None:
            return [[] for _ in e.staged[direction]]
        return [[(rule.written, pm) for rule, pm in per_class[k] if isinstance(rule.written, kind)]
                for per_class in e.staged[direction]]

    # -- NetworkPolicy ---------------------------------------------------------

    @cached_property
    def rules(self) -> dict[Direction, list[list[RuleEntry]]]:
        """Per direction and class, the NetworkPolicy rules that apply to it."""
        return {d: self._written(d, NETWORK_POLICY, CompiledRule) for d in DIRECTIONS}

    @cached_property
    def isolating(self) -> dict[Direction, list[list[str]]]:
        """Per direction and class, the policies that isolate it (of stages that deny what they leave)."""
        e = self.engine
        out: dict[Direction, list[list[str]]] = {}
        for d in DIRECTIONS:
            deny = [k for k, s in enumerate(e.stages[d]) if s.end == "Deny"]
            out[d] = [[name for k in deny for name in per_class[k]] for per_class in e.selecting[d]]
        return out

    @cached_property
    def ip_blocks(self) -> set[IPBlock]:
        """The NetworkPolicies' own ipBlocks (also of rules of directions their policyTypes leave out)."""
        return {peer.block for d in DIRECTIONS for s in self.engine.stages[d] if s.name == NETWORK_POLICY
                for rule in (*s.rules, *s.inert) for peer in rule.peers if isinstance(peer, Addresses)}

    def selected_by(self, namespace: str, pod_selector: LabelSelector) -> int:
        """Classes a NetworkPolicy in `namespace` with this podSelector selects (never hostNetwork pods)."""
        return self.engine.pods_bits(Pods(namespace, None, pod_selector))

    def pod_peer_classes(self, peer: PodPeer, namespace: str) -> int:
        """Classes a podSelector/namespaceSelector peer of a policy in `namespace` matches (both must: AND;
        no namespaceSelector: the policy's own namespace; hostNetwork pods never)."""
        return self.engine.pods_bits(Pods(namespace if peer.namespace_selector is None else None,
                                          peer.namespace_selector, peer.pod_selector))

    def is_restricted(self, direction: Direction, cls: int) -> bool:
        """Isolated, and some connection is denied: an allow-all rule (`egress: [{}]`) restricts nothing."""
        if not self.engine.is_isolated(direction, cls):
            return False
        return not any(pm.everything and self.resolve(rule, None) == ALL_PORTS
                       for rule, pm in self.rules[direction][cls])

    def resolve(self, rule: CompiledRule | CompiledTierRule | StageRule,
                destination: tuple[ContainerPort, ...] | None) -> PortSet:
        """A rule's ports towards one destination, from the rule as its family compiled it."""
        if isinstance(rule, StageRule):
            ports = rule.ports
        elif isinstance(rule, CompiledRule):
            ports = policy_ports(rule.ports)
        else:
            ports = stage_ports(rule.ports)
        return self.engine.resolve_ports(ports, destination)

    @cached_property
    def applied(self) -> dict[Direction, list[tuple[list[int], Sequence[tuple[object, PeerMatch]]]]]:
        """Per direction, (subject classes, their rules as their family compiled them)."""
        return {d: [(cids, [(rule.written, pm) for rule, pm in entries if rule.written is not None])
                    for cids, entries in self.engine.applying[d]] for d in DIRECTIONS}

    # -- Admin and Baseline --------------------------------------------------------

    @cached_property
    def tiered(self) -> dict[tuple[Tier, Direction], list[list[TierEntry]]]:
        """Per (tier, direction) present, per class, the tier's rules that hold it."""
        stages = {(s.name, d) for d in DIRECTIONS for s in self.engine.stages[d]}
        return {(tier, d): self._written(d, tier, CompiledTierRule) for d in DIRECTIONS for tier in TIERS
                if (tier, d) in stages}

    @cached_property
    def tier_rules(self) -> dict[tuple[Tier, Direction], tuple[CompiledTierRule, ...]]:
        """Per (tier, direction) with rules, the tier's rules in evaluation order."""
        return {(tier, d): tuple(r.written for r in s.rules if isinstance(r.written, CompiledTierRule))
                for d in DIRECTIONS for s in self.engine.stages[d] for tier in TIERS if s.name == tier and s.rules}

    def tier_lists(self, direction: Direction, cls: int) -> tuple[list[TierEntry], list[TierEntry]]:
        admin = self.tiered.get(("Admin", direction))
        baseline = self.tiered.get(("Baseline", direction))
        return (admin[cls] if admin else []), (baseline[cls] if baseline else [])

    def has_tier_rules(self, direction: Direction, cls: int) -> bool:
        admin, baseline = self.tier_lists(direction, cls)
        return bool(admin or baseline)

    def tier_select(self, sel: TierSelector) -> int:
        return self.engine.pods_bits(Pods(None, sel.namespace_selector, sel.pod_selector))

    def tier_isolating(self, direction: Direction, cls: int) -> tuple[str, ...]:
        """The Admin and Baseline policies with a Deny rule whose subject selects class `cls` in `direction`:
        they isolate it as a NetworkPolicy does (what no rule before the Deny allows is denied)."""
        admin, baseline = self.tier_lists(direction, cls)
        return tuple(sorted({f"{rule.ref.short_kind} {rule.ref.policy}" for rule, _ in (*admin, *baseline)
                             if rule.ref.action == "Deny"}))


def other_families(engine: Engine) -> bool:
    """The engine holds stages other than NetworkPolicy's and the tiers' (Cilium's, Calico's), whose rules the
    views above do not read."""
    return any(s.name not in (NETWORK_POLICY, *TIERS) for stages in engine.stages.values() for s in stages)


_VIEWS: dict[int, Families] = {}  # by id(engine), while the engine lives


def families(engine: Engine) -> Families:
    """The family views of `engine`, built once and kept as long as the engine lives (they hold it weakly;
    the entry goes when the engine does, so its id is never reused while here). A lookup by id, not a
    WeakKeyDictionary's, as analyses ask in loops."""
    views = _VIEWS.get(id(engine))
    if views is None:
        views = _VIEWS[id(engine)] = Families(weakref.proxy(engine))
        weakref.finalize(engine, _VIEWS.pop, id(engine), None)
    return views
