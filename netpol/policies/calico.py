"""Calico's policies in the intermediate form (netpol/policies/stages.py), as Felix enforces them
(shared/reference/calico-policies.md, "brief §n" below; docs/semantics.md §16).

Per direction, one first-match stage per tier, tiers by order (none last), then name: `default` holds
policies without a tier and the Kubernetes NetworkPolicies at order 1000; the network-policy-api kinds sit
in the admin and baseline tiers (kube-admin, kube-baseline; adminnetworkpolicy, baselineadminnetworkpolicy
where the input holds v1alpha1 kinds, which only Calico 3.30 and 3.31 enforce). A stage's rules are its
tier's policies by order (none last), ties by Calico's key, each policy's rules in written order with
their actions (Allow, Deny, Pass, Log); its end is the tier's defaultAction, applied to the pods a
policy of the tier selects for the direction (`types` as Calico defaults them, sources/calico.py).

A Calico rule becomes one stage rule per packet family and destination kind it can match, so that every
condition is a set of pods or addresses: its subject is the policy's selector with the rule's own side
(an ingress rule's destination is the pod itself), its peer the other side (one stages.AllOf each).
ICMP packets are IPv4 and ICMPv6 packets IPv6; other packets are IPv6 when an end has IPv6 addresses only
(the reference evaluator's choice, netpol/reference/calico.py). A side with named ports splits into the
endpoints where they resolve (their own labels satisfy the side's selector) and the rest (numeric ports
only). A rule's `source.ports` never match (the client's port is assumed outside them), its
`source.notPorts` always do; `http` is not checked (the rule matches at L4).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from netpol.model import (
    DIRECTIONS,
    Cluster,
    Direction,
    IPAddress,
    IPBlock,
    IPBlockPeer,
    NetworkPolicy,
    Pod,
    TieredPolicy,
    TierRule,
)
from netpol.model.calico import (
    DEFAULT_ACCOUNT,
    NAMESPACE_LABEL,
    ORCHESTRATOR,
    Action,
    SERVICE_ACCOUNT_LABEL,
    CalicoObjects,
    CalicoPolicy,
    CalicoPort,
    CalicoRule,
    EntityRule,
    ICMPMatch,
    endpoint_labels,
    set_labels,
)
from netpol.model.calico_selectors import ALL, Compare, Has, InSet, Node, Not, conjunction, prefixed, replace_all
from netpol.model.portsets import MAX_PORT, Protocol, bounds, icmp_value
from netpol.model.selectors import LabelSelector
from netpol.policies.networkpolicy import CompiledRule, RuleRef, policy_ports
from netpol.policies.stages import (
    Addresses,
    AllOf,
    AnyOf,
    Condition,
    Everything,
    Identified,
    Identities,
    IPv6,
    NamedPort,
    NodePods,
    NodeRule,
    Nodes,
    Pods,
    PortExcept,
    PortRange,
    Stage,
    StagePolicy,
    StageRule,
    Stages,
    Verdict,
)
from netpol.policies.stages import Not as NotTerm
from netpol.policies.tiered import TierRuleRef, tier_stages

PROFILE = "calico"
KNP_ORDER = 1000.0  # where Calico places a Kubernetes NetworkPolicy in the default tier (brief §6)
BANP_ORDER = 1000.0  # a BaselineAdminNetworkPolicy is treated as if it had order 1,000 (brief §6)
DEFAULT_TIER = "default"
_NUMBERS: dict[Protocol, int] = {"TCP": 6, "UDP": 17, "SCTP": 132, "ICMP": 1, "ICMPv6": 58}
_PORT_PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")
_ICMP_OF_FAMILY: dict[int, Protocol] = {4: "ICMP", 6: "ICMPv6"}


@dataclass(frozen=True)
class CalicoRuleRef:
    """Names one Calico rule as a verdict says it: tier, policy, order, direction, rule index, action."""

    tier: str
    kind: str
    policy: str  # namespace/name, or name for a global policy
    order: float | None
    direction: Direction
    index: int
    action: str

    @property
    def order_text(self) -> str:
        return "no order" if self.order is None else f"order {self.order:g}"

    def __str__(self) -> str:
        return f"{self.kind} {self.policy} (tier {self.tier}, {self.order_text}) {self.direction}[{self.index}] " \
               f"({self.action})"

    def to_dict(self) -> dict[str, object]:
        return {"tier": self.tier, "kind": self.kind, "policy": self.policy, "order": self.order,
                "direction": self.direction, "rule": self.index, "action": self.action}


def stage_name(tier: str) -> str:
    """A tier's stage: what a verdict decided by its default action names."""
    return f"tier {tier}"


