"""What each policy does, as a table or JSON: readable where `kubectl describe` is not."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netpol.query import PolicySummary

_SHOWN_TARGETS = 5


def _targets(s: PolicySummary) -> str:
    pods = ", ".join(t.split("/", 1)[1] for t in s.targets[:_SHOWN_TARGETS])
    more = f" +{len(s.targets) - _SHOWN_TARGETS}" if len(s.targets) > _SHOWN_TARGETS else ""
    return f"[{s.selector}] -> {len(s.targets)} pod(s){': ' + pods + more if s.targets else ''}"


WIDE = 120  # below this width a 7-column table truncates: explain writes blocks instead


def explain_text(summaries: Iterable[PolicySummary], width: int = WIDE) -> RenderableType:
    """The table on a wide terminal; else one block per policy direction, wrapped, never truncated."""
    if width >= WIDE:
        return explain_table(summaries)
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


def explain_json(summaries: Iterable[PolicySummary]) -> str:
    return json.dumps([
        {
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
    ], indent=2)
