"""Compile what the Cilium agent enforces (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy)
into the intermediate form (netpol/policies/stages.py), with provenance.

Per direction (shared/reference/cilium-policies.md §3): a first-match stage of every deny rule (`end` Pass, no
policies: a matching deny wins wherever it stands), then one stage of every allow rule of every kind, decided
as a union (`end` Deny for the pods some policy isolates). A policy isolates a direction when one of its entries
there is default-deny (§3.2: `ingress: [{}]` isolates and allows nothing, `ingress: []` does not isolate,
`enableDefaultDeny: {ingress: false}` adds allows without isolating; deny entries isolate too); a NetworkPolicy
by its policyTypes, which the profile has already widened to every direction with rules (§6.1).

Who is who follows the agent's identities (§2): selectors read a pod's identity labels (CiliumIdentities), with the
terms the agent adds (§2.3); `host` and `remote-node` depend on the subject's node, so rules naming them are
split per node that runs host-network pods or has known addresses (OnNode); a node is its host-network pods and
its addresses (§2.4, §2.5); CIDRs match addresses outside the cluster only (§4.2: the profile's Dataplane puts no
pod in a block, and every block leaves the node addresses out). What runtime facts decide matches nothing
(toFQDNs, toGroups, Services without a selector, the kube-apiserver entity); L7 rules and mutual authentication
admit the L4 connection: `assumptions` names each, and every answer states them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

from netpol.errors import NetpolError
from netpol.model import (
    DIRECTIONS,
    METADATA_NAME_LABEL,
    Cluster,
    Direction,
    IPAddress,
    IPBlock,
    IPBlockPeer,
    Pod,
    PodPeer,
)
from netpol.model.cilium import (
    CCNP_KIND,
    CILIUM_V2,
    CLUSTER_LABEL,
    K8S_SOURCE,
    L4_PROTOCOLS,
    NAMESPACE_LABELS_PREFIX,
    POD_NAMESPACE_LABEL,
    RESERVED_KINDS,
    RESERVED_SOURCE,
    SERVICE_ACCOUNT_LABEL,
    CIDRPeer,
    CiliumEntry,
    CiliumOptions,
    CiliumPeer,
    CiliumPolicy,
    CiliumRule,
    identity_labels,
    reserved_labels,
    sourced,
    split_key,
)
from netpol.model.portsets import MAX_PORT, icmp_value
from netpol.model.selectors import LabelSelector, Requirement, requirement
from netpol.policies.networkpolicy import (
    CompiledRule,
    Target,
    compile_policies,
    network_policy_stage,
    policy_ports,
)
from netpol.policies.stages import (
    Addresses,
    Everything,
    HostNetwork,
    Identified,
    Identities,
    NamedPort,
    NodePods,
    NodeRule,
    Nodes,
    OnNode,
    Peer,
    Pods,
    PortMatch,
    PortRange,
    Stage,
    StagePolicy,
    StageRule,
    Stages,
)

DENY_STAGE = "Cilium deny rules"
ALLOW_STAGE = "Cilium allow rules"
_WORLD = (IPBlock(ipaddress.ip_network("0.0.0.0/0")), IPBlock(ipaddress.ip_network("::/0")))
_NODE_ENTITIES = frozenset({"host", "remote-node"})


@dataclass(frozen=True, order=True)
class CiliumRuleRef:
    """Names one entry of a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: `CNP a/web spec ingressDeny[0]`."""

    kind: str
    api_version: str
    policy: str  # namespace/name, or the name of a clusterwide policy
    namespace: str | None
    rule: str  # spec, or specs[i]
    direction: Direction
    section: str  # ingress, ingressDeny, egress, egressDeny
    index: int
    action: Literal["Allow", "Deny"]

    @property
    def short_kind(self) -> str:
        return "CCNP" if self.kind == CCNP_KIND else "CNP"

    def __str__(self) -> str:
        return f"{self.short_kind} {self.policy} {self.rule} {self.section}[{self.index}]"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "api_version": self.api_version, "policy": self.policy,
                "namespace": self.namespace, "rule": self.rule, "direction": self.direction,
                "section": self.section, "index": self.index, "action": self.action}


DEFAULTS = CiliumOptions()  # the agent options at Cilium 1.20's defaults, stated in every answer
CNI_OPTION = "--cni-option"
# The agent options that change an L3/L4 answer and the values netpol evaluates (cilium-policies.md §1.3); auto is
# allow-localhost's default, always under Kubernetes. The host firewall (host policies) is not modelled: only off.
OPTION_VALUES = {
    "enable-policy": ("default", "always", "never"),
    "allow-localhost": ("auto", "always", "policy"),
    "policy-cidr-match-mode": ("", "nodes"),
    "policy-default-local-cluster": ("true", "false"),
    "enable-non-default-deny-policies": ("true", "false"),
    "enable-host-firewall": ("false",),
    "enable-k8s-cluster-network-policy": ("false",),
}


@dataclass(frozen=True, eq=False)
class CiliumIdentities(Identities):
    """Each pod's identity labels as Cilium's selectors see them (model.cilium.identity_labels)."""

    cluster_name: str = DEFAULTS.cluster_name

    @property
    def parameters(self) -> tuple[object, ...]:
        return (self.cluster_name,)

    def labels(self, pod: Pod) -> Mapping[str, str]:
        return identity_labels(pod.labels, pod.namespace, self._namespaces.get(pod.namespace, {}).items(),
                               pod.service_account, self.cluster_name)

    @cached_property
    def _namespaces(self) -> dict[str, dict[str, str]]:
        return {ns.name: ns.label_map for ns in self.cluster.namespaces}


class CiliumOptionError(NetpolError):
    """A --cni-option netpol does not know, or a value it does not evaluate."""


def parse_options(texts: Iterable[str]) -> CiliumOptions:
    """`KEY=VALUE` of each --cni-option, over 1.20's defaults; a later one of a key wins."""
    options = DEFAULTS
    for text in texts:
        key, equals, value = (part.strip() for part in text.partition("="))
        known = OPTION_VALUES.get(key)
        if not equals or known is None:
            raise CiliumOptionError(f"{CNI_OPTION} {text!r}: expected KEY=VALUE with KEY one of "
                                    f"{', '.join(OPTION_VALUES)} (the Cilium agent options that change an answer)")
        if value not in known:
            extra = {"policy-cidr-match-mode": " (pods: netpol does not model it yet)",
                     "enable-host-firewall": " (host policies are not modelled)",
                     "enable-k8s-cluster-network-policy": " (ClusterNetworkPolicy under Cilium is not modelled: it "
                                                          "is left out and named in every answer)"}.get(key, "")
            shown = " or ".join(v or "''" for v in known)
            raise CiliumOptionError(f"{CNI_OPTION} {text!r}: {key} takes {shown}{extra}")
        if key == "enable-policy":
            options = replace(options, enable_policy=value)  # type: ignore[arg-type]
        elif key == "allow-localhost":
            options = replace(options, allow_localhost="policy" if value == "policy" else "always")
        elif key == "policy-cidr-match-mode":
            options = replace(options, policy_cidr_match_mode=frozenset({"nodes"} if value else ()))
        elif key == "policy-default-local-cluster":
            options = replace(options, default_local_cluster=value == "true")
        elif key == "enable-non-default-deny-policies":
            options = replace(options, non_default_deny_policies=value == "true")
    return options


