"""Equivalence classes of pods and their selector index: the partition the engine computes between.

Pods that no selector, named port or ipBlock can tell apart behave the same
in every policy decision, so they share one class and everything is computed
between classes. Selectors are evaluated once each through a label index of
class bitsets (Python ints), never by scanning pods per rule.

Class key = (namespace name if any policy lives in it, else None;
             namespace labels projected onto keys namespaceSelectors use;
             pod labels projected onto keys podSelectors use;
             container ports whose names policies use;
             which ipBlocks contain the pod's IPs;
             hostNetwork;
             the node, for nodes that run hostNetwork pods or that the stages name (OnNode, NodePods);
             per kind of identity, which of its predicates that are no LabelSelector the pod satisfies;
             whether its addresses are all IPv6, where a condition names the family;
             per kind of identity, its labels projected onto keys the LabelSelectors on it use).
Identities are the compiler's (stages.Identities): the partition only reads them.
A projected label keeps its value only if some selector names that value;
any other value becomes one placeholder no selector can name, which keeps
every In/NotIn/Exists/DoesNotExist result unchanged.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from netpol.engine.addresses import block_membership
from netpol.engine.bits import bit_ids, id_bits
from netpol.engine.predicates import PredicateTable, group_bits
from netpol.model import DIRECTIONS, Cluster, ContainerPort, Direction, IPBlock, Pod
from netpol.model.portsets import Protocol
from netpol.model.selectors import LabelSelector
from netpol.policies.stages import (
    Addresses,
    AllOf,
    AnyOf,
    Condition,
    HostNetwork,
    Identified,
    Identities,
    IPv6,
    NamedPort,
    NodePods,
    Nodes,
    Not,
    OnNode,
    Peer,
    Pods,
    PortExcept,
    PortMatch,
    PortRange,
    Predicate,
    Stages,
    Subject,
)

_OTHER = "\x00other"  # a label value no selector can name

Projection = tuple[tuple[str, str], ...]


class _ClassKey(NamedTuple):
    namespace: str | None
    namespace_labels: Projection
    pod_labels: Projection
    named_ports: tuple[ContainerPort, ...]
    in_blocks: tuple[bool, ...]
    host_network: bool
    node: str | None
    predicates: tuple[int, ...] = ()  # per kind of identity, the predicates the pod satisfies (PredicateTable)
    ipv6_only: bool = False  # the pod's addresses are all IPv6 (kept only where a condition names the family)
    identities: tuple[Projection, ...] = ()  # per kind of identity LabelSelectors read, its labels they use


@dataclass(frozen=True)
class PodClass:
    """Pods that every policy treats identically."""

    id: int
    pods: tuple[Pod, ...]
    named_ports: tuple[ContainerPort, ...]
    host_network: bool
    node: str | None  # kept only for nodes that run hostNetwork pods or that the stages name

    @property
    def size(self) -> int:
        return len(self.pods)

    @property
    def lone(self) -> bool:
        """One pod only: its pair with itself is the pod's own traffic, which policies do not govern."""
        return len(self.pods) == 1 and self.pods[0].is_one_pod