def calico_compiles(cluster: Cluster) -> bool:
    """Under the calico profile an input compiles as Calico walks its tiers, whether or not it holds Calico's own
    objects (a NetworkPolicy in the default tier at order 1000, the network-policy-api kinds converted as Calico
    converts them, the nodes' addresses): `cluster.calico` is set for every command that evaluates Calico
    (profiles.apply; snapshot leaves it None and walks NetworkPolicy and the tiers as written)."""
    return cluster.dataplane.profile == PROFILE and cluster.calico is not None


@dataclass(frozen=True)
class _Entry:
    """A policy as its tier holds it: order, tie key, its members per direction and its rules; kind, name
    (namespace/name) and selector as written, for explain (netpol/analyses/calico_explain.py)."""

    tier: str
    order: float | None
    tie: str
    members: dict[Direction, tuple[StagePolicy, ...]]
    rules: dict[Direction, tuple[StageRule, ...]]
    kind: str = ""
    policy: str = ""
    selector: str = ""  # Calico's endpoint selector, or a NetworkPolicy's podSelector; none for the tiered kinds

    @property
    def key(self) -> tuple[bool, float, bytes]:
        """Lowest order first, none last, then the tie key bytewise (brief §4)."""
        return self.order is None, self.order or 0.0, self.tie.encode()


@dataclass(frozen=True)
class CalicoTierEntries:
    """One tier in evaluation order: its order, default action and policies in evaluation order."""

    name: str
    order: float | None
    default_action: str
    entries: tuple[_Entry, ...]


