"""Checks on Admin and Baseline policies (NP110-NP113).

Shadowing is found two ways. From the policies alone: an earlier rule of the
tier that certainly covers this one (every namespace, pod and node this rule's
subject and peers can select, the earlier rule's select too, exactly by
lint.cover.implies; its networks contain this rule's, its ports cover this
rule's); that holds for every pod that could exist. With pods: the
engine's exact walk over the classes (tier_explain.shadowed_by), which holds
for the pods in the input. Same-priority overlap is exact for possible pods:
two rules overlap when some label set satisfies both subjects and both peers.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from netpol.analyses.families import families
from netpol.analyses.lint.cover import implies, namespace_selector
from netpol.analyses.lint.findings import PEERS_KEY, Finding, finding
from netpol.analyses.tier_explain import shadowed_by
from netpol.engine import Engine
from netpol.model import DIRECTIONS, Cluster, Direction, TieredPolicy, TierPeer, TierPort, TierRule, TierSelector
from netpol.model.portsets import PortSet
from netpol.model.selectors import EVERYTHING, satisfiable
from netpol.sources.tiered import V1ALPHA1, V1ALPHA2


def check(cluster: Cluster) -> Iterator[Finding]:
    yield from _mixed_versions(cluster)
    for policy in cluster.tiered:
        for direction in DIRECTIONS:
            for i, rule in enumerate(policy.rules(direction)):
                for j, peer in enumerate(rule.peers):
                    if peer.domains and rule.action != "Accept":
                        yield finding("NP112", policy, f"{direction}[{i}] is a {rule.written_action} rule with "
                                      f"domainNames {', '.join(peer.domains)}: domainNames is for "
                                      f"{'Accept' if policy.kind == 'ClusterNetworkPolicy' else 'Allow'} rules "
                                      "only, and this peer denies nothing",
                                      f"spec.{direction}[{i}].{PEERS_KEY[direction]}[{j}].domainNames")
    for policy, direction, i, by in _syntactic_shadowing(cluster):
        yield finding("NP110", policy, f"{direction}[{i}] is never reached: {by} comes first in the "
                      f"{policy.tier} tier and matches every pod, peer and port it names", f"spec.{direction}[{i}]")
    yield from _same_priority(cluster)


def check_engine(engine: Engine) -> Iterator[Finding]:
    """NP110 for the pods in the input, where the policies alone did not show it."""
    certain = {(p.key, d, i) for p, d, i, _ in _syntactic_shadowing(engine.cluster)}
    by_key: dict[tuple[str, str], TieredPolicy] = {(p.kind, p.name): p for p in engine.cluster.tiered}
    for (_, direction), rules in sorted(families(engine).tier_rules.items()):
        for rule in rules:
            policy = by_key[(rule.ref.kind, rule.ref.policy)]
            if (policy.key, direction, rule.ref.index) in certain:
                continue
            deciders = shadowed_by(engine, rule, direction)
            if any(d.policy != rule.ref.policy and d.priority == rule.ref.priority for d in deciders):
                continue  # decided by a rule of equal priority: the order is undefined (NP111), not certain
            if deciders:
                yield finding("NP110", policy, f"{direction}[{rule.ref.index}] is never reached for the pods in "
                              f"the input: {', '.join(str(d) for d in deciders)} decide everything it would",
                              f"spec.{direction}[{rule.ref.index}]")


def _mixed_versions(cluster: Cluster) -> Iterator[Finding]:
    old = [p for p in cluster.tiered if p.api_version == V1ALPHA1]
    new = [p for p in cluster.tiered if p.api_version == V1ALPHA2]
    if old and new:
        fewer, version = (old, "v1alpha1") if len(old) <= len(new) else (new, "v1alpha2")
        yield finding("NP113", fewer[0], f"{len(old)} v1alpha1 and {len(new)} v1alpha2 tiered policies are in one "
                      "input; a cluster serves one version of these CRDs, so one set will not apply (this is the "
                      f"first of the {len(fewer)} {version} one{'s' if len(fewer) > 1 else ''})", "apiVersion")


# -- shadowing from the policies alone ------------------------------------------------------------

def _syntactic_shadowing(cluster: Cluster) -> Iterator[tuple[TieredPolicy, Direction, int, str]]:
    """(policy, direction, rule index, the earlier rule) for rules an earlier rule certainly covers."""
    for direction in DIRECTIONS:
        earlier: list[tuple[TieredPolicy, int, TierRule]] = []
        for policy in cluster.tiered:  # in evaluation order
            for i, rule in enumerate(policy.rules(direction)):
                by = next((e for e in earlier if e[0].tier == policy.tier and _surely_before(e, policy)
                           and _covers(e[0].subject, e[2], policy.subject, rule)), None)
                if by is not None:
                    yield policy, direction, i, _name(by[0], direction, by[1], by[2])
                earlier.append((policy, i, rule))


def _surely_before(entry: tuple[TieredPolicy, int, TierRule], policy: TieredPolicy) -> bool:
    """The same policy (rules are in written order), or a strictly lower priority: equal is undefined."""
    other = entry[0]
    return other is policy or (other.priority is not None and policy.priority is not None
                               and other.priority < policy.priority)


def _name(policy: TieredPolicy, direction: Direction, index: int, rule: TierRule) -> str:
    priority = f" priority {policy.priority}" if policy.priority is not None else ""
    return f"{policy.short_kind} {policy.name}{priority} {direction}[{index}] ({rule.written_action})"


def _covers(outer_subject: TierSelector, outer: TierRule, subject: TierSelector, rule: TierRule) -> bool:
    if any(p.unknown is not None for p in (*outer.peers, *rule.peers)):
        return False
    return (_selector_covers(outer_subject, subject) and _ports_cover(outer.ports, rule.ports)
            and all(any(_peer_covers(o, p) for o in outer.peers) for p in rule.peers))


def _selector_covers(outer: TierSelector, inner: TierSelector) -> bool:
    """Exact for every namespace and pod that could exist (lint.cover.implies; a namespace always has
    its kubernetes.io/metadata.name label)."""
    return implies(namespace_selector(inner.namespace_selector), outer.namespace_selector) and (
        outer.pod_selector is None or implies(inner.pod_selector or EVERYTHING, outer.pod_selector))


def _peer_covers(outer: TierPeer, inner: TierPeer) -> bool:
    if outer.pods is not None and inner.pods is not None:
        return _selector_covers(outer.pods, inner.pods)
    if outer.networks and inner.networks:
        return all(any(n.version == o.version and n.subnet_of(o) for o in outer.networks)  # type: ignore[arg-type]
                   for n in inner.networks)
    if outer.nodes is not None and inner.nodes is not None:
        return implies(inner.nodes, outer.nodes)
    return False  # domainNames match nothing netpol can see: never a reason to call a rule shadowed


def _ports_cover(outer: tuple[TierPort, ...] | None, inner: tuple[TierPort, ...] | None) -> bool:
    if outer is None:
        return True
    if inner is None:
        return False
    outer_names = {p.name for p in outer if p.name is not None}
    if any(p.name is not None and p.name not in outer_names for p in inner):
        return False
    return not _numbers(inner).difference(_numbers(outer))


def _numbers(ports: tuple[TierPort, ...]) -> PortSet:
    return PortSet.of((p.protocol, p.first, p.last) for p in ports if p.protocol is not None)


# -- same-priority overlap ------------------------------------------------------------------------

def _same_priority(cluster: Cluster) -> Iterator[Finding]:
    by_priority: dict[tuple[str, int], list[TieredPolicy]] = {}
    for p in cluster.tiered:
        if p.priority is not None:
            by_priority.setdefault((p.tier, p.priority), []).append(p)
    for policies in by_priority.values():
        for a, b in combinations(policies, 2):
            if not _intersect(a.subject, b.subject):
                continue
            clash = next(((d, i, j, ra, rb) for d in DIRECTIONS for i, ra in enumerate(a.rules(d))
                          for j, rb in enumerate(b.rules(d)) if ra.action != rb.action and _overlap(ra, rb)), None)
            if clash is not None:
                d, i, j, ra, rb = clash
                yield finding("NP111", b, f"priority {b.priority} is also {a.short_kind} {a.name}'s, and "
                              f"{d}[{j}] ({rb.written_action}) overlaps {a.name} {d}[{i}] ({ra.written_action}) "
                              "for pods both select: which one decides is undefined", "spec.priority")


def _intersect(a: TierSelector, b: TierSelector) -> bool:
    pods = [s for s in (a.pod_selector, b.pod_selector) if s is not None]
    return satisfiable(a.namespace_selector, b.namespace_selector) and satisfiable(*pods)


def _overlap(a: TierRule, b: TierRule) -> bool:
    return _ports_overlap(a.ports, b.ports) and any(_peers_overlap(p, q) for p in a.peers for q in b.peers)


def _peers_overlap(p: TierPeer, q: TierPeer) -> bool:
    if p.pods is not None and q.pods is not None:
        return _intersect(p.pods, q.pods)
    if p.networks and q.networks:
        return any(n.version == m.version and n.overlaps(m) for n in p.networks for m in q.networks)
    if p.nodes is not None and q.nodes is not None:
        return satisfiable(p.nodes, q.nodes)
    return False


def _ports_overlap(a: tuple[TierPort, ...] | None, b: tuple[TierPort, ...] | None) -> bool:
    if a is None or b is None:
        return True
    if bool(_numbers(a).intersection(_numbers(b))):
        return True
    names_a, names_b = ({p.name for p in ports if p.name is not None} for ports in (a, b))
    if names_a & names_b:
        return True
    # a named port can resolve to any number and protocol: it may meet the other side's numbers
    return bool(names_a and _numbers(b)) or bool(names_b and _numbers(a))
