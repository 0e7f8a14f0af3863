"""Semantic diff of reachability between two versions of a cluster's manifests.

Pods are matched by namespace/name and grouped by their (base class, head class): a group's pods behave
alike in each version. A pair of groups can differ only when the source's egress rules, the
destination's ingress rules, or the pods themselves differ between the versions, so only those groups'
rows and columns are computed (netpol.engine.slices), and only pairs that differ are expanded to pods: the cost
follows what changed, not the cluster's size. A pod on one side only has no class on the other, where it
has no connections: what an added pod gains and a removed pod loses are changes like any other.
Outside addresses are compared as address sets: both versions' ipBlocks cut the address space into ranges
(a common refinement), each range is answered in both versions, and a change is reported per maximal set
of ranges whose change is alike, so an ipBlock split in two halves is no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netpol.analyses.diff_addresses import AddressSets, Change, ChangeKind
from netpol.analyses.diff_ties import Ambiguity
from netpol.analyses.diff_ties import ambiguities as _ambiguities
from netpol.analyses.families import families
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.phrases import allowing_rules
from netpol.analyses.query import Analyzer
from netpol.analyses.regions import MAX_REGIONS, Marked, RegionSet, regions
from netpol.engine import PeerRef
from netpol.engine.bits import bit_mask
from netpol.errors import natural_key
from netpol.model import DIRECTIONS, METADATA_NAME_LABEL, Cluster, Direction, IPAddress, PodPeer
from netpol.model.portsets import PortSet
from netpol.model.selectors import LabelSelector
from netpol.policies.calico import calico_compiles

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from netpol.engine.slices import Codes, PortCodes, Slices


@dataclass(frozen=True)
class ReachabilityDiff:
    changes: tuple[Change, ...]
    added_pods: tuple[str, ...]
    removed_pods: tuple[str, ...]
    assumptions: tuple[str, ...] = ()  # what the answer took (possible pods, or what it left out)
    pairs: bool = True  # each source of a change is one pair; False: sources are phrases for possible pods
    ambiguities: tuple[Ambiguity, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.added_pods or self.removed_pods or self.ambiguities)

    def count(self, kind: ChangeKind) -> int:
        """Changes of one kind: (source, destination) pairs, or lines when sources are phrases."""
        return sum(len(c.sources) if self.pairs else 1 for c in self.changes if c.kind == kind)


def diff(base: Analyzer, head: Analyzer, delta: _Delta | None = None) -> ReachabilityDiff:
    """Only the rows and columns of groups that may have changed are computed (netpol.engine.slices): a pair
    whose source's egress rules, destination's ingress rules and both pods are the same in both
    versions has the same ports in both. `delta`: what differs, when the caller has compared already."""
    import numpy as np

    from netpol.engine.slices import PortCodes, Slices

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
    rows, columns = _dirty(base, head, pairs, pods, to_class, delta or _Delta.of(base.cluster, head.cluster))
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
    addresses = AddressSets(before, after)
    for change, ends in addresses.changes(pairs, sorted(set(rows) | set(columns)), pods):
        found[change] = tuple(sorted({*found.get(change, ()), *ends}, key=natural_key))
    changes = sorted((addresses.change(_kind(b, a), srcs, dst, b, a) for (dst, b, a), srcs in found.items() if srcs),
                     key=lambda c: (("gained", "lost", "changed").index(c.kind), c.destination, c.sources))
    ambiguities = _ambiguities(base, head, pairs, pods, addresses, replicated)
    return ReachabilityDiff(tuple(changes), tuple(sorted(new - old)), tuple(sorted(old - new)),
                            ambiguities=ambiguities)


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


@dataclass(frozen=True)
class _Delta:
    """What differs between two versions, by key; computed once per diff (comparing every pod and policy of
    a large cluster takes a while)."""

    nodes: bool
    relabelled: frozenset[str]  # namespaces whose labels differ (or that one version lacks)
    pods: frozenset[str]  # pods that differ or that one version lacks
    policies: frozenset[str]
    tiered: frozenset[str]
    cilium: bool = False  # a CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or CIDR group differs: as nodes
    calico: bool = False  # Calico's tiers decide (either version): any change may reach anything, as nodes

    @classmethod
    def of(cls, base: Cluster, head: Cluster) -> _Delta:
        return cls(base.nodes != head.nodes, _changed_keys(base.namespaces_by_name, head.namespaces_by_name),
                   _changed_keys(base.pods_by_key, head.pods_by_key),
                   _changed_keys(base.policies_by_key, head.policies_by_key),
                   _changed_keys({t.key: t for t in base.tiered}, {t.key: t for t in head.tiered}),
                   (base.cilium, base.cidr_groups) != (head.cilium, head.cidr_groups),
                   calico_compiles(base) or calico_compiles(head))


def _dirty(base: Analyzer, head: Analyzer, pairs: list[tuple[int | None, int | None]], members: list[list[str]],
           to_class: list[npt.NDArray[np.int64]], delta: _Delta) -> tuple[list[int], list[int]]:
    """The groups whose row (what they send) or column (what they receive) may differ: those a changed
    policy selects in either version (in the directions it affects), and those whose pods or their
    namespace's labels differ (as peers, they may match other rules)."""
    import numpy as np

    everything = list(range(len(pairs)))
    if delta.nodes or delta.cilium or delta.calico:  # tiered peers select nodes, Cilium's rules entities, a Calico
        # rule may Pass or Deny before any other: anything may differ
        return everything, everything
    sides = (base, head)
    changed_pods = delta.pods | {k for k, pod in base.cluster.pods_by_key.items()
                                 if delta.relabelled and pod.namespace in delta.relabelled}
    changed = np.array([None in pair or not changed_pods.isdisjoint(pods_of)
                        for pair, pods_of in zip(pairs, members, strict=True)], dtype=bool)
    marked = [_selected_by(a, delta.policies, delta.tiered) for a in sides]
    out = []
    for direction in ("egress", "ingress"):
        dirty = changed.copy()
        for side in (0, 1):
            present = to_class[side] >= 0
            dirty[present] |= marked[side][direction][to_class[side][present]]
        out.append(np.flatnonzero(dirty).tolist())
    return out[0], out[1]