def calico_tiers(cluster: Cluster,
                 compiled: dict[Direction, tuple[tuple[Stage, ...], tuple[Stage, ...]]] | None = None
                 ) -> tuple[CalicoTierEntries, ...]:
    """Every tier that holds a policy, and the default tier, by order (none last), then name; each one's
    policies by order (none last), ties by Calico's key. `compiled`: tier_stages(cluster), if at hand."""
    calico = cluster.calico or CalicoObjects()
    old = any(tp.kind in ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy") for tp in cluster.tiered)
    admin, baseline = ("adminnetworkpolicy", "baselineadminnetworkpolicy") if old else ("kube-admin", "kube-baseline")
    tiers: dict[str, tuple[float | None, str]] = {admin: (1_000.0, "Pass"), DEFAULT_TIER: (1_000_000.0, "Deny"),
                                                  baseline: (10_000_000.0, "Pass")}
    tiers.update({t.name: (t.order, t.default_action) for t in calico.tiers})
    compiler = _Compiler(cluster, calico)
    entries = [compiler.policy(p, old) for p in calico.policies if not p.staged and not p.host_only]
    entries += [_kubernetes(knp, old) for knp in cluster.policies]
    entries += _tiered(cluster, compiler, tier_stages(cluster) if compiled is None else compiled, admin, baseline, old)
    for e in entries:
        tiers.setdefault(e.tier, (None, "Deny"))  # a built-in tier of another release: an ordinary tier here
    return tuple(CalicoTierEntries(name, tiers[name][0], tiers[name][1],
                                   tuple(sorted((e for e in entries if e.tier == name), key=lambda e: e.key)))
                 for name in sorted(tiers, key=lambda n: (tiers[n][0] is None, tiers[n][0] or 0.0, n)))


def calico_stages(cluster: Cluster) -> Stages:
    """Per direction: the own-node rule's stage (ingress from the pod's own node is not policed), then one
    stage per tier in tier order."""
    compiled = tier_stages(cluster)
    tiers = calico_tiers(cluster, compiled)
    cuts = {d: tuple(c for s in (*compiled[d][0], *compiled[d][1]) for c in s.cuts) for d in DIRECTIONS}
    out: Stages = {}
    for d in DIRECTIONS:
        stages = []
        node = _own_node_rules(cluster) if d == "ingress" else ()
        if node:
            addresses = (IPBlock(ipaddress.ip_network(ip)) for r in node for n in r.peers
                         if isinstance(n, Nodes) for ip in n.addresses)
            stages.append(Stage("own node", True, "Pass", node, cuts=tuple(sorted(set(addresses), key=str))))
        for tier in tiers:
            rules = tuple(r for e in tier.entries for r in e.rules[d])
            members = tuple(m for e in tier.entries for m in e.members[d])
            if rules or members or tier.name == DEFAULT_TIER:  # a walk needs a stage in every direction
                end = "Pass" if tier.default_action == "Pass" else "Deny"
                stages.append(Stage(stage_name(tier.name), True, end, rules, members, cuts[d]))
        out[d] = tuple(stages)
    return out


def node_addresses(cluster: Cluster) -> dict[str, frozenset[IPAddress]]:
    """Each node's addresses as Calico sees them: the status.hostIP of every pod scheduled on it, its Node's
    status.addresses and the addresses of its host-network pods (traffic from the node and from them comes from
    these). A pod without spec.nodeName is on no known node: its hostIP names none (docs/semantics.md §16.6)."""
    out: dict[str, set[IPAddress]] = {}
    for pod in cluster.pods:
        if pod.node is not None:
            found = out.setdefault(pod.node, set())
            found.update((pod.host_ip,) if pod.host_ip is not None else ())
            found.update(pod.ips if pod.host_network else ())
    for n in cluster.nodes:
        out.setdefault(n.name, set()).update(n.addresses)
    return {name: frozenset(ips) for name, ips in out.items()}


def _own_node_rules(cluster: Cluster) -> tuple[StageRule, ...]:
    """Calico does not police a node's traffic to its own pods (brief §1): per node, an Allow for its pods of
    everything from its addresses and its host-network pods."""
    return tuple(StageRule(NodeRule(name, "ingress"), NodePods(name), (Nodes(frozenset({name}), ips),), None, "Allow")
                 for name, ips in sorted(node_addresses(cluster).items()))


def _kubernetes(knp: NetworkPolicy, old: bool) -> _Entry:
    """A Kubernetes NetworkPolicy in the default tier at order 1000, every rule an Allow (brief §6)."""
    subject = Pods(knp.namespace, None, knp.pod_selector)
    tie = f"{knp.namespace}/knp.default.{knp.name}" if old else f"{knp.name}/{knp.namespace}/KubernetesNetworkPolicy"
    members: dict[Direction, tuple[StagePolicy, ...]] = {}
    rules: dict[Direction, tuple[StageRule, ...]] = {}
    for d in DIRECTIONS:
        applies = knp.affects(d)
        members[d] = (StagePolicy(f"KubernetesNetworkPolicy {knp.key}", subject),) if applies else ()
        out = []
        for i, rule in enumerate(knp.rules(d) if applies else ()):
            peers = tuple(Addresses(p.block) if isinstance(p, IPBlockPeer) else
                          Pods(knp.namespace if p.namespace_selector is None else None, p.namespace_selector,
                               p.pod_selector) for p in rule.peers) or (Everything(),)
            ref = CalicoRuleRef(DEFAULT_TIER, "KubernetesNetworkPolicy", knp.key, KNP_ORDER, d, i, "Allow")
            out.append(StageRule(ref, subject, peers, policy_ports(rule.ports), "Allow",
                                 CompiledRule(RuleRef(knp.key, d, i), rule.peers, rule.ports)))
        rules[d] = tuple(out)
    return _Entry(DEFAULT_TIER, KNP_ORDER, tie, members, rules, "KubernetesNetworkPolicy", knp.key,
                  str(knp.pod_selector))


def _tiered(cluster: Cluster, compiler: _Compiler,
            compiled: dict[Direction, tuple[tuple[Stage, ...], tuple[Stage, ...]]], admin: str, baseline: str,
            old: bool) -> list[_Entry]:
    """The network-policy-api kinds in the admin and baseline tiers, by their priority as order, converted to
    GlobalNetworkPolicies as Calico converts them (brief §6) and compiled as Calico's own; each rule keeps the
    written form netpol compiles for those tiers (netpol/policies/tiered.py), for explain."""
    written = {(r.ref.kind, r.ref.policy, d, r.ref.index): r.written for d in DIRECTIONS
               for s in (*compiled[d][0], *compiled[d][1]) for r in s.rules if isinstance(r.ref, TierRuleRef)}
    out = []
    for tp in cluster.tiered:
        if tp.kind == "ClusterNetworkPolicy":
            name, tie = tp.name, f"{tp.name}//KubernetesClusterNetworkPolicy"
        else:
            prefix = "kanp.adminnetworkpolicy." if tp.kind == "AdminNetworkPolicy" else \
                "kbanp.baselineadminnetworkpolicy."
            name = prefix + tp.name
            tie = name if old else f"{name}//GlobalNetworkPolicy"
        order = BANP_ORDER if tp.priority is None else float(tp.priority)
        tier = admin if tp.tier == "Admin" else baseline
        policy = _as_global(tp, name, tier, order)
        selector = _policy_selector(policy)
        members = {d: (StagePolicy(f"{tp.short_kind} {tp.name}", AllOf((Identified(compiler.identities, selector),))),)
                   if policy.applies(d) else () for d in DIRECTIONS}
        rules = {d: tuple(replace(r, ref=CalicoRuleRef(tier, tp.kind, tp.name, order, d, i, rule.written_action),
                                  written=written.get((tp.kind, tp.name, d, i), r.written))
                          for i, rule in enumerate(tp.rules(d)) for c in _tier_rule(rule, d, old)
                          for r in compiler.rule(policy, selector, d, i, c))
                 for d in DIRECTIONS}
        out.append(_Entry(tier, order, tie, members, rules, tp.kind, tp.name))
    return out


def _as_global(tp: TieredPolicy, name: str, tier: str, order: float) -> CalicoPolicy:
    """The GlobalNetworkPolicy Calico makes of a network-policy-api policy's subject (brief §6): selector and
    namespaceSelector; `types` the directions with rules (its rules: _tier_rule)."""
    subject = tp.subject
    selector = conjunction(Compare(ORCHESTRATOR, "==", "k8s"),
                           *((calico_selector(subject.pod_selector),) if subject.pod_selector is not None else ()))
    types = tuple(t for t, d in (("Ingress", "ingress"), ("Egress", "egress")) if tp.rules(d))
    return CalicoPolicy("GlobalNetworkPolicy", name, None, tier, order, selector, types,  # type: ignore[arg-type]
                        namespace_selector=calico_selector(subject.namespace_selector))


def _tier_rule(rule: TierRule, direction: Direction, old: bool) -> tuple[CalicoRule, ...]:
    """A network-policy-api rule as Calico rules, one per peer and protocol (brief §6): a rule with a peer Calico
    does not support (nodes, domainNames; netpol adds a peer it does not know) is dropped if it accepts and denies
    everything if it denies or passes; in 3.30/3.31 a namedPort makes the rule match every port and protocol."""
    action: Action = "Allow" if rule.action == "Accept" else rule.action
    if any(p.nodes is not None or p.domains or p.unknown is not None for p in rule.peers):
        return () if action == "Allow" else (CalicoRule("Deny"),)
    by_protocol: dict[int | None, list[CalicoPort]] = {}
    if rule.ports is None or (old and any(p.name is not None for p in rule.ports)):
        by_protocol[None] = []
    for p in () if None in by_protocol else rule.ports or ():
        if p.name is not None:  # resolved on the container port's own protocol
            by_protocol.setdefault(None, []).append(CalicoPort(name=p.name))
        else:
            by_protocol.setdefault(_NUMBERS[p.protocol], []).append(CalicoPort(p.first, p.last))  # type: ignore
    out = []
    for peer in rule.peers:
        if peer.networks:
            side = EntityRule(nets=peer.networks)
        else:
            assert peer.pods is not None
            side = EntityRule(namespace_selector=calico_selector(peer.pods.namespace_selector),
                              selector=None if peer.pods.pod_selector is None else
                              calico_selector(peer.pods.pod_selector))
        for protocol, ports in by_protocol.items():
            if direction == "ingress":
                out.append(CalicoRule(action, protocol, source=side, destination=EntityRule(ports=tuple(ports))))
            else:
                out.append(CalicoRule(action, protocol, destination=replace(side, ports=tuple(ports))))
    return tuple(out)


def calico_selector(selector: LabelSelector) -> Node:
    """A Kubernetes label selector in Calico's language (k8sSelectorToCalico): In, NotIn, Exists, DoesNotExist
    become in, not in, has, !has; none selects all()."""
    parts: list[Node] = []
    for r in selector.requirements:
        if r.operator in ("In", "NotIn"):
            parts.append(InSet(r.key, r.values, r.operator == "NotIn"))
        else:
            parts.append(Has(r.key) if r.operator == "Exists" else Not(Has(r.key)))
    return conjunction(*parts) if parts else ALL


# -- Calico's own policies --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Side:
    """One side of a rule as sets: P and the sets it matches, N and its sets, nets and notNets (`match`)."""

    selector: Node | None
    not_selector: Node | None
    nets: tuple[IPBlock, ...]
    not_nets: tuple[IPBlock, ...]
    services: Node | None  # a Service's pods, by their labels

    def families(self, sets: dict[Node, tuple[IPBlock, ...]]) -> bool:
        """Some address of the side (nets, notNets, network sets) depends on the packet's family."""
        return bool(self.nets or self.not_nets or any(sets[s] for s in (self.selector, self.not_selector)
                                                      if s is not None))

    def match(self, identities: CalicoIdentities, sets: dict[Node, tuple[IPBlock, ...]], family: int | None,
              endpoint_selector: Node | None = None, labelled: bool | None = None, peer_family: int | None = None
              ) -> AllOf | Everything:
        """The side as one conjunction: an endpoint whose labels satisfy `endpoint_selector` (and the side's
        Service); P, or an address of its sets; N and its sets neither; an address in some of `nets`, none of
        `not_nets` (those of the packet's `family`); `labelled` True: an endpoint whose own labels satisfy P
        (any endpoint where P is None), the only destinations where a named port resolves, False: anything else;
        `peer_family` 6: an endpoint with IPv6 addresses only or an IPv6 address, 4: any other."""
        def addresses(blocks: tuple[IPBlock, ...]) -> tuple[Addresses, ...]:
            return tuple(Addresses(b) for b in blocks if family in (None, b.cidr.version))

        def labels(selector: Node) -> Identified:
            return Identified(identities, selector)

        terms: list[Condition] = []
        selectors = [s for s in (endpoint_selector, self.services) if s is not None]
        if selectors:
            terms.append(labels(conjunction(*selectors)))
        if self.selector is not None:
            terms.append(AnyOf((labels(self.selector), *addresses(sets[self.selector]))))
        if labelled is not None:
            own = labels(self.selector) if self.selector is not None else _ENDPOINTS
            terms.append(own if labelled else NotTerm(own))
        if self.not_selector is not None:
            terms.append(NotTerm(AnyOf((labels(self.not_selector), *addresses(sets[self.not_selector])))))
        if nets := addresses(self.nets):
            terms.append(AnyOf(nets))
        if not_nets := addresses(self.not_nets):
            terms.append(NotTerm(AnyOf(not_nets)))
        if peer_family is not None:
            terms.append(IPv6() if peer_family == 6 else NotTerm(IPv6()))
        return AllOf(tuple(terms)) if terms else Everything()


_ENDPOINTS = Pods(None, None, None)  # every workload endpoint: a pod that is not host-network


@dataclass(frozen=True, eq=False)
class CalicoIdentities(Identities):
    """The labels Calico's selectors see on each pod (model.calico.endpoint_labels): its own, its namespace's
    and its service account's."""

    def labels(self, pod: Pod) -> Mapping[str, str]:
        return endpoint_labels(pod.namespace, pod.label_map, pod.service_account,
                               self._namespaces.get(pod.namespace, {}),
                               {} if pod.hypothetical else  # a possible pod's account: labels unknown (calico_regions)
                               self._accounts.get((pod.namespace, pod.service_account or DEFAULT_ACCOUNT), {}))

    @cached_property
    def _namespaces(self) -> dict[str, dict[str, str]]:
        return {ns.name: ns.label_map for ns in self.cluster.namespaces}

    @cached_property
    def _accounts(self) -> dict[tuple[str, str], dict[str, str]]:
        calico = self.cluster.calico or CalicoObjects()
        return {(a.namespace, a.name): dict(a.labels) for a in calico.service_accounts}


class _Compiler:
    def __init__(self, cluster: Cluster, calico: CalicoObjects) -> None:
        ns_labels = {ns.name: ns.label_map for ns in cluster.namespaces}
        self.set_labels = [(set_labels(s, ns_labels.get(s.namespace, {}) if s.namespace else {}), s.nets)
                           for s in calico.network_sets]
        self.services = {(s.namespace, s.name): s for s in cluster.services}
        self.sets: dict[Node, tuple[IPBlock, ...]] = {}
        self.identities = CalicoIdentities(cluster)

    def _sets(self, selector: Node | None) -> None:
        """The nets of the network sets whose labels satisfy the selector (brief §2: selectors match addresses)."""
        if selector is not None and selector not in self.sets:
            self.sets[selector] = tuple(IPBlock(n) for labels, nets in self.set_labels if selector.evaluate(labels)
                                        for n in nets)

    def policy(self, p: CalicoPolicy, old: bool) -> _Entry:
        selector = _policy_selector(p)
        title = f"{p.kind} {p.namespace + '/' if p.namespace else ''}{p.name}"
        if old:
            tie = f"{p.namespace}/{p.name}" if p.namespace else p.name
        else:
            tie = f"{p.name}/{p.namespace or ''}/{p.kind}"
        members = {d: (StagePolicy(title, AllOf((Identified(self.identities, selector),))),) if p.applies(d) else ()
                   for d in DIRECTIONS}
        rules = {d: tuple(r for i, rule in enumerate(p.rules(d) if p.applies(d) else ())
                          for r in self.rule(p, selector, d, i, rule)) for d in DIRECTIONS}
        name = f"{p.namespace}/{p.name}" if p.namespace else p.name
        return _Entry(p.tier, p.order, tie, members, rules, p.kind, name, str(selector))

    def side(self, p: CalicoPolicy, side: EntityRule) -> _Side:
        """P and N of one side (brief §3 'Rule peers'): N folded into P where P exists."""
        ns: Node | None = None
        if side.namespace_selector is not None:
            ns = replace_all(prefixed(side.namespace_selector, "pcns."), Has(NAMESPACE_LABEL),
                             Not(Has(NAMESPACE_LABEL)))
        elif p.namespace is not None:
            ns = Compare(NAMESPACE_LABEL, "==", p.namespace)
        parts: list[Node] = []
        accounts = side.service_accounts
        if accounts is not None and accounts.selector is not None:
            parts.append(prefixed(accounts.selector, "pcsa."))
        if accounts is not None and accounts.names:
            parts.append(InSet(SERVICE_ACCOUNT_LABEL, tuple(sorted(set(accounts.names)))))
        if side.selector is not None:
            parts.append(side.selector)
        scoped = side.namespace_selector is not None or (p.namespace is not None and (
            side.selector is not None or side.not_selector is not None or accounts is not None))
        if ns is not None and scoped:
            parts.append(ns)
        selector, negated = None, side.not_selector
        if parts:
            selector = conjunction(*parts, *((Not(negated),) if negated is not None else ()))
            negated = None
        self._sets(selector)
        self._sets(negated)
        return _Side(selector, negated, tuple(IPBlock(n) for n in side.nets), tuple(IPBlock(n) for n in side.not_nets),
                     self._service(p, side))

    def _service(self, p: CalicoPolicy, side: EntityRule) -> Node | None:
        """`services`: the pods a Service of the input selects (its ports are not checked); none without it."""
        if side.services is None:
            return None
        namespace = side.services.namespace or p.namespace
        service = self.services.get((namespace, side.services.name))
        if service is None or service.selector is None:
            return Has("\x00no such service")  # no label holds this key: nothing matches
        return conjunction(Compare(NAMESPACE_LABEL, "==", namespace or ""),
                           *(Compare(k, "==", v) for k, v in service.selector))

    def rule(self, p: CalicoPolicy, selector: Node, d: Direction, index: int, rule: CalicoRule) -> Iterator[StageRule]:
        """One rule as stage rules, per packet family and destination kind (module docstring)."""
        if rule.source.ports:
            return  # the client's source port: assumed outside every listed port (brief §1)
        ref = CalicoRuleRef(p.tier, p.kind, f"{p.namespace}/{p.name}" if p.namespace else p.name, p.order, d, index,
                            rule.action)
        own, other = (rule.destination, rule.source) if d == "ingress" else (rule.source, rule.destination)
        own_side, peer_side = self.side(p, own), self.side(p, other)
        named = any(x.name is not None for x in (*rule.destination.ports, *rule.destination.not_ports))
        action: Verdict = rule.action
        plain = not any((own_side.families(self.sets), peer_side.families(self.sets)))
        for family, protocols, subject_family, peer_family in _variants(rule, plain):
            for labelled in (True, False) if named else (None,):
                ports = _ports(rule, protocols, labelled is not False)
                if ports is None:
                    continue
                own_labelled = labelled if d == "ingress" else None
                peer_labelled = labelled if d == "egress" else None
                subject = own_side.match(self.identities, self.sets, family, selector, own_labelled, subject_family)
                peer = peer_side.match(self.identities, self.sets, family, None, peer_labelled, peer_family)
                assert isinstance(subject, AllOf)
                yield StageRule(ref, subject, (peer,), ports, action, rule)


def _policy_selector(p: CalicoPolicy) -> Node:
    """The endpoint selector Calico builds for a policy (brief §3 'Policy selectors')."""
    if p.namespace is not None:
        parts = [p.selector, Compare(NAMESPACE_LABEL, "==", p.namespace)]
        if p.service_account_selector is not None:
            parts.append(prefixed(p.service_account_selector, "pcsa."))
        return conjunction(*parts)
    node = p.selector
    if p.namespace_selector is not None:
        node = replace_all(conjunction(node, prefixed(p.namespace_selector, "pcns.")), Has(NAMESPACE_LABEL))
    if p.service_account_selector is not None:
        node = replace_all(conjunction(node, prefixed(p.service_account_selector, "pcsa.")),
                           Has(SERVICE_ACCOUNT_LABEL))
    return node


def _variants(rule: CalicoRule, plain: bool
              ) -> Iterator[tuple[int | None, tuple[Protocol, ...], int | None, int | None]]:
    """(packet family, protocols, the subject's family, the peer's family) of the packets a rule can match:
    ICMP is IPv4 and ICMPv6 IPv6 whatever the ends; other packets are IPv6 when the subject or the peer has
    IPv6 addresses only (two cases), else IPv4. `ipVersion` and the families of the rule's nets narrow them.
    `plain`: no address of the rule depends on the family, nor does the rule name one: one variant."""
    families = {n.version for side in (rule.source, rule.destination) for n in (*side.nets, *side.not_nets)}
    if plain and rule.ip_version is None:
        yield None, tuple(p for p in _NUMBERS if _protocol_ok(rule, p)), None, None
        return
    for family in (4, 6):
        if (rule.ip_version is not None and rule.ip_version != family) or (families and family not in families):
            continue
        if _protocol_ok(rule, _ICMP_OF_FAMILY[family]):
            yield family, (_ICMP_OF_FAMILY[family],), None, None
        ports = tuple(p for p in _PORT_PROTOCOLS if _protocol_ok(rule, p))
        if ports and family == 4:
            yield 4, ports, 4, 4
        elif ports:
            yield 6, ports, 6, None
            yield 6, ports, 4, 6


def _protocol_ok(rule: CalicoRule, protocol: Protocol) -> bool:
    number = _NUMBERS[protocol]
    if rule.icmp is not None and protocol not in ("ICMP", "ICMPv6"):
        return False  # ICMP fields refine ICMP only (brief §5)
    return (rule.protocol is None or rule.protocol == number) and rule.not_protocol != number


def _ports(rule: CalicoRule, protocols: tuple[Protocol, ...], named: bool
           ) -> tuple[PortRange | NamedPort | PortExcept, ...] | None:
    """The destination ports (or ICMP messages) of the rule on these protocols; `named`: where named ports
    resolve (else they match nothing). None: nothing at all."""
    dest = rule.destination
    out: list[PortRange | NamedPort | PortExcept] = []
    for protocol in protocols:
        if protocol in ("ICMP", "ICMPv6"):
            if dest.ports:
                continue  # named ports are TCP, UDP or SCTP; numeric ones need such a protocol
            base: list[PortRange | NamedPort] = [_icmp(protocol, rule.icmp)]
            excluded: list[PortRange | NamedPort] = [_icmp(protocol, rule.not_icmp)] if rule.not_icmp else []
        else:
            base = [q for x in dest.ports if (q := _port(protocol, x, named)) is not None] if dest.ports else \
                [PortRange(protocol, 1, MAX_PORT)]
            excluded = [q for x in dest.not_ports if (q := _port(protocol, x, named)) is not None]
        if base and excluded:
            out.append(PortExcept(tuple(base), tuple(excluded)))
        else:
            out.extend(base)
    return tuple(out) or None


def _port(protocol: Protocol, port: CalicoPort, named: bool) -> PortRange | NamedPort | None:
    if port.name is None:
        return PortRange(protocol, port.first, port.last)
    return NamedPort(port.name, protocol) if named else None


def _icmp(protocol: Protocol, match: ICMPMatch | None) -> PortRange:
    if match is None or match.type is None:
        lo, hi = bounds(protocol)
        return PortRange(protocol, lo, hi)
    if match.code is None:
        return PortRange(protocol, icmp_value(match.type, 0), icmp_value(match.type, 255))
    value = icmp_value(match.type, match.code)
    return PortRange(protocol, value, value)



def what_if_staged(cluster: Cluster) -> Cluster:
    """The cluster as if its staged Calico policies were applied (--staged; Calico's staged-policy docs): a
    stagedAction Set creates or replaces the enforced policy of the same kind, namespace and name, a Delete
    deletes it, Learn and Ignore change nothing. The staged policies themselves are never enforced."""
    calico = cluster.calico or CalicoObjects()
    staged = [p for p in calico.policies if p.staged]
    named = {(p.kind.removeprefix("Staged"), p.namespace, p.name) for p in staged
             if p.staged_action in ("Set", "Delete")}
    applied = [replace(p, kind=p.kind.removeprefix("Staged"), staged_action=None) for p in staged
               if p.staged_action == "Set"]
    kept = [p for p in calico.policies if not p.staged and (p.kind, p.namespace, p.name) not in named]
    knps = tuple(k for k in cluster.policies if ("KubernetesNetworkPolicy", k.namespace, k.name) not in named)
    return replace(cluster, policies=knps,
                   calico=replace(calico, policies=tuple(sorted((*kept, *applied), key=lambda p: p.key))))
