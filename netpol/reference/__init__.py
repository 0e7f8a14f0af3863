"""A deliberately naive evaluator that decides one connection straight from the spec (and, for the
tiered policies, straight from the brief's §3 walk: Admin, NetworkPolicy, Baseline, default).

It shares nothing with the engine but the model and LabelSelector.matches:
no classes, no index, no caches, no compiled targets. Property-based tests
check that the engine agrees with it on every pair of random clusters, so
keep it obviously correct rather than fast. It makes the same documented
plugin-dependent assumptions as the engine (docs/semantics.md).

ICMP and ICMPv6 probes carry the message's type and code as `port` (portsets.icmp_value): a rule's
ports name TCP, UDP or SCTP only, so no entry of them matches ICMP, and a rule without ports matches
every protocol, ICMP included (the spec's "matches all ports", docs/semantics.md §7).
"""

from __future__ import annotations

import ipaddress

from netpol.model import Cluster, IPAddress, NetworkPolicy, Pod, PodPeer, Rule, TierRule, TierSelector
from netpol.model.portsets import Protocol

Endpoint = Pod | IPAddress


def reference_allowed(cluster: Cluster, src: Endpoint, dst: Endpoint, protocol: Protocol, port: int) -> bool:
    """True when the source's egress and the destination's ingress both allow the connection."""
    if isinstance(src, Pod) and isinstance(dst, Pod) and src.key == dst.key and src.is_one_pod:
        return True  # a pod's traffic to itself is not subject to policy (assumption); replicas are distinct pods
    return (
        _direction_allows(cluster, "Egress", src, dst, dst, protocol, port)
        and _direction_allows(cluster, "Ingress", dst, src, dst, protocol, port)
    )


def _policy_types(policy: NetworkPolicy) -> list[str]:
    if policy.declared_policy_types:
        return list(policy.declared_policy_types)
    types = ["Ingress"]
    if len(policy.egress) > 0:
        types.append("Egress")
    return types


def _direction_allows(cluster: Cluster, policy_type: str, subject: Endpoint, peer: Endpoint,
                      dst: Endpoint, protocol: Protocol, port: int) -> bool:
    if not isinstance(subject, Pod):
        return True  # outside the cluster: no policy applies
    if subject.host_network:
        return True  # never a subject of any tier, never isolated by NetworkPolicy
    direction = "ingress" if policy_type == "Ingress" else "egress"
    decided = _tier(cluster, "Admin", direction, subject, peer, dst, protocol, port)
    if decided is not None:
        return decided
    own_node = direction == "ingress" or cluster.dataplane.own_node_egress_allowed  # Cilium, Calico: ingress only
    if own_node and isinstance(peer, Pod) and peer.host_network and peer.node is not None and peer.node == subject.node:
        return True  # NetworkPolicy: traffic to and from the pod's own node is always allowed
    if own_node and not isinstance(peer, Pod) and subject.host_ip is not None and peer == subject.host_ip:
        return True  # the same, for the node's address
    selecting = [
        pol for pol in cluster.policies
        if pol.namespace == subject.namespace
        and policy_type in _policy_types(pol)
        and pol.pod_selector.matches(dict(subject.labels))
    ]
    if not selecting:
        decided = _tier(cluster, "Baseline", direction, subject, peer, dst, protocol, port)
        return True if decided is None else decided  # nothing decided: the Kubernetes default, allowed
    for pol in selecting:
        rules = pol.ingress if policy_type == "Ingress" else pol.egress
        for rule in rules:
            if _peer_ok(cluster, pol, rule, peer) and _port_ok(rule, dst, protocol, port):
                return True
    return False


def _tier(cluster: Cluster, tier: str, direction: str, subject: Pod, peer: Endpoint, dst: Endpoint,
          protocol: Protocol, port: int) -> bool | None:
    """The first matching rule of the tier decides: True (Accept), False (Deny); None: Pass, or no match.

    cluster.tiered is in evaluation order (priority, then v1alpha1 before v1alpha2, then name).
    """
    for pol in cluster.tiered:
        if pol.tier != tier or not _selects(cluster, pol.subject, subject):
            continue
        for rule in pol.ingress if direction == "ingress" else pol.egress:
            if _tier_peer_ok(cluster, rule, peer) and _tier_port_ok(rule, dst, protocol, port):
                if rule.action == "Pass":
                    return None  # skip every remaining rule of this tier
                return rule.action == "Accept"
    return None


