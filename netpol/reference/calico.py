"""A deliberately naive evaluator of one connection as Calico enforces it, written from the brief
(shared/reference/calico-policies.md; "brief §n" below), not from any compiled form.

It walks Calico's tiers per direction for one packet: tiers by order, in each tier the policies that select
the endpoint by order then name, the first matching rule's action (Allow and Deny final, Pass to the next
tier, Log on to the next rule), the tier's default action at its end, the namespace profile's allow after
the last tier. With `staged`, the staged policies as if applied (Calico's staged-policy docs: stagedAction Set
creates or replaces the enforced policy of the same kind, namespace and name, Delete deletes it, Learn and Ignore
change nothing); Felix's flow logs instead evaluate Set policies beside the enforced ones (brief §8.9), a
different question. Kubernetes NetworkPolicies, AdminNetworkPolicies, BaselineAdminNetworkPolicies and
ClusterNetworkPolicies are evaluated where Calico places them, straight from the model (no conversion shared
with the engine). It shares with the engine only the model, Calico's selector AST (netpol/model/calico_selectors.py,
tested on its own against Felix's parser tests) and LabelSelector.matches. Keep it obviously correct rather
than fast: property tests compare the engine with it.

Choices where the brief leaves a runtime fact open (documented in docs/semantics.md §16):
- a rule's `source.ports` never match and its `source.notPorts` always do (the client's ephemeral source
  port is assumed outside every port a policy lists);
- a pod with no known IP is in no `nets` and no network set, and in every `notNets`;
- a packet is IPv4 unless an endpoint of it has only IPv6 addresses (ICMP is IPv4, ICMPv6 IPv6);
- an ICMP question names the type in the port's place, and the code 0 unless it gives one;
- `services` match the pods a Service of the input selects (its ports are not checked);
- `http` is not checked: a rule with it matches at L4 (brief §1);
- a node's addresses, from which traffic to its own pods is not policed, are its pods' status.hostIP, its Node's
  status.addresses and its host-network pods' addresses; a pod without spec.nodeName is on no known node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from netpol.model import (
    Cluster,
    Direction,
    IPAddress,
    NetworkPolicy,
    Pod,
    TieredPolicy,
    TierPeer,
    TierPort,
    TierSelector,
)
from netpol.model.calico_selectors import All, And, Global, Node, Not, Or
from netpol.model.portsets import Protocol
from netpol.reference import _peer_ok, _port_ok
from netpol.model.calico import NAMESPACE_LABEL as NS_LABEL
from netpol.model.calico import ORCHESTRATOR as ORCHESTRATOR_LABEL
from netpol.model.calico import SERVICE_ACCOUNT_LABEL as SA_LABEL
from netpol.model.calico import CalicoObjects, CalicoPolicy, CalicoPort, CalicoRule, EntityRule, ICMPMatch
from netpol.sources.calico import PROTOCOL_NUMBERS

Endpoint = Pod | IPAddress
PacketProtocol = Protocol | Literal["ICMP", "ICMPv6"]
ICMP_DEFAULT_CODE = 0  # an ICMP question without a code asks about code 0 (echo request and reply have no other)
NAME_LABEL = "projectcalico.org/name"


@dataclass(frozen=True)
class Step:
    """What one tier did to the packet: the deciding rule (policy, its index in the direction's rules,
    action), or the tier's default action at its end (policy None); tier None is the namespace profile."""

    tier: str | None
    policy: str | None
    rule: int | None
    action: str  # Allow, Deny, Pass (a rule's), or the default action of the tier's end


@dataclass(frozen=True)
class Walk:
    """One direction's walk: the steps of the tiers that applied, the last one deciding."""

    steps: tuple[Step, ...]

    @property
    def allowed(self) -> bool:
        return not self.steps or self.steps[-1].action == "Allow"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    egress: Walk  # of the source; empty when it is no endpoint (brief §4: an outside address has no walk)
    ingress: Walk  # of the destination


@dataclass(frozen=True)
class _Packet:
    src: Endpoint
    dst: Endpoint
    protocol: PacketProtocol
    port: int  # the destination port; the ICMP type for ICMP and ICMPv6
    version: int
    code: int = ICMP_DEFAULT_CODE  # ICMP and ICMPv6 only


