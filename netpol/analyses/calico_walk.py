"""A Calico verdict's walk for one probe, from the engine's answer (netpol/policies/calico.py compiled it): each
tier that handed the traffic on with a Pass rule, then what decided: a rule (tier, policy, order, rule index,
action), a tier's default action at its end, or the namespace profile's allow after the last tier."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.engine import DirectionResult
from netpol.model.portsets import Protocol
from netpol.policies.calico import CalicoRuleRef
from netpol.policies.stages import NodeRule
from netpol.policies.walk import DEFAULT, Segment

TIER_PREFIX = "tier "  # netpol/policies/calico.py stage_name


@dataclass(frozen=True)
class WalkStep:
    """One step of the walk: a rule that acted, or a tier's end (rule None), or the profile (tier None)."""

    tier: str | None
    rule: CalicoRuleRef | NodeRule | None
    action: str

    def __str__(self) -> str:
        if isinstance(self.rule, NodeRule):
            return f"{self.rule}: Allow (Calico does not police a node's traffic to its own pods)"
        if self.rule is not None:
            return f"tier {self.tier}: {self.rule.kind} {self.rule.policy} ({self.rule.order_text}) " \
                   f"{self.rule.direction}[{self.rule.index}]: {self.action}"
        if self.tier is not None:
            return f"tier {self.tier}: no rule matched, the tier's default action: {self.action}"
        return "no tier decided: the namespace's profile allows"

    def to_dict(self) -> dict[str, object]:
        if isinstance(self.rule, CalicoRuleRef):
            return self.rule.to_dict()
        return {"tier": self.tier, "kind": None, "policy": None, "order": None, "direction": None, "rule": None,
                "action": self.action, "node_rule": str(self.rule) if self.rule is not None else None}


def is_calico(result: DirectionResult) -> bool:
    """The answer comes from Calico's tiers (a rule or a tier of netpol/policies/calico.py decided or passed)."""
    return any(isinstance(s.decider, CalicoRuleRef) or isinstance(s.passed, CalicoRuleRef)
               or (isinstance(s.decider, str) and s.decider.startswith(TIER_PREFIX)) for s in result.full_walk.segments)


def calico_walk(result: DirectionResult, protocol: Protocol, port: int) -> tuple[WalkStep, ...]:
    """The steps of the walk for one probe: the Pass rules that handed it on, in walking order (the first
    matching rule of each tier it passed through), then the decision (module docstring)."""
    seg: Segment = result.full_walk.at(protocol, port)
    steps: list[WalkStep] = []
    if seg.passed is not None:
        done: set[str] = set()
        for hit in result.first_match_hits:
            ref = hit.ref
            if not isinstance(ref, CalicoRuleRef) or ref.tier in done or hit.rule.action == "Log" \
                    or not hit.ports.contains(protocol, port):
                continue
            done.add(ref.tier)
            steps.append(WalkStep(ref.tier, ref, hit.rule.action))
            if ref == seg.passed:
                break
    if isinstance(seg.decider, CalicoRuleRef):
        steps.append(WalkStep(seg.decider.tier, seg.decider, seg.decider.action))
    elif isinstance(seg.decider, NodeRule):
        steps.append(WalkStep(None, seg.decider, "Allow"))
    elif seg.decider == DEFAULT:
        steps.append(WalkStep(None, None, "Allow"))
    else:
        steps.append(WalkStep(str(seg.decider).removeprefix(TIER_PREFIX), None, "Allow" if seg.allowed else "Deny"))
    return tuple(steps)
