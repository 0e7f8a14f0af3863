"""The allow-graph engine: equivalence classes, selector index, class-level verdicts.

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

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:  # numpy and networkx cost 0.5 s to import: only the commands that need them do
    import networkx as nx
    import numpy as np
    import numpy.typing as npt

from netpol.compile import compile_stages, resolve_ports
from netpol.family_views import FamilyViews
from netpol.model import DIRECTIONS, Cluster, ContainerPort, Direction, IPAddress, IPBlock, IPNetwork, Pod
from netpol.portsets import ALL_PORTS, PortSet, Protocol
from netpol.selectors import LabelSelector
from netpol.stages import (
    Addresses,
    Everything,
    NamedPort,
    NodePods,
    NodeRule,
    Nodes,
    Peer,
    PortMatch,
    PortRange,
    Pods,
    Stage,
    StageRule,
    Stages,
    Subject,
)
from netpol.walk import Hit, Step, Walk, spans_atoms, walk_stages

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


@dataclass(frozen=True)
class PeerMatch:
    """What one rule's peers match: class bitsets, addresses (blocks, node addresses), or everything."""

    classes: int
    via_ip_block: int  # classes matched only because their IPs fall in an address block
    blocks: tuple[IPBlock, ...]
    node_ips: frozenset[IPAddress]
    everything: bool

    def matches_class(self, cls: int) -> bool:
        return self.everything or bool((self.classes >> cls) & 1)

    def matches_ip(self, ip: IPAddress) -> bool:
        return self.everything or ip in self.node_ips or any(b.contains(ip) for b in self.blocks)


TierPeerMatch = PeerMatch  # one kind of peer match serves every family (netpol.slices names both)
Entry = tuple[StageRule, PeerMatch]


@dataclass(frozen=True)
class DirectionResult:
    """One direction of one connection: which policies select the subject, which rules match the peer (with
    the ports they cover), and the walk over the stages that decided every port."""

    direction: Direction
    isolated_by: tuple[str, ...]  # the policies of stages that deny what they leave undecided
    hits: tuple[Hit, ...]  # in walking order
    full_walk: Walk
    first_match: bool = False  # a first-match stage holds rules for the subject: its verdict names the walk

    @property
    def isolated(self) -> bool:
        return bool(self.isolated_by)

    @property
    def walk(self) -> Walk | None:
        """The walk, where a first-match stage holds rules for the subject (else the allowing rules say it)."""
        return self.full_walk if self.first_match else None

    @cached_property
    def matches(self) -> tuple[Hit, ...]:
        """The rules of stages that decide as a whole which allow the peer some port (not the node rule)."""
        return tuple(h for h in self.hits if not h.first_match and h.ports and not isinstance(h.ref, NodeRule))

    @property
    def from_local_node(self) -> bool:
        """The peer is a hostNetwork pod on the subject's node: the node rule allows it."""
        return any(isinstance(h.ref, NodeRule) for h in self.hits)

    @property
    def tier_hits(self) -> tuple[Hit, ...]:
        """The first-match rules that match the peer, in evaluation order."""
        return tuple(h for h in self.hits if h.first_match)

    @cached_property
    def ports(self) -> PortSet:
        return self.full_walk.allowed

    def allowed_by(self, protocol: Protocol, port: int) -> tuple[Hit, ...]:
        return tuple(m for m in self.matches if m.ports.contains(protocol, port))


