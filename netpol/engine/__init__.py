"""The allow-graph engine: per class and direction, each stage's rules, and the walk over them.

The engine reads the policies only through their intermediate form (netpol/policies/stages.py). Classes
(netpol/engine/classes.py) are the pods every rule treats alike; per class and direction it holds each
stage's rules with the class bitsets their peers match, and answers with one first-match walk over
the stages: as bitsets per port atom for matrices, or as port segments with provenance
(netpol/policies/walk.py) for one connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from itertools import groupby
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # networkx costs time to import: only the commands that need it do
    import networkx as nx

from netpol.engine.addresses import (
    ANY_ADDRESS,
    AddressRange,
    address_ranges,
    address_set_node,
    block_node,
)
from netpol.engine.bits import ClassMatrix, bit_ids, mask_bits, transpose
from netpol.engine.classes import Partition, PodClass
from netpol.engine.results import ConditionPeerMatch, DirectionResult, Entry, PeerMatch
from netpol.model import DIRECTIONS, Cluster, ContainerPort, Direction, IPAddress, IPBlock, IPNetwork
from netpol.model.portsets import ALL_PORTS, PortSet, Protocol, atoms
from netpol.policies.profiles import profile_stages
from netpol.policies.stages import (
    Addresses,
    AllOf,
    Everything,
    Nodes,
    Peer,
    PortMatch,
    Stage,
    StageRule,
    Stages,
    Subject,
    named_blocks,
    names_ports,
    resolve_ports,
)
from netpol.policies.walk import Hit, Step, walk_stages
from netpol.progress import report

# What the analyses import from here, wherever it now lives.
__all__ = ["ANY_ADDRESS", "AddressRange", "ClassMatrix", "DirectionResult", "Engine", "PeerMatch", "PeerRef",
           "PodClass", "address_set_node", "bit_ids"]


_Entry = TypeVar("_Entry", bound=tuple[object, PeerMatch])
PeerRef = int | IPAddress  # a class id, or an address outside the cluster
class Engine(Partition):
    """Compiled cluster: classes, per-class stage rules, and the allow-graph. It reads the policies only
    through their intermediate form (netpol/policies/stages.py): every family's stages are walked alike."""

    def __init__(self, cluster: Cluster) -> None:
        self.stages: Stages = profile_stages(cluster)
        super().__init__(cluster, self.stages)
        report(f"{len(self.classes):,} classes of pods; applying "
               f"{sum(len(stage.rules) for d in DIRECTIONS for stage in self.stages[d]):,} policy rules")
        self._resolved: dict[tuple[PortMatch, tuple[ContainerPort, ...] | None], PortSet] = {}
        self._results: dict[tuple[object, ...], DirectionResult] = {}  # see evaluate; never evicted, so
        # result ids are stable keys for _both
        self._both: dict[tuple[int, int], PortSet] = {}
        self._peer_matches: dict[tuple[str, tuple[Peer, ...]], PeerMatch] = {}
        # Per direction and class, per stage: the rules whose subject holds the class (with what their
        # peers match), and the names of the stage's policies that select it (where the stage's end is
        # not Pass: a stage that passes what it leaves undecided acts the same on pods it does not select).
        self.staged: dict[Direction, list[list[list[Entry]]]] = {}
        self.selecting: dict[Direction, list[list[list[str]]]] = {}
        # Per direction, (subject classes, their rules): each rule's subjects, read once (netpol.engine.slices).
        self.applying: dict[Direction, list[tuple[list[int], list[Entry]]]] = {}
        for d in DIRECTIONS:
            self._apply(d)

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
            for policy in stage.policies if stage.end != "Pass" else ():  # else selecting changes nothing
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
        if len(peers) == 1 and isinstance(peers[0], AllOf):  # one conjunction: it tests an address itself
            condition = peers[0]
            return ConditionPeerMatch(self.subject_bits(condition), 0, tuple(named_blocks(condition)), frozenset(),
                                      False, condition)
        by_selector = by_block = 0
        blocks: list[IPBlock] = []
        node_ips: set[IPAddress] = set()
        for peer in peers:
            if isinstance(peer, Addresses):
                by_block |= self._block_bits[peer.block]
                blocks.append(peer.block)
                continue
            if isinstance(peer, Nodes):
                node_ips.update(peer.addresses)
            by_selector |= self.subject_bits(peer)
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
        spans = {(c.protocol, c.port, c.port) for table in self.by_named_ports for c in table} | self.port_spans
        return tuple(atoms(spans))

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
        rows = transpose(admits)  # row s: the destinations whose ingress admits s
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
        return self._walk_bits(direction, cls, self.atoms if probe is None else (probe,), tables)

    def _can_deny(self, direction: Direction, cls: int) -> bool:
        """Some stage denies something for class `cls`: a Deny rule holds it, or a stage that denies what
        it leaves undecided selects it."""
        return any((stage.end == "Deny" and self.selecting[direction][cls][k])
                   or any(rule.action == "Deny" for rule, _ in self.staged[direction][cls][k])
                   for k, stage in enumerate(self.stages[direction]))

    def _tables(self, direction: Direction, cls: int) -> list[tuple[tuple[ContainerPort, ...], int]]:
        """The named-port tables the ports of `cls`'s rules resolve against, with the peers they hold:
        ingress, its own; egress, each destination's where a rule names a port (or a table has stand-ins)."""
        if direction == "ingress":
            return [(self.classes[cls].named_ports, self.all_bits)]
        if self.stand_ins or any(names_ports(rule.ports) for rule, _ in self._entries(direction, cls)):
            return list(self.by_named_ports.items())
        return [((), self.all_bits)]

    def _walk_bits(self, direction: Direction, cls: int, probes: Sequence[tuple[Protocol, int]],
                   tables: list[tuple[tuple[ContainerPort, ...], int]]) -> int:
        """Peer classes the walk over the stages allows on some probe: first match per peer, with bitsets; the
        rules' ports resolve once per named-port table, and a table's peers stop once all are allowed."""
        stages, staged = self.stages[direction], self.staged[direction][cls]
        ends = [bool(self.selecting[direction][cls][k]) and stage.end == "Deny" for k, stage in enumerate(stages)]
        bits = 0
        for table, group in tables:
            resolved = [[(rule.action, pm.classes, self.resolve_ports(rule.ports, table)) for rule, pm in entries
                         if rule.action != "Log"] for entries in staged]
            for probe in probes:
                remaining, allowed = self.all_bits, 0
                for k, rules in enumerate(resolved):
                    passed = 0
                    for action, classes, ports in rules:
                        if not ports.contains(*probe):
                            continue
                        hit = classes & remaining
                        remaining &= ~hit
                        if action == "Allow":
                            allowed |= hit
                        elif action == "Pass":  # skips the rest of the stage
                            passed |= hit
                    if ends[k]:
                        remaining = 0
                    remaining |= passed
                bits |= (allowed | remaining) & group
                if bits & group == group:
                    break
        return bits

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

    def address_ranges(self, network: IPNetwork | None = None, blocks: Iterable[IPBlock] = (),
                       by_family: bool = False) -> tuple[AddressRange, ...]:
        """`network` (default: every IPv4 and IPv6 address) cut at every boundary of this
        engine's blocks and `blocks` (addresses.address_ranges), each range with its family where this
        engine's rules tell the families apart, or `by_family` (another engine's do)."""
        return address_ranges(tuple(sorted(set(self.blocks) | set(blocks), key=str)), network,
                              self.names_family or by_family)

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
            return [(node, {"kind": "external", "block": None, "within": within, "family": family})
                    for node, within, family, _ in self._address_set_nodes]
        return [(ANY_ADDRESS, {"kind": "external", "block": None}),
                *((block_node(b), {"kind": "external", "block": b}) for b in self.blocks)]

    def outside_results(self, cls: int) -> Iterator[tuple[Direction, str, DirectionResult]]:
        """The edges of class `cls` with the outside nodes (see `graph`), per direction: the node and the
        in-cluster side's result, for the nodes it allows some port with."""
        if self._first_match:
            for node, _, _, ip in self._address_set_nodes:
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
                    yield direction, ANY_ADDRESS if block is None else block_node(block), result

    @cached_property
    def _address_set_nodes(self) -> list[tuple[str, tuple[IPBlock, ...], int | None, IPAddress]]:
        """The address sets as graph nodes, in name order: (node, blocks, family, one address)."""
        return sorted(((address_set_node(within, family), within, family, ip)
                       for (within, family), ip in self.address_sets.items()), key=lambda n: n[0])

    @cached_property
    def address_sets(self) -> dict[tuple[tuple[IPBlock, ...], int | None], IPAddress]:
        """Outside addresses grouped by the blocks they are in, and by family where a rule tells the families
        apart (`AddressRange.alike`: every rule treats a group alike), each with one representative address."""
        out: dict[tuple[tuple[IPBlock, ...], int | None], IPAddress] = {}
        for r in self.address_ranges():
            out.setdefault(r.alike, r.first)
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


def _allows(ports: PortSet, probe: tuple[Protocol, int] | None) -> bool:
    return ports.contains(*probe) if probe is not None else bool(ports)