def cluster_options(cluster: Cluster) -> CiliumOptions:
    """The agent options an input is evaluated under (--cni-option over 1.20's defaults)."""
    return cluster.cilium_options or DEFAULTS


def cilium_stages(cluster: Cluster) -> Stages:
    """Per direction: the deny stage (only where a deny rule exists), then the allow stage; with enable-policy=never
    one stage that selects nobody (nothing enforced), with always one that isolates every endpoint (§1.3)."""
    options = cluster_options(cluster)
    if options.enable_policy == "never":
        return {d: (Stage(ALLOW_STAGE, False, "Deny", ()),) for d in DIRECTIONS}
    ctx = _Context(cluster, options, node_addresses(cluster))
    targets = compile_policies(cluster.policies)
    ids = CiliumIdentities(cluster, options.cluster_name)
    out: Stages = {}
    for d in DIRECTIONS:
        denies: list[StageRule] = []
        allows: list[StageRule] = []
        policies: list[StagePolicy] = []
        entered: list[Identified] = []  # the subjects of rules with entries in this direction
        for policy in cluster.cilium:
            for rule in policy.rules:
                if rule.endpoint_selector is None:
                    continue  # a host policy: no effect without the host firewall (§1.2)
                subject = Identified(ids, subject_selector(policy, rule.endpoint_selector))
                entries = rule.entries(d)
                if entries:
                    entered.append(subject)
                if any(e.default_deny or not options.non_default_deny_policies for e in entries):
                    policies.append(StagePolicy(_policy_name(policy, rule), subject))
                for entry in entries:
                    (denies if entry.deny else allows).extend(_rules(ctx, policy, rule, entry, d, subject))
        np_rules, np_policies = _network_policies(ctx, ids, targets, d)
        allows.extend(np_rules)
        if options.enable_policy == "always":  # every endpoint default-deny, with or without rules
            # allow-localhost only where the pod has entries (1.20, cilium#48444)
            having = {*entered, *(p.subject for p in np_policies if isinstance(p.subject, Identified))}
            allows.extend(_localhost(ctx, d, sorted(having, key=str)))
            policies.append(StagePolicy("enable-policy=always", Identified(ids, LabelSelector())))
        else:
            allows.extend(_localhost(ctx, d))  # allow-localhost: the lowest allow, below every deny (§3.5)
        # NetworkPolicy's rules as the generic profile compiles them, never walked: the analyses that read a
        # NetworkPolicy's selectors through the class partition (lint, explain) find their keys and namespaces
        as_written = network_policy_stage(cluster, d, targets)
        deny_stage = (Stage(DENY_STAGE, True, "Pass", tuple(denies)),) if denies else ()
        out[d] = (*deny_stage, Stage(ALLOW_STAGE, False, "Deny", tuple(allows), (*policies, *np_policies),
                                     inert=(*as_written.rules, *as_written.inert)))
    return out


