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
from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:  # numpy and networkx cost 0.5 s to import: only the commands that need them do
    import networkx as nx
    import numpy as np
    import numpy.typing as npt

from netpol.compile import CompiledRule, RuleRef, Target, compile_policies, resolve_ports
from netpol.model import (
    DIRECTIONS,
    Cluster,
    ContainerPort,
    Direction,
    IPAddress,
    IPBlock,
    IPBlockPeer,
    IPNetwork,
    NetworkPolicy,
    Node,
    Pod,
    PodPeer,
    Tier,
    TieredPolicy,
    TierSelector,
)
from netpol.portsets import ALL_PORTS, PortSet, Protocol, union_all
from netpol.progress import report
from netpol.selectors import LabelSelector
from netpol.tiers import CompiledTierRule, TierHit, Walk, compile_tiers, port_atoms, tier_ports, walk

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
    """What one rule's peers match: class bitsets, external blocks, or everything."""

    classes: int
    via_ip_block: int  # classes matched only because their IPs fall in an ipBlock
    blocks: tuple[IPBlock, ...]
    everything: bool

    def matches_class(self, cls: int) -> bool:
        return self.everything or bool((self.classes >> cls) & 1)

    def matches_ip(self, ip: IPAddress) -> bool:
        return self.everything or any(b.contains(ip) for b in self.blocks)


@dataclass(frozen=True)
class TierPeerMatch:
    """What one tiered rule's peers match: class bitsets, addresses (networks, node addresses), or all."""

    classes: int
    networks: tuple[IPNetwork, ...]
    node_ips: frozenset[IPAddress]
    everything: bool  # a Deny or Pass with a peer netpol does not know: fails closed

    def matches_class(self, cls: int) -> bool:
        return self.everything or bool((self.classes >> cls) & 1)

    def matches_ip(self, ip: IPAddress) -> bool:
        return self.everything or ip in self.node_ips or any(
            ip.version == n.version and ip in n for n in self.networks)


@dataclass(frozen=True)
class Match:
    """A rule that matched a peer, with the ports it allows towards the destination."""

    ref: RuleRef
    ports: PortSet
    via_ip_block: bool = False


@dataclass(frozen=True)
class DirectionResult:
    """One direction of one connection: who isolates the subject and which rules match the peer."""

    direction: Direction
    isolated_by: tuple[str, ...]
    matches: tuple[Match, ...]
    from_local_node: bool = False  # the peer is a hostNetwork pod on the subject's node: always allowed
    walk: Walk | None = None  # the tier walk, when Admin or Baseline policies select the subject
    tier_hits: tuple[TierHit, ...] = ()  # the tiered rules that match the peer, in evaluation order

    @property
    def isolated(self) -> bool:
        return bool(self.isolated_by)

    @cached_property
    def ports(self) -> PortSet:
        if self.walk is not None:
            return self.walk.allowed
        if not self.isolated or self.from_local_node:
            return ALL_PORTS
        return union_all(m.ports for m in self.matches)

    def allowed_by(self, protocol: Protocol, port: int) -> tuple[Match, ...]:
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


_Entry = TypeVar("_Entry", bound=tuple[object, PeerMatch | TierPeerMatch])
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


