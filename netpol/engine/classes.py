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
             the node, for nodes that run hostNetwork pods).
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
from netpol.engine.bits import id_bits
from netpol.model import DIRECTIONS, Cluster, ContainerPort, Direction, IPBlock, Pod
from netpol.model.cilium import CiliumOptions, identity_labels
from netpol.model.portsets import Protocol
from netpol.model.selectors import LabelSelector
from netpol.model.calico import DEFAULT_ACCOUNT, endpoint_labels
from netpol.model.calico_selectors import Node as CalicoSelector
from netpol.policies.stages import (
    Addresses,
    CalicoMatch,
    Endpoints,
    HostNetwork,
    NamedPort,
    NodePods,
    OnNode,
    Peer,
    Pods,
    PortExcept,
    PortMatch,
    PortRange,
    Stages,
    Subject,
)

_OTHER = "\x00other"  # a label value no selector can name
CILIUM_CLUSTER = CiliumOptions().cluster_name  # io.cilium.k8s.policy.cluster of every pod

Projection = tuple[tuple[str, str], ...]


class _ClassKey(NamedTuple):
    namespace: str | None
    namespace_labels: Projection
    pod_labels: Projection
    named_ports: tuple[ContainerPort, ...]
    in_blocks: tuple[bool, ...]
    host_network: bool
    node: str | None
    calico: tuple[bool, ...] = ()  # per Calico selector the stages name, whether the pod's Calico labels satisfy it
    ipv6_only: bool = False  # the pod's addresses are all IPv6 (kept only where a Calico rule names a family)
    identity: Projection = ()  # Cilium identity labels (model.cilium.identity_labels) that identity selectors use


