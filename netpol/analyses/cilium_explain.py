"""What each CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy does, in words (`netpol explain` under the cilium
profile): per rule (spec or specs[i]) the pods it selects, whether it isolates each direction, and per entry of
each section its peers and ports, as netpol/policies/cilium.py compiles them."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.engine import Engine, bit_ids
from netpol.model import DIRECTIONS, Direction
from netpol.model.cilium import CiliumEntry, CiliumPeer, CiliumPolicy, CiliumRule
from netpol.policies.cilium import DEFAULTS, rule_subject


@dataclass(frozen=True)
class EntrySummary:
    section: str  # ingress, ingressDeny, egress, egressDeny
    index: int
    peers: tuple[str, ...]
    ports: str


@dataclass(frozen=True)
class CiliumRuleSummary:
    """One rule of a CNP or CCNP: its subject, the directions it isolates and its entries."""

    policy: CiliumPolicy
    rule: CiliumRule
    subject: str
    targets: tuple[str, ...]
    isolates: tuple[Direction, ...]
    entries: tuple[EntrySummary, ...]


def summarize_cilium(engine: Engine, wanted: set[str] | frozenset[str] | None = None) -> tuple[CiliumRuleSummary, ...]:
    """Every rule of every CNP and CCNP (CNPs of `wanted` namespaces, CCNPs that select a pod there, if given)."""
    out = []
    for policy in engine.cluster.cilium:
        for rule in policy.rules:
            if rule.endpoint_selector is None:
                subject, targets = f"nodes [{rule.node_selector}] (a host policy: no effect without the host " \
                                   "firewall)", ()
            else:
                bits = engine.subject_bits(rule_subject(engine.cluster, policy, rule.endpoint_selector))
                targets = tuple(sorted(p.key for cid in bit_ids(bits) for p in engine.classes[cid].pods))
                subject = f"[{rule.endpoint_selector}]" + (f" in namespace {policy.namespace}" if policy.namespace
                                                           else " in every namespace")
            if wanted and (policy.namespace not in wanted if policy.namespace else
                           not any(t.split("/", 1)[0] in wanted for t in targets)):
                continue
            isolates = tuple(d for d in DIRECTIONS if rule.endpoint_selector is not None and any(
                e.default_deny or not DEFAULTS.non_default_deny_policies for e in rule.entries(d)))
            entries = tuple(EntrySummary(e.section(d).split("[")[0], e.index, _peers(e, d), _ports(e))
                            for d in DIRECTIONS for e in rule.entries(d))
            out.append(CiliumRuleSummary(policy, rule, subject, targets, isolates, entries))
    return tuple(out)


def _peers(entry: CiliumEntry, direction: Direction) -> tuple[str, ...]:
    if entry.peer is None:
        return ("any peer, in and outside the cluster",) if entry.to_ports or entry.icmps else \
            ("nothing (no peer and no ports)",)
    return _peer(entry.peer) or (f"nothing ({entry.peer.field} is empty)",)


def _peer(peer: CiliumPeer) -> tuple[str, ...]:
    items = [*(f"endpoints [{s}]" for s in peer.endpoints), *(f"entity {e}" for e in peer.entities)]
    for c in peer.cidrs:
        what = str(c.cidr) if c.cidr is not None else f"CIDR group {c.group}" if c.group else \
            f"CIDR groups [{c.group_selector}]"
        items.append(what + (f" except {', '.join(map(str, c.excepts))}" if c.excepts else "")
                     + " (outside addresses only)")
    items.extend(f"Service {s.namespace or '*'}/{s.name or '[' + str(s.selector) + ']'}" for s in peer.services)
    items.extend(f"{peer.field} {r} (decided at run time: matches nothing here)" for r in peer.runtime)
    return tuple(items)


def _ports(entry: CiliumEntry) -> str:
    if not entry.to_ports and not entry.icmps:
        return "all ports and ICMP"
    parts = [str(p) for item in entry.to_ports for p in item.ports]
    parts.extend(str(t) for item in entry.icmps for t in item)
    l7 = sorted({item.l7 for item in entry.to_ports if item.l7})
    return (", ".join(parts) or "nothing") + (f" (L7 {', '.join(l7)}: requests filtered at run time)" if l7 else "")