@dataclass(frozen=True)
class _Entry:
    """A policy as a tier holds it: its order and tie key, whether it selects an endpoint, its rules'
    first match for a packet."""

    title: str
    order: float | None
    tie: str
    selects: Callable[[Pod], bool]
    first_match: Callable[[Direction, _Packet], tuple[int, str] | None]
    directions: tuple[Direction, ...]


def calico_decision(cluster: Cluster, calico: CalicoObjects, src: Endpoint, dst: Endpoint, protocol: PacketProtocol,
                    port: int, version: str = "3.32", staged: bool = False, code: int | None = None) -> Decision:
    """src -> dst on (protocol, port) under Calico `version` (for ICMP and ICMPv6, `port` is the type and `code`
    the code, 0 when not given); `staged`: as if the staged policies were applied (module docstring)."""
    world = _World(cluster, calico, version, staged)
    if isinstance(src, Pod) and isinstance(dst, Pod) and src.key == dst.key and src.is_one_pod:
        return Decision(True, Walk(()), Walk(()))  # netpol's self-traffic assumption stays (brief §4)
    family = {"ICMP": 4, "ICMPv6": 6}.get(protocol) or _family(src, dst)
    packet = _Packet(src, dst, protocol, port, family, ICMP_DEFAULT_CODE if code is None else code)
    egress = world.walk("egress", src, dst, packet)
    ingress = world.walk("ingress", dst, src, packet)
    # both ends must allow (brief §4); an egress Allow never overrides an ingress Deny
    return Decision(egress.allowed and ingress.allowed, egress, ingress)


def calico_allowed(cluster: Cluster, calico: CalicoObjects, src: Endpoint, dst: Endpoint, protocol: PacketProtocol,
                   port: int, version: str = "3.32", staged: bool = False, code: int | None = None) -> bool:
    return calico_decision(cluster, calico, src, dst, protocol, port, version, staged, code).allowed


def _family(src: Endpoint, dst: Endpoint) -> int:
    for end in (dst, src):
        ips = end.ips if isinstance(end, Pod) else (end,)
        if ips and all(ip.version == 6 for ip in ips):
            return 6
    return 4


def _ips(end: Endpoint, version: int) -> list[IPAddress]:
    return [ip for ip in (end.ips if isinstance(end, Pod) else (end,)) if ip.version == version]