class Engine:
    """Compiled cluster: classes, per-class isolation and rules, and the allow-graph."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.targets: tuple[Target, ...] = compile_policies(cluster.policies)
        tier_pod, tier_ns = _tier_selectors(cluster.tiered)
        self._pod_values = _referenced_values([*_pod_selectors(cluster.policies), *tier_pod])
        self._ns_values = _referenced_values([*_namespace_selectors(cluster.policies), *tier_ns])
        self._port_names = {
            p.port for pol in cluster.policies for d in DIRECTIONS for r in pol.rules(d)
            for p in r.ports if isinstance(p.port, str)
        } | {p.name for pol in cluster.tiered for d in DIRECTIONS for r in pol.rules(d) for p in r.ports or ()
             if p.name is not None}
        self.ip_blocks = {peer.block for pol in cluster.policies for d in DIRECTIONS for r in pol.rules(d)
                          for peer in r.peers if isinstance(peer, IPBlockPeer)}  # NetworkPolicy's own
        self.blocks: tuple[IPBlock, ...] = tuple(sorted(self.ip_blocks | _tier_blocks(cluster), key=str))
        self._policy_namespaces = {p.namespace for p in cluster.policies}
        self._build_classes()
        report(f"{len(self.classes):,} classes of pods; applying {len(self.targets):,} policy targets")
        self._build_index()
        self._selector_cache: dict[tuple[str, LabelSelector], int] = {}
        self._resolved: dict[tuple[object, tuple[ContainerPort, ...] | None], PortSet] = {}
        self._results: dict[tuple[object, ...], DirectionResult] = {}  # see evaluate; never evicted, so
        # result ids are stable keys for _both
        self._both: dict[tuple[int, int], PortSet] = {}
        self.isolating: dict[Direction, list[list[str]]] = {d: [[] for _ in self.classes] for d in DIRECTIONS}
        self.rules: dict[Direction, list[list[tuple[CompiledRule, PeerMatch]]]] = {
            d: [[] for _ in self.classes] for d in DIRECTIONS
        }
        # Per direction, (subject classes, their rules): each rule's subjects, read once (netpol.slices).
        self.applied: dict[Direction, list[tuple[list[int], Sequence[tuple[CompiledRule | CompiledTierRule,
                                                                     PeerMatch | TierPeerMatch]]]]] = {
            d: [] for d in DIRECTIONS}
        self._peer_matches: dict[tuple[object, str | None], PeerMatch] = {}
        self._apply_targets()
        self.tier_rules = compile_tiers(cluster.tiered)
        self.tiered: dict[tuple[Tier, Direction], list[list[tuple[CompiledTierRule, TierPeerMatch]]]] = {}
        self._apply_tiers()

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
        index: dict[str, dict[tuple[str, str], int]] = {"pod": {}, "ns": {}}
        key_index: dict[str, dict[str, int]] = {"pod": {}, "ns": {}}
        for cid, key in enumerate(self._keys):
            bit = 1 << cid
            if key.host_network:
                self.host_bits |= bit
            if key.namespace is not None:
                self._ns_bits[key.namespace] = self._ns_bits.get(key.namespace, 0) | bit
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

    def selected_by(self, namespace: str, pod_selector: LabelSelector) -> int:
        """Classes a NetworkPolicy in `namespace` with this podSelector selects (never hostNetwork pods)."""
        return self.namespace_bits(namespace) & self.select("pod", pod_selector) & ~self.host_bits

    def pod_peer_classes(self, peer: PodPeer, namespace: str) -> int:
        """Classes a podSelector/namespaceSelector peer of a policy in `namespace` matches (both must: AND;
        no namespaceSelector: the policy's own namespace; hostNetwork pods never)."""
        ns_bits = (self.namespace_bits(namespace) if peer.namespace_selector is None
                   else self.select("ns", peer.namespace_selector))
        pod_bits = self.all_bits if peer.pod_selector is None else self.select("pod", peer.pod_selector)
        return ns_bits & pod_bits & ~self.host_bits

    def admitting(self, d: int, wanted: PortSet) -> int:
        """Classes that class d's ingress could admit on some port of `wanted`: with NetworkPolicies alone
        isolating it, its node's hostNetwork classes and the peers of rules that allow such a port; else
        every class. A filter before exact answers, which also need the source's egress."""
        if not self.is_isolated("ingress", d) or self.has_tier_rules("ingress", d):
            return self.all_bits
        bits = self.local_node_bits(d, "ingress")
        for rule, pm in self.rules["ingress"][d]:
            if self.resolve(rule, self.classes[d].named_ports).intersection(wanted):
                bits |= pm.classes
        return bits

    def block_classes(self, block: IPBlock) -> int:
        """Classes whose pod IPs fall in `block` (a block some rule names)."""
        return self._block_bits.get(block, 0)

    # -- policies ----------------------------------------------------------

    def _peer_match(self, rule: CompiledRule, namespace: str) -> PeerMatch:
        """What the rule's peers match; rules with the same peers share one (only a peer without a
        namespaceSelector depends on the policy's namespace), which saves a class bitset per rule."""
        relative = any(isinstance(p, PodPeer) and p.namespace_selector is None for p in rule.peers)
        key = (rule.peers, namespace if relative else None)
        cached = self._peer_matches.get(key)
        if cached is None:
            cached = self._peer_matches[key] = self._match_peers(rule, namespace)
        return cached

    def _match_peers(self, rule: CompiledRule, namespace: str) -> PeerMatch:
        if not rule.peers:
            return PeerMatch(self.all_bits, 0, (), True)
        by_selector = 0
        by_block = 0
        blocks = []
        for peer in rule.peers:
            if isinstance(peer, PodPeer):
                by_selector |= self.pod_peer_classes(peer, namespace)
            else:
                by_block |= self._block_bits[peer.block]
                blocks.append(peer.block)
        return PeerMatch(by_selector | by_block, by_block & ~by_selector, tuple(blocks), False)

    def _apply_targets(self) -> None:
        for target in self.targets:
            selected = self.selected_by(target.namespace, target.pod_selector)
            matches = [(rule, self._peer_match(rule, target.namespace)) for rule in target.rules]
            cids = bit_ids(selected)
            self.applied[target.direction].append((cids, matches))
            for cid in cids:
                self.isolating[target.direction][cid].extend(target.policies)
                self.rules[target.direction][cid].extend(matches)

    # -- tiered policies ---------------------------------------------------

    def _apply_tiers(self) -> None:
        """Per class and direction, the Admin and Baseline rules whose subject selects it, in order."""
        nodes = self.cluster.nodes_by_name
        for (tier, direction), rules in self.tier_rules.items():
            per_class: list[list[tuple[CompiledTierRule, TierPeerMatch]]] = [[] for _ in self.classes]
            for rule in rules:
                subject = self.tier_select(rule.subject)
                if not subject:
                    continue
                pm = self._tier_peer_match(rule, nodes)
                cids = bit_ids(subject)
                self.applied[direction].append((cids, [(rule, pm)]))
                for cid in cids:
                    per_class[cid].append((rule, pm))
            self.tiered[(tier, direction)] = per_class

    @cached_property
    def port_atoms(self) -> tuple[tuple[Protocol, int, int], ...]:
        """Per protocol, the intervals of 1-65535 that every rule treats alike (protocol, first, last): cut at
        every port and range a NetworkPolicy or tiered rule names, and at every named port as the pods
        declare it. A verdict on one port of an atom is the verdict on all of it."""
        spans = {(c.protocol, c.port, c.port) for table in self.by_named_ports for c in table}
        spans.update((p.protocol, p.port, p.end_port or p.port) for pol in self.cluster.policies
                     for rules in (pol.ingress, pol.egress) for r in rules for p in r.ports if isinstance(p.port, int))
        return tuple(port_atoms([r for rules in self.tier_rules.values() for r in rules], spans))

    @cached_property
    def tier_atoms(self) -> tuple[tuple[Protocol, int], ...]:
        """One port per atom: probes for "allowed on some port" with tiers."""
        if not self.tier_rules:
            return ()
        return tuple((proto, first) for proto, first, _ in self.port_atoms)

    def tier_select(self, sel: TierSelector) -> int:
        pods = self.all_bits if sel.pod_selector is None else self.select("pod", sel.pod_selector)
        return self.select("ns", sel.namespace_selector) & pods & ~self.host_bits

    def _tier_peer_match(self, rule: CompiledTierRule, nodes: dict[str, Node]) -> TierPeerMatch:
        classes, everything = 0, False
        networks: list[IPNetwork] = []
        node_ips: set[IPAddress] = set()
        for peer in rule.peers:
            if peer.unknown is not None:
                everything = everything or rule.ref.action != "Accept"  # fails closed
            elif peer.pods is not None:
                classes |= self.tier_select(peer.pods)
            elif peer.networks:
                networks.extend(peer.networks)
                for net in peer.networks:
                    classes |= self._block_bits[IPBlock(net)]
            elif peer.nodes is not None:
                matching = {n.name for n in nodes.values() if peer.nodes.matches(n.label_map)}
                node_ips.update(ip for name in matching for ip in nodes[name].addresses)
                for c in self.classes:
                    if c.host_network and c.node in matching:
                        classes |= 1 << c.id
        return TierPeerMatch(self.all_bits if everything else classes, tuple(networks), frozenset(node_ips),
                             everything)

    def tier_lists(self, direction: Direction, cls: int) -> tuple[list[tuple[CompiledTierRule, TierPeerMatch]],
                                                                      list[tuple[CompiledTierRule, TierPeerMatch]]]:
        admin = self.tiered.get(("Admin", direction))
        baseline = self.tiered.get(("Baseline", direction))
        return (admin[cls] if admin else []), (baseline[cls] if baseline else [])

    def has_tier_rules(self, direction: Direction, cls: int) -> bool:
        admin, baseline = self.tier_lists(direction, cls)
        return bool(admin or baseline)

    # -- verdicts ----------------------------------------------------------

    def resolve(self, rule: CompiledRule | CompiledTierRule, destination: tuple[ContainerPort, ...] | None
                ) -> PortSet:
        """A rule's ports towards one destination (NetworkPolicy or tiered), resolved once per (ports,
        named-port table); the two kinds of ports never compare equal, so they share the cache."""
        key = (rule.ports, destination)
        cached = self._resolved.get(key)
        if cached is None:
            if isinstance(rule, CompiledTierRule):
                cached = tier_ports(rule.ports, destination)
            else:
                cached = resolve_ports(rule.ports, destination)
            self._resolved[key] = cached
        return cached

    def evaluate(self, direction: Direction, subject: int, peer: PeerRef,
                 destination: tuple[ContainerPort, ...] | None) -> DirectionResult:
        """Isolation of class `subject` in `direction` and its rules that match `peer`.

        `destination` is the named-port table the ports resolve against: the
        subject's for ingress, the peer's for egress (None outside the cluster).
        The result depends only on which of the subject's rules match the peer
        (and how), so it is shared by every peer that matches the same rules:
        the allow-graph builds each once.
        """
        rules = self.rules[direction][subject]
        hits: list[tuple[int, bool]] = []  # (rule index, matched only through an ipBlock)
        for i, (_, pm) in enumerate(rules):
            if isinstance(peer, int):
                if pm.matches_class(peer):
                    hits.append((i, not pm.everything and bool((pm.via_ip_block >> peer) & 1)))
            elif pm.matches_ip(peer):
                hits.append((i, False))
        local = isinstance(peer, int) and self._is_local_node(direction, peer, subject)
        admin, baseline = self.tier_lists(direction, subject)
        tier_hits = tuple(
            tuple(i for i, (_, pm) in enumerate(lst) if (pm.matches_class(peer) if isinstance(peer, int)
                                                          else pm.matches_ip(peer)))
            for lst in (admin, baseline))
        key = (direction, subject, tuple(hits), destination, local, tier_hits)
        cached = self._results.get(key)
        if cached is None:
            matches = []
            for i, via_block in hits:
                ports = self.resolve(rules[i][0], destination)
                if ports:
                    matches.append(Match(rules[i][0].ref, ports, via_block))
            isolated_by = self._isolated_by(direction, subject)
            tier_walk = None
            admin_hits = tuple(TierHit(admin[i][0].ref, self.resolve(admin[i][0], destination))
                               for i in tier_hits[0])
            baseline_hits = tuple(TierHit(baseline[i][0].ref, self.resolve(baseline[i][0], destination))
                                  for i in tier_hits[1])
            if admin or baseline:
                v1_ports = ALL_PORTS if local else union_all(m.ports for m in matches)
                tier_walk = walk(admin_hits, bool(isolated_by) or local, v1_ports, baseline_hits)
            cached = self._results[key] = DirectionResult(direction, isolated_by, tuple(matches), local, tier_walk,
                                                          admin_hits + baseline_hits)
        return cached

    def _isolated_by(self, direction: Direction, cls: int) -> tuple[str, ...]:
        return tuple(sorted(set(self.isolating[direction][cls])))

    def _is_local_node(self, direction: Direction, peer: int, subject: int) -> bool:
        """Traffic with a pod's own node is always allowed (egress only where the plugin exempts it); a
        hostNetwork pod speaks for its node."""
        p, s = self.classes[peer], self.classes[subject]
        return (p.host_network and p.node is not None and p.node == s.node
                and (direction == "ingress" or self.cluster.dataplane.own_node_egress_allowed))

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
            admits[d] = np.frombuffer(self._admits(d, probe).to_bytes(width, "little"), np.uint8)
        rows = _transpose(admits)  # row s: the destinations whose ingress admits s
        del admits
        for s in range(n):
            sends = np.frombuffer(self._sends(s, probe).to_bytes(width, "little"), np.uint8)
            np.bitwise_and(rows[s], sends, out=rows[s])
        return ClassMatrix(rows, n)

    def reaching(self, targets: int, probe: tuple[Protocol, int]) -> int:
        """Classes that may connect to some class of `targets` on the probe: each target's ingress column,
        then the egress of the sources it admits. For a few targets (the DNS pods) this is a small part of
        `reachability`, which builds every row and a transpose."""
        import numpy as np

        reached = np.zeros(len(self.classes), dtype=bool)
        for d in bit_ids(targets):
            for s in bit_ids(self._admits(d, probe)):
                if not reached[s] and (self._sends(s, probe) >> d) & 1 and (s != d or not self.classes[s].lone):
                    reached[s] = True
        return mask_bits(reached)

    def one_side(self, direction: Direction, cls: int, probe: tuple[Protocol, int] | None = None) -> int:
        """The peer classes that `cls`'s own side lets through on the probe (None: on some port): whom its
        egress sends to, or whom its ingress admits. A pair outside it is denied without evaluating it."""
        return self._sends(cls, probe) if direction == "egress" else self._admits(cls, probe)

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

    def _sends(self, s: int, probe: tuple[Protocol, int] | None) -> int:
        if self.has_tier_rules("egress", s):
            if probe is None:  # on some port: some port atom
                return or_bits(self._sends(s, atom) for atom in self.tier_atoms)
            v1 = self._v1_sends(s, probe)
            admin, baseline = self.tier_lists("egress", s)
            if not any(p.name is not None for rule, _ in (*admin, *baseline) for p in rule.ports or ()):
                return self._tier_bits("egress", s, probe, (), v1)  # no named port: one walk for every peer
            return or_bits(self._tier_bits("egress", s, probe, ports, v1) & group
                       for ports, group in self.by_named_ports.items())
        return self._v1_sends(s, probe)

    def _v1_sends(self, s: int, probe: tuple[Protocol, int] | None) -> int:
        if not self.is_isolated("egress", s):
            return self.all_bits
        bits = self.local_node_bits(s, "egress")
        for rule, pm in self.rules["egress"][s]:
            for named_ports, group in self.by_named_ports.items():  # egress ports resolve per destination
                if _allows(self.resolve(rule, named_ports), probe):
                    bits |= pm.classes & group
        return bits

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

    def _admits(self, d: int, probe: tuple[Protocol, int] | None) -> int:
        if self.has_tier_rules("ingress", d):
            if probe is None:
                return or_bits(self._admits(d, atom) for atom in self.tier_atoms)
            return self._tier_bits("ingress", d, probe, self.classes[d].named_ports, self._v1_admits(d, probe))
        return self._v1_admits(d, probe)

    def _tier_bits(self, direction: Direction, cls: int, probe: tuple[Protocol, int],
                   destination: tuple[ContainerPort, ...], v1: int) -> int:
        """Peer classes the tier walk allows on the probe: first match per peer, with bitsets.

        `v1` is what NetworkPolicy allows (everything when it does not isolate `cls`); `destination`
        is the named-port table the rules' ports resolve against.
        """
        admin, baseline = self.tier_lists(direction, cls)
        remaining, allowed, passed = self.all_bits, 0, 0
        for rule, pm in admin:
            if not self.resolve(rule, destination).contains(*probe):
                continue
            hit = pm.classes & remaining
            remaining &= ~hit
            if rule.ref.action == "Accept":
                allowed |= hit
            elif rule.ref.action == "Pass":  # skips the rest of the Admin tier
                passed |= hit
        return allowed | self._after_admin(direction, cls, probe, destination, remaining | passed, v1, baseline)

    def _after_admin(self, direction: Direction, cls: int, probe: tuple[Protocol, int],
                     destination: tuple[ContainerPort, ...], peers: int, v1: int,
                     baseline: list[tuple[CompiledTierRule, TierPeerMatch]]) -> int:
        """NetworkPolicy decides for the peers left, where it isolates (or for local-node peers); else
        Baseline, first match; what is left is allowed by default."""
        local = self.local_node_bits(cls, direction)
        if self.is_isolated(direction, cls):
            return peers & (v1 | local)
        allowed, rest = peers & local, peers & ~local
        for rule, pm in baseline:
            if self.resolve(rule, destination).contains(*probe):
                hit = pm.classes & rest
                if rule.ref.action != "Deny":
                    allowed |= hit
                rest &= ~hit
        return allowed | rest

    def _v1_admits(self, d: int, probe: tuple[Protocol, int] | None) -> int:
        if not self.is_isolated("ingress", d):
            return self.all_bits
        bits = self.local_node_bits(d, "ingress")
        for rule, pm in self.rules["ingress"][d]:
            if _allows(self.resolve(rule, self.classes[d].named_ports), probe):
                bits |= pm.classes
        return bits

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
        return bool(self.isolating[direction][cls])

    def tier_isolating(self, direction: Direction, cls: int) -> tuple[str, ...]:
        """The Admin and Baseline policies with a Deny rule whose subject selects class `cls` in `direction`:
        they isolate it as a NetworkPolicy does (what no rule before the Deny allows is denied)."""
        admin, baseline = self.tier_lists(direction, cls)
        return tuple(sorted({f"{rule.ref.short_kind} {rule.ref.policy}" for rule, _ in (*admin, *baseline)
                             if rule.ref.action == "Deny"}))

    def is_restricted(self, direction: Direction, cls: int) -> bool:
        """Isolated, and some connection is denied: an allow-all rule (`egress: [{}]`) restricts nothing."""
        if not self.is_isolated(direction, cls):
            return False
        rules = self.rules[direction][cls]
        return not any(pm.everything and self.resolve(rule, None) == ALL_PORTS for rule, pm in rules)

    # -- graph -------------------------------------------------------------

    @cached_property
    def graph(self) -> nx.DiGraph[int | str]:
        """Class-level allow-graph: an edge carries the ports both sides allow and each side's result.

        Nodes are class ids, plus one node per ipBlock that rules name and
        ANY_ADDRESS for addresses outside the cluster; an edge to or from those
        carries only the in-cluster side's result (the other side is None).
        The ports to an outside address are the union over ANY_ADDRESS and the
        block nodes that contain it, as v1 allows are a union. With tiered
        policies (first match, Deny) that union would be wrong, so the outside
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
        """The graph's outside nodes and their data: any address and each ipBlock, or with tiers the sets
        of addresses every rule treats alike (`within`: the blocks they are in)."""
        if self.cluster.tiered:
            return [(node, {"kind": "external", "block": None, "within": within})
                    for node, within, _ in self._address_set_nodes]
        return [(ANY_ADDRESS, {"kind": "external", "block": None}),
                *((_block_node(b), {"kind": "external", "block": b}) for b in self.blocks)]

    def outside_results(self, cls: int) -> Iterator[tuple[Direction, str, DirectionResult]]:
        """The edges of class `cls` with the outside nodes (see `graph`), per direction: the node and the
        in-cluster side's result, for the nodes it allows some port with."""
        if self.cluster.tiered:
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

    def _external_result(self, direction: Direction, cls: int, block: IPBlock | None) -> DirectionResult:
        """The rules of `cls` that name `block`, or that admit any address (block None)."""
        destination = self.classes[cls].named_ports if direction == "ingress" else None
        matches = []
        for rule, pm in self.rules[direction][cls]:
            if pm.everything or (block is not None and block in pm.blocks):
                ports = self.resolve(rule, destination)
                if ports:
                    matches.append(Match(rule.ref, ports))
        return DirectionResult(direction, self._isolated_by(direction, cls), tuple(matches))


ANY_ADDRESS = "any address"


def _block_node(block: IPBlock) -> str:
    return f"ipBlock {block}"


def address_set_node(within: tuple[IPBlock, ...]) -> str:
    """The graph node of outside addresses in exactly these blocks (tiered inputs)."""
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


def _tier_selectors(policies: Iterable[TieredPolicy]) -> tuple[list[LabelSelector], list[LabelSelector]]:
    """(pod selectors, namespace selectors) of tiered subjects and peers: classes must tell them apart."""
    pods: list[LabelSelector] = []
    namespaces: list[LabelSelector] = []
    for pol in policies:
        sels = [pol.subject] + [p.pods for d in DIRECTIONS for r in pol.rules(d) for p in r.peers if p.pods]
        for sel in sels:
            namespaces.append(sel.namespace_selector)
            if sel.pod_selector is not None:
                pods.append(sel.pod_selector)
    return pods, namespaces


def _tier_blocks(cluster: Cluster) -> set[IPBlock]:
    """Address sets tiered rules tell apart: each `networks` CIDR, and each address of a node that a
    `nodes` peer could select (as a /32 or /128)."""
    out: set[IPBlock] = set()
    uses_nodes = False
    for pol in cluster.tiered:
        for d in DIRECTIONS:
            for r in pol.rules(d):
                for p in r.peers:
                    out.update(IPBlock(n) for n in p.networks)
                    uses_nodes = uses_nodes or p.nodes is not None
    if uses_nodes:
        out.update(IPBlock(ipaddress.ip_network(ip)) for n in cluster.nodes for ip in n.addresses)
    return out


def _pod_selectors(policies: Iterable[NetworkPolicy]) -> Iterator[LabelSelector]:
    for pol in policies:
        yield pol.pod_selector
        for d in DIRECTIONS:
            for r in pol.rules(d):
                for peer in r.peers:
                    if isinstance(peer, PodPeer) and peer.pod_selector is not None:
                        yield peer.pod_selector


def _namespace_selectors(policies: Iterable[NetworkPolicy]) -> Iterator[LabelSelector]:
    for pol in policies:
        for d in DIRECTIONS:
            for r in pol.rules(d):
                for peer in r.peers:
                    if isinstance(peer, PodPeer) and peer.namespace_selector is not None:
                        yield peer.namespace_selector


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
