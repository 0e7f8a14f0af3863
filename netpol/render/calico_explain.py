"""`explain` under the calico profile as text or JSON: tiers, their policies and rules in evaluation order."""

from __future__ import annotations

import json
from collections.abc import Iterable

from netpol.analyses.calico_explain import CalicoTierSummary, order_text

CALICO_TITLE = ("Calico tiers in evaluation order: in each tier the first matching rule decides (Pass: the next "
                "tier);\na pod some policy of the tier selects that no rule matched gets the tier's default action; "
                "a pod no\npolicy of the tier selects goes on to the next tier; after the last tier, the namespace's "
                "profile allows")


def calico_text(tiers: Iterable[CalicoTierSummary]) -> str:
    """One block per tier, one line per policy, one per rule; a shadowed rule says which rule decides first."""
    lines = [CALICO_TITLE]
    for t in tiers:
        lines.append(f"tier {t.tier.name}  {order_text(t.tier.order)}  default action {t.tier.default_action}")
        for p in t.policies:
            applies = ", ".join(p.directions) or "no direction"
            lines.append(f"  {p.kind} {p.policy}  {order_text(p.order)}  {applies}"
                         + (f"  selector: {p.selector}" if p.selector else ""))
            if not p.rules:
                lines.append("    no rules")
            for r in p.rules:
                lines.append(f"    {r.direction}[{r.index}] {r.action}: {r.summary}")
                if r.shadowed_by is not None:
                    lines.append(f"      shadowed: never reached, {r.direction}[{r.shadowed_by}] matches all its "
                                 "traffic first")
                elif r.shadowed_across is not None:
                    lines.append("      shadowed: never reached, all its traffic is decided first by "
                                 + r.shadowed_across)
    return "\n".join(lines) + "\n"


def calico_json(tiers: Iterable[CalicoTierSummary]) -> str:
    """One list of tiers in evaluation order, each with its policies and rules in evaluation order."""
    return json.dumps([{
        "tier": t.tier.name, "order": t.tier.order, "default_action": t.tier.default_action,
        "policies": [{"kind": p.kind, "policy": p.policy, "order": p.order, "directions": list(p.directions),
                      "selector": p.selector,
                      "rules": [{"direction": r.direction, "index": r.index, "action": r.action, "summary": r.summary,
                                 "shadowed_by": r.shadowed_by, "shadowed_across": r.shadowed_across}
                                for r in p.rules]} for p in t.policies],
    } for t in tiers], indent=2)