class _World:
    def __init__(self, cluster: Cluster, calico: CalicoObjects, version: str, staged: bool) -> None:
        self.cluster = cluster
        self.calico = calico
        self.old = version in ("3.30", "3.31")  # [3.30/3.31] in the brief
        self.staged = staged
        self.ns_labels = {ns.name: dict(ns.labels) for ns in cluster.namespaces}
        self.sa_labels = {(a.namespace, a.name): dict(a.labels) for a in calico.service_accounts}

    # -- identity (brief §2) ---------------------------------------------------------------------------------

    def endpoint(self, end: Endpoint) -> Pod | None:
        """A workload endpoint: a pod that is not host-network (brief §2); anything else is an outside address."""
        return end if isinstance(end, Pod) and not end.host_network else None

    def labels(self, pod: Pod) -> dict[str, str]:
        """Highest precedence last: pcsa.*, pcns.*, the pod's own, Calico's (brief §2)."""
        sa = pod.service_account or "default"  # no serviceAccountName means default (brief §2)
        out = {f"pcsa.{k}": v for k, v in self.sa_labels.get((pod.namespace, sa), {}).items()}
        out[f"pcsa.{NAME_LABEL}"] = sa
        out.update(self._pcns(pod.namespace))
        out.update(pod.labels)
        out.update({NS_LABEL: pod.namespace, ORCHESTRATOR_LABEL: "k8s"})
        if len(sa) < 63:  # a longer name gets no label (brief §2, §8.8)
            out[SA_LABEL] = sa
        return out

    def _pcns(self, namespace: str) -> dict[str, str]:
        out = {f"pcns.{k}": v for k, v in self.ns_labels.get(namespace, {}).items()}
        out[f"pcns.{NAME_LABEL}"] = namespace
        return out

    def set_labels(self) -> Iterable[tuple[dict[str, str], tuple[object, ...]]]:
        """Each network set's labels and nets: a NetworkSet's own + its namespace's, a GlobalNetworkSet's own
        (brief §2)."""
        for s in self.calico.network_sets:
            labels = dict(s.labels)
            if s.namespace is not None:
                labels = {**self._pcns(s.namespace), **labels, NS_LABEL: s.namespace}
            yield labels, s.nets

    # -- the walk (brief §4) ---------------------------------------------------------------------------------

    def walk(self, direction: Direction, subject: Endpoint, peer: Endpoint, packet: _Packet) -> Walk:
        pod = self.endpoint(subject)
        if pod is None:
            return Walk(())  # an outside address (or a host-network pod) has no walk
        if direction == "ingress" and self._own_node(pod, peer):
            return Walk(())  # "We don't currently police host -> endpoint" (brief §1)
        steps: list[Step] = []
        for tier, default_action, entries in self.tiers():
            applying = [e for e in entries if direction in e.directions and e.selects(pod)]
            if not applying:
                continue  # tier skipped; its defaultAction unused (brief §4)
            decided: Step | None = None
            for entry in applying:
                hit = entry.first_match(direction, packet)
                if hit is not None:
                    decided = Step(tier, entry.title, hit[0], hit[1])
                    break
            if decided is None:  # end of tier: its defaultAction, Deny unless Pass (brief §4)
                decided = Step(tier, None, None, default_action)
            steps.append(decided)
            if decided.action != "Pass":
                return Walk(tuple(steps))
        steps.append(Step(None, f"kns.{pod.namespace}", None, "Allow"))  # the profile allows (brief §4, §8.1)
        return Walk(tuple(steps))

    def _own_node(self, pod: Pod, peer: Endpoint) -> bool:
        """The peer is the pod's node: a host-network pod on it, or one of its addresses (the status.hostIP of a
        pod on it, a host-network pod's there, its Node's). A pod without spec.nodeName is on no known node."""
        if pod.node is None:
            return False
        if isinstance(peer, Pod):
            return peer.host_network and peer.node == pod.node
        return any(q.node == pod.node and (peer == q.host_ip or (q.host_network and peer in q.ips))
                   for q in self.cluster.pods) or any(n.name == pod.node and peer in n.addresses
                                                      for n in self.cluster.nodes)

    def tiers(self) -> list[tuple[str, str, list[_Entry]]]:
        """Tiers by (no order last, order, name), built-in ones synthesized when missing (brief §4)."""
        admin, baseline = ("adminnetworkpolicy", "baselineadminnetworkpolicy") if self.old else \
            ("kube-admin", "kube-baseline")
        tiers: dict[str, tuple[float | None, str]] = {admin: (1_000.0, "Pass"), "default": (1_000_000.0, "Deny"),
                                                      baseline: (10_000_000.0, "Pass")}
        for t in self.calico.tiers:
            tiers[t.name] = (t.order, t.default_action)
        entries: dict[str, list[_Entry]] = {name: [] for name in tiers}
        replaced = self._replaced()
        for p in self.calico.policies:
            if p.staged and self.staged and p.staged_action == "Set":  # what-if: as if applied (module doc)
                p = replace(p, kind=p.kind.removeprefix("Staged"))  # type: ignore[arg-type]
            elif p.staged or (p.kind, p.namespace, p.name) in replaced:
                continue
            if not p.host_only:  # doNotTrack/preDNAT: host endpoints only (brief §1)
                if p.tier not in tiers:  # a built-in tier of another release: an ordinary tier here
                    tiers[p.tier], entries[p.tier] = (None, "Deny"), []
                entries[p.tier].append(self._calico_entry(p))
        for knp in self.cluster.policies:
            if ("KubernetesNetworkPolicy", knp.namespace, knp.name) not in replaced:
                entries["default"].append(self._kubernetes_entry(knp))
        for tp in self.cluster.tiered:
            entries[admin if tp.tier == "Admin" else baseline].append(self._tiered_entry(tp))
        ordered = sorted(tiers, key=lambda n: (tiers[n][0] is None, tiers[n][0] or 0.0, n))
        return [(n, tiers[n][1], sorted(entries[n], key=_policy_order)) for n in ordered]

    def _replaced(self) -> set[tuple[str, str | None, str]]:
        """With `staged`: the enforced policies a staged Set or Delete names (kind, namespace, name)."""
        return {(p.kind.removeprefix("Staged"), p.namespace, p.name) for p in self.calico.policies
                if self.staged and p.staged and p.staged_action in ("Set", "Delete")}

    def _tie(self, name: str, namespace: str | None, kind: str) -> str:
        """Ties of equal order (brief §4): `name/namespace/kind` bytewise; [3.30/3.31] `ns/name` or `name`."""
        if self.old:
            if kind == "KubernetesNetworkPolicy":
                name = f"knp.default.{name}"
            return f"{namespace}/{name}" if namespace else name
        return f"{name}/{namespace or ''}/{kind}"

    # -- Calico's own policies --------------------------------------------------------------------------------

    def _calico_entry(self, p: CalicoPolicy) -> _Entry:
        def first_match(direction: Direction, packet: _Packet) -> tuple[int, str] | None:
            for index, rule in enumerate(p.rules(direction)):
                if self._rule_matches(p, rule, packet) and rule.action != "Log":  # Log: next rule (brief §5)
                    return index, rule.action
            return None

        directions = tuple(d for d in ("ingress", "egress") if p.applies(d))  # type: ignore[arg-type]
        title = f"{p.kind} {p.namespace + '/' if p.namespace else ''}{p.name}"
        return _Entry(title, p.order, self._tie(p.name, p.namespace, p.kind),
                      lambda pod: _policy_selects(p, self.labels(pod)), first_match, directions)

    def _rule_matches(self, p: CalicoPolicy, rule: CalicoRule, packet: _Packet) -> bool:
        """Every criterion of the rule; both sides tested in every rule (brief §5)."""
        number = PROTOCOL_NUMBERS[packet.protocol]
        if rule.protocol is not None and rule.protocol != number:
            return False
        if rule.not_protocol is not None and rule.not_protocol == number:
            return False
        icmp = packet.protocol in ("ICMP", "ICMPv6")
        if rule.icmp is not None and not (icmp and _icmp_hit(rule.icmp, packet)):
            return False  # ICMP fields refine ICMP only: never a TCP, UDP or SCTP packet (brief §5)
        if rule.not_icmp is not None and icmp and _icmp_hit(rule.not_icmp, packet):
            return False
        if rule.ip_version is not None and rule.ip_version != packet.version:
            return False
        families = {n.version for side in (rule.source, rule.destination) for n in (*side.nets, *side.not_nets)}
        if families and packet.version not in families:
            return False  # a rule with IPv4 CIDRs applies only to IPv4 packets (brief §5)
        return (self._side(p, rule.source, packet.src, packet, "source")
                and self._side(p, rule.destination, packet.dst, packet, "destination"))

    def _side(self, p: CalicoPolicy, side: EntityRule, end: Endpoint, packet: _Packet, which: str) -> bool:
        """One side: nets, notNets, the selector criteria (brief §3 'Rule peers', evaluated on what owns the
        address: _SideSelector), services, ports and notPorts."""
        ips = _ips(end, packet.version)
        if side.nets and not any(ip in n for n in side.nets for ip in ips if ip.version == n.version):
            return False
        if any(ip in n for n in side.not_nets for ip in ips if ip.version == n.version):
            return False
        peer = _SideSelector(p, side)
        if not peer.matches(self.owners(end, packet.version)):
            return False
        if side.services is not None and not self._in_service(p, side, end):
            return False
        if which == "source":  # the client's source port: assumed outside every listed port (module doc)
            return not side.ports
        return self._ports(side, peer, packet)

    def owners(self, end: Endpoint, version: int) -> list[dict[str, str]]:
        """The labels of everything that owns the address for Calico's selectors: the workload endpoint itself,
        and every network set holding one of its addresses of the packet's family (brief §2 'selectors match
        addresses')."""
        pod = self.endpoint(end)
        out = [self.labels(pod)] if pod is not None else []
        ips = _ips(end, version)
        out += [labels for labels, nets in self.set_labels()
                if any(ip in net for net in nets for ip in ips
                       if ip.version == net.version)]  # type: ignore[attr-defined]
        return out

    def _in_service(self, p: CalicoPolicy, side: EntityRule, end: Endpoint) -> bool:
        assert side.services is not None
        namespace = side.services.namespace or p.namespace
        pod = self.endpoint(end)
        for s in self.cluster.services:
            if s.name == side.services.name and s.namespace == namespace and s.selector is not None:
                return pod is not None and pod.namespace == namespace and all(
                    dict(pod.labels).get(k) == v for k, v in s.selector)
        return False

    def _ports(self, side: EntityRule, peer: _SideSelector, packet: _Packet) -> bool:
        """Destination ports: in some of `ports` (when given) and in none of `notPorts` (brief §5)."""
        def hit(port: CalicoPort) -> bool:
            if port.name is None:
                return port.first <= packet.port <= port.last
            pod = self.endpoint(packet.dst)  # a named port: on an endpoint satisfying P, else none (brief §5)
            if pod is None or not peer.resolves_named_ports(self.labels(pod)):
                return False
            return any(c.name == port.name and c.protocol == packet.protocol and c.port == packet.port
                       for c in pod.ports)
        if side.ports and not any(hit(x) for x in side.ports):
            return False
        return not any(hit(x) for x in side.not_ports)

    # -- Kubernetes NetworkPolicy in the default tier (brief §6) -----------------------------------------------

    def _kubernetes_entry(self, knp: NetworkPolicy) -> _Entry:
        def selects(pod: Pod) -> bool:
            return pod.namespace == knp.namespace and knp.pod_selector.matches(dict(pod.labels))

        def first_match(direction: Direction, packet: _Packet) -> tuple[int, str] | None:
            peer = packet.src if direction == "ingress" else packet.dst
            for index, rule in enumerate(knp.rules(direction)):  # every rule an Allow (brief §6)
                if _peer_ok(self.cluster, knp, rule, peer) and _port_ok(rule, packet.dst, packet.protocol,
                                                                         packet.port):
                    return index, "Allow"
            return None

        directions = tuple(d for d in ("ingress", "egress") if knp.affects(d))  # type: ignore[arg-type]
        return _Entry(f"KubernetesNetworkPolicy {knp.key}", 1000.0,
                      self._tie(knp.name, knp.namespace, "KubernetesNetworkPolicy"), selects, first_match, directions)

    # -- the network-policy-api kinds in their tiers (brief §6) ------------------------------------------------

    def _tiered_entry(self, tp: TieredPolicy) -> _Entry:
        if tp.kind == "ClusterNetworkPolicy":
            name, kind = tp.name, "KubernetesClusterNetworkPolicy"
        else:
            prefix = "kanp.adminnetworkpolicy." if tp.kind == "AdminNetworkPolicy" else \
                "kbanp.baselineadminnetworkpolicy."
            name, kind = prefix + tp.name, "GlobalNetworkPolicy"
        order = 1000.0 if tp.priority is None else float(tp.priority)  # BANP: as if order 1,000 (brief §6)

        def selects(pod: Pod) -> bool:
            return self._tier_selector(tp.subject, pod)

        def first_match(direction: Direction, packet: _Packet) -> tuple[int, str] | None:
            peer = packet.src if direction == "ingress" else packet.dst
            for index, rule in enumerate(tp.rules(direction)):
                action = "Allow" if rule.action == "Accept" else rule.action
                unsupported = [p for p in rule.peers if p.nodes is not None or p.domains or p.unknown]
                if unsupported and action == "Allow":
                    continue  # an Accept rule with nodes/domainNames peers is dropped (brief §6)
                if unsupported:
                    return index, "Deny"  # a Deny or Pass rule with them denies everything (brief §6)
                if any(self._tier_peer(p, peer, packet.version) for p in rule.peers) and self._tier_ports(
                        rule.ports, packet):
                    return index, action
            return None

        directions = tuple(d for d in ("ingress", "egress") if tp.rules(d))  # type: ignore[arg-type]
        return _Entry(f"{tp.kind} {tp.name}", order, self._tie(name, None, kind), selects, first_match, directions)

    def _tier_selector(self, sel: TierSelector, pod: Pod) -> bool:
        """A subject: namespaces -> namespaceSelector (and orchestrator k8s); pods -> both (brief §6)."""
        if not sel.namespace_selector.matches(self.ns_labels.get(pod.namespace, {})):
            return False
        return sel.pod_selector is None or sel.pod_selector.matches(self.labels(pod))

    def _tier_peer(self, peer_spec: TierPeer, peer: Endpoint, version: int) -> bool:
        if peer_spec.networks:
            return any(ip in n for n in peer_spec.networks for ip in _ips(peer, version) if ip.version == n.version)
        sel = peer_spec.pods
        if sel is None:
            return False
        pod = self.endpoint(peer)
        if pod is not None and self._tier_selector(sel, pod):
            return True
        # namespaces and pods peers are a rule namespaceSelector (+ selector), which reads the pcns.* labels: the
        # NetworkSets of those namespaces match too, and a GlobalNetworkSet (no namespace labels) where the
        # selector holds on no label at all but is not empty (empty is all(), which requires a namespace)
        ips = _ips(peer, version)
        for s in self.calico.network_sets:
            if s.namespace is None and (sel.namespace_selector.selects_all or not sel.namespace_selector.matches({})):
                continue
            if s.namespace is not None and not sel.namespace_selector.matches(self.ns_labels.get(s.namespace, {})):
                continue
            labels = dict(s.labels) if s.namespace is None else \
                {**self._pcns(s.namespace), **dict(s.labels), NS_LABEL: s.namespace}
            if (sel.pod_selector is None or sel.pod_selector.matches(labels)) and any(
                    ip in n for n in s.nets for ip in ips if ip.version == n.version):
                return True
        return False

    def _tier_ports(self, ports: tuple[TierPort, ...] | None, packet: _Packet) -> bool:
        if ports is None:
            return True
        for p in ports:
            if p.name is not None:
                if self.old:
                    return True  # [3.30/3.31] a namedPort makes the rule match every port and protocol (brief §6)
                pod = self.endpoint(packet.dst)
                if pod is not None and any(c.name == p.name and c.protocol == packet.protocol and c.port == packet.port
                                           for c in pod.ports):
                    return True
            elif p.protocol == packet.protocol and p.first <= packet.port <= p.last:
                return True
        return False