@dataclass(frozen=True)
class AddressRange:
    """Addresses outside the cluster that every ipBlock treats alike: `first` to `last`, inside `blocks`.

    The policies' CIDRs and excepts cut the address space at their first
    address and just after their last; every address between two cuts is in
    the same blocks, so one answer per range is the answer for each address.
    """

    first: IPAddress
    last: IPAddress
    blocks: tuple[IPBlock, ...]  # the ipBlocks (cidr minus excepts) that contain this range

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The range as CIDRs."""
        return tuple(ipaddress.summarize_address_range(self.first, self.last))

    def __str__(self) -> str:
        return ", ".join(str(n) for n in self.networks)


_Entry = TypeVar("_Entry", bound=tuple[object, PeerMatch])
PeerRef = int | IPAddress  # a class id, or an address outside the cluster
_STRIPE = 256  # 8x8 blocks per stripe when transposing: 2048 rows at a time
_TRANSPOSE_MASKS = ((7, 0x00AA00AA00AA00AA), (14, 0x0000CCCC0000CCCC), (28, 0x00000000F0F0F0F0))


class ClassMatrix:
    """A packed bit matrix over classes: bit d of row s means class s may connect to class d.

    Rows are little-endian bit arrays (bit d is bit d % 8 of byte d // 8),
    the same layout as a Python int bitset's to_bytes(..., "little").
    """

    def __init__(self, packed: npt.NDArray[np.uint8], size: int) -> None:
        self.packed = packed
        self.size = size

    def allowed(self, src: int, dst: int) -> bool:
        return bool((int(self.packed[src, dst >> 3]) >> (dst & 7)) & 1)

    def row(self, src: int) -> int:
        """Row src as a Python int bitset."""
        return int.from_bytes(self.packed[src].tobytes(), "little")

    def count(self) -> int:
        """Allowed ordered class pairs."""
        import numpy as np

        return int(np.bitwise_count(self.packed).sum(dtype=np.int64))


class Engine(FamilyViews):
    """Compiled cluster: classes, per-class stage rules, and the allow-graph. It reads the policies only
    through their intermediate form (netpol/stages.py): every family's stages are walked alike."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.stages: Stages = compile_stages(cluster)
        terms = _Terms(self.stages)
        self._pod_values = _referenced_values(terms.pod_selectors)
        self._ns_values = _referenced_values(terms.namespace_selectors)
        self._port_names = terms.port_names
        self.blocks: tuple[IPBlock, ...] = tuple(sorted(terms.blocks, key=str))
        self._policy_namespaces = terms.namespaces
        self._spans = terms.spans
        self._build_classes()
        self._build_index()
        self._selector_cache: dict[tuple[str, LabelSelector], int] = {}
        self._resolved: dict[tuple[PortMatch, tuple[ContainerPort, ...] | None], PortSet] = {}
        self._results: dict[tuple[object, ...], DirectionResult] = {}  # see evaluate; never evicted, so
        # result ids are stable keys for _both
        self._both: dict[tuple[int, int], PortSet] = {}
        self._peer_matches: dict[tuple[str, tuple[Peer, ...]], PeerMatch] = {}
        # Per direction and class, per stage: the rules whose subject holds the class (with what their
        # peers match), and the names of the stage's policies that select it.
        self.staged: dict[Direction, list[list[list[Entry]]]] = {}
        self.selecting: dict[Direction, list[list[list[str]]]] = {}
        # Per direction, (subject classes, their rules): each rule's subjects, read once (netpol.slices).
        self.applying: dict[Direction, list[tuple[list[int], list[Entry]]]] = {}
        for d in DIRECTIONS:
            self._apply(d)

    # -- classes and index -------------------------------------------------

    def _build_classes(self) -> None:
        ns_labels = {ns.name: ns.label_map for ns in self.cluster.namespaces}
        host_nodes = {p.node for p in self.cluster.pods if p.host_network and p.node is not None}
        groups: dict[_ClassKey, list[Pod]] = {}
        in_blocks = _block_membership(self.blocks)
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
        self._block_bits = {
            b: sum(1 << cid for cid, key in enumerate(self._keys) if key.in_blocks[i])
            for i, b in enumerate(self.blocks)
        }

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

    def admitting(self, d: int, wanted: PortSet) -> int:
        """Classes that class d's ingress could admit on some port of `wanted`: where one stage that decides
        as a whole isolates it and no other holds rules for it, the peers of rules that allow such a port;
        else every class. A filter before exact answers, which also need the source's egress."""
        if self._union_stage("ingress", d) is None:
            return self.all_bits
        bits = 0
        for rule, pm in self._entries("ingress", d):
            if self.resolve_ports(rule.ports, self.classes[d].named_ports).intersection(wanted):
                bits |= pm.classes
        return bits

    def block_classes(self, block: IPBlock) -> int:
        """Classes whose pod IPs fall in `block` (a block some rule names)."""
        return self._block_bits.get(block, 0)

    # -- stages ------------------------------------------------------------

    def _apply(self, direction: Direction) -> None:
        """Per class, each stage's rules whose subject holds it, in order, and the policies selecting it."""
        stages = self.stages[direction]
        n = len(self.classes)
        staged: list[list[list[Entry]]] = [[[] for _ in stages] for _ in range(n)]
        selecting: list[list[list[str]]] = [[[] for _ in stages] for _ in range(n)]
        applying: list[tuple[list[int], list[Entry]]] = []
        ids: dict[Subject, list[int]] = {}
        for k, stage in enumerate(stages):
            for policy in stage.policies:
                cids = ids.get(policy.subject)
                if cids is None:
                    cids = ids[policy.subject] = bit_ids(self.subject_bits(policy.subject))
                for cid in cids:
                    selecting[cid][k].append(policy.name)
            for subject, run in groupby(stage.rules, key=lambda r: r.subject):
                cids = ids.get(subject)
                if cids is None:
                    cids = ids[subject] = bit_ids(self.subject_bits(subject))
                if not cids:
                    continue
                entries = [(rule, self._peer_match(stage, rule)) for rule in run]
                applying.append((cids, entries))
                for cid in cids:
                    staged[cid][k].extend(entries)
        self.staged[direction], self.selecting[direction], self.applying[direction] = staged, selecting, applying

    def _peer_match(self, stage: Stage, rule: StageRule) -> PeerMatch:
        """What the rule's peers match; rules of a stage with the same peers share one, which saves a class
        bitset per rule."""
        key = (stage.name, rule.peers)
        cached = self._peer_matches.get(key)
        if cached is None:
            cached = self._peer_matches[key] = self._match_peers(rule.peers)
        return cached

    def _match_peers(self, peers: tuple[Peer, ...]) -> PeerMatch:
        if any(isinstance(p, Everything) for p in peers):
            return PeerMatch(self.all_bits, 0, (), frozenset(), True)
        by_selector = by_block = 0
        blocks: list[IPBlock] = []
        node_ips: set[IPAddress] = set()
        for peer in peers:
            if isinstance(peer, Pods):
                by_selector |= self.pods_bits(peer)
            elif isinstance(peer, Addresses):
                by_block |= self._block_bits[peer.block]
                blocks.append(peer.block)
            elif isinstance(peer, Nodes):
                node_ips.update(peer.addresses)
                for name in peer.names:
                    by_selector |= self._host_bits_by_node.get(name, 0)
        return PeerMatch(by_selector | by_block, by_block & ~by_selector, tuple(blocks), frozenset(node_ips), False)

    def _entries(self, direction: Direction, cls: int) -> Iterator[Entry]:
        """Every rule that holds class `cls` in `direction`, stage after stage."""
        for entries in self.staged[direction][cls]:
            yield from entries

    def _union_stage(self, direction: Direction, cls: int) -> int | None:
        """The one stage that decides for class `cls` as a union of allows (it selects the class, decides as a
        whole and denies the rest), when no other stage holds rules for or selects it; else None."""
        found = None
        for k, stage in enumerate(self.stages[direction]):
            if self.staged[direction][cls][k] or self.selecting[direction][cls][k]:
                if found is not None or stage.first_match or stage.end != "Deny" \
                        or not self.selecting[direction][cls][k]:
                    return None
                found = k
        return found

    @cached_property
    def port_atoms(self) -> tuple[tuple[Protocol, int, int], ...]:
        """Per protocol, the intervals of 1-65535 that every rule treats alike (protocol, first, last): cut at
        every port and range a rule names, and at every named port as the pods declare it. A verdict on one
        port of an atom is the verdict on all of it."""
        spans = {(c.protocol, c.port, c.port) for table in self.by_named_ports for c in table} | self._spans
        return tuple(spans_atoms(spans))

    @cached_property
    def atoms(self) -> tuple[tuple[Protocol, int], ...]:
        """One port per atom: probes for "allowed on some port" where the stages' order matters."""
        return tuple((proto, first) for proto, first, _ in self.port_atoms)

    # -- verdicts ----------------------------------------------------------

    def resolve_ports(self, ports: PortMatch, destination: tuple[ContainerPort, ...] | None) -> PortSet:
        """A rule's ports towards one destination, resolved once per (ports, named-port table)."""
        key = (ports, destination)
        cached = self._resolved.get(key)
        if cached is None:
            cached = self._resolved[key] = resolve_ports(ports, destination)
        return cached

    def evaluate(self, direction: Direction, subject: int, peer: PeerRef,
                 destination: tuple[ContainerPort, ...] | None) -> DirectionResult:
        """The stages' verdict for class `subject` in `direction` towards `peer`, with provenance.

        `destination` is the named-port table the ports resolve against: the
        subject's for ingress, the peer's for egress (None outside the cluster).
        The result depends only on which of the subject's rules match the peer
        (and how), so it is shared by every peer that matches the same rules:
        the allow-graph builds each once.
        """
        staged = self.staged[direction][subject]
        hits = tuple(tuple(
            (i, not pm.everything and bool((pm.via_ip_block >> peer) & 1)) if isinstance(peer, int) else (i, False)
            for i, (_, pm) in enumerate(entries)
            if (pm.matches_class(peer) if isinstance(peer, int) else pm.matches_ip(peer)))
            for entries in staged)
        key = (direction, subject, hits, destination)
        cached = self._results.get(key)
        if cached is None:
            cached = self._results[key] = self._result(direction, subject, hits, destination)
        return cached

    def _result(self, direction: Direction, subject: int, hits: tuple[tuple[tuple[int, bool], ...], ...],
                destination: tuple[ContainerPort, ...] | None) -> DirectionResult:
        stages, staged = self.stages[direction], self.staged[direction][subject]
        selecting = self.selecting[direction][subject]
        steps = [Step(stage, bool(selecting[k]),
                      [Hit(staged[k][i][0], self.resolve_ports(staged[k][i][0].ports, destination), stage.first_match,
                           via) for i, via in hits[k]])
                 for k, stage in enumerate(stages)]
        isolated_by = tuple(sorted({name for k, stage in enumerate(stages) if stage.end == "Deny"
                                    for name in selecting[k]}))
        first_match = any(stage.first_match and staged[k] for k, stage in enumerate(stages))
        return DirectionResult(direction, isolated_by, tuple(h for step in steps for h in step.hits),
                               walk_stages(steps), first_match)

    def connection(self, src: PeerRef, dst: PeerRef) -> tuple[DirectionResult | None, DirectionResult | None]:
        """(egress of src, ingress of dst); None for a side outside the cluster."""
        dst_ports = self.classes[dst].named_ports if isinstance(dst, int) else None
        egress = self.evaluate("egress", src, dst, dst_ports) if isinstance(src, int) else None
        ingress = self.evaluate("ingress", dst, src, dst_ports) if isinstance(dst, int) else None
        return egress, ingress

    def allowed_ports(self, src: PeerRef, dst: PeerRef) -> PortSet:
        egress, ingress = self.connection(src, dst)
        return self._combine(egress, ingress)

    def _combine(self, egress: DirectionResult | None, ingress: DirectionResult | None) -> PortSet:
        """Ports both sides allow; results are shared (see evaluate), so each combination is computed once."""
        if egress is None:
            return ALL_PORTS if ingress is None else ingress.ports
        if ingress is None:
            return egress.ports
        key = (id(egress), id(ingress))
        ports = self._both.get(key)
        if ports is None:
            ports = self._both[key] = egress.ports.intersection(ingress.ports)
        return ports

    @cached_property
    def candidates(self) -> ClassMatrix:
        """Class pairs that may connect on some port: each side allows some port (their intersection
        can still be empty, so an exact answer checks the pair's ports)."""
        return self._rows(None)

    def reachability(self, protocol: Protocol, port: int) -> ClassMatrix:
        """Which class may connect to which on one port. Bit s of row s means "between two pods of class s"."""
        return self._rows((protocol, port))

    def _rows(self, probe: tuple[Protocol, int] | None) -> ClassMatrix:
        """Per source class, the destinations it may reach on the probe (None: on some port).

        What each source's egress sends to is one bitset per source. What each
        destination's ingress admits is one bitset per destination; its
        transpose (who is admitted where, per source) is taken as a packed bit
        matrix, so no class pair is evaluated one by one and memory stays at
        two packed n x n bit matrices.
        """
        import numpy as np

        n = len(self.classes)
        width = (n + 7) // 8
        admits = np.zeros((8 * width, width), np.uint8)  # square, padded to whole bytes
        for d in range(n):
            admits[d] = np.frombuffer(self.one_side("ingress", d, probe).to_bytes(width, "little"), np.uint8)
        rows = _transpose(admits)  # row s: the destinations whose ingress admits s
        del admits
        for s in range(n):
            sends = np.frombuffer(self.one_side("egress", s, probe).to_bytes(width, "little"), np.uint8)
            np.bitwise_and(rows[s], sends, out=rows[s])
        return ClassMatrix(rows, n)

    def reaching(self, targets: int, probe: tuple[Protocol, int]) -> int:
        """Classes that may connect to some class of `targets` on the probe: each target's ingress column,
        then the egress of the sources it admits. For a few targets (the DNS pods) this is a small part of
        `reachability`, which builds every row and a transpose."""
        import numpy as np

        reached = np.zeros(len(self.classes), dtype=bool)
        for d in bit_ids(targets):
            for s in bit_ids(self.one_side("ingress", d, probe)):
                if not reached[s] and (self.one_side("egress", s, probe) >> d) & 1 \
                        and (s != d or not self.classes[s].lone):
                    reached[s] = True
        return mask_bits(reached)

    def one_side(self, direction: Direction, cls: int, probe: tuple[Protocol, int] | None = None) -> int:
        """The peer classes that `cls`'s own side lets through on the probe (None: on some port): whom its
        egress sends to, or whom its ingress admits. A pair outside it is denied without evaluating it.

        Where nothing can deny, every class; where one stage decides as a union of allows, the union of
        the peers of its rules that allow the probe; else one first-match walk over the stages with
        bitsets per port atom (for "on some port") and per named-port table of the destinations."""
        if not self._can_deny(direction, cls):
            return self.all_bits
        tables = self._tables(direction, cls)
        k = self._union_stage(direction, cls)
        if k is not None:
            bits = 0
            for rule, pm in self.staged[direction][cls][k]:
                for table, group in tables:
                    if _allows(self.resolve_ports(rule.ports, table), probe):
                        bits |= pm.classes & group
            return bits
        if probe is None:
            return or_bits(self.one_side(direction, cls, atom) for atom in self.atoms)
        return or_bits(self._walk_bits(direction, cls, probe, table) & group for table, group in tables)

    def _can_deny(self, direction: Direction, cls: int) -> bool:
        """Some stage denies something for class `cls`: a Deny rule holds it, or a stage that denies what
        it leaves undecided selects it."""
        return any((stage.end == "Deny" and self.selecting[direction][cls][k])
                   or any(rule.action == "Deny" for rule, _ in self.staged[direction][cls][k])
                   for k, stage in enumerate(self.stages[direction]))

    def _tables(self, direction: Direction, cls: int) -> list[tuple[tuple[ContainerPort, ...], int]]:
        """The named-port tables the ports of `cls`'s rules resolve against, with the peers they hold:
        ingress, its own; egress, each destination's where a rule names a port."""
        if direction == "ingress":
            return [(self.classes[cls].named_ports, self.all_bits)]
        if any(isinstance(p, NamedPort) for rule, _ in self._entries(direction, cls) for p in rule.ports or ()):
            return list(self.by_named_ports.items())
        return [((), self.all_bits)]

    def _walk_bits(self, direction: Direction, cls: int, probe: tuple[Protocol, int],
                   destination: tuple[ContainerPort, ...]) -> int:
        """Peer classes the walk over the stages allows on the probe: first match per peer, with bitsets."""
        remaining, allowed = self.all_bits, 0
        for k, stage in enumerate(self.stages[direction]):
            entries, selected = self.staged[direction][cls][k], self.selecting[direction][cls][k]
            passed = 0
            for rule, pm in entries:
                if rule.action == "Log" or not self.resolve_ports(rule.ports, destination).contains(*probe):
                    continue
                hit = pm.classes & remaining
                remaining &= ~hit
                if rule.action == "Allow":
                    allowed |= hit
                elif rule.action == "Pass":  # skips the rest of the stage
                    passed |= hit
            if selected and stage.end == "Deny":
                remaining = 0
            remaining |= passed
        return allowed | remaining

    def peer_regions(self, peers: int, entries: Sequence[_Entry], split_named_ports: bool = True
                     ) -> list[tuple[int, list[_Entry]]]:
        """`peers` (a class bitset) split into regions whose classes the same `entries` match (partition
        refinement on their bitsets), and by named-port table: one class then answers for its region."""
        parts: list[tuple[int, list[_Entry]]] = [(peers, [])]
        for entry in entries:
            bits = entry[1].classes
            refined: list[tuple[int, list[_Entry]]] = []
            for part in parts:
                inside, outside = part[0] & bits, part[0] & ~bits
                if inside:
                    refined.append((inside, [*part[1], entry]))
                if outside:
                    refined.append((outside, part[1]))
            parts = refined
        if not split_named_ports:
            return parts
        return [(region & group, matching) for region, matching in parts for group in self.by_named_ports.values()
                if region & group]

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

    def address_ranges(self, network: IPNetwork | None = None,
                       blocks: Iterable[IPBlock] = ()) -> tuple[AddressRange, ...]:
        """`network` (default: IPv4, and IPv6 when a block is IPv6) cut at every boundary of this
        engine's blocks and `blocks`, in address order; each range is in the same blocks throughout
        (`AddressRange.blocks`: which of them, sorted)."""
        every = tuple(sorted(set(self.blocks) | set(blocks), key=str))
        if network is not None:
            networks = [network]
        else:
            families = {4} | {b.cidr.version for b in every}
            networks = [ipaddress.ip_network("0.0.0.0/0" if v == 4 else "::/0") for v in sorted(families)]
        out = []
        for net in networks:
            first, last = int(net.network_address), int(net.broadcast_address)
            cuts = {first}
            for block in every:
                for part in (block.cidr, *block.excepts):
                    if part.version != net.version:
                        continue
                    for cut in (int(part.network_address), int(part.broadcast_address) + 1):
                        if first <= cut <= last:
                            cuts.add(cut)
            bounds = sorted(cuts) + [last + 1]
            make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
            for lo, hi in zip(bounds, bounds[1:], strict=False):
                start = make(lo)
                out.append(AddressRange(start, make(hi - 1), tuple(b for b in every if b.contains(start))))
        return tuple(out)

    def external_ports(self, direction: Direction, cls: int, ip: IPAddress) -> PortSet:
        """What class `cls` may send to (egress) or receive from (ingress) the outside address `ip`."""
        destination = self.classes[cls].named_ports if direction == "ingress" else None
        return self.evaluate(direction, cls, ip, destination).ports

    def is_isolated(self, direction: Direction, cls: int) -> bool:
        """A stage that denies what it leaves undecided selects class `cls` in `direction`."""
        return any(self.selecting[direction][cls][k] for k, stage in enumerate(self.stages[direction])
                   if stage.end == "Deny")

    # -- graph -------------------------------------------------------------

    @cached_property
    def graph(self) -> nx.DiGraph[int | str]:
        """Class-level allow-graph: an edge carries the ports both sides allow and each side's result.

        Nodes are class ids, plus one node per ipBlock that rules name and
        ANY_ADDRESS for addresses outside the cluster; an edge to or from those
        carries only the in-cluster side's result (the other side is None).
        The ports to an outside address are the union over ANY_ADDRESS and the
        block nodes that contain it, as allows that decide as a whole are a union. With
        first-match stages (Deny, Pass) that union would be wrong, so the outside
        nodes are instead the sets of addresses every rule treats alike
        (`within`: the blocks they are in), each with its exact ports.
        """
        import networkx as nx

        g: nx.DiGraph[int | str] = nx.DiGraph()
        self._add_class_nodes(g)
        self._add_outside(g, self.classes)
        candidates = self.candidates  # only pairs some port may connect
        for src in range(len(self.classes)):
            for dst in bit_ids(candidates.row(src)):
                self._add_pair(g, src, dst)
        return g

    def _add_class_nodes(self, g: nx.DiGraph[int | str]) -> None:
        for c in self.classes:
            g.add_node(c.id, kind="pods", pods=tuple(p.key for p in c.pods),
                       ingress_isolated=self.is_isolated("ingress", c.id),
                       egress_isolated=self.is_isolated("egress", c.id))

    def _add_pair(self, g: nx.DiGraph[int | str], src: int, dst: int) -> None:
        if src == dst and self.classes[src].lone:
            return  # a lone pod's traffic to itself is not a policy question
        egress, ingress = self.connection(src, dst)
        ports = self._combine(egress, ingress)
        if ports:
            g.add_edge(src, dst, ports=ports, egress=egress, ingress=ingress)

    def _add_outside(self, g: nx.DiGraph[int | str], classes: Iterable[PodClass]) -> None:
        """The outside nodes, and their edges with `classes`."""
        for name, data in self.outside_nodes():
            g.add_node(name, **data)
        for c in classes:
            for direction, node, result in self.outside_results(c.id):
                if direction == "egress":
                    g.add_edge(c.id, node, ports=result.ports, egress=result, ingress=None)
                else:
                    g.add_edge(node, c.id, ports=result.ports, egress=None, ingress=result)

    def outside_nodes(self) -> list[tuple[str, dict[str, object]]]:
        """The graph's outside nodes and their data: any address and each ipBlock, or with first-match stages the sets
        of addresses every rule treats alike (`within`: the blocks they are in)."""
        if self._first_match:
            return [(node, {"kind": "external", "block": None, "within": within})
                    for node, within, _ in self._address_set_nodes]
        return [(ANY_ADDRESS, {"kind": "external", "block": None}),
                *((_block_node(b), {"kind": "external", "block": b}) for b in self.blocks)]

    def outside_results(self, cls: int) -> Iterator[tuple[Direction, str, DirectionResult]]:
        """The edges of class `cls` with the outside nodes (see `graph`), per direction: the node and the
        in-cluster side's result, for the nodes it allows some port with."""
        if self._first_match:
            for node, _, ip in self._address_set_nodes:
                for direction in DIRECTIONS:
                    destination = self.classes[cls].named_ports if direction == "ingress" else None
                    result = self.evaluate(direction, cls, ip, destination)
                    if result.ports:
                        yield direction, node, result
            return
        for direction in DIRECTIONS:
            targets: list[IPBlock | None] = [None]
            if self.is_isolated(direction, cls):
                targets.extend(self.blocks)
            for block in targets:
                result = self._external_result(direction, cls, block)
                if result.ports:
                    yield direction, ANY_ADDRESS if block is None else _block_node(block), result

    @cached_property
    def _address_set_nodes(self) -> list[tuple[str, tuple[IPBlock, ...], IPAddress]]:
        """The address sets as graph nodes, in name order: (node, blocks, one address)."""
        return sorted((address_set_node(within), within, ip) for within, ip in self.address_sets.items())

    @cached_property
    def address_sets(self) -> dict[tuple[IPBlock, ...], IPAddress]:
        """Outside addresses grouped by the blocks they are in (every rule treats a group alike), each
        with one representative address."""
        out: dict[tuple[IPBlock, ...], IPAddress] = {}
        for r in self.address_ranges():
            out.setdefault(r.blocks, r.first)
        return out

    @cached_property
    def _first_match(self) -> bool:
        """Some stage decides first-match: an outside address's answer is not the union over its blocks."""
        return any(stage.first_match for d in DIRECTIONS for stage in self.stages[d])

    def _external_result(self, direction: Direction, cls: int, block: IPBlock | None) -> DirectionResult:
        """The rules of `cls` that name `block`, or that admit any address (block None)."""
        destination = self.classes[cls].named_ports if direction == "ingress" else None
        hits = tuple(tuple((i, False) for i, (_, pm) in enumerate(entries)
                           if pm.everything or (block is not None and block in pm.blocks))
                     for entries in self.staged[direction][cls])
        return self._result(direction, cls, hits, destination)


ANY_ADDRESS = "any address"


def _block_node(block: IPBlock) -> str:
    return f"ipBlock {block}"


def address_set_node(within: tuple[IPBlock, ...]) -> str:
    """The graph node of outside addresses in exactly these blocks (inputs with first-match stages)."""
    return "addresses in " + " and ".join(str(b) for b in within) + " only" if within else "any other address"


def _transpose(packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Transpose a square bit matrix packed little-endian along rows (8w rows of w bytes).

    Each 8x8 bit block is one 64-bit word, transposed in three mask-and-shift
    steps (Hacker's Delight 7-3) for whole stripes of blocks at once, then
    written to the mirrored block position.
    """
    import numpy as np

    steps = tuple((np.uint64(shift), np.uint64(mask)) for shift, mask in _TRANSPOSE_MASKS)
    w = packed.shape[1]
    out = np.empty_like(packed)
    for i0 in range(0, w, _STRIPE):
        i1 = min(w, i0 + _STRIPE)
        c = i1 - i0
        x = packed[8 * i0:8 * i1].reshape(c, 8, w).transpose(0, 2, 1).copy().view("<u8").reshape(c, w)
        for shift, mask in steps:
            t = (x ^ (x >> shift)) & mask
            x ^= t ^ (t << shift)
        out[:, i0:i1] = x.T.copy().view(np.uint8).reshape(w, c, 8).transpose(0, 2, 1).reshape(8 * w, c)
    return out


def _allows(ports: PortSet, probe: tuple[Protocol, int] | None) -> bool:
    return ports.contains(*probe) if probe is not None else bool(ports)


def low_bits(value: int) -> Iterator[int]:
    """The set bits of a bitset, ascending, a low bit at a time: for small sets, or the first few."""
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low


def bit_mask(value: int, size: int) -> npt.NDArray[np.bool_]:
    """A class bitset as a boolean array of `size` entries."""
    import numpy as np

    packed = np.frombuffer(value.to_bytes(size // 8 + 1, "little"), np.uint8)
    mask: npt.NDArray[np.bool_] = np.unpackbits(packed, bitorder="little")[:size].astype(bool)
    return mask


def mask_bits(mask: npt.NDArray[np.bool_]) -> int:
    """A boolean array as a class bitset (the inverse of bit_mask)."""
    import numpy as np

    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def id_bits(ids: Sequence[int], size: int) -> int:
    """The bitset of some class ids at once: OR-ing 1 << id one at a time costs O(size) per id."""
    import numpy as np

    mask = np.zeros(size, dtype=bool)
    mask[np.asarray(ids, dtype=np.int64)] = True
    return mask_bits(mask)


def bit_ids(value: int) -> list[int]:
    """The set bits of a bitset, ascending. Scanning a low bit at a time costs O(size) per bit on a
    50k-bit set, so large sets are unpacked with numpy instead."""
    if value.bit_count() <= 64:
        return list(low_bits(value))
    import numpy as np

    ids: list[int] = np.flatnonzero(bit_mask(value, value.bit_length())).tolist()
    return ids


def _block_membership(blocks: tuple[IPBlock, ...]) -> Callable[[tuple[IPAddress, ...]], tuple[bool, ...]]:
    """Which blocks contain any of a pod's IPs; each IP is turned into an integer once, not per block."""
    def member(ips: tuple[IPAddress, ...]) -> tuple[bool, ...]:
        if not ips:
            return (False,) * len(blocks)
        values = [(ip.version, int(ip)) for ip in ips]
        return tuple(any(b.contains_int(v, n) for v, n in values) for b in blocks)

    return member


def or_bits(values: Iterable[int]) -> int:
    """The union of class bitsets."""
    out = 0
    for v in values:
        out |= v
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
