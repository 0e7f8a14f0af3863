"""Compile policies into per-direction targets with provenance.

A target is (namespace, podSelector, direction): every policy sharing it is
merged, the way the API treats them (isolation by any, allow by any rule).
Each rule keeps a RuleRef, so every allow can name its policy and rule index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netpol.model import DIRECTIONS, ContainerPort, Direction, NamespaceName, NetworkPolicy, Peer, PolicyPort
from netpol.portsets import ALL_PORTS, MAX_PORT, NO_PORTS, PortSet, Protocol
from netpol.selectors import LabelSelector


@dataclass(frozen=True, order=True)
class RuleRef:
    """Names one rule: `default/api-allow ingress[0]`, like its path in the manifest."""

    policy: str
    direction: Direction
    index: int

    def __str__(self) -> str:
        return f"{self.policy} {self.direction}[{self.index}]"


@dataclass(frozen=True)
class CompiledRule:
    ref: RuleRef
    peers: tuple[Peer, ...]  # empty: every peer, in and outside the cluster
    ports: tuple[PolicyPort, ...]  # empty: every port


@dataclass(frozen=True)
class Target:
    """The pods one or more policies isolate in one direction, and the rules that then allow."""

    namespace: NamespaceName
    pod_selector: LabelSelector
    direction: Direction
    policies: tuple[str, ...]
    rules: tuple[CompiledRule, ...]


def compile_policies(policies: Iterable[NetworkPolicy]) -> tuple[Target, ...]:
    """Targets sorted by (direction, namespace, selector) so output is deterministic."""
    grouped: dict[tuple[Direction, str, LabelSelector], tuple[list[str], list[CompiledRule]]] = {}
    for policy in policies:
        for direction in DIRECTIONS:
            if not policy.affects(direction):
                continue
            key = (direction, policy.namespace, policy.pod_selector)
            names, rules = grouped.setdefault(key, ([], []))
            names.append(policy.key)
            rules.extend(
                CompiledRule(RuleRef(policy.key, direction, i), rule.peers, rule.ports)
                for i, rule in enumerate(policy.rules(direction))
            )
    return tuple(
        Target(NamespaceName(ns), sel, direction, tuple(sorted(names)), tuple(sorted(rules, key=lambda r: r.ref)))
        for (direction, ns, sel), (names, rules) in sorted(grouped.items(), key=lambda kv: kv[0])
    )


def resolve_ports(ports: tuple[PolicyPort, ...], destination: tuple[ContainerPort, ...] | None) -> PortSet:
    """The traffic a rule's ports allow towards one destination.

    Named ports resolve against the destination pod's container ports with the
    same protocol; an endpoint outside the cluster (destination None) has no
    named ports, so a named port never matches it.
    """
    if not ports:
        return ALL_PORTS
    items: list[tuple[Protocol, int, int]] = []
    for p in ports:
        if p.port is None:
            items.append((p.protocol, 1, MAX_PORT))
        elif isinstance(p.port, int):
            items.append((p.protocol, p.port, p.end_port if p.end_port is not None else p.port))
        else:
            items.extend(
                (c.protocol, c.port, c.port)
                for c in destination or ()
                if c.name == p.port and c.protocol == p.protocol
            )
    return PortSet.of(items) if items else NO_PORTS