def _icmp_hit(match: ICMPMatch, packet: _Packet) -> bool:
    return (match.type is None or match.type == packet.port) and (match.code is None or match.code == packet.code)


def _policy_order(entry: _Entry) -> tuple[bool, float, bytes]:
    """Lowest order first, none = +inf, then the tie key bytewise (brief §4)."""
    return entry.order is None, entry.order if entry.order is not None else 0.0, entry.tie.encode()



def _scoped(node: Node, labels: dict[str, str], prefix: str, all_means: bool, global_means: bool = True) -> bool:
    """A selector written on a namespace's (`pcns.`) or service account's (`pcsa.`) labels, evaluated on what an
    endpoint or network set inherited from it: each label read under the prefix; `all()` and `global()` mean
    what Calico rewrites them to there (brief §3)."""
    if isinstance(node, All):
        return all_means
    if isinstance(node, Global):
        return global_means
    if isinstance(node, Not):
        return not _scoped(node.operand, labels, prefix, all_means, global_means)
    if isinstance(node, And):
        return all(_scoped(o, labels, prefix, all_means, global_means) for o in node.operands)
    if isinstance(node, Or):
        return any(_scoped(o, labels, prefix, all_means, global_means) for o in node.operands)
    return node.evaluate({k.removeprefix(prefix): v for k, v in labels.items() if k.startswith(prefix)})