NodeAddresses = dict[str | None, frozenset[IPAddress]]


def node_addresses(cluster: Cluster) -> NodeAddresses:
    """§2.4, §2.5: each node's addresses that are no pod's (Node status.addresses, then its pods' status.hostIP
    and its host-network pods' IPs), each under the first node that names it; None: those of pods on no node."""
    pod_ips = {ip for p in cluster.pods if not p.host_network for ip in p.ips}
    found: dict[IPAddress, str | None] = {}
    for node in cluster.nodes:
        for ip in node.addresses:
            found.setdefault(ip, node.name)
    for pod in cluster.pods:
        for ip in (*((pod.host_ip,) if pod.host_ip is not None else ()), *(pod.ips if pod.host_network else ())):
            found.setdefault(ip, pod.node)
    out: dict[str | None, set[IPAddress]] = {}
    for ip, name in found.items():
        if ip not in pod_ips:
            out.setdefault(name, set()).add(ip)
    return {name: frozenset(ips) for name, ips in out.items()}


@dataclass(frozen=True)
class _Context:
    """What every rule of one compilation reads: the input, the agent options, the nodes' addresses."""

    cluster: Cluster
    options: CiliumOptions
    addresses: NodeAddresses

    @cached_property
    def nodes(self) -> tuple[str, ...]:
        """The nodes `host` and `remote-node` tell apart: those with host-network pods or known addresses."""
        return tuple(sorted({p.node for p in self.cluster.pods if p.host_network and p.node is not None}
                            | {n for n in self.addresses if n is not None}))

    @cached_property
    def every_address(self) -> frozenset[IPAddress]:
        return frozenset().union(*self.addresses.values())

    @cached_property
    def api_server(self) -> tuple[Peer, ...]:
        """§2.4 kube-apiserver: the endpoints of Service default/kubernetes (its EndpointSlices or Endpoints in the
        input): a named node that has one of them is the API server's (its host-network pods and every address of
        it); another address is that address alone, never a pod."""
        wanted = set(self.cluster.api_server)
        named = sorted(n for n, ips in self.addresses.items() if n is not None and ips & wanted)
        nodes = [Nodes(frozenset({n}), self.addresses[n]) for n in named]
        taken = set().union(*(self.addresses[n] for n in named), self.pod_ips)
        stray = frozenset(ip for ip in self.addresses.get(None, frozenset()) if ip in wanted)
        outside = sorted((ip for ip in wanted if ip not in taken and ip not in stray), key=lambda ip: (ip.version, ip))
        return (*nodes, *((Nodes(frozenset(), stray),) if stray else ()),
                *(Addresses(IPBlock(ipaddress.ip_network(ip))) for ip in outside))

    @cached_property
    def pod_ips(self) -> frozenset[IPAddress]:
        return frozenset(ip for p in self.cluster.pods if not p.host_network for ip in p.ips)

    def outside(self, block: IPBlock) -> Addresses:
        """§4.2: a CIDR matches no node address (with policy-cidr-match-mode=nodes, none through a /0 prefix,
        cilium#47827): the block less the node addresses in it."""
        if "nodes" in self.options.policy_cidr_match_mode and block.cidr.prefixlen:
            return Addresses(block)
        inside = sorted((ip for ip in self.every_address if block.contains(ip)), key=lambda ip: (ip.version, ip))
        if not inside:
            return Addresses(block)
        return Addresses(replace(block, excepts=(*block.excepts, *(ipaddress.ip_network(ip) for ip in inside))))


