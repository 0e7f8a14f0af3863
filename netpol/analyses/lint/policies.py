"""Checks that need only the NetworkPolicies (NP0xx, NP101-NP109, NP114): they run on a pull request with no pods."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping

from netpol.analyses.lint.catalogue import RULES
from netpol.analyses.lint.cover import rule_covers
from netpol.analyses.lint.findings import PEERS_KEY, Finding, Subject, finding
from netpol.model import DIRECTIONS, Cluster, Direction, IPBlock, IPBlockPeer, NetworkPolicy, PodPeer, Rule

_EVERY_ADDRESS = {ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")}


def check(cluster: Cluster) -> Iterator[Finding]:
    yield from _unknown_ids(cluster)
    namespaces = cluster.namespaces_by_name
    for policy in cluster.policies:
        yield from _ignored_rules(policy)
        own = namespaces.get(policy.namespace)
        labels = own.label_map if own is not None and own.declared else None
        for direction, i, j in covered_rules(policy, labels):
            yield finding("NP114", policy, f"{direction}[{i}] allows nothing that {direction}[{j}] of the same "
                          f"policy does not already allow, whatever pods exist: its peers and ports lie within "
                          f"{direction}[{j}]'s", f"spec.{direction}[{i}]")
        for direction in DIRECTIONS:
            for index, rule in enumerate(policy.rules(direction)):
                yield from _peers(policy, direction, index, rule)
                if direction == "ingress" and policy.affects("ingress"):
                    yield from _undoes_isolation(policy, f"spec.ingress[{index}]", rule)
    yield from _same_selector(cluster)


def covered_rules(policy: NetworkPolicy, labels: Mapping[str, str] | None) -> Iterator[tuple[Direction, int, int]]:
    """(direction, rule, covering rule) for each rule another rule of the policy covers for every pod that
    could exist. Of two rules that cover each other (copies), the later one is reported."""
    for direction in DIRECTIONS:
        if not policy.affects(direction):
            continue  # NP101/NP102: the rules are ignored anyway
        rules = policy.rules(direction)
        for i, inner in enumerate(rules):
            by = next((j for j, outer in enumerate(rules) if j != i and rule_covers(outer, inner, policy.namespace,
                       labels) and not (j > i and rule_covers(inner, outer, policy.namespace, labels))), None)
            if by is not None:
                yield direction, i, by


def _unknown_ids(cluster: Cluster) -> Iterator[Finding]:
    objects: list[Subject] = [*cluster.policies, *cluster.tiered, *cluster.namespaces, *cluster.pods,
                              *(cluster.calico.policies if cluster.calico is not None else ())]
    for obj in objects:
        unknown = [i for i in obj.lint_ignore if i.upper() not in RULES and i.lower() != "all"]
        if unknown:
            yield finding("NP001", obj, f"netpol.io/lint-ignore names unknown rule {', '.join(unknown)}",
                          "metadata.annotations")


def _ignored_rules(policy: NetworkPolicy) -> Iterator[Finding]:
    declared = policy.declared_policy_types
    if not declared:
        return
    for direction, rule_id in (("egress", "NP101"), ("ingress", "NP102")):
        rules = policy.rules(direction)  # type: ignore[arg-type]
        if rules and not policy.affects(direction):  # type: ignore[arg-type]
            yield finding(rule_id, policy, f"policyTypes is [{', '.join(declared)}], so its {len(rules)} "
                          f"{direction} rule{'s' if len(rules) > 1 else ''} {'are' if len(rules) > 1 else 'is'} "
                          "ignored", f"spec.{direction}")


def _peers(policy: NetworkPolicy, direction: Direction, index: int, rule: Rule) -> Iterator[Finding]:
    key, path = PEERS_KEY[direction], f"spec.{direction}[{index}]"
    ns_only = [i for i, p in enumerate(rule.peers)
               if isinstance(p, PodPeer) and p.pod_selector is None and p.namespace_selector is not None]
    pods_only = [i for i, p in enumerate(rule.peers)
                 if isinstance(p, PodPeer) and p.namespace_selector is None and p.pod_selector is not None]
    if ns_only and pods_only:
        n, p = rule.peers[ns_only[0]], rule.peers[pods_only[0]]
        assert isinstance(n, PodPeer) and isinstance(p, PodPeer) and n.namespace_selector and p.pod_selector
        yield finding("NP103", policy,
                      f"{direction}[{index}] has {key}[{ns_only[0]}] (namespaceSelector "
                      f"{n.namespace_selector} only) and {key}[{pods_only[0]}] (podSelector {p.pod_selector} "
                      f"only) as separate peers: it allows every pod in namespaces [{n.namespace_selector}], not "
                      f"only pods [{p.pod_selector}]; put both selectors in one peer to require both",
                      f"{path}.{key}[{ns_only[0]}]")
    for j, peer in enumerate(rule.peers):
        where = f"{path}.{key}[{j}]"
        if isinstance(peer, IPBlockPeer):
            yield from _ip_block(policy, where, peer.block)
        elif (peer.namespace_selector is not None and peer.namespace_selector.selects_all
              and peer.pod_selector is not None and not peer.pod_selector.selects_all):
            yield finding("NP106", policy, f"{where.removeprefix('spec.')} has namespaceSelector {{}}: it matches "
                          f"pods [{peer.pod_selector}] in every namespace, not only in {policy.namespace}",
                          f"{where}.namespaceSelector")


def _ip_block(policy: NetworkPolicy, where: str, block: IPBlock) -> Iterator[Finding]:
    short = where.removeprefix("spec.")
    if block.written is not None:
        yield finding("NP104", policy, f"{short}: cidr {block.written} has host bits set; it means {block.cidr}",
                      f"{where}.ipBlock.cidr")
    if block.excepts and _covered(block):
        yield finding("NP105", policy, f"{short}: ipBlock {block} matches no address (its excepts cover "
                      f"{block.cidr})", f"{where}.ipBlock.except")


def _covered(block: IPBlock) -> bool:
    """The excepts (subnets of the cidr, as validated) leave no address of it."""
    merged = ipaddress.collapse_addresses(block.excepts)  # type: ignore[type-var]
    return sum(int(e.num_addresses) for e in merged) >= block.cidr.num_addresses


def _undoes_isolation(policy: NetworkPolicy, path: str, rule: Rule) -> Iterator[Finding]:
    ports = _every_port(rule)
    if ports is None:
        return
    if not rule.peers:
        what = "every pod and every address (no 'from')"
    elif any(isinstance(p, PodPeer) and p.namespace_selector is not None and p.namespace_selector.selects_all
             and (p.pod_selector is None or p.pod_selector.selects_all) for p in rule.peers):
        what = "every pod of every namespace (namespaceSelector: {})"
    else:
        everywhere = [str(p.block) for p in rule.peers
                      if isinstance(p, IPBlockPeer) and p.block.cidr in _EVERY_ADDRESS and not p.block.excepts]
        if not everywhere:
            return
        what = f"every address ({', '.join(everywhere)})"
    yield finding("NP107", policy, f"{path.removeprefix('spec.')} allows {what} on {ports}: the ingress "
                  f"isolation of the pods [{policy.pod_selector}] it selects does nothing for that traffic", path)


def _every_port(rule: Rule) -> str | None:
    """"every port" for a rule without ports, "every TCP port" for `- protocol: TCP`; None otherwise."""
    if not rule.ports:
        return "every port"
    whole = sorted({p.protocol for p in rule.ports if p.port is None})
    return f"every {'/'.join(whole)} port" if whole else None


def _same_selector(cluster: Cluster) -> Iterator[Finding]:
    by_target: dict[tuple[str, object], list[NetworkPolicy]] = {}
    for policy in cluster.policies:
        by_target.setdefault((policy.namespace, policy.pod_selector), []).append(policy)
    for group in by_target.values():
        if len(group) < 2:
            continue
        first_of: dict[tuple[object, ...], NetworkPolicy] = {}
        for policy in group:
            shape = (policy.policy_types, policy.ingress, policy.egress)
            original = first_of.setdefault(shape, policy)
            if original is not policy:
                yield finding("NP108", policy, f"same podSelector [{policy.pod_selector}], policy types and rules "
                              f"as {original.key}: one of them is a copy", "spec")
        for direction in DIRECTIONS:
            deny_all = [p for p in group if p.affects(direction) and not p.rules(direction)]
            allowing = [p for p in group if p.affects(direction) and p.rules(direction)]
            for policy in deny_all:
                if allowing:
                    others = ", ".join(p.key for p in allowing)
                    yield finding("NP109", policy, f"denies all {direction} to the pods [{policy.pod_selector}], "
                                  f"but {others} select{'s' if len(allowing) == 1 else ''} the same pods and "
                                  f"allow{'s' if len(allowing) == 1 else ''} some {direction}: NetworkPolicies "
                                  "only add allows, so this denies nothing more", "spec.podSelector")