def _namespace_labels(cluster: Cluster, name: str) -> dict[str, str]:
    for ns in cluster.namespaces:
        if ns.name == name:
            return dict(ns.labels)
    return {}


def _selects(cluster: Cluster, sel: TierSelector, pod: Pod) -> bool:
    """A tiered subject or pod peer: never a host-network pod."""
    if pod.host_network:
        return False
    if not sel.namespace_selector.matches(_namespace_labels(cluster, pod.namespace)):
        return False
    return sel.pod_selector is None or sel.pod_selector.matches(dict(pod.labels))


def _tier_peer_ok(cluster: Cluster, rule: TierRule, peer: Endpoint) -> bool:
    for p in rule.peers:
        if p.unknown is not None:
            if rule.action != "Accept":
                return True  # fails closed: a Deny or Pass with an unknown peer matches everything
            continue
        if p.pods is not None:
            if isinstance(peer, Pod) and _selects(cluster, p.pods, peer):
                return True
        elif p.networks:
            ips = list(peer.ips) if isinstance(peer, Pod) else [peer]
            if any(ip.version == n.version and ip in n for ip in ips for n in p.networks):
                return True
        elif p.nodes is not None:
            for node in cluster.nodes:
                if not p.nodes.matches(dict(node.labels)):
                    continue
                if isinstance(peer, Pod) and peer.host_network and peer.node == node.name:
                    return True
                if not isinstance(peer, Pod) and peer in node.addresses:
                    return True
        # domainNames: no pod or address of the analysis has a DNS name to match (an assumption)
    return False


def _tier_port_ok(rule: TierRule, dst: Endpoint, protocol: Protocol, port: int) -> bool:
    if rule.ports is None:
        return True
    for p in rule.ports:
        if p.name is not None:
            if isinstance(dst, Pod) and any(c.name == p.name and c.protocol == protocol and c.port == port
                                            for c in dst.ports):
                return True
        elif p.protocol == protocol and p.first <= port <= p.last:
            return True
    return False


def _in_block(ip: IPAddress, cidr: object, excepts: tuple[object, ...]) -> bool:
    net = ipaddress.ip_network(str(cidr), strict=False)
    if ip.version != net.version or ip not in net:
        return False
    return all(ip not in ipaddress.ip_network(str(e), strict=False) for e in excepts)


def _peer_ok(cluster: Cluster, policy: NetworkPolicy, rule: Rule, peer: Endpoint) -> bool:
    if len(rule.peers) == 0:
        return True
    for spec in rule.peers:
        if isinstance(spec, PodPeer):
            if not isinstance(peer, Pod) or peer.host_network:
                continue
            if spec.namespace_selector is None:
                ns_ok = peer.namespace == policy.namespace
            else:
                ns_labels = {}
                for ns in cluster.namespaces:
                    if ns.name == peer.namespace:
                        ns_labels = dict(ns.labels)
                ns_ok = spec.namespace_selector.matches(ns_labels)
            pod_ok = spec.pod_selector is None or spec.pod_selector.matches(dict(peer.labels))
            if ns_ok and pod_ok:
                return True
        else:  # Cilium: an ipBlock never matches a pod's address (nor a host-network pod's, its node's)
            ips = (list(peer.ips) if cluster.dataplane.ip_block_matches_cluster else []) if isinstance(peer, Pod) \
                else [peer]
            if any(_in_block(ip, spec.block.cidr, spec.block.excepts) for ip in ips):
                return True
    return False


def _port_ok(rule: Rule, dst: Endpoint, protocol: Protocol, port: int) -> bool:
    if len(rule.ports) == 0:
        return True
    for p in rule.ports:
        if p.protocol != protocol:
            continue
        if p.port is None:
            return True
        if isinstance(p.port, int):
            end = p.end_port if p.end_port is not None else p.port
            if p.port <= port <= end:
                return True
        elif isinstance(dst, Pod):
            for c in dst.ports:
                if c.name == p.port and c.protocol == protocol and c.port == port:
                    return True
    return False
