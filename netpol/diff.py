"""Semantic diff of reachability between two versions of a cluster's manifests.

Pods are matched by namespace/name and grouped by their (base class, head class): a group's pods behave
alike in each version. A pair of groups can differ only when the source's egress rules, the
destination's ingress rules, or the pods themselves differ between the versions, so only those groups'
rows and columns are computed (netpol.slices), and only pairs that differ are expanded to pods: the cost
follows what changed, not the cluster's size. A pod on one side only has no class on the other, where it
has no connections: what an added pod gains and a removed pod loses are changes like any other.
Connections to and from outside nodes (any address, each ipBlock) are compared by the node's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from netpol.connectivity import allowing_rules
from netpol.engine import ANY_ADDRESS, Engine, PeerRef, address_set_node, bit_mask
from netpol.errors import natural_key
from netpol.model import DIRECTIONS, Cluster, Direction, IPAddress
from netpol.portsets import NO_PORTS, PortSet
from netpol.query import Analyzer
from netpol.regions import RegionSet, regions

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from netpol.slices import Codes, PortCodes, Slices

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
    """Only the rows and columns of groups that may have changed are computed (netpol.slices): a pair
    whose source's egress rules, destination's ingress rules and both pods are the same in both
    versions has the same ports in both."""
    import numpy as np

    from netpol.slices import PortCodes, Slices

    before, after = base.engine, head.engine
    old, new = set(before.class_of), set(after.class_of)
    keys = sorted(old | new, key=natural_key)  # a key's index is its rank in the output's order
    index: dict[tuple[int | None, int | None], int] = {}
    members: list[list[int]] = []
    group_of = np.empty(len(keys), dtype=np.int64)  # per rank, its group
    for rank, key in enumerate(keys):
        g = group_of[rank] = index.setdefault((before.class_of.get(key), after.class_of.get(key)), len(index))
        if g == len(members):
            members.append([])
        members[g].append(rank)
    pairs = list(index)
    pods = [[keys[r] for r in m] for m in members]
    to_class = [np.array([-1 if p[i] is None else p[i] for p in pairs], dtype=np.int64) for i in (0, 1)]
    rows, columns = _dirty(base, head, pairs, pods, to_class)
    codes = PortCodes.common(before, after)
    sides = [Slices(engine, codes, _classes(pairs, rows, i), _classes(pairs, columns, i))
             for i, engine in enumerate((before, after))]
    lines = _Lines(pairs, to_class, codes, *sides)
    between: dict[tuple[int, PortSet, PortSet], set[int]] = {}  # (destination group, ports) -> source groups
    for g in rows:
        for b, a, destinations in lines.changed(g, column=False):
            for h in destinations:
                between.setdefault((h, b, a), set()).add(g)
    for h in columns:
        for b, a, senders in lines.changed(h, column=True):
            between.setdefault((h, b, a), set()).update(senders)
    replicated = {p.key for c in (base.cluster, head.cluster) for p in c.pods if not p.is_one_pod}
    found = _expand(between, members, group_of, keys, replicated)
    outside: dict[tuple[str, PortSet, PortSet], set[str]] = {}
    for change, ends in _outside_changes(base, head, pairs, sorted(set(rows) | set(columns)), pods):
        outside.setdefault(change, set()).update(ends)
    for change, sources in outside.items():
        found[change] = tuple(sorted({*found.get(change, ()), *sources}, key=natural_key))
    changes = sorted(
        (Change(_kind(b, a), srcs, dst, b, a) for (dst, b, a), srcs in found.items() if srcs),
        key=lambda c: (("gained", "lost", "changed").index(c.kind), c.destination, c.sources),
    )
    return ReachabilityDiff(tuple(changes), tuple(sorted(new - old)), tuple(sorted(old - new)))


def _classes(pairs: list[tuple[int | None, int | None]], groups: list[int], side: int) -> set[int]:
    """The classes of some groups in one version."""
    return {c for g in groups if (c := pairs[g][side]) is not None}


def _expand(between: dict[tuple[int, PortSet, PortSet], set[int]], members: list[list[int]],
            group_of: npt.NDArray[np.int64], keys: list[str], replicated: set[str]
            ) -> dict[tuple[str, PortSet, PortSet], tuple[str, ...]]:
    """Group-level changes as pods: per destination pod, its sources in natural order (one sort per
    destination group); a pod is not its own source unless it stands for several."""
    import numpy as np

    names = np.array(keys, dtype=object)
    out: dict[tuple[str, PortSet, PortSet], tuple[str, ...]] = {}
    for (h, b, a), groups in between.items():
        if len(groups) <= 64:  # a few groups: their pods' ranks, sorted
            picked = np.sort(np.fromiter((r for g in groups for r in members[g]), np.int64))
        else:  # many: one mask over every pod, whose order is the ranks'
            chosen = np.zeros(len(members), dtype=bool)
            chosen[np.fromiter(groups, dtype=np.int64, count=len(groups))] = True
            picked = np.flatnonzero(chosen[group_of])
        sources = tuple(names[picked].tolist())  # ranks ascending: natural order
        for rank in members[h]:
            dst = keys[rank]
            if h in groups and dst not in replicated:
                out[(dst, b, a)] = tuple(s for s in sources if s != dst)
            else:
                out[(dst, b, a)] = sources
    return out


def _outside_changes(base: Analyzer, head: Analyzer, pairs: list[tuple[int | None, int | None]], dirty: list[int],
                     members: list[list[str]]) -> Iterator[tuple[tuple[str, PortSet, PortSet], list[str]]]:
    """Changes between pods and outside nodes: ((destination, before, after), sources), for the dirty
    groups (every group when the NetworkPolicy outside nodes themselves differ)."""
    before, after = base.engine, head.engine
    tiered = bool(base.cluster.tiered or head.cluster.tiered)
    address_sets = _address_sets(before, after) if tiered else None
    groups: Iterable[int] = range(len(pairs)) if not tiered and before.blocks != after.blocks else dirty
    for g in groups:
        (sb, sa), pods = pairs[g], members[g]
        if address_sets is not None:  # first-match tiers: compare each set of outside addresses exactly
            edges = [(d, name, _outside(before, d, sb, ip), _outside(after, d, sa, ip))
                     for name, ip in address_sets.items() for d in DIRECTIONS]
        else:
            ob, oa = _outside_edges(before, sb), _outside_edges(after, sa)
            edges = [(d, node, ob.get((d, node), NO_PORTS), oa.get((d, node), NO_PORTS))
                     for d, node in sorted(ob.keys() | oa.keys())]
        for direction, node, b, a in edges:
            if b == a:
                continue
            if direction == "egress":
                yield (node, b, a), pods
            else:
                for dst in pods:
                    yield (dst, b, a), [node]


class _Lines:
    """Rows and columns of both versions over the groups (pods in one class in each version)."""

    def __init__(self, pairs: list[tuple[int | None, int | None]], to_class: list[npt.NDArray[np.int64]],
                 codes: PortCodes, *sides: Slices) -> None:
        """`to_class`: per version, each group's class (-1: none there)."""
        self.pairs, self.to_class, self.codes, self.sides = pairs, to_class, codes, sides

    def _line(self, side: int, g: int, column: bool) -> Codes:
        cls = self.pairs[g][side]
        if cls is None:
            return self.codes.zeros(len(self.pairs))
        slices = self.sides[side]
        line = slices.column(cls) if column else slices.row(cls)
        out = line[self.to_class[side]]
        out[self.to_class[side] < 0] = 0
        return out

    def changed(self, g: int, column: bool) -> Iterator[tuple[PortSet, PortSet, list[int]]]:
        """The groups whose ports with group g differ, grouped by (before, after) ports."""
        import numpy as np

        b, a = self._line(0, g, column), self._line(1, g, column)
        differ = np.flatnonzero((b != a).any(axis=1))
        if not differ.size:
            return
        atoms, width = len(self.codes.atoms), self.codes.width
        if 2 * atoms <= 64:  # both codes fit in one word: a 1-d unique, far faster than rows
            low = np.uint64(atoms)
            packed, inverse = np.unique((b[differ, 0] << low) | a[differ, 0], return_inverse=True)
            values = np.stack([packed >> low, packed & np.uint64((1 << atoms) - 1)], axis=1)
        else:
            values, inverse = np.unique(np.concatenate([b[differ], a[differ]], axis=1), axis=0,
                                        return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse, minlength=len(values)))[:-1]
        for value, members in zip(values, np.split(differ[order], bounds), strict=True):
            yield self.codes.decode(value[:width]), self.codes.decode(value[width:]), members.tolist()


