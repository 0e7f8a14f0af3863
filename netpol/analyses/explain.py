"""What each NetworkPolicy does, in words: its targets, and per rule its peers and ports (`netpol explain`)."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.analyses.families import families
from netpol.engine import Engine, bit_ids
from netpol.model import Direction, IPBlockPeer, NetworkPolicy, PodPeer, Rule


@dataclass(frozen=True)
class RuleSummary:
    index: int
    peers: tuple[str, ...]
    ports: str


@dataclass(frozen=True)
class PolicySummary:
    """What one policy does in one direction, in words."""

    policy: NetworkPolicy
    direction: Direction
    selector: str
    targets: tuple[str, ...]
    rules: tuple[RuleSummary, ...]
    types_defaulted: bool

    @property
    def effect(self) -> str:
        if not self.rules:
            return f"deny all {self.direction}"
        return f"allow {len(self.rules)} rule(s)"


def summarize_policies(engine: Engine, wanted: set[str] | frozenset[str] | None = None) -> tuple[PolicySummary, ...]:
    """What each NetworkPolicy does per direction it affects (in `wanted` namespaces, if given)."""
    out = []
    for pol in engine.cluster.policies:
        if wanted and pol.namespace not in wanted:
            continue
        selected = families(engine).selected_by(pol.namespace, pol.pod_selector)
        targets = tuple(sorted(p.key for cid in bit_ids(selected) for p in engine.classes[cid].pods))
        for direction in ("ingress", "egress"):
            if pol.affects(direction):
                out.append(PolicySummary(
                    pol, direction, str(pol.pod_selector), targets,
                    tuple(_summarize_rule(i, r, pol.namespace, direction)
                          for i, r in enumerate(pol.rules(direction))),
                    pol.declared_policy_types is None,
                ))
    return tuple(out)


def describe_peer(peer: PodPeer | IPBlockPeer, namespace: str) -> str:
    if isinstance(peer, IPBlockPeer):
        return f"ipBlock {peer.block}"
    if peer.namespace_selector is None:
        where = f"namespace {namespace}"
    elif peer.namespace_selector.selects_all:
        where = "all namespaces"
    else:
        where = f"namespaces [{peer.namespace_selector}]"
    if peer.pod_selector is None or peer.pod_selector.selects_all:
        return f"all pods in {where}"
    return f"pods [{peer.pod_selector}] in {where}"


def _summarize_rule(index: int, rule: Rule, namespace: str, direction: Direction) -> RuleSummary:
    everyone = "all sources" if direction == "ingress" else "all destinations"
    peers = tuple(describe_peer(p, namespace) for p in rule.peers) or (f"{everyone} (pods and addresses)",)
    ports = ", ".join(str(p) for p in rule.ports) if rule.ports else "all ports and ICMP"  # no ports: every protocol
    return RuleSummary(index, peers, ports)
