"""Semantic diff of reachability between two versions of a cluster's manifests.

Pods are matched by namespace/name. Pods that share an engine class in the
base and in the head behave identically in both, so pairs are compared per
such (base class, head class) group and only changed pairs are expanded
to pods. A pod on one side only has no class on the other, where it has no
connections: what an added pod gains and a removed pod loses are changes
like any other. Connections to and from outside nodes (any address, each
ipBlock) are compared by the node's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netpol.connectivity import allowing_rules
from netpol.engine import ANY_ADDRESS, Engine, PeerRef, address_set_node
from netpol.errors import natural_key
from netpol.model import Cluster, Direction, IPAddress
from netpol.portsets import NO_PORTS, PortSet
from netpol.query import Analyzer
from netpol.regions import RegionSet, regions

ChangeKind = Literal["gained", "lost", "changed"]


@dataclass(frozen=True)
class Change:
    """Sources whose connections to one destination changed the same way."""

    kind: ChangeKind
    sources: tuple[str, ...]
    destination: str
    before: PortSet
    after: PortSet
    # For possible pods (netpol.regions): the named ports each side allows, and the rules that decide.
    named_before: tuple[str, ...] = ()
    named_after: tuple[str, ...] = ()
    because: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReachabilityDiff:
    changes: tuple[Change, ...]
    added_pods: tuple[str, ...]
    removed_pods: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.added_pods or self.removed_pods)

    def count(self, kind: ChangeKind) -> int:
        """Changed connections (source, destination pairs) of one kind."""
        return sum(len(c.sources) for c in self.changes if c.kind == kind)


def diff(base: Analyzer, head: Analyzer) -> ReachabilityDiff:
    before, after = base.engine, head.engine
    old = set(before.class_of)
    new = set(after.class_of)
    groups: dict[tuple[int | None, int | None], list[str]] = {}
    for key in sorted(old | new):
        groups.setdefault((before.class_of.get(key), after.class_of.get(key)), []).append(key)
    replicated = {p.key for c in (base.cluster, head.cluster) for p in c.pods if not p.is_one_pod}
    found: dict[tuple[str, PortSet, PortSet], set[str]] = {}

    def record(sources: list[str], destination: str, b: PortSet, a: PortSet) -> None:
        srcs = [s for s in sources if s != destination or s in replicated]  # replicas reach each other
        if b != a and srcs:
            found.setdefault((destination, b, a), set()).update(srcs)

    address_sets = _address_sets(before, after) if base.cluster.tiered or head.cluster.tiered else None
    for (sb, sa), sources in groups.items():
        for (db, da), destinations in groups.items():
            b, a = _ports(before, sb, db), _ports(after, sa, da)
            if b != a:
                for dst in destinations:
                    record(sources, dst, b, a)
        if address_sets is not None:  # first-match tiers: compare each set of outside addresses exactly
            for name, ip in address_sets.items():
                record(sources, name, _outside(before, "egress", sb, ip), _outside(after, "egress", sa, ip))
                b, a = _outside(before, "ingress", sb, ip), _outside(after, "ingress", sa, ip)
                if b != a:
                    for dst in sources:
                        record([name], dst, b, a)
            continue
        for node in sorted(_external(before, sb) | _external(after, sa)):
            record(sources, node, _ports(before, sb, node), _ports(after, sa, node))
            b, a = _ports(before, node, sb), _ports(after, node, sa)
            if b != a:
                for dst in sources:
                    record([node], dst, b, a)
    changes = sorted(
        (Change(_kind(b, a), tuple(sorted(srcs, key=natural_key)), dst, b, a) for (dst, b, a), srcs in found.items()),
        key=lambda c: (("gained", "lost", "changed").index(c.kind), c.destination, c.sources),
    )
    return ReachabilityDiff(tuple(changes), tuple(sorted(new - old)), tuple(sorted(old - new)))


def _address_sets(before: Engine, after: Engine) -> dict[str, IPAddress]:
    """Outside addresses that both versions' rules treat alike, named by the blocks they are in."""
    out: dict[str, IPAddress] = {}
    for r in before.address_ranges(blocks=after.blocks):
        out.setdefault(address_set_node(r.blocks), r.first)
    return out