def _localhost(ctx: _Context, direction: Direction, having: list[Identified] | None = None) -> Iterator[StageRule]:
    """§3.5 allow-localhost=always: ingress from a pod's own node (its host-network pods and addresses) is allowed,
    below every deny; one rule per node (per node and subject of `having`, the pods with entries, if given)."""
    if direction == "egress" or ctx.options.allow_localhost != "always":
        return
    for node in ctx.nodes:
        peers = (Nodes(frozenset({node}), ctx.addresses.get(node, frozenset())),)
        for subject in (NodePods(node),) if having is None else (OnNode(h, node) for h in having):
            yield StageRule(NodeRule(node, direction), subject, peers, None, "Allow")


def _policy_name(policy: CiliumPolicy, rule: CiliumRule) -> str:
    """How isolation names a policy's rule: `CNP a/web`, `CCNP base specs[1]`."""
    return policy.short + ("" if rule.index is None else f" {rule.path}")


# -- who ------------------------------------------------------------------------------------------


def rule_subject(cluster: Cluster, policy: CiliumPolicy, selector: LabelSelector) -> Identified:
    """The pods a rule's endpointSelector selects (`subject_selector`) by their identities in `cluster`."""
    return Identified(CiliumIdentities(cluster), subject_selector(policy, selector))


def subject_selector(policy: CiliumPolicy, selector: LabelSelector) -> LabelSelector:
    """§2.3: a CNP's endpointSelector gains its namespace (replacing a matchLabels entry of that key; other
    namespace terms are ANDed); a CCNP's selects in every namespace."""
    if policy.namespace is None:
        return selector
    pod_ns = f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}"
    kept = [r for r in selector.requirements if not (r.key == pod_ns and r.operator == "In" and len(r.values) == 1)]
    return _selector([*kept, requirement(pod_ns, "In", [policy.namespace])])


def _selector(requirements: list[Requirement]) -> LabelSelector:
    return LabelSelector(tuple(sorted(set(requirements))))