@dataclass(frozen=True)
class PodClass:
    """Pods that every policy treats identically."""

    id: int
    pods: tuple[Pod, ...]
    named_ports: tuple[ContainerPort, ...]
    host_network: bool
    node: str | None  # kept only for nodes that run hostNetwork pods

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
        self._calico_selectors = tuple(dict.fromkeys(terms.calico_selectors))  # in first-named order, once each
        self._families = terms.families
        self._calico_cache: dict[tuple[object, ...], tuple[bool, ...]] = {}
        self._id_values = _referenced_values(terms.identity_selectors)
        self.blocks: tuple[IPBlock, ...] = tuple(sorted(terms.blocks, key=str))
        self._policy_namespaces = terms.namespaces
        self.port_spans = terms.spans  # the port ranges the stages name: they cut the port atoms
        self._build_classes()
        self._build_index()
        self._selector_cache: dict[tuple[str, LabelSelector], int] = {}

    def _build_classes(self) -> None:
        ns_labels = {ns.name: ns.label_map for ns in self.cluster.namespaces}
        host_nodes = {p.node for p in self.cluster.pods if p.host_network and p.node is not None}
        groups: dict[_ClassKey, list[Pod]] = {}
        in_blocks = block_membership(self.blocks)
        # A plugin whose ipBlocks match only addresses outside the cluster (Cilium) puts no pod in one.
        pods_in_blocks = self.cluster.dataplane.ip_block_matches_cluster
        # A plugin that sees a host-network pod as its node (Cilium) resolves no named port on it.
        host_names = self.cluster.dataplane.host_network_named_ports
        in_none = (False,) * len(self.blocks)
        for pod in self.cluster.pods:
            key = _ClassKey(
                pod.namespace if pod.namespace in self._policy_namespaces else None,
                _project(ns_labels.get(pod.namespace, {}), self._ns_values),
                _project(pod.label_map, self._pod_values),
                tuple(p for p in pod.ports if p.name in self._port_names and (host_names or not pod.host_network)),
                in_blocks(pod.ips) if pods_in_blocks else in_none,
                pod.host_network,
                pod.node if pod.node in host_nodes else None,
                *self._calico_key(pod),
                self._identity(pod, ns_labels) if self._id_values else (),
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
        index: dict[str, dict[tuple[str, str], int]] = {"pod": {}, "ns": {}, "id": {}}
        key_index: dict[str, dict[str, int]] = {"pod": {}, "ns": {}, "id": {}}
        for cid, key in enumerate(self._keys):
            bit = 1 << cid
            if key.host_network:
                self.host_bits |= bit
            if key.namespace is not None:
                self._ns_bits[key.namespace] = self._ns_bits.get(key.namespace, 0) | bit
            if key.node is not None:
                self._node_bits[key.node] = self._node_bits.get(key.node, 0) | bit
            for kind, projection in (("ns", key.namespace_labels), ("pod", key.pod_labels), ("id", key.identity)):
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
        self._calico_bits = {node: sum(1 << cid for cid, key in enumerate(self._keys) if key.calico[i])
                             for i, node in enumerate(self._calico_selectors)}
        self._ipv6_bits = sum(1 << cid for cid, key in enumerate(self._keys) if key.ipv6_only)

    def select(self, kind: str, selector: LabelSelector) -> int:
        """Bitset of classes whose pod ('pod') or namespace ('ns') labels match the selector."""
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

    def subject_bits(self, subject: Subject) -> int:
        if isinstance(subject, NodePods):
            return self._node_bits.get(subject.node, 0)
        if isinstance(subject, CalicoMatch):
            return self.calico_bits(subject)
        if isinstance(subject, Endpoints | OnNode):
            return self.endpoint_bits(subject)
        return self.pods_bits(subject)

    def _calico_key(self, pod: Pod) -> tuple[tuple[bool, ...], bool]:
        """What Calico's selectors and families tell apart about a pod (_ClassKey.calico, ipv6_only): each
        selector's result on its Calico labels, computed once per distinct set of labels. String operators
        (`starts with`, `contains`) cannot read a projection of unnamed values, so the results are kept."""
        if not self._calico_selectors and not self._families:
            return (), False
        ipv6_only = self._families and bool(pod.ips) and all(ip.version == 6 for ip in pod.ips)
        labels = (pod.namespace, pod.labels, pod.service_account, pod.hypothetical)
        found = self._calico_cache.get(labels)
        if found is None:
            calico = self.cluster.calico
            accounts = {(a.namespace, a.name): dict(a.labels) for a in calico.service_accounts} if calico else {}
            seen = endpoint_labels(pod.namespace, pod.label_map, pod.service_account,
                                   self.cluster.namespaces_by_name[pod.namespace].label_map
                                   if pod.namespace in self.cluster.namespaces_by_name else {},
                                   {} if pod.hypothetical else  # possible pods: labels unknown (calico_regions)
                                   accounts.get((pod.namespace, pod.service_account or DEFAULT_ACCOUNT), {}))
            found = self._calico_cache[labels] = tuple(node.evaluate(seen) for node in self._calico_selectors)
        return found, bool(ipv6_only)

    def calico_bits(self, match: CalicoMatch) -> int:
        """Classes a Calico match holds (stages.CalicoMatch): selectors on workload endpoints' Calico labels,
        addresses through the blocks their IPs are in."""
        endpoints = self.all_bits & ~self.host_bits
        bits = self.all_bits
        if match.endpoint_selector is not None:
            bits &= self._calico_bits[match.endpoint_selector] & endpoints
        labelled = endpoints if match.selector is None else self._calico_bits[match.selector] & endpoints
        if match.selector is not None:
            bits &= labelled | self._blocks_bits(match.sets)
        if match.labelled is not None:
            bits &= labelled if match.labelled else ~labelled
        if match.not_selector is not None:
            bits &= ~((self._calico_bits[match.not_selector] & endpoints) | self._blocks_bits(match.not_sets))
        if match.nets:
            bits &= self._blocks_bits(match.nets)
        bits &= ~self._blocks_bits(match.not_nets)
        if match.family is not None:
            bits &= self._ipv6_bits if match.family == 6 else ~self._ipv6_bits
        return bits & self.all_bits

    def _blocks_bits(self, blocks: Iterable[IPBlock]) -> int:
        bits = 0
        for block in blocks:
            bits |= self._block_bits[block]
        return bits

    def _identity(self, pod: Pod, ns_labels: dict[str, dict[str, str]]) -> Projection:
        """A pod's Cilium identity labels, projected onto the keys and values identity selectors use."""
        labels = identity_labels(pod.labels, pod.namespace, ns_labels.get(pod.namespace, {}).items(),
                                 pod.service_account, CILIUM_CLUSTER)
        return _project(labels, self._id_values)

    def endpoint_bits(self, who: Endpoints | OnNode | HostNetwork) -> int:
        """Classes of Cilium's peers and subjects: endpoints by identity (never host-network pods), those on one
        node (or on none that runs host-network pods), or host-network pods but those of one node."""
        if isinstance(who, HostNetwork):
            return self.host_bits & ~(self._node_bits.get(who.but, 0) if who.but is not None else 0)
        if isinstance(who, Endpoints):
            return self.select("id", who.selector) & ~self.host_bits
        on = self._node_bits.get(who.node, 0) if who.node is not None else \
            self.all_bits & ~functools.reduce(operator.or_, self._node_bits.values(), 0)
        return self.endpoint_bits(who.pods) & on

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
        self.identity_selectors: list[LabelSelector] = []
        self.namespaces: set[str] = set()
        self.port_names: set[str] = set()
        self.blocks: set[IPBlock] = set()
        self.spans: set[tuple[Protocol, int, int]] = set()
        self.calico_selectors: list[CalicoSelector] = []
        self.families = False  # some Calico rule names an IP family
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

    def _who(self, who: Subject | Peer) -> None:
        if isinstance(who, CalicoMatch):
            self.calico_selectors.extend(s for s in (who.endpoint_selector, who.selector, who.not_selector)
                                         if s is not None)
            self.blocks.update((*who.sets, *who.not_sets, *who.nets, *who.not_nets))
            self.families |= who.family is not None
        elif isinstance(who, Pods):
            if who.namespace is not None:
                self.namespaces.add(who.namespace)
            if who.namespace_selector is not None:
                self.namespace_selectors.append(who.namespace_selector)
            if who.pod_selector is not None:
                self.pod_selectors.append(who.pod_selector)
        elif isinstance(who, Addresses):
            self.blocks.add(who.block)
        elif isinstance(who, Endpoints):
            self.identity_selectors.append(who.selector)
        elif isinstance(who, OnNode):
            self._who(who.pods)


def _referenced_values(selectors: Iterable[LabelSelector]) -> dict[str, frozenset[str]]:
    values: dict[str, set[str]] = {}
    for sel in selectors:
        for r in sel.requirements:
            values.setdefault(r.key, set()).update(r.values)
    return {k: frozenset(v) for k, v in values.items()}


def _project(labels: dict[str, str], referenced: dict[str, frozenset[str]]) -> Projection:
    return tuple(sorted(
        (k, v if v in referenced[k] else _OTHER) for k, v in labels.items() if k in referenced
    ))
