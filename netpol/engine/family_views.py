"""The engine's answers in each family's own terms, for the analyses that explain a family's rules.

The engine reads only the stages (netpol/policies/stages.py). These views find a family's stage by its name
("NetworkPolicy", "Admin", "Baseline") and hand back its rules as the family compiled them
(`StageRule.written`: compile.CompiledRule, tiers.CompiledTierRule) with what their peers match.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from netpol.model import DIRECTIONS, ContainerPort, Direction, IPBlock, PodPeer, Tier, TierSelector
from netpol.model.portsets import ALL_PORTS, PortSet
from netpol.model.selectors import LabelSelector
from netpol.policies.networkpolicy import CompiledRule, policy_ports
from netpol.policies.stages import Addresses, Pods, PortMatch, StageRule, Stages
from netpol.policies.tiered import CompiledTierRule, stage_ports

if TYPE_CHECKING:
    from netpol.engine.results import Entry, PeerMatch

    FamilyEntry = tuple[Any, PeerMatch]

NETWORK_POLICY = "NetworkPolicy"
TIERS: tuple[Tier, ...] = ("Admin", "Baseline")


class FamilyViews:
    """Mixed into netpol.engine.Engine: NetworkPolicy and tiered views of its per-class stage rules."""

    stages: Stages
    staged: dict[Direction, list[list[list[Entry]]]]
    selecting: dict[Direction, list[list[list[str]]]]
    applying: dict[Direction, list[tuple[list[int], list[Entry]]]]

    def pods_bits(self, pods: Pods) -> int:
        raise NotImplementedError

    def resolve_ports(self, ports: PortMatch, destination: tuple[ContainerPort, ...] | None) -> PortSet:
        raise NotImplementedError

    def is_isolated(self, direction: Direction, cls: int) -> bool:
        raise NotImplementedError

    def _stage_index(self, direction: Direction, name: str) -> int | None:
        return next((k for k, s in enumerate(self.stages[direction]) if s.name == name), None)

    def _written(self, direction: Direction, name: str) -> list[list[FamilyEntry]]:
        """Per class, the rules of stage `name` as their family wrote them (the node rule left out)."""
        k = self._stage_index(direction, name)
        if k is None:
            return [[] for _ in self.staged[direction]]
        return [[(rule.written, pm) for rule, pm in per_class[k] if rule.written is not None]
                for per_class in self.staged[direction]]

    # -- NetworkPolicy ---------------------------------------------------------

    @cached_property
    def rules(self) -> dict[Direction, list[list[FamilyEntry]]]:
        """Per direction and class, the NetworkPolicy rules that apply to it (compile.CompiledRule)."""
        return {d: self._written(d, NETWORK_POLICY) for d in DIRECTIONS}

    @cached_property
    def isolating(self) -> dict[Direction, list[list[str]]]:
        """Per direction and class, the policies that isolate it (of stages that deny what they leave)."""
        out: dict[Direction, list[list[str]]] = {}
        for d in DIRECTIONS:
            deny = [k for k, s in enumerate(self.stages[d]) if s.end == "Deny"]
            out[d] = [[name for k in deny for name in per_class[k]] for per_class in self.selecting[d]]
        return out

    @cached_property
    def ip_blocks(self) -> set[IPBlock]:
        """The NetworkPolicies' own ipBlocks (also of rules of directions their policyTypes leave out)."""
        return {peer.block for d in DIRECTIONS for s in self.stages[d] if s.name == NETWORK_POLICY
                for rule in (*s.rules, *s.inert) for peer in rule.peers if isinstance(peer, Addresses)}

    def selected_by(self, namespace: str, pod_selector: LabelSelector) -> int:
        """Classes a NetworkPolicy in `namespace` with this podSelector selects (never hostNetwork pods)."""
        return self.pods_bits(Pods(namespace, None, pod_selector))

    def pod_peer_classes(self, peer: PodPeer, namespace: str) -> int:
        """Classes a podSelector/namespaceSelector peer of a policy in `namespace` matches (both must: AND;
        no namespaceSelector: the policy's own namespace; hostNetwork pods never)."""
        return self.pods_bits(Pods(namespace if peer.namespace_selector is None else None, peer.namespace_selector,
                                   peer.pod_selector))

    def is_restricted(self, direction: Direction, cls: int) -> bool:
        """Isolated, and some connection is denied: an allow-all rule (`egress: [{}]`) restricts nothing."""
        if not self.is_isolated(direction, cls):
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
        return self.resolve_ports(ports, destination)

    @cached_property
    def applied(self) -> dict[Direction, list[tuple[list[int], Sequence[FamilyEntry]]]]:
        """Per direction, (subject classes, their rules as their family compiled them)."""
        return {d: [(cids, [(rule.written, pm) for rule, pm in entries if rule.written is not None])
                    for cids, entries in self.applying[d]] for d in DIRECTIONS}

    # -- Admin and Baseline --------------------------------------------------------

    @cached_property
    def tiered(self) -> dict[tuple[Tier, Direction], list[list[FamilyEntry]]]:
        """Per (tier, direction) present, per class, the tier's rules that hold it (tiers.CompiledTierRule)."""
        return {(tier, d): self._written(d, tier) for d in DIRECTIONS for tier in TIERS
                if self._stage_index(d, tier) is not None}

    @cached_property
    def tier_rules(self) -> dict[tuple[Tier, Direction], tuple[CompiledTierRule, ...]]:
        """Per (tier, direction) with rules, the tier's rules in evaluation order."""
        return {(tier, d): tuple(r.written for r in s.rules if isinstance(r.written, CompiledTierRule))
                for d in DIRECTIONS for s in self.stages[d] for tier in TIERS if s.name == tier and s.rules}

    def tier_lists(self, direction: Direction, cls: int) -> tuple[list[FamilyEntry], list[FamilyEntry]]:
        admin = self.tiered.get(("Admin", direction))
        baseline = self.tiered.get(("Baseline", direction))
        return (admin[cls] if admin else []), (baseline[cls] if baseline else [])

    def has_tier_rules(self, direction: Direction, cls: int) -> bool:
        admin, baseline = self.tier_lists(direction, cls)
        return bool(admin or baseline)

    def tier_select(self, sel: TierSelector) -> int:
        return self.pods_bits(Pods(None, sel.namespace_selector, sel.pod_selector))

    def tier_isolating(self, direction: Direction, cls: int) -> tuple[str, ...]:
        """The Admin and Baseline policies with a Deny rule whose subject selects class `cls` in `direction`:
        they isolate it as a NetworkPolicy does (what no rule before the Deny allows is denied)."""
        admin, baseline = self.tier_lists(direction, cls)
        return tuple(sorted({f"{rule.ref.short_kind} {rule.ref.policy}" for rule, _ in (*admin, *baseline)
                             if rule.ref.action == "Deny"}))