def _rules(ctx: _Context, policy: CiliumPolicy, rule: CiliumRule, entry: CiliumEntry, direction: Direction,
           subject: Identified) -> Iterator[StageRule]:
    """The stage rules of one entry: none where it matches nothing, one per node where its peers depend on the
    subject's node."""
    ports = entry_ports(entry)
    if ports == ():
        return  # every toPorts item without ports: matches nothing (§9 Q5)
    section = direction + ("Deny" if entry.deny else "")
    ref = CiliumRuleRef(policy.kind, CILIUM_V2, policy.key.partition("/")[2], policy.namespace, rule.path,
                        direction, section, entry.index, "Deny" if entry.deny else "Allow")
    if entry.peer is None:  # §4.1: no peer field: with ports any peer, without ports nothing
        if ports is not None:
            yield StageRule(ref, subject, (Everything(),), ports, ref.action, entry)
        return
    entities, peers = _peer(ctx, subject.identities, policy, entry.peer, direction)
    if not entities & _NODE_ENTITIES:
        peers.extend(p for e in sorted(entities) for p in _entity(ctx, e, None))
        if peers:
            yield StageRule(ref, subject, tuple(peers), ports, ref.action, entry)
        return
    for node in (*ctx.nodes, None):
        split = [*peers, *(p for e in sorted(entities) for p in _entity(ctx, e, node))]
        if split:
            yield StageRule(ref, OnNode(subject, node), tuple(split), ports, ref.action, entry)


def _peer(ctx: _Context, ids: Identities, policy: CiliumPolicy, field: CiliumPeer, direction: Direction
          ) -> tuple[set[str], list[Peer]]:
    """The entities a peer field names (a selector with `reserved:` keys names the reserved identities it matches),
    and its other peers. §4.1: its items are ORed; an empty list matches nothing."""
    entities: set[str] = set(field.entities)
    peers: list[Peer] = []
    for selector in field.endpoints:
        if any(split_key(r.key)[0] == RESERVED_SOURCE for r in selector.requirements):
            peers.append(Identified(ids, selector))  # no terms added: pods, and the reserved identities it matches
            entities.update(k for k in RESERVED_KINDS if selector.matches(reserved_labels(k)))
        else:
            peers.append(Identified(ids, _peer_selector(policy.namespace, selector, ctx.options)))
    for item in field.cidrs:
        peers.extend(ctx.outside(b) for b in cidr_blocks(ctx.cluster, item))
    if direction == "egress":
        peers.extend(_services(ids, ctx.cluster, field))
    return entities, peers


def _peer_selector(namespace: str | None, selector: LabelSelector, options: CiliumOptions) -> LabelSelector:
    """§2.3: a CNP peer is in its namespace unless it names a namespace or namespace labels; a CCNP's in some
    namespace (pods only) unless it names one; both in this cluster unless they name one."""
    names = {split_key(r.key)[1] for r in selector.requirements}
    reqs = list(selector.requirements)
    pod_ns = f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}"
    if namespace is not None:
        if POD_NAMESPACE_LABEL not in names and not any(n.startswith(NAMESPACE_LABELS_PREFIX) for n in names):
            reqs.append(requirement(pod_ns, "In", [namespace]))
    elif POD_NAMESPACE_LABEL not in names:
        reqs.append(requirement(pod_ns, "Exists"))
    if CLUSTER_LABEL not in names and options.default_local_cluster:
        reqs.append(requirement(f"{K8S_SOURCE}:{CLUSTER_LABEL}", "In", [options.cluster_name]))
    return _selector(reqs)


def _entity(ctx: _Context, entity: str, node: str | None) -> tuple[Peer, ...]:
    """§2.4 for a subject on `node` (None: on no node netpol tells apart; host and remote-node are only asked with
    the subject split per node): a node is its host-network pods and its addresses; kube-apiserver the API
    server's endpoints (`_Context.api_server`); health, ingress, init and unmanaged stand for nothing netpol
    knows, none for nothing."""
    if entity == "all":
        return (Everything(),)
    if entity == "world":
        return tuple(ctx.outside(b) for b in _WORLD)
    if entity in ("cluster", "cluster-mesh"):
        # every pod and node, and the API server outside the cluster (its identity is {kube-apiserver, world})
        return Pods(None, None, None), HostNetwork(None), Nodes(frozenset(), ctx.every_address), *ctx.api_server
    if entity == "host" and node is not None:
        return (Nodes(frozenset({node}), ctx.addresses.get(node, frozenset())),)
    if entity == "remote-node":
        own = ctx.addresses.get(node, frozenset()) if node is not None else frozenset()  # None: on no known node
        return HostNetwork(node), Nodes(frozenset(), ctx.every_address - own)
    if entity == "kube-apiserver":
        return ctx.api_server
    return ()