def _dirty(base: Analyzer, head: Analyzer, pairs: list[tuple[int | None, int | None]], members: list[list[str]],
           to_class: list[npt.NDArray[np.int64]]) -> tuple[list[int], list[int]]:
    """The groups whose row (what they send) or column (what they receive) may differ: those a changed
    policy selects in either version (in the directions it affects), and those whose pods or their
    namespace's labels differ (as peers, they may match other rules)."""
    import numpy as np

    everything = list(range(len(pairs)))
    if base.cluster.nodes != head.cluster.nodes:  # tiered peers select nodes: anything may differ
        return everything, everything
    sides = (base, head)
    spaces = [a.cluster.namespaces_by_name for a in sides]
    relabelled = {name for name in spaces[0].keys() | spaces[1].keys() if spaces[0].get(name) != spaces[1].get(name)}
    pods = [a.cluster.pods_by_key for a in sides]
    changed_pods = {k for k, pod in pods[0].items()
                    if pod.namespace in relabelled or pods[1].get(k, pod) != pod}
    changed = np.array([None in pair or not changed_pods.isdisjoint(pods_of)
                        for pair, pods_of in zip(pairs, members, strict=True)], dtype=bool)
    changed_policies = _changed_keys(base.cluster.policies_by_key, head.cluster.policies_by_key)
    changed_tiered = _changed_keys({t.key: t for t in base.cluster.tiered}, {t.key: t for t in head.cluster.tiered})
    marked = [_selected_by(a, changed_policies, changed_tiered) for a in sides]
    out = []
    for direction in ("egress", "ingress"):
        dirty = changed.copy()
        for side in (0, 1):
            present = to_class[side] >= 0
            dirty[present] |= marked[side][direction][to_class[side][present]]
        out.append(np.flatnonzero(dirty).tolist())
    return out[0], out[1]


