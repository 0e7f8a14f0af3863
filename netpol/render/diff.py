"""A reachability diff as text, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import json

from netpol.connectivity import port_text
from netpol.diff import Change, ReachabilityDiff

SIGN = {"gained": "+", "lost": "-", "changed": "~"}
SHOWN_SOURCES = 10  # in a Markdown cell before the list folds into a <details> block


def _summary(d: ReachabilityDiff) -> str:
    if not d.changed:
        return "no reachability change"
    parts = [f"{d.count('gained')} connection(s) gained", f"{d.count('lost')} lost", f"{d.count('changed')} with "
             "changed ports"]
    if d.added_pods or d.removed_pods:
        parts.append(f"pods: {len(d.added_pods)} added, {len(d.removed_pods)} removed")
    return ", ".join(parts)


def _ports(c: Change) -> str:
    before, after = port_text(c.before, c.named_before), port_text(c.after, c.named_after)
    if c.kind == "gained":
        return after
    if c.kind == "lost":
        return f"was {before}"
    return f"{before} => {after}"


def _because(c: Change) -> str:
    return f" ({'; '.join(c.because)})" if c.because else ""


def diff_text(d: ReachabilityDiff) -> str:
    lines = [_summary(d)]
    for c in d.changes:
        lines.append(f"{SIGN[c.kind]} {', '.join(c.sources)} -> {c.destination}: {_ports(c)}{_because(c)}")
    lines.extend(f"pod added: {p}" for p in d.added_pods)
    lines.extend(f"pod removed: {p}" for p in d.removed_pods)
    return "\n".join(lines) + "\n"


def diff_markdown(d: ReachabilityDiff) -> str:
    lines = ["### netpol: reachability changes", "", f"**{_summary(d)}**"]
    if d.changes:
        any_because = any(c.because for c in d.changes)
        lines += ["", "| change | from | to | before | after |" + (" rules |" if any_because else ""),
                  "|---|---|---|---|---|" + ("---|" if any_because else "")]
        for c in d.changes:
            sources = ", ".join(f"`{s}`" for s in c.sources)
            if len(c.sources) > SHOWN_SOURCES:  # every source, folded: a review comment stays short
                sources = f"<details><summary>{len(c.sources)} sources</summary>{sources}</details>"
            lines.append(f"| {SIGN[c.kind]} {c.kind} | {sources} | `{c.destination}` | "
                         f"{port_text(c.before, c.named_before)} | {port_text(c.after, c.named_after)} |"
                         + (f" {'; '.join(c.because)} |" if any_because else ""))
    if d.added_pods or d.removed_pods:
        lines.append("")
        lines += [f"- pod added: `{p}`" for p in d.added_pods] + [f"- pod removed: `{p}`" for p in d.removed_pods]
    return "\n".join(lines) + "\n"


def diff_json(d: ReachabilityDiff) -> str:
    return json.dumps({
        "changed": d.changed,
        "gained": d.count("gained"),
        "lost": d.count("lost"),
        "ports_changed": d.count("changed"),
        "changes": [
            {"kind": c.kind, "sources": list(c.sources), "destination": c.destination,
             "before": port_text(c.before, c.named_before), "after": port_text(c.after, c.named_after),
             **({"rules": list(c.because)} if c.because else {})}
            for c in d.changes
        ],
        "added_pods": list(d.added_pods),
        "removed_pods": list(d.removed_pods),
    }, indent=2) + "\n"