def cidr_blocks(cluster: Cluster, item: CIDRPeer) -> Iterator[IPBlock]:
    """§4.2: a cidr with its excepts, or a CIDR group's CIDRs (by name or labels; a missing group is nothing)."""
    networks = [item.cidr] if item.cidr is not None else []
    for group in cluster.cidr_groups:
        if group.name == item.group or (item.group_selector is not None and item.group_selector.matches(
                sourced(dict(group.labels), K8S_SOURCE))):
            networks.extend(group.cidrs)
    for net in networks:
        excepts = tuple(e for e in item.excepts
                        if e.version == net.version and e.subnet_of(net))  # type: ignore[arg-type]
        yield IPBlock(net, excepts)


def _services(ids: Identities, cluster: Cluster, field: CiliumPeer) -> Iterator[Peer]:
    """§4.3: Services by name or labels in a namespace (none: every namespace); one with a selector is its pods,
    one without is its EndpointSlices' addresses, which netpol does not read (nothing)."""
    for item in field.services:
        for svc in cluster.services:
            if (item.namespace is not None and svc.namespace != item.namespace) or \
                    (item.name is not None and svc.name != item.name) or svc.selector is None or \
                    (item.selector is not None and not item.selector.matches(sourced(dict(svc.labels), K8S_SOURCE))):
                continue
            pods = [requirement(f"{K8S_SOURCE}:{k}", "In", [v]) for k, v in svc.selector]
            yield Identified(ids, _selector([*pods, requirement(f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}", "In",
                                                                [svc.namespace])]))


def entry_ports(entry: CiliumEntry) -> PortMatch:
    """§5: no toPorts and no icmps: every protocol, ICMP included; else the ports and ICMP types named (an item
    without ports names none). ANY is TCP, UDP and SCTP; port 0 every port; a named port the destination's."""
    if not entry.to_ports and not entry.icmps:
        return None
    out: list[PortRange | NamedPort] = []
    for item in entry.to_ports:
        for p in item.ports:
            protocols = L4_PROTOCOLS if p.protocol == "ANY" else (p.protocol,) if p.protocol in L4_PROTOCOLS else ()
            if isinstance(p.port, str):
                if protocols:
                    out.append(NamedPort(p.port, None if p.protocol == "ANY" else p.protocol))  # type: ignore[arg-type]
                continue
            first, last = (1, MAX_PORT) if p.port == 0 else (p.port, p.end_port or p.port)
            out.extend(PortRange(proto, first, last) for proto in protocols)  # type: ignore[arg-type]
    for field in entry.icmps:
        out.extend(PortRange("ICMP" if t.family == "IPv4" else "ICMPv6", icmp_value(t.type, 0),
                             icmp_value(t.type, 255)) for t in field)
    return tuple(out)


# -- NetworkPolicy under Cilium (§6.1) --------------------------------------------------------------


def _network_policies(ctx: _Context, ids: Identities, targets: tuple[Target, ...], direction: Direction
                      ) -> tuple[list[StageRule], list[StagePolicy]]:
    """Each policy's pods by identity in its namespace; each rule an Allow: a pod peer by identity (podSelector
    keys are k8s: labels, namespaceSelector keys namespace labels), an ipBlock a CIDR, no peers every identity."""
    rules: list[StageRule] = []
    policies: list[StagePolicy] = []
    for target in targets:
        if target.direction != direction:
            continue
        subject = Identified(ids, _np_selector(target.pod_selector, target.namespace, None))
        policies.extend(StagePolicy(name, subject) for name in target.policies)
        rules.extend(_np_rule(ctx, rule, subject, target.namespace) for rule in target.rules)
    return rules, policies


def _np_rule(ctx: _Context, rule: CompiledRule, subject: Identified, namespace: str) -> StageRule:
    peers = tuple(ctx.outside(p.block) if isinstance(p, IPBlockPeer) else _np_peer(subject.identities, p, namespace)
                  for p in rule.peers) or (Everything(),)
    return StageRule(rule.ref, subject, peers, policy_ports(rule.ports), "Allow", rule)


