"""What each policy does, as a table or JSON: readable where `kubectl describe` is not."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from netpol.analyses.cilium_explain import CiliumRuleSummary
from netpol.analyses.explain import PolicySummary
from netpol.analyses.tier_explain import TierPolicySummary

_SHOWN_TARGETS = 5


def _targets(s: PolicySummary) -> str:
    pods = ", ".join(t.split("/", 1)[1] for t in s.targets[:_SHOWN_TARGETS])
    more = f" +{len(s.targets) - _SHOWN_TARGETS}" if len(s.targets) > _SHOWN_TARGETS else ""
    selector = (f"all pods in namespace {s.policy.namespace}" if s.policy.pod_selector.selects_all
                else f"[{s.selector}]")
    return f"{selector} -> {len(s.targets)} pod(s){': ' + pods + more if s.targets else ''}"


WIDE = 120  # the width explain assumes off a terminal; a table that would wrap there is written as blocks


TIER_TITLES = {"Admin": "Admin tier: evaluated first, by priority; the first matching rule decides",
               "Baseline": "Baseline tier: only for pods no NetworkPolicy selects; the first matching rule decides"}


def tier_blocks(tiers: Iterable[TierPolicySummary], tier: str) -> list[Text]:
    """One block per Admin or Baseline policy, rules in order, shadowed rules and ties marked."""
    chosen = [t for t in tiers if t.tier == tier]
    if not chosen:
        return []
    blocks = [Text(TIER_TITLES[tier] + "\n")]
    for t in chosen:
        pol = t.policy
        priority = f"  priority {pol.priority}" if pol.priority is not None else ""
        pods = ", ".join(t.targets[:_SHOWN_TARGETS]) + (f" +{len(t.targets) - _SHOWN_TARGETS}"
                                                         if len(t.targets) > _SHOWN_TARGETS else "")
        lines = [f"{pol.short_kind} {pol.name}{priority}  ({pol.kind}, {pol.api_version})",
                 f"  subject: {t.subject} -> {len(t.targets)} pod(s){': ' + pods if t.targets else ''}"]
        if t.ties:
            lines.append(f"  same priority as {', '.join(t.ties)}: their order is undefined (netpol uses name order)")
        if not t.rules:
            lines.append("  no rules: it decides nothing (tiered policies never isolate)")
        for r in t.rules:
            ref = r.ref
            name = f" {ref.name!r}" if ref.name else ""
            prep = "from" if ref.direction == "ingress" else "to"
            lines.append(f"  {ref.direction}[{ref.index}]{name}: {ref.written_action} on {r.ports}, {prep}:")
            lines.extend(f"    - {peer}" for peer in r.peers)
            if r.shadowed_by:
                lines.append("    shadowed: never decides here, " + ", ".join(str(s) for s in r.shadowed_by)
                             + " decide(s) first")
        blocks.append(Text("\n".join(lines) + "\n"))
    return blocks


def explain_text(summaries: Iterable[PolicySummary], width: int = WIDE,
                 tiers: Iterable[TierPolicySummary] = (), cilium: Iterable[CiliumRuleSummary] = ()) -> RenderableType:
    """The table when it fits in `width` without wrapping a cell; else one block per policy direction,
    wrapped, never truncated. Tiered policies come as blocks around it, in evaluation order: Admin,
    NetworkPolicy, Baseline; with none of the NetworkPolicies, one line says so (no empty table). Cilium's
    own policies come first, one block per rule (their allows and NetworkPolicy's are one union)."""
    tiers, summaries, cilium = list(tiers), list(summaries), list(cilium)
    if cilium:
        rest = explain_text(summaries, width, tiers) if summaries or tiers else Text("NetworkPolicies: none\n")
        return Group(*cilium_blocks(cilium), rest)
    if tiers:
        middle = explain_text(summaries, width) if summaries else Text("NetworkPolicies: none\n")
        return Group(*tier_blocks(tiers, "Admin"), middle, *tier_blocks(tiers, "Baseline"))
    table = explain_table(summaries)
    if _fits(table, width):
        return table
    blocks: list[Text] = []
    for s in summaries:
        direction = s.direction + (" (policyTypes defaulted)" if s.types_defaulted else "")
        lines = [f"{s.policy.namespace}/{s.policy.name}  {direction}", f"  targets: {_targets(s)}"]
        if not s.rules:
            lines.append(f"  none: deny all {s.direction}")
        for rule in s.rules:
            prep = "from" if s.direction == "ingress" else "to"
            lines.append(f"  {s.direction}[{rule.index}] on {rule.ports}, {prep}:")
            lines.extend(f"    - {peer}" for peer in rule.peers)
        blocks.append(Text("\n".join(lines) + "\n"))
    return Group(Text("NetworkPolicies\n"), *blocks)


def _fits(table: Table, width: int) -> bool:
    """The table at its natural width fits in `width` columns: no cell would wrap."""
    console = Console(width=width, file=io.StringIO())
    return Measurement.get(console, console.options.update(width=10**6), table).maximum <= width


def explain_table(summaries: Iterable[PolicySummary]) -> Table:
    table = Table(title="NetworkPolicies", show_lines=True)
    for name in ("namespace", "policy", "direction", "target pods", "rule", "peers", "ports"):
        table.add_column(name, overflow="fold")
    for s in summaries:
        direction = s.direction + (" (defaulted)" if s.types_defaulted else "")
        first = (s.policy.namespace, s.policy.name, direction, _targets(s))
        if not s.rules:
            table.add_row(*map(Text, (*first, "-", f"none: deny all {s.direction}", "-")))
        for i, rule in enumerate(s.rules):
            cells = (*(first if i == 0 else ("", "", "", "")), f"{s.direction}[{rule.index}]",
                     "\n".join(rule.peers), rule.ports)
            table.add_row(*map(Text, cells))
    return table


def _tier_dict(t: TierPolicySummary) -> dict[str, object]:
    pol = t.policy
    return {
        "tier": pol.tier, "kind": pol.kind, "api_version": pol.api_version, "policy": pol.name,
        "priority": pol.priority, "subject": t.subject, "targets": list(t.targets), "same_priority": list(t.ties),
        "rules": [{"direction": r.ref.direction, "index": r.ref.index, "name": r.ref.name,
                   "action": r.ref.written_action, "peers": list(r.peers), "ports": r.ports,
                   "shadowed_by": [s.to_dict() for s in r.shadowed_by]} for r in t.rules],
    }


def explain_json(summaries: Iterable[PolicySummary], tiers: Iterable[TierPolicySummary] = (),
                 cilium: Iterable[CiliumRuleSummary] = ()) -> str:
    """One list in evaluation order: Admin policies, NetworkPolicies (per direction), Baseline policies; Cilium's own
    policies first, one entry per rule."""
    tiers = list(tiers)
    return json.dumps(cilium_dicts(cilium) + [_tier_dict(t) for t in tiers if t.tier == "Admin"] + [
        {
            "tier": "NetworkPolicy",
            "namespace": s.policy.namespace,
            "policy": s.policy.name,
            "direction": s.direction,
            "policy_types_defaulted": s.types_defaulted,
            "pod_selector": s.selector,
            "targets": list(s.targets),
            "effect": s.effect,
            "rules": [{"index": r.index, "peers": list(r.peers), "ports": r.ports} for r in s.rules],
        }
        for s in summaries
    ] + [_tier_dict(t) for t in tiers if t.tier == "Baseline"], indent=2)


CILIUM_TITLE = ("CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies: a matching deny wins; allows of every "
                "policy (NetworkPolicies included) are one union, for the pods a policy isolates\n")


def cilium_blocks(rules: Iterable[CiliumRuleSummary]) -> list[Text]:
    """One block per rule of a CNP or CCNP: subject, isolation, entries in order."""
    blocks = [Text(CILIUM_TITLE)]
    for r in rules:
        pol = r.policy
        pods = ", ".join(r.targets[:_SHOWN_TARGETS]) + (f" +{len(r.targets) - _SHOWN_TARGETS}"
                                                        if len(r.targets) > _SHOWN_TARGETS else "")
        lines = [f"{pol.short} {r.rule.path}  ({pol.kind}, cilium.io/v2)",
                 f"  subject: {r.subject} -> {len(r.targets)} pod(s){': ' + pods if r.targets else ''}",
                 "  isolates: " + (" and ".join(r.isolates) if r.isolates else "nothing (it only adds rules)")]
        for e in r.entries:
            prep = "from" if e.section.startswith("ingress") else "to"
            verb = "deny" if e.section.endswith("Deny") else "allow"
            lines.append(f"  {e.section}[{e.index}]: {verb} on {e.ports}, {prep}:")
            lines.extend(f"    - {peer}" for peer in e.peers)
        blocks.append(Text("\n".join(lines) + "\n"))
    return blocks


def cilium_dicts(rules: Iterable[CiliumRuleSummary]) -> list[dict[str, object]]:
    return [{"kind": r.policy.kind, "api_version": "cilium.io/v2", "namespace": r.policy.namespace,
             "policy": r.policy.name, "rule": r.rule.path, "subject": r.subject, "targets": list(r.targets),
             "isolates": list(r.isolates),
             "entries": [{"section": e.section, "index": e.index, "action": "Deny" if e.section.endswith("Deny")
                          else "Allow", "peers": list(e.peers), "ports": e.ports} for e in r.entries]}
            for r in rules]