class Partition:
    """Pods that every rule of the stages treats alike, as classes, with a label index of class bitsets."""

    def __init__(self, cluster: Cluster, stages: Stages) -> None:
        self.cluster = cluster
        terms = _Terms(stages)
        self._pod_values = _referenced_values(terms.pod_selectors)
        self._ns_values = _referenced_values(terms.namespace_selectors)
        self._port_names = terms.port_names
        self._predicates = tuple(dict.fromkeys(terms.predicates))  # in first-named order, once each
        self.names_family = terms.families  # some condition names the IP family: outside addresses split by it
        self._id_values = {identities: _referenced_values(selectors)
                           for identities, selectors in terms.identity_selectors.items()}
        self.blocks: tuple[IPBlock, ...] = tuple(sorted(terms.blocks, key=str))
        self._policy_namespaces = terms.namespaces
        self.port_spans = terms.spans  # the port ranges the stages name: they cut the port atoms
        self._nodes = terms.nodes  # the nodes whose pods the stages tell apart (OnNode, NodePods)
        self._build_classes()
        self._build_index()
        self._selector_cache: dict[tuple[str | Identities, LabelSelector], int] = {}

    def _build_classes(self) -> None:
        ns_labels = {ns.name: ns.label_map for ns in self.cluster.namespaces}
        host_nodes = {p.node for p in self.cluster.pods if p.host_network and p.node is not None} | self._nodes
        groups: dict[_ClassKey, list[Pod]] = {}
        in_blocks = block_membership(self.blocks)
        # A plugin whose ipBlocks match only addresses outside the cluster puts no pod in one.
        pods_in_blocks = self.cluster.dataplane.ip_block_matches_cluster
        nodes_in_blocks = self.cluster.dataplane.ip_block_matches_nodes  # host-network pods too (a profile's option)
        # A plugin that sees a host-network pod as its node resolves no named port on it.
        host_names = self.cluster.dataplane.host_network_named_ports
        in_none = (False,) * len(self.blocks)
        self._table = PredicateTable(self._predicates, self.cluster.pods)
        for pod, predicates in zip(self.cluster.pods, self._table.signatures, strict=True):
            key = _ClassKey(
                pod.namespace if pod.namespace in self._policy_namespaces else None,
                _project(ns_labels.get(pod.namespace, {}).items(), self._ns_values),
                _project(pod.labels, self._pod_values),
                tuple(p for p in pod.ports if p.name in self._port_names and (host_names or not pod.host_network)),
                in_blocks(pod.ips) if (nodes_in_blocks if pod.host_network else pods_in_blocks) else in_none,
                pod.host_network,
                pod.node if pod.node in host_nodes else None,
                predicates,
                self.names_family and bool(pod.ips) and all(ip.version == 6 for ip in pod.ips),
                tuple(_project(identities.of(pod), values) for identities, values in self._id_values.items()),
            )
            groups.setdefault(key, []).append(pod)
        ordered = sorted(groups.items(), key=lambda kv: kv[1][0].key)
        self.classes: tuple[PodClass, ...] = tuple(
            PodClass(i, tuple(pods), key.named_ports, key.host_network, key.node)
            for i, (key, pods) in enumerate(ordered)
        )
        self._keys = [key for key, _ in ordered]
        self.class_of: dict[str, int] = {p.key: c.id for c in self.classes for p in c.pods}

    def _build_index(self) -> None:
        self.all_bits = (1 << len(self.classes)) - 1
        self.host_bits = 0
        self._ns_bits: dict[str, int] = {}
        self._node_bits: dict[str, int] = {}
        kinds: tuple[str | Identities, ...] = ("pod", "ns", *self._id_values)
        index: dict[str | Identities, dict[tuple[str, str], int]] = {kind: {} for kind in kinds}
        key_index: dict[str | Identities, dict[str, int]] = {kind: {} for kind in kinds}
        for cid, key in enumerate(self._keys):
            bit = 1 << cid
            if key.host_network:
                self.host_bits |= bit
            if key.namespace is not None:
                self._ns_bits[key.namespace] = self._ns_bits.get(key.namespace, 0) | bit
            if key.node is not None:
                self._node_bits[key.node] = self._node_bits.get(key.node, 0) | bit
            projections: list[tuple[str | Identities, Projection]] = [
                ("ns", key.namespace_labels), ("pod", key.pod_labels), *zip(self._id_values, key.identities)]
            for kind, projection in projections:
                for k, v in projection:
                    index[kind][(k, v)] = index[kind].get((k, v), 0) | bit
                    key_index[kind][k] = key_index[kind].get(k, 0) | bit
        self._index = index
        self._key_index = key_index
        self._block_bits = dict.fromkeys(self.blocks, 0)  # one pass over the classes, not one per block
        for cid, key in enumerate(self._keys):
            if True in key.in_blocks:
                for b, inside in zip(self.blocks, key.in_blocks, strict=True):
                    if inside:
                        self._block_bits[b] |= 1 << cid
        self._predicate_bits = self._predicate_classes()
        self._ipv6_bits = sum(1 << cid for cid, key in enumerate(self._keys) if key.ipv6_only)

    def select(self, kind: str | Identities, selector: LabelSelector) -> int:
        """Bitset of classes whose pod ('pod'), namespace ('ns') or identity (an Identities) labels match the
        selector."""
        cached = self._selector_cache.get((kind, selector))
        if cached is not None:
            return cached
        bits = self.all_bits
        index, keys = self._index[kind], self._key_index[kind]
        for r in selector.requirements:
            named = 0
            for v in r.values:
                named |= index.get((r.key, v), 0)
            if r.operator == "In":
                bits &= named
            elif r.operator == "NotIn":
                bits &= ~named
            elif r.operator == "Exists":
                bits &= keys.get(r.key, 0)
            else:
                bits &= ~keys.get(r.key, 0)
        bits &= self.all_bits
        self._selector_cache[(kind, selector)] = bits
        return bits

    def namespace_bits(self, namespace: str) -> int:
        return self._ns_bits.get(namespace, 0)

    def pods_bits(self, pods: Pods) -> int:
        """Classes a `Pods` subject or peer holds (never hostNetwork pods)."""
        if pods.namespace is not None:
            ns_bits = self.namespace_bits(pods.namespace)
        else:
            ns_bits = self.all_bits if pods.namespace_selector is None else self.select("ns", pods.namespace_selector)
        pod_bits = self.all_bits if pods.pod_selector is None else self.select("pod", pods.pod_selector)
        return ns_bits & pod_bits & ~self.host_bits

    def subject_bits(self, who: Subject | Peer | Condition) -> int:
        """Classes a subject, a peer (but Everything) or a condition holds."""
        if isinstance(who, Pods):
            return self.pods_bits(who)
        if isinstance(who, NodePods):
            return self._node_bits.get(who.node, 0)
        if isinstance(who, Identified):
            if isinstance(who.predicate, LabelSelector):
                return self.select(who.identities, who.predicate) & ~self.host_bits
            return self._predicate_bits[(who.identities, who.predicate)] & ~self.host_bits
        if isinstance(who, OnNode):
            on = self._node_bits.get(who.node, 0) if who.node is not None else \
                self.all_bits & ~functools.reduce(operator.or_, self._node_bits.values(), 0)
            return self.subject_bits(who.pods) & on
        if isinstance(who, HostNetwork):
            return self.host_bits & ~(self._node_bits.get(who.but, 0) if who.but is not None else 0)
        if isinstance(who, Nodes):
            return functools.reduce(operator.or_, (self._host_bits_by_node.get(n, 0) for n in who.names), 0)
        if isinstance(who, Addresses):
            return self._block_bits[who.block]
        if isinstance(who, IPv6):
            return self._ipv6_bits
        if isinstance(who, AllOf):
            return functools.reduce(operator.and_, (self.subject_bits(t) for t in who.terms), self.all_bits)
        if isinstance(who, AnyOf):
            return functools.reduce(operator.or_, (self.subject_bits(t) for t in who.terms), 0)
        if isinstance(who, Not):
            return self.all_bits & ~self.subject_bits(who.term)
        raise TypeError(f"no classes for {who!r}")

    def _predicate_classes(self) -> dict[tuple[Identities, Predicate], int]:
        """Per identity predicate that is no LabelSelector, the classes whose pods satisfy it: each distinct
        signature's set bits once (PredicateTable)."""
        by_signature: dict[tuple[int, ...], list[int]] = {}
        for cid, key in enumerate(self._keys):
            by_signature.setdefault(key.predicates, []).append(cid)
        found: dict[tuple[int, int], list[int]] = {}
        for signature, cids in by_signature.items():
            for k, kind_signature in enumerate(signature):
                for j in bit_ids(kind_signature):
                    found.setdefault((k, j), []).extend(cids)
        kinds = {kind: k for k, kind in enumerate(self._table.kinds)}
        return {predicate: group_bits(found.get((kinds[predicate[0]], self._table.bit[predicate]), []),
                                      len(self._keys)) for predicate in self._predicates}

    def block_classes(self, block: IPBlock) -> int:
        """Classes whose pod IPs fall in `block` (a block some rule names)."""
        return self._block_bits.get(block, 0)

    @cached_property
    def by_named_ports(self) -> dict[tuple[ContainerPort, ...], int]:
        """Classes grouped by their named-port table: egress ports resolve once per group."""
        groups: dict[tuple[ContainerPort, ...], list[int]] = {}
        for c in self.classes:
            groups.setdefault(c.named_ports, []).append(c.id)
        return {table: id_bits(ids, len(self.classes)) for table, ids in groups.items()}

    @cached_property
    def stand_ins(self) -> bool:
        """Some table holds a possible pod's named port at a number that rules' port numbers match as a number
        they name (ContainerPort.stands_for): then numbered ports resolve per table too, not only named ones."""
        return any(c.stands_for is not None for table in self.by_named_ports for c in table)

    def local_node_bits(self, subject: int, direction: Direction) -> int:
        """The hostNetwork classes on the subject's node: its node's own traffic, always allowed (egress to it
        only where the plugin exempts it)."""
        node = self.classes[subject].node
        if node is None or (direction == "egress" and not self.cluster.dataplane.own_node_egress_allowed):
            return 0
        return self._host_bits_by_node.get(node, 0)

    @cached_property
    def _host_bits_by_node(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.classes:
            if c.host_network and c.node is not None:
                out[c.node] = out.get(c.node, 0) | (1 << c.id)
        return out


class _Terms:
    """What the stages name, which the class partition must tell apart: selectors, fixed namespaces, named
    ports and address blocks; and the port spans that cut the port atoms."""

    def __init__(self, stages: Stages) -> None:
        self.pod_selectors: list[LabelSelector] = []
        self.namespace_selectors: list[LabelSelector] = []
        self.identity_selectors: dict[Identities, list[LabelSelector]] = {}
        self.namespaces: set[str] = set()
        self.port_names: set[str] = set()
        self.nodes: set[str] = set()
        self.blocks: set[IPBlock] = set()
        self.spans: set[tuple[Protocol, int, int]] = set()
        self.predicates: list[tuple[Identities, Predicate]] = []  # identity predicates that are no LabelSelector
        self.families = False  # some condition names the IP family
        for stage in (s for d in DIRECTIONS for s in stages[d]):
            self.blocks.update(stage.cuts)
            for policy in stage.policies:
                self._who(policy.subject)
            for rule in (*stage.rules, *stage.inert):
                self._who(rule.subject)
                for peer in rule.peers:
                    self._who(peer)
                self._ports(rule.ports)

    def _ports(self, ports: PortMatch | tuple[PortRange | NamedPort, ...]) -> None:
        for p in ports or ():
            if isinstance(p, PortRange):
                self.spans.add((p.protocol, p.first, p.last))
            elif isinstance(p, PortExcept):
                self._ports(p.ports)
                self._ports(p.excluded)
            else:
                self.port_names.add(p.name)

    def _who(self, who: Subject | Peer | Condition) -> None:
        if isinstance(who, NodePods):
            self.nodes.add(who.node)
        elif isinstance(who, Pods):
            if who.namespace is not None:
                self.namespaces.add(who.namespace)
            if who.namespace_selector is not None:
                self.namespace_selectors.append(who.namespace_selector)
            if who.pod_selector is not None:
                self.pod_selectors.append(who.pod_selector)
        elif isinstance(who, Identified):
            if isinstance(who.predicate, LabelSelector):
                self.identity_selectors.setdefault(who.identities, []).append(who.predicate)
            else:
                self.predicates.append((who.identities, who.predicate))
        elif isinstance(who, Addresses):
            self.blocks.add(who.block)
        elif isinstance(who, IPv6):
            self.families = True
        elif isinstance(who, OnNode):
            self._who(who.pods)
            if who.node is not None:
                self.nodes.add(who.node)
        elif isinstance(who, AllOf | AnyOf):
            for term in who.terms:
                self._who(term)
        elif isinstance(who, Not):
            self._who(who.term)


def _referenced_values(selectors: Iterable[LabelSelector]) -> dict[str, frozenset[str]]:
    values: dict[str, set[str]] = {}
    for sel in selectors:
        for r in sel.requirements:
            values.setdefault(r.key, set()).update(r.values)
    return {k: frozenset(v) for k, v in values.items()}


def _project(labels: Iterable[tuple[str, str]], referenced: dict[str, frozenset[str]]) -> Projection:
    return tuple(sorted(
        (k, v if v in referenced[k] else _OTHER) for k, v in labels if k in referenced
    ))