def _np_peer(ids: Identities, peer: PodPeer, namespace: str) -> Identified:
    return Identified(ids, _np_selector(peer.pod_selector, namespace if peer.namespace_selector is None else None,
                                        peer.namespace_selector))


def _np_selector(pods: LabelSelector | None, namespace: str | None, namespaces: LabelSelector | None
                 ) -> LabelSelector:
    """A NetworkPolicy selector as the agent translates it: pod label keys as k8s: labels, in `namespace`, or in the
    namespaces whose labels `namespaces` matches (every namespace for {}: pods only)."""
    reqs = [requirement(f"{K8S_SOURCE}:{r.key}", r.operator, r.values) for r in (pods or LabelSelector()).requirements]
    reqs.extend(requirement(f"{K8S_SOURCE}:{NAMESPACE_LABELS_PREFIX}{r.key}", r.operator, r.values)
                for r in (namespaces or LabelSelector()).requirements)
    pod_ns = f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}"
    reqs.append(requirement(pod_ns, "In", [namespace]) if namespace is not None else requirement(pod_ns, "Exists"))
    return _selector(reqs)



# -- what runtime facts decide (§1.2): stated in every answer ----------------------------------------

_RUNTIME_ENTITIES = ("kube-apiserver", "health", "ingress", "init", "unmanaged")


def cilium_assumptions(cluster: Cluster) -> list[str]:
    """The agent options assumed, and per entry what only runtime facts decide, as netpol answers it."""
    options = cluster_options(cluster)
    changed = sorted(k for k in OPTION_VALUES if _option(options, k) != _option(DEFAULTS, k))
    how = f"set by {CNI_OPTION}: {', '.join(changed)}" if changed else "at their 1.20 defaults"
    values = ", ".join(f"{k}={_option(options, k) or '(empty)'}" for k in OPTION_VALUES)
    out = [f"Cilium agent options {how}: {values}, cluster-name={options.cluster_name}"]
    out.extend(f"{CNI_OPTION} {key}={_option(options, key)}: {_OVERRIDES[key]}" for key in changed)
    for policy in cluster.cilium:
        for rule in policy.rules:
            if rule.endpoint_selector is None:
                out.append(f"{policy.short} {rule.path}: a host policy (nodeSelector) takes effect only with "
                           "enable-host-firewall (off by default): netpol gives it no effect")
            for d in DIRECTIONS:
                for entry in rule.entries(d):
                    where = f"{policy.short} {rule.path} {entry.section(d)}"
                    out.extend(f"{where}: {note}" for note in _runtime(cluster, entry))
    return out


_OVERRIDES = {  # what an option changes of the profile's answers, which state the defaults
    "enable-policy": "always: every pod is isolated both ways, with or without rules; never: nothing is enforced "
                     "(this overrides the answers above)",
    "allow-localhost": "ingress from a pod's own node is allowed only by rules (this overrides the own node answer)",
    "policy-cidr-match-mode": "CIDR rules and ipBlocks match node addresses and host-network pods too, never through "
                              "a /0 prefix (cilium#47827; this overrides the ipBlock and node addresses answers)",
    "policy-default-local-cluster": "peer selectors match pods of any cluster (here: this one)",
    "enable-non-default-deny-policies": "enableDefaultDeny false is ignored: every rule isolates",
}


def _option(options: CiliumOptions, key: str) -> str:
    """An option's value as the agent writes it."""
    return {"enable-policy": options.enable_policy, "allow-localhost": options.allow_localhost,
            "policy-cidr-match-mode": ",".join(sorted(options.policy_cidr_match_mode)),
            "policy-default-local-cluster": str(options.default_local_cluster).lower(),
            "enable-non-default-deny-policies": str(options.non_default_deny_policies).lower(),
            "enable-host-firewall": "false", "enable-k8s-cluster-network-policy": "false"}[key]


