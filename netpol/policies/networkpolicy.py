"""Compile policies into the intermediate form (netpol/policies/stages.py), with provenance.

NetworkPolicies first become per-direction targets: a target is (namespace,
podSelector, direction), and every policy sharing it is merged, the way the API
treats them (isolation by any, allow by any rule). Each rule keeps a RuleRef,
so every allow can name its policy and rule index. `compile_stages` puts the
NetworkPolicy stage between the tiered stages (netpol/policies/tiered.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from netpol.model import (
    DIRECTIONS,
    Cluster,
    Direction,
    IPBlockPeer,
    NamespaceName,
    NetworkPolicy,
    Peer,
    PolicyPort,
)
from netpol.model.portsets import MAX_PORT
from netpol.model.selectors import LabelSelector
from netpol.policies.stages import (
    Addresses,
    Everything,
    NamedPort,
    NodePods,
    NodeRule,
    Nodes,
    Pods,
    PortMatch,
    PortRange,
    Stage,
    StagePolicy,
    StageRule,
    Stages,
)
from netpol.policies.tiered import tier_stages


@dataclass(frozen=True, order=True)
class RuleRef:
    """Names one rule: `default/api-allow ingress[0]`, like its path in the manifest. Its kind and API
    version are those of every NetworkPolicy, so a verdict's provenance says them as a tiered rule's does."""

    kind: ClassVar[str] = "NetworkPolicy"
    api_version: ClassVar[str] = "networking.k8s.io/v1"
    policy: str
    direction: Direction
    index: int

    def __str__(self) -> str:
        return f"{self.policy} {self.direction}[{self.index}]"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "api_version": self.api_version, "policy": self.policy,
                "direction": self.direction, "rule": self.index}


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


def compile_stages(cluster: Cluster) -> Stages:
    """Per direction, the stages in walking order: Admin, NetworkPolicy, Baseline (the tiered stages only
    where such policies exist)."""
    targets = compile_policies(cluster.policies)
    np_stages = {d: network_policy_stage(cluster, d, targets) for d in DIRECTIONS}
    out: Stages = {}
    for d, (admin, baseline) in tier_stages(cluster).items():
        out[d] = (*admin, np_stages[d], *baseline)
    return out


def network_policy_stage(cluster: Cluster, direction: Direction, targets: tuple[Target, ...]) -> Stage:
    """One stage that decides as a whole: each rule an Allow, isolation (end Deny) for the pods a policy
    selects, and the node rule. A policy's rules of a direction it does not apply to are inert: never
    walked, but the class partition reads them as written."""
    rules: list[StageRule] = []
    policies: list[StagePolicy] = []
    for target in targets:
        if target.direction != direction:
            continue
        subject = Pods(target.namespace, None, target.pod_selector)
        policies.extend(StagePolicy(name, subject) for name in target.policies)
        rules.extend(_stage_rule(rule, subject, target.namespace) for rule in target.rules)
    inert = tuple(_stage_rule(CompiledRule(RuleRef(pol.key, direction, i), r.peers, r.ports),
                              Pods(pol.namespace, None, pol.pod_selector), pol.namespace)
                  for pol in cluster.policies if not pol.affects(direction) for i, r in enumerate(pol.rules(direction)))
    return Stage("NetworkPolicy", False, "Deny", (*rules, *node_rules(cluster, direction)), tuple(policies),
                 inert=inert)


def node_rules(cluster: Cluster, direction: Direction) -> tuple[StageRule, ...]:
    """Traffic between a pod and a host-network pod on its own node is always allowed (egress only where
    the plugin exempts it): one Allow per node that runs host-network pods."""
    if direction == "egress" and not cluster.dataplane.own_node_egress_allowed:
        return ()
    nodes = sorted({p.node for p in cluster.pods if p.host_network and p.node is not None})
    return tuple(StageRule(NodeRule(n, direction), NodePods(n), (Nodes(frozenset({n}), frozenset()),), None,
                           "Allow") for n in nodes)


def _stage_rule(rule: CompiledRule, subject: Pods, namespace: str) -> StageRule:
    peers = tuple(Addresses(p.block) if isinstance(p, IPBlockPeer) else
                  Pods(namespace if p.namespace_selector is None else None, p.namespace_selector, p.pod_selector)
                  for p in rule.peers) or (Everything(),)
    return StageRule(rule.ref, subject, peers, policy_ports(rule.ports), "Allow", rule)


def policy_ports(ports: tuple[PolicyPort, ...]) -> PortMatch:
    """A NetworkPolicy rule's ports in the form: a named port keeps its protocol."""
    if not ports:
        return None
    return tuple(PortRange(p.protocol, 1, MAX_PORT) if p.port is None else
                 NamedPort(p.port, p.protocol) if isinstance(p.port, str) else
                 PortRange(p.protocol, p.port, p.end_port if p.end_port is not None else p.port) for p in ports)