def _outside(engine: Engine, direction: Direction, cls: int | None, ip: IPAddress) -> PortSet:
    return NO_PORTS if cls is None else engine.external_ports(direction, cls, ip)


def _ports(engine: Engine, src: int | str | None, dst: int | str | None) -> PortSet:
    """The ports of one class-level edge; none when either end does not exist on this side."""
    if src is None or dst is None:
        return NO_PORTS
    data = engine.graph.get_edge_data(src, dst)
    ports: PortSet = data["ports"] if data is not None else NO_PORTS
    return ports


def _external(engine: Engine, cls: int | None) -> set[str]:
    if cls is None:
        return set()
    g = engine.graph
    return {n for n in (*g.successors(cls), *g.predecessors(cls)) if isinstance(n, str)}


def _kind(before: PortSet, after: PortSet) -> ChangeKind:
    if not before:
        return "gained"
    if not after:
        return "lost"
    return "changed"


def possible_diff(base: Cluster, head: Cluster) -> tuple[ReachabilityDiff, tuple[str, ...]]:
    """The diff for every possible pod (and the input's pods): both versions get the same hypothetical
    pods, one per region that either version tells apart, so two policy sets that behave alike for every
    pod give no change. Changes are in the policies' terms; the second value: the assumptions made."""
    before_regions = regions(base, others=[head])
    after_regions = regions(head, others=[base])
    before, after = Analyzer(before_regions.cluster), Analyzer(after_regions.cluster)
    raw = diff(before, after)
    grouped: dict[tuple[ChangeKind, PortSet, tuple[str, ...], PortSet, tuple[str, ...], tuple[str, ...]],
                  list[str]] = {}
    for c in raw.changes:
        b, nb = _ports_of(before_regions, c.destination, c.before)
        a, na = _ports_of(after_regions, c.destination, c.after)
        if (b, nb) == (a, na):
            continue  # only a placeholder number moved: no named or numbered port changed
        grouped.setdefault((c.kind, b, nb, a, na, c.sources), []).append(c.destination)
    changes = []
    for (kind, b, nb, a, na, sources), dsts in grouped.items():
        deciding = before if kind == "lost" else after
        changes.append(Change(kind, tuple(before_regions.describe(sources)), "; ".join(before_regions.describe(dsts)),
                              b, a, nb, na, _deciding_rules(deciding, sources[0], dsts[0])))
    changes.sort(key=lambda c: (("gained", "lost", "changed").index(c.kind), c.destination, c.sources))
    notes = tuple(dict.fromkeys([*before_regions.notes(), *after_regions.notes()]))
    return ReachabilityDiff(tuple(changes), raw.added_pods, raw.removed_pods), notes


def _ports_of(rs: RegionSet, key: str, ports: PortSet) -> tuple[PortSet, tuple[str, ...]]:
    return rs.split_ports(ports) if key in rs.by_key else (ports, ())


def _deciding_rules(analyzer: Analyzer, src: str, dst: str) -> tuple[str, ...]:
    """The rules that allow the pair on the side that restricts it (not "not isolated")."""
    engine = analyzer.engine

    def peer(key: str) -> PeerRef | None:
        if key in engine.class_of:
            return engine.class_of[key]
        for r in engine.address_ranges():  # an outside node: an address it stands for
            names = (address_set_node(r.blocks), *(str(b) for b in r.blocks))
            if key in names or (key == ANY_ADDRESS and not r.blocks):
                return r.first
        return None

    s, d = peer(src), peer(dst)
    if s is None or d is None:
        return ()
    egress, ingress = engine.connection(s, d)
    out = [f"{side}: {rule}" for side, result in (("egress", egress), ("ingress", ingress))
           for rule in allowing_rules(result) if rule != "not isolated"]
    return tuple(out)
