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

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from netpol.engine.addresses import block_membership
from netpol.engine.bits import id_bits
from netpol.model import DIRECTIONS, Cluster, ContainerPort, Direction, IPBlock, Pod
from netpol.model.portsets import Protocol
from netpol.model.selectors import LabelSelector
from netpol.policies.stages import Addresses, NodePods, Peer, Pods, PortRange, Stages, Subject

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
        in_none = (False,) * len(self.blocks)
        for pod in self.cluster.pods:
            key = _ClassKey(
                pod.namespace if pod.namespace in self._policy_namespaces else None,
                _project(ns_labels.get(pod.namespace, {}), self._ns_values),
                _project(pod.label_map, self._pod_values),
                tuple(p for p in pod.ports if p.name in self._port_names),
                in_blocks(pod.ips) if pods_in_blocks else in_none,
                pod.host_network,
                pod.node if pod.node in host_nodes else None,
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
        index: dict[str, dict[tuple[str, str], int]] = {"pod": {}, "ns": {}}
        key_index: dict[str, dict[str, int]] = {"pod": {}, "ns": {}}
        for cid, key in enumerate(self._keys):
            bit = 1 << cid
            if key.host_network:
                self.host_bits |= bit
            if key.namespace is not None:
                self._ns_bits[key.namespace] = self._ns_bits.get(key.namespace, 0) | bit
            if key.node is not None:
                self._node_bits[key.node] = self._node_bits.get(key.node, 0) | bit
            for kind, projection in (("ns", key.namespace_labels), ("pod", key.pod_labels)):
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
        return self.pods_bits(subject)

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
        self.namespaces: set[str] = set()
        self.port_names: set[str] = set()
        self.blocks: set[IPBlock] = set()
        self.spans: set[tuple[Protocol, int, int]] = set()
        for stage in (s for d in DIRECTIONS for s in stages[d]):
            self.blocks.update(stage.cuts)
            for policy in stage.policies:
                self._who(policy.subject)
            for rule in (*stage.rules, *stage.inert):
                self._who(rule.subject)
                for peer in rule.peers:
                    self._who(peer)
                for p in rule.ports or ():
                    if isinstance(p, PortRange):
                        self.spans.add((p.protocol, p.first, p.last))
                    else:
                        self.port_names.add(p.name)

    def _who(self, who: Subject | Peer) -> None:
        if isinstance(who, Pods):
            if who.namespace is not None:
                self.namespaces.add(who.namespace)
            if who.namespace_selector is not None:
                self.namespace_selectors.append(who.namespace_selector)
            if who.pod_selector is not None:
                self.pod_selectors.append(who.pod_selector)
        elif isinstance(who, Addresses):
            self.blocks.add(who.block)


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