def _with_all(node: Node, labels: dict[str, str], all_means: bool) -> bool:
    """A selector on the endpoint's own labels whose every `all()` means `all_means`."""
    return _scoped(node, labels, "", all_means)


def _policy_selects(p: CalicoPolicy, labels: dict[str, str]) -> bool:
    """The endpoints a policy selects (brief §3 'Policy selectors'), read on an endpoint's labels. A
    NetworkPolicy: its selector, in its namespace, and its serviceAccountSelector on the account's labels. A
    GlobalNetworkPolicy: its selector, its namespaceSelector on the namespace's labels and its
    serviceAccountSelector on the account's; each `all()` of the namespaceSelector, and of the selector where a
    namespaceSelector is written, requires a namespace; each other `all()` of the serviceAccountSelector and the
    selector, where a serviceAccountSelector is written, requires a service account."""
    namespaced, accounted = NS_LABEL in labels, SA_LABEL in labels
    if p.namespace is not None:
        return (p.selector.evaluate(labels) and labels.get(NS_LABEL) == p.namespace
                and (p.service_account_selector is None or _scoped(p.service_account_selector, labels, "pcsa.", True)))
    meaning = namespaced if p.namespace_selector is not None else \
        accounted if p.service_account_selector is not None else True
    if not _with_all(p.selector, labels, meaning):
        return False
    if p.namespace_selector is not None and not _scoped(p.namespace_selector, labels, "pcns.", namespaced):
        return False
    return p.service_account_selector is None or _scoped(p.service_account_selector, labels, "pcsa.", accounted)