def _runtime(cluster: Cluster, entry: CiliumEntry) -> Iterator[str]:
    peer = entry.peer
    if peer is not None and peer.runtime:
        yield (f"{peer.field} {', '.join(peer.runtime)}: which addresses it matches depends on DNS answers or the "
               "cloud provider at run time; netpol assumes it matches nothing (Cilium may allow more), never a pod")
    for entity in sorted(set(peer.entities if peer is not None else ()) & set(_RUNTIME_ENTITIES)):
        if entity != "kube-apiserver":
            yield f"entity {entity}: netpol knows no address or pod it stands for here, so it matches nothing"
        elif not cluster.api_server:
            yield ("entity kube-apiserver: the input holds no EndpointSlice or Endpoints of Service "
                   "default/kubernetes, so it matches nothing")
        else:
            yield (f"entity kube-apiserver: the endpoints of Service default/kubernetes "
                   f"({', '.join(str(ip) for ip in cluster.api_server)}), and the nodes that hold one of them")
    for item in peer.services if peer is not None else ():
        if not any((item.namespace is None or s.namespace == item.namespace) and s.selector is not None
                   and (item.name is None or s.name == item.name) for s in cluster.services):
            yield ("toServices names no Service with a selector in the input: it matches nothing (a Service without "
                   "a selector stands for its EndpointSlices' addresses, which netpol does not read)")
    for item in entry.to_ports:
        if item.l7 is not None:
            yield (f"{item.l7} rules filter requests further at run time: netpol answers at L4 (the connection is "
                   "allowed; requests may still be refused)")
    if entry.authentication is not None:
        yield f"authentication mode {entry.authentication}: decided at run time; netpol assumes it succeeds"


# -- for possible pods (netpol/analyses/regions.py) --------------------------------------------------


def label_selectors(policies: Iterable[CiliumPolicy]) -> list[tuple[LabelSelector, LabelSelector]]:
    """The namespace part (namespace labels, and the name as kubernetes.io/metadata.name) and the pod-label part of
    every endpoint selector of these policies, as (namespace selector, pod selector): possible pods are cut where
    Cilium's selectors tell pods apart. The service account is cut as the pod-label key SERVICE_ACCOUNT_LABEL (a
    pod's own label of that key is no identity label: the key stands for the account, `service_account_key`); the
    cluster is no label of a possible pod (it is in this cluster)."""
    out: list[tuple[LabelSelector, LabelSelector]] = []
    for policy in policies:
        for rule in policy.rules:
            selectors = [rule.endpoint_selector] if rule.endpoint_selector is not None else []
            selectors.extend(s for d in DIRECTIONS for e in rule.entries(d) if e.peer is not None
                             for s in e.peer.endpoints)
            for selector in selectors:
                pod_part, ns_part = _label_parts(selector)
                out.append((LabelSelector(tuple(sorted(ns_part))), LabelSelector(tuple(sorted(pod_part)))))
    return out


def _label_parts(selector: LabelSelector) -> tuple[set[Requirement], set[Requirement]]:
    pod_part: set[Requirement] = set()
    ns_part: set[Requirement] = set()
    for r in selector.requirements:
        source, key = split_key(r.key)
        if source not in (K8S_SOURCE, "any") or key == CLUSTER_LABEL:
            continue
        if key == POD_NAMESPACE_LABEL:
            ns_part.add(requirement(METADATA_NAME_LABEL, r.operator, r.values))
        elif key.startswith(NAMESPACE_LABELS_PREFIX):
            ns_part.add(requirement(key.removeprefix(NAMESPACE_LABELS_PREFIX), r.operator, r.values))
        else:
            pod_part.add(requirement(key, r.operator, r.values))
    return pod_part, ns_part


def service_account_key(cluster: Cluster) -> str | None:
    """Under the cilium profile, the pod-label key whose value is a possible pod's service account: Cilium's
    selectors, a NetworkPolicy's pod selectors among them, read SERVICE_ACCOUNT_LABEL as the account (§2.1; the
    identity drops a pod's own io.cilium.k8s labels). None elsewhere: there the key is a pod's own label."""
    return SERVICE_ACCOUNT_LABEL if cluster.dataplane.profile == "cilium" else None