def _changed_keys(before: Mapping[str, object], after: Mapping[str, object]) -> frozenset[str]:
    return frozenset(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _selected_by(analyzer: Analyzer, policies: frozenset[str], tiered: frozenset[str]
                 ) -> dict[Direction, npt.NDArray[np.bool_]]:
    """Per direction and class, whether one of these policies (by key) selects it there."""
    engine, cluster = analyzer.engine, analyzer.cluster
    bits = dict.fromkeys(DIRECTIONS, 0)
    for pol in (cluster.policies_by_key[k] for k in policies if k in cluster.policies_by_key):
        selected = families(engine).selected_by(pol.namespace, pol.pod_selector)
        for direction in DIRECTIONS:
            if pol.affects(direction):
                bits[direction] |= selected
    for t in cluster.tiered:
        if t.key in tiered:
            for direction in DIRECTIONS:
                if t.rules(direction):
                    bits[direction] |= families(engine).tier_select(t.subject)
    return {d: bit_mask(b, len(engine.classes)) for d, b in bits.items()}


def _kind(before: PortSet, after: PortSet) -> ChangeKind:
    if not before:
        return "gained"
    if not after:
        return "lost"
    return "changed"


INPUT_ONLY_HINT = "or compare the input's pods alone with --input-only"
INPUT_ONLY_NOTE = ("--input-only: the diff compares the input's pods only; pods that are not in the input (new pods "
                   "of its namespaces, pods of other namespaces) are not compared")


def possible_diff(base: Cluster, head: Cluster) -> ReachabilityDiff:
    """The diff for every pod that could exist: the input's pods and, beside them, hypothetical pods for
    the regions of label space that either version tells apart, the same on both sides, so two policy sets
    that behave alike for every pod give no change. Changes are in the policies' terms, and the diff's
    assumptions say what was taken.

    Only the namespaces a change can reach (`_reach`) get possible pods: elsewhere no pod's connections
    differ. Those that hold a changed policy or pod (`_focus`) are cut by every selector that applies to them,
    the others only as far as their connections with those tell apart (regions' `focus`); and only the pods
    a changed rule holds at either end are cut at all (regions' `marked`), so the cost follows what changed.
    When the regions are more than netpol enumerates, RegionLimitError (with pods, naming --input-only):
    netpol never samples, nor answers for less than asked."""
    delta = _Delta.of(base, head)
    try:
        before, after = _possible_regions(base, head, delta)
    except RegionLimitError as exc:
        if not (base.pods or head.pods):
            raise  # nothing but possible pods to compare
        raise RegionLimitError(f"{exc}; {INPUT_ONLY_HINT}") from None
    return _regions_diff(_grafted(base, before), _grafted(head, after), before, after, delta)


def _possible_regions(base: Cluster, head: Cluster, delta: _Delta) -> tuple[RegionSet, RegionSet]:
    """The possible pods of both versions, the same regions: those of the namespaces a change reaches, cut
    for its focus and, when a change is known rule by rule, only inside the pods it marks (`_reach`)."""
    reach = _reach(base, head, delta)
    scoped = [_scoped(c, reach) for c in (base, head)]
    # with pods, the regions are compiled beside every pod's class, twice, and the engine's memory grows with the
    # square of the classes: the limit of an unfocused answer, not the larger one of a policy repository's focus
    limit = MAX_REGIONS if base.pods or head.pods else None
    before = regions(scoped[0], others=[scoped[1]], focus=_focus(base, head, delta),
                     marked=None if reach is None else reach.marked, limit=limit)
    # the same regions for HEAD (cut once): only its own policies differ, which name the spare port numbers
    after = replace(before, cluster=replace(before.cluster, policies=scoped[1].policies, tiered=scoped[1].tiered,
                                            cilium=scoped[1].cilium, calico=scoped[1].calico))
    return before, after


def _focus(base: Cluster, head: Cluster, delta: _Delta) -> frozenset[str] | None:
    """The namespaces that every changed connection has an end in: those of the changed policies (a changed
    connection has an end that a changed policy selects in one version) and of the changed pods. None (every
    namespace) when a namespace's labels, a node, or an Admin or Baseline policy changed."""
    if delta.nodes or delta.relabelled or delta.tiered or delta.cilium or delta.calico:
        return None
    policies = {**base.policies_by_key, **head.policies_by_key}
    pods = {**base.pods_by_key, **head.pods_by_key}
    return frozenset({policies[k].namespace for k in delta.policies} | {pods[k].namespace for k in delta.pods})


def _regions_diff(base: Cluster, head: Cluster, before_regions: RegionSet, after_regions: RegionSet,
                  delta: _Delta) -> ReachabilityDiff:
    """The diff of two clusters that hold the same hypothetical pods, named in the policies' terms
    (`delta`: what differs between the versions without them, which the hypothetical pods do not change)."""
    before, after = Analyzer(base), Analyzer(head)
    raw = diff(before, after, delta)
    grouped: dict[tuple[ChangeKind, PortSet, tuple[str, ...], PortSet, tuple[str, ...], tuple[str, ...]],
                  list[Change]] = {}
    for c in raw.changes:
        b, nb = _ports_of(before_regions, c.destination, c.before)
        a, na = _ports_of(after_regions, c.destination, c.after)
        if (b, nb) == (a, na):
            continue  # only a placeholder number moved: no named or numbered port changed
        grouped.setdefault((c.kind, b, nb, a, na, c.sources), []).append(c)
    changes = []
    for (kind, b, nb, a, na, sources), alike in grouped.items():
        deciding = before if kind == "lost" else after
        first = alike[0]
        changes.append(Change(kind, tuple(before_regions.describe(sources)),
                              "; ".join(before_regions.describe(c.destination for c in alike)), b, a, nb, na,
                              _deciding_rules(deciding, first), first.source_addresses,
                              tuple(r for c in alike for r in c.destination_addresses)))
    changes.sort(key=lambda c: (("gained", "lost", "changed").index(c.kind), c.destination, c.sources))
    ties: dict[tuple[PortSet, PortSet, tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for t in raw.ambiguities:
        b, a = (_ports_of(rs, t.destination, ports)[0] for rs, ports in ((before_regions, t.before),
                                                                          (after_regions, t.after)))
        ties.setdefault((b, a, t.ties, t.sources), []).append(t.destination)
    ambiguities = tuple(Ambiguity(tuple(before_regions.describe(srcs)), "; ".join(before_regions.describe(dsts)), b, a,
                                  names) for (b, a, names, srcs), dsts in ties.items() if b != a)
    notes = tuple(dict.fromkeys([*before_regions.notes(), *after_regions.notes()]))
    return ReachabilityDiff(tuple(changes), raw.added_pods, raw.removed_pods, notes, pairs=False,
                            ambiguities=ambiguities)


@dataclass(frozen=True)
class _Reach:
    """What a change can touch: per namespace, the directions of its policies that cut its pods, and the pods
    at either end of a changed connection (every other possible pod keeps every connection)."""

    directions: dict[str, frozenset[Direction]]
    marked: tuple[Marked, ...]


def both_versions(before: Sequence[str], after: Sequence[str]) -> tuple[str, ...]:
    """Both versions' assumptions, each once; one that only one version makes says which."""
    return (*(n if n in after else f"BASE only: {n}" for n in before),
            *(f"HEAD only: {n}" for n in after if n not in before))


def _reach(base: Cluster, head: Cluster, delta: _Delta) -> _Reach | None:
    """The namespaces whose pods a change can touch (None: every pod), each with the directions of its
    policies that decide those pods' changed connections, and those pods. A connection changes only where a
    rule that holds both ends changed: the changed policies' subjects (every policy of their namespace), and
    the pods their changed rules' peers hold, as the other end (for a changed ingress rule its sources, whose
    egress policies matter; for an egress rule its destinations, whose ingress policies matter). Possible
    pods elsewhere keep every connection. A change that can isolate a pod, a rule with no peers (every
    pod), a changed Admin or Baseline policy, or a changed pod, namespace or node reaches everything."""
    if delta.nodes or delta.relabelled or delta.pods or delta.tiered or delta.cilium or delta.calico:
        # A changed Admin or Baseline policy reaches past its subjects' and peers' namespaces (a subject
        # that widens, a Pass that hands ports on, a tie): every namespace is compared, exactly.
        return None
    spaces = base.namespaces
    matched: dict[LabelSelector, set[str]] = {}
    out: dict[str, set[Direction]] = {}
    marked: dict[Marked, None] = {}

    def add(names: Iterable[str], directions: Iterable[Direction]) -> None:
        for name in names:
            out.setdefault(name, set()).update(directions)

    def holding(sel: LabelSelector) -> set[str]:
        if sel not in matched:
            matched[sel] = {n.name for n in spaces if sel.matches(n.label_map)}
        return matched[sel]

    v1 = [base.policies_by_key, head.policies_by_key]
    for key in delta.policies:
        pols = [p for side in v1 if (p := side.get(key)) is not None]
        add((p.namespace for p in pols), DIRECTIONS)
        changed: list[Direction] = []
        for direction in DIRECTIONS:
            if not any(p.affects(direction) for p in pols):
                continue
            if len(pols) == 1 or len({(p.pod_selector, p.affects(direction)) for p in pols}) > 1:
                return None  # its subjects' isolation may change: every connection of theirs
            other_end = [_OTHER[direction]]
            rules = set(pols[0].rules(direction)) ^ set(pols[1].rules(direction))
            if rules:
                changed.append(direction)
            for rule in rules:
                if not rule.peers:
                    return None
                for peer in rule.peers:
                    if isinstance(peer, PodPeer):
                        add([pols[0].namespace] if peer.namespace_selector is None
                            else holding(peer.namespace_selector), other_end)
                        # the pods a changed rule holds are at its other end
                        marked[Marked(peer.pod_selector or LabelSelector(), pols[0].namespace,
                                      peer.namespace_selector, _OTHER[direction])] = None
        # its subjects (unchanged, else isolation: None above), at the end of the directions whose rules changed
        for side in changed or [None]:
            marked[Marked(pols[0].pod_selector, pols[0].namespace, side=side, subjects=True)] = None
    return _Reach({name: frozenset(directions) for name, directions in out.items()}, tuple(marked))


_OTHER: dict[Direction, Direction] = {"ingress": "egress", "egress": "ingress"}  # the other end's side


def _scoped(cluster: Cluster, reach: _Reach | None) -> Cluster:
    """What cuts the possible pods of the namespaces in `reach` (every one when None): their Namespace
    objects, their policies of the directions that matter, the namespaces named by a selector, and every
    tiered policy."""
    if calico_compiles(cluster):  # Calico's possible pods are cut by every selector of every version
        return replace(cluster, pods=())
    if reach is None:
        return Cluster(namespaces=cluster.namespaces, policies=cluster.policies, tiered=cluster.tiered,
                       cilium=cluster.cilium, dataplane=cluster.dataplane)  # the profile: what selectors read
    directions = reach.directions
    policies = tuple(p for p in cluster.policies if p.namespace in directions
                     and any(p.affects(d) for d in directions[p.namespace]))
    named = {v for pol in policies for d in DIRECTIONS for rule in pol.rules(d) for peer in rule.peers
             if isinstance(peer, PodPeer) and peer.namespace_selector is not None
             for r in peer.namespace_selector.requirements if r.key == METADATA_NAME_LABEL for v in r.values}
    return Cluster(namespaces=tuple(n for n in cluster.namespaces if n.name in directions or n.name in named),
                   policies=policies, tiered=cluster.tiered, cilium=cluster.cilium, dataplane=cluster.dataplane)


def _grafted(cluster: Cluster, possible: RegionSet) -> Cluster:
    """The whole input with the hypothetical pods (and the namespaces they add) of regions cut from a part."""
    known = {n.name for n in cluster.namespaces}
    extra = tuple(n for n in possible.cluster.namespaces if n.name not in known)
    return replace(cluster, namespaces=tuple(sorted((*cluster.namespaces, *extra), key=lambda n: n.name)),
                   pods=(*cluster.pods, *(r.pod for r in possible.regions)))


def _ports_of(rs: RegionSet, key: str, ports: PortSet) -> tuple[PortSet, tuple[str, ...]]:
    return rs.split_ports(ports) if key in rs.by_key else (ports, ())


def _deciding_rules(analyzer: Analyzer, change: Change) -> tuple[str, ...]:
    """The rules that allow a change's first pair on the side that restricts it (not "not isolated")."""
    engine = analyzer.engine

    def peer(key: str, addresses: tuple[tuple[IPAddress, IPAddress], ...]) -> PeerRef | None:
        return engine.class_of[key] if key in engine.class_of else addresses[0][0] if addresses else None

    s, d = peer(change.sources[0], change.source_addresses), peer(change.destination, change.destination_addresses)
    if s is None or d is None:
        return ()
    egress, ingress = engine.connection(s, d)
    out = [f"{side}: {rule}" for side, result in (("egress", egress), ("ingress", ingress))
           for rule in allowing_rules(result) if rule != "not isolated"]
    return tuple(out)