def _changed_keys(before: Mapping[str, object], after: Mapping[str, object]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def _selected_by(analyzer: Analyzer, policies: set[str], tiered: set[str]) -> dict[Direction, npt.NDArray[np.bool_]]:
    """Per direction and class, whether one of these policies (by key) selects it there."""
    engine, cluster = analyzer.engine, analyzer.cluster
    bits = dict.fromkeys(DIRECTIONS, 0)
    for pol in (cluster.policies_by_key[k] for k in policies if k in cluster.policies_by_key):
        selected = engine.selected_by(pol.namespace, pol.pod_selector)
        for direction in DIRECTIONS:
            if pol.affects(direction):
                bits[direction] |= selected
    for t in cluster.tiered:
        if t.key in tiered:
            for direction in DIRECTIONS:
                if t.rules(direction):
                    bits[direction] |= engine.tier_select(t.subject)
    return {d: bit_mask(b, len(engine.classes)) for d, b in bits.items()}


def _address_sets(before: Engine, after: Engine) -> dict[str, IPAddress]:
    """Outside addresses that both versions' rules treat alike, named by the blocks they are in."""
    out: dict[str, IPAddress] = {}
    for r in before.address_ranges(blocks=after.blocks):
        out.setdefault(address_set_node(r.blocks), r.first)
    return out


def _outside(engine: Engine, direction: Direction, cls: int | None, ip: IPAddress) -> PortSet:
    return NO_PORTS if cls is None else engine.external_ports(direction, cls, ip)


def _outside_edges(engine: Engine, cls: int | None) -> dict[tuple[Direction, str], PortSet]:
    """Class `cls`'s ports with each outside node, per direction; none when it has no class here."""
    if cls is None:
        return {}
    return {(direction, node): result.ports for direction, node, result in engine.outside_results(cls)}


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
    outside = {id(a): _outside_addresses(a.engine) for a in (before, after)}
    for (kind, b, nb, a, na, sources), dsts in grouped.items():
        deciding = before if kind == "lost" else after
        changes.append(Change(kind, tuple(before_regions.describe(sources)), "; ".join(before_regions.describe(dsts)),
                              b, a, nb, na, _deciding_rules(deciding, outside[id(deciding)], sources[0], dsts[0])))
    changes.sort(key=lambda c: (("gained", "lost", "changed").index(c.kind), c.destination, c.sources))
    notes = tuple(dict.fromkeys([*before_regions.notes(), *after_regions.notes()]))
    return ReachabilityDiff(tuple(changes), raw.added_pods, raw.removed_pods), notes


def _ports_of(rs: RegionSet, key: str, ports: PortSet) -> tuple[PortSet, tuple[str, ...]]:
    return rs.split_ports(ports) if key in rs.by_key else (ports, ())


def _deciding_rules(analyzer: Analyzer, outside: dict[str, IPAddress], src: str, dst: str) -> tuple[str, ...]:
    """The rules that allow the pair on the side that restricts it (not "not isolated"); `outside`: an
    address for each outside node's name (_outside_addresses)."""
    engine = analyzer.engine

    def peer(key: str) -> PeerRef | None:
        return engine.class_of[key] if key in engine.class_of else outside.get(key)

    s, d = peer(src), peer(dst)
    if s is None or d is None:
        return ()
    egress, ingress = engine.connection(s, d)
    out = [f"{side}: {rule}" for side, result in (("egress", egress), ("ingress", ingress))
           for rule in allowing_rules(result) if rule != "not isolated"]
    return tuple(out)


def _outside_addresses(engine: Engine) -> dict[str, IPAddress]:
    """Each name an outside node goes by (its address set, each of its blocks, "any address" for the
    addresses in none), with the first address it stands for."""
    out: dict[str, IPAddress] = {}
    for r in engine.address_ranges():
        for name in (address_set_node(r.blocks), *(str(b) for b in r.blocks), *(() if r.blocks else (ANY_ADDRESS,))):
            out.setdefault(name, r.first)
    return out