@dataclass(frozen=True)
class _SideSelector:
    """The selector criteria of one rule side, as the brief phrases them (§3 'Rule peers'), evaluated on the
    labels of what owns an address (an endpoint, a network set): NS, P (service accounts, selector, NS where it
    is scoped) and N (the notSelector, on the owner's labels as they are)."""

    policy: CalicoPolicy
    side: EntityRule

    @property
    def scoped(self) -> bool:
        """NS is part of P: always with a namespaceSelector; in a NetworkPolicy as soon as any of selector,
        notSelector, serviceAccounts is written."""
        s = self.side
        return s.namespace_selector is not None or (self.policy.namespace is not None and (
            s.selector is not None or s.not_selector is not None or s.service_accounts is not None))

    @property
    def has_p(self) -> bool:
        accounts = self.side.service_accounts
        return self.scoped or self.side.selector is not None or (
            accounts is not None and (accounts.selector is not None or bool(accounts.names)))

    def p(self, labels: dict[str, str]) -> bool:
        """P on one owner, with the notSelector folded in (P && !N: brief §3, §8.4)."""
        side = self.side
        if self.scoped and not self._in_namespace(labels):
            return False
        accounts = side.service_accounts
        if accounts is not None and accounts.selector is not None and not _scoped(accounts.selector, labels, "pcsa.",
                                                                                  True):
            return False
        if accounts is not None and accounts.names and labels.get(SA_LABEL) not in accounts.names:
            return False
        if side.selector is not None and not side.selector.evaluate(labels):
            return False
        return side.not_selector is None or not side.not_selector.evaluate(labels)

    def _in_namespace(self, labels: dict[str, str]) -> bool:
        """NS: the namespaceSelector on the owner's namespace (`all()`: any namespaced owner, `global()`: one
        without a namespace); else the policy's own namespace."""
        namespaced = NS_LABEL in labels
        if self.side.namespace_selector is not None:
            return _scoped(self.side.namespace_selector, labels, "pcns.", namespaced, not namespaced)
        return labels.get(NS_LABEL) == self.policy.namespace

    def matches(self, owners: list[dict[str, str]]) -> bool:
        """An address matches: with P, when some owner of it satisfies P; with N alone, when none satisfies N;
        with neither, always."""
        if self.has_p:
            return any(self.p(labels) for labels in owners)
        if self.side.not_selector is not None:
            return not any(self.side.not_selector.evaluate(labels) for labels in owners)
        return True

    def resolves_named_ports(self, labels: dict[str, str]) -> bool:
        """A named port resolves on an endpoint that satisfies P (any endpoint where there is no P)."""
        return not self.has_p or self.p(labels)
