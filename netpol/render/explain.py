"""What each policy does, as a table or JSON: readable where `kubectl describe` is not."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.table import Table
from rich.text import Text

from netpol.query import PolicySummary

_SHOWN_TARGETS = 5


def _targets(s: PolicySummary) -> str:
    pods = ", ".join(t.split("/", 1)[1] for t in s.targets[:_SHOWN_TARGETS])
    more = f" +{len(s.targets) - _SHOWN_TARGETS}" if len(s.targets) > _SHOWN_TARGETS else ""
    return f"[{s.selector}] -> {len(s.targets)} pod(s){': ' + pods + more if s.targets else ''}"


def explain_table(summaries: Iterable[PolicySummary]) -> Table:
    table = Table(title="NetworkPolicies", show_lines=True)
    for name in ("namespace", "policy", "direction", "target pods", "rule", "peers", "ports"):
        table.add_column(name)
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
