"""Every possible pod: the regions of label space that the policies tell apart, as hypothetical pods.

A selector only asks, per label key, whether a value is one it names, another value, or absent. So
per key the values that matter are the named ones, OTHER and ABSENT, and a region is a *cube*: per
key, the set of those atoms a pod's label may take (a key not listed may take any). Starting from
"every pod", each selector that can apply splits every cube into the part it matches (one cube) and
the part it does not (at most one cube per key it constrains). When every selector has split, each
cube is matched or not matched as a whole by every selector, so one pod built from it answers for
every pod in it: the engine, run on those pods, is exact for every pod that could exist. The engine
then merges regions that behave alike into one class, as it does for real pods.

Namespaces: each namespace the input names (by a policy, a pod, a Namespace object or a
`kubernetes.io/metadata.name` value in a selector) has the labels its Namespace object gives, or,
without one, only `kubernetes.io/metadata.name` (the engine's assumption for real pods too). Every
other namespace is split the same way by the namespace selectors, into "any other namespace with ...".

Focus: a question about some namespaces (an exposure, a diff's changed policies, a check's destinations)
needs exact answers only for connections with one end there. Those namespaces are cut as above; every
other one only by what tells its pods apart for such a connection (the focus rules' peers that can hold
them, the Admin and Baseline selectors, and its own subjects that decide it), which is a few regions where
the full cut would be hundreds: the cost follows the question, not the repository.

Named ports: a hypothetical pod declares every named port the rules use, under every protocol a rule
can resolve it to, each at a port number that no rule names (`NAMED_PORT_NOTE`), so an answer reads
"UDP:metrics" for wherever a pod declares metrics as UDP.
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import NoReturn

from netpol.errors import QueryError, name_list
from netpol.model import (
    DIRECTIONS,
    METADATA_NAME_LABEL,
    Cluster,
    ContainerPort,
    Namespace,
    NamespaceName,
    NetworkPolicy,
    Pod,
    PodPeer,
    Rule,
    TierSelector,
)
from netpol.model.portsets import MAX_PORT, MIN_PORT, PROTOCOLS, PortSet, Protocol
from netpol.model.selectors import LabelSelector, Scope
from netpol.policies.cilium import label_selectors
from netpol.progress import report

OTHER = "~other"  # a label value no selector can name ("~" is not allowed in label values)
ABSENT: None = None
Atom = str | None
MAX_REGIONS = 20_000  # hypothetical pods; beyond this the answer would not be readable anyway
# with a focus (regions(focus=...)), a namespace outside it holds a few regions: the generator's repository of
# 5,000 policies in 1,000 namespaces takes 9,000 of them for one namespace's exposure
MAX_FOCUSED_REGIONS = 200_000
MAX_TERMS_PER_REGION = 16  # on average: the label terms that name the regions, counted with them
MAX_TERMS = 1_000_000  # and at most, whatever the limit of regions
NAMED_PORT_NOTE = ("named ports are taken as declared by the pod, under each protocol a rule resolves them "
                   "with, at a number no rule names; where a pod declares one at a number a rule names, that rule "
                   "applies there too (an Admin or Baseline rule on that number may decide before the name's)")


class RegionLimitError(QueryError):
    """The policies tell apart more kinds of pod than netpol will enumerate."""


class Budget:
    """What building the regions may still take, counted before each cube is built, so that refusing
    costs no more than the limit: regions (every namespace region holds at least one) and the label
    terms of their cubes (a cube of 1,000 keys costs 1,000 times one of one key).

    `splitting` says what is being split, so that a refusal names what to narrow."""

    def __init__(self, limit: int, namespaces: int) -> None:
        """`namespaces`: how many the input names (the other namespaces are one more kind at least)."""
        self.limit = limit
        self.terms_limit = min(limit * MAX_TERMS_PER_REGION, MAX_TERMS)
        self.regions = namespaces + 1
        self.terms = 0
        self.where = ""
        self.keys: dict[str, None] = {}
        if self.regions > limit:
            self._refuse(f"the input names {namespaces:,} namespaces, each at least one kind of pod",
                         "fewer namespaces")

    def splitting(self, where: str) -> None:
        """The cubes split next are `where` ("of pods in namespace a"); the keys that split them start afresh."""
        self.where, self.keys = where, {}

    def charge(self, regions: int, terms: int, keys: Iterable[str]) -> None:
        """Account for cubes about to be built (`regions` more, `terms` more), split along `keys`."""
        self.regions += regions
        self.terms += terms
        self.keys.update(dict.fromkeys(keys))
        if self.regions > self.limit:
            self._refuse(f"the policies tell apart more than {self.limit:,} kinds of pod", self._narrow())
        if self.terms > self.terms_limit:
            self._refuse(f"the policies tell apart kinds of pod that take more than {self.terms_limit:,} label "
                         f"terms to name ({self.regions:,} kinds so far)", self._narrow())

    def _narrow(self) -> str:
        return f"fewer selectors on the keys that multiply the kinds {self.where}: {name_list(list(self.keys), 5)}"

    def _refuse(self, what: str, narrow: str) -> NoReturn:
        raise RegionLimitError(f"{what}; netpol does not sample: narrow the input to {narrow}")


@dataclass(frozen=True)
class Cube:
    """Per constrained key, the atoms a label may be (None in the set: the key is absent)."""

    keys: tuple[tuple[str, frozenset[Atom]], ...] = ()

    def get(self, key: str) -> frozenset[Atom] | None:
        return next((atoms for k, atoms in self.keys if k == key), None)

    @cached_property
    def order(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A sort key: outputs list cubes in one order whatever the input's."""
        return tuple((k, tuple(sorted("" if a is None else a for a in v))) for k, v in self.keys)

    def with_key(self, key: str, atoms: frozenset[Atom], universe: frozenset[Atom]) -> Cube:
        rest = tuple(kv for kv in self.keys if kv[0] != key)
        if atoms == universe:
            return Cube(rest)
        at = bisect_left(rest, key, key=_first)  # keys stay sorted
        return Cube((*rest[:at], (key, atoms), *rest[at:]))

    def labels(self) -> tuple[tuple[str, str], ...]:
        """A label set in the cube: a named value where one is allowed, else OTHER, else the key absent."""
        out = []
        for key, atoms in self.keys:
            named = sorted(a for a in atoms if a is not None and a != OTHER)
            if named:
                out.append((key, named[0]))
            elif OTHER in atoms:
                out.append((key, OTHER))
        return tuple(out)

    def contains(self, labels: dict[str, str], universe: dict[str, frozenset[Atom]]) -> bool:
        return all(_atom(labels, key, universe[key]) in atoms for key, atoms in self.keys)


def _first(kv: tuple[str, frozenset[Atom]]) -> str:
    return kv[0]


def _atom(labels: dict[str, str], key: str, universe: frozenset[Atom]) -> Atom:
    if key not in labels:
        return ABSENT
    return labels[key] if labels[key] in universe else OTHER


class Atoms:
    """The values the selectors name, per key: a selector's meaning as atom sets, and cube splitting."""

    def __init__(self, selectors: Iterable[LabelSelector]) -> None:
        named: dict[str, set[str]] = {}
        for sel in selectors:
            for r in sel.requirements:
                named.setdefault(r.key, set()).update(r.values)
        self.universe: dict[str, frozenset[Atom]] = {
            k: frozenset({*v, OTHER, ABSENT}) for k, v in named.items()}

    def allowed(self, selector: LabelSelector) -> dict[str, frozenset[Atom]]:
        """Per key the selector constrains, the atoms it accepts."""
        out: dict[str, frozenset[Atom]] = {}
        for r in selector.requirements:
            every = self.universe[r.key]
            if r.operator == "In":
                ok: frozenset[Atom] = frozenset(r.values)
            elif r.operator == "NotIn":
                ok = every - frozenset(r.values)
            elif r.operator == "Exists":
                ok = every - {ABSENT}
            else:
                ok = frozenset({ABSENT})
            out[r.key] = out.get(r.key, every) & ok
        return out

    def inside(self, cube: Cube, selector: LabelSelector) -> bool:
        """Whether every label set of `cube` matches `selector`."""
        return all((cube.get(k) or self.universe[k]) <= ok for k, ok in self.allowed(selector).items())

    def cut(self, cube: Cube, wanted: dict[str, frozenset[Atom]], budget: Budget | None = None
            ) -> list[Cube] | None:
        """`cube` cut into the part inside `wanted` (Atoms.allowed) and the parts outside; None when the cube
        is wholly inside or outside. The parts are charged to `budget` before they are built."""
        current = {k: cube.get(k) or self.universe[k] for k in wanted}
        if any(not (current[k] & wanted[k]) for k in wanted) or all(current[k] <= wanted[k] for k in wanted):
            return None
        if budget is not None:
            budget.charge(*_split_size(cube, current, wanted), wanted)
        out = []
        inside = cube
        for key, ok in wanted.items():  # outside: fails this key, after matching the ones before
            miss = current[key] - ok
            if miss:
                out.append(inside.with_key(key, miss, self.universe[key]))
            inside = inside.with_key(key, current[key] & ok, self.universe[key])
        out.append(inside)
        return out

    def merge(self, cubes: Iterable[Cube]) -> list[Cube]:
        """Fewer cubes for the same union: cubes alike on every key but one become one, key by key,
        until nothing changes (bucketed by the other keys, so a pass is linear in the cubes)."""
        work = set(cubes)
        changed = True
        while changed and len(work) > 1:
            changed = False
            for key in sorted({k for c in work for k, _ in c.keys}):
                universe = self.universe[key]
                groups: dict[tuple[tuple[str, frozenset[Atom]], ...], list[Cube]] = {}
                for c in work:
                    groups.setdefault(tuple(kv for kv in c.keys if kv[0] != key), []).append(c)
                if len(groups) == len(work):
                    continue
                changed = True
                work = set()
                for rest, members in groups.items():
                    if len(members) == 1:
                        work.add(members[0])
                        continue
                    atoms: frozenset[Atom] = frozenset().union(*(m.get(key) or universe for m in members))
                    work.add(Cube(rest).with_key(key, atoms, universe))
        return sorted(work, key=_cube_order)

    @cached_property
    def _named(self) -> dict[str, list[str]]:
        """Per key, the values the selectors name, in order."""
        return {k: sorted(a for a in u if a is not None and a != OTHER) for k, u in self.universe.items()}

    def describe(self, cube: Cube) -> str:
        """`app=db and tier notin (web)`; "" for the cube of every label set."""
        return " and ".join(self._key_text(k, atoms) for k, atoms in cube.keys)

    def _key_text(self, key: str, atoms: frozenset[Atom]) -> str:
        absent, other = ABSENT in atoms, OTHER in atoms
        if atoms == {ABSENT}:
            return f"no {key}"
        if not other:
            named = sorted(a for a in atoms if a is not None)
            values = named[0] if len(named) == 1 else f"in ({','.join(named)})"
            text = f"{key}={values}" if len(named) == 1 else f"{key} {values}"
            return f"{text} or no {key}" if absent else text
        missing = [v for v in self._named[key] if v not in atoms]
        if not missing:
            return f"{key} set" if not absent else key
        notin = f"{key} notin ({','.join(missing)})"
        return notin if absent else f"{notin} and {key} set"


class CubeSet:
    """The cubes of one namespace while selectors split them, indexed by the atoms they allow per key, so
    that a selector visits the cubes it can split, not every cube (a pass over every cube per selector
    made 3,000 single-key policies of one namespace take 9 s)."""

    def __init__(self, atoms: Atoms, cube: Cube) -> None:
        self.atoms = atoms
        self.cubes: dict[int, Cube] = {}
        self.constraining: dict[str, set[int]] = {}  # per key: the cubes that constrain it
        self.allowing: dict[tuple[str, Atom], set[int]] = {}  # per key and atom: the cubes that allow it
        self.ids = 0
        self.settled: set[int] = set()  # cubes no selector splits any more (CubeSet.settle)
        self._add(cube)

    def _narrow(self, cube: Cube) -> Iterator[tuple[str, frozenset[Atom]]]:
        """The keys a cube constrains to at most half their atoms: only those are indexed (a cube that
        allows most atoms of a key is visited by every selector on it, so that indexing it costs little)."""
        return ((key, atoms) for key, atoms in cube.keys if 2 * len(atoms) <= len(self.atoms.universe[key]))

    def _add(self, cube: Cube) -> None:
        self.ids += 1
        self.cubes[self.ids] = cube
        for key, atoms in self._narrow(cube):
            self.constraining.setdefault(key, set()).add(self.ids)
            for atom in atoms:
                self.allowing.setdefault((key, atom), set()).add(self.ids)

    def _remove(self, cube_id: int) -> None:
        for key, atoms in self._narrow(self.cubes.pop(cube_id)):
            self.constraining[key].discard(cube_id)
            for atom in atoms:
                self.allowing[(key, atom)].discard(cube_id)

    def only(self, cube_ids: Collection[int]) -> None:
        """From now on, split only these cubes (and their parts)."""
        self.settled = set(self.cubes).difference(cube_ids)

    def split(self, selector: LabelSelector, budget: Budget | None = None) -> None:
        """Atoms.cut on every cube that can hold pods `selector` matches: those that do not narrow its
        narrowest key or allow one of that key's wanted atoms (any other cube is wholly outside), unless
        settled."""
        wanted = self.atoms.allowed(selector)
        if not wanted:
            return
        key = min(wanted, key=lambda k: (len(wanted[k]), k))
        candidates = set(self.cubes).difference(self.constraining.get(key, ())).union(
            *(self.allowing.get((key, atom), ()) for atom in wanted[key])).difference(self.settled)
        for cube_id in sorted(candidates):
            parts = self.atoms.cut(self.cubes[cube_id], wanted, budget)
            if parts is not None:
                self._remove(cube_id)
                for part in parts:
                    self._add(part)


def _cube_order(c: Cube) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return c.order


def _split_size(cube: Cube, current: dict[str, frozenset[Atom]], wanted: dict[str, frozenset[Atom]]
                ) -> tuple[int, int]:
    """How many cubes splitting `cube` adds, and how many label terms (Atoms.cut's parts, counted
    without building them): a part per key with atoms outside `wanted`, each holding the keys before it."""
    size = len(cube.keys)
    inside, parts, terms = size, 0, 0
    have = {k for k, _ in cube.keys}
    for key, ok in wanted.items():
        if current[key] - ok:
            inside += key not in have
            parts += 1
            terms += inside
    return parts, terms + inside - size


@dataclass(frozen=True)
class NamespaceRegion:
    """A namespace the input names (`name`), or a cube of the other namespaces' labels."""

    name: NamespaceName  # the engine's namespace: the real name, or "(any other namespace with ...)"
    named: bool
    labels: tuple[tuple[str, str], ...]
    cube: Cube = Cube()


@dataclass(frozen=True)
class Marked:
    """Pods whose connections an answer is about, all of them with pods of namespace `origin` (a diff: the
    subjects of a changed policy of `origin`, and its changed rules' peers): those `pods` matches in `origin`,
    or in every namespace `namespaces` matches."""

    pods: LabelSelector
    origin: str
    namespaces: LabelSelector | None = None

    def holds(self, ns: NamespaceRegion, label_sets: list[dict[str, str]]) -> bool:
        """Whether the mark can hold pods of namespace region `ns` (with any of its versions' labels)."""
        if self.namespaces is None:
            return ns.named and ns.name == self.origin
        return any(self.namespaces.matches(labels) for labels in label_sets)


@dataclass(frozen=True)
class Region:
    """One hypothetical pod: every possible pod in `namespace` whose labels are in `cube`."""

    pod: Pod
    namespace: NamespaceRegion
    cube: Cube

    @property
    def key(self) -> str:
        return self.pod.key


@dataclass(frozen=True)
class RegionSet:
    """The input's cluster with one hypothetical pod per region added, and how to name them."""

    cluster: Cluster
    regions: tuple[Region, ...]
    pod_atoms: Atoms
    namespace_atoms: Atoms
    named_ports: tuple[ContainerPort, ...]
    implied: tuple[str, ...] = ()  # namespaces only a selector names, added with their name label only
    unknown: frozenset[str] = frozenset()  # namespaces only an endpoint (a scope) names: a typo, or not yet made

    @cached_property
    def by_key(self) -> dict[str, Region]:
        return {r.key: r for r in self.regions}

    def describe(self, keys: Iterable[str]) -> list[str]:
        """The pods behind these region keys in the policies' terms, as few phrases as it takes;
        keys that are not regions (real pods, outside addresses) are kept as they are."""
        chosen = frozenset(keys)
        cached = self._described.get(chosen)
        if cached is None:
            cached = self._described[chosen] = self._describe(chosen)
        return list(cached)

    @cached_property
    def _described(self) -> dict[frozenset[str], list[str]]:
        return {}

    @cached_property
    def _per_namespace(self) -> dict[NamespaceRegion, int]:
        out: dict[NamespaceRegion, int] = {}
        for r in self.regions:
            out[r.namespace] = out.get(r.namespace, 0) + 1
        return out

    def _describe(self, chosen: frozenset[str]) -> list[str]:
        out = sorted(k for k in chosen if k not in self.by_key)
        picked = [self.by_key[k] for k in chosen if k in self.by_key]
        if not picked:
            return out
        if len(picked) == len(self.regions):
            return ["any pod in any namespace", *out]
        direct = self._phrases(picked)
        if 2 * len(picked) > len(self.regions):  # most pods: say which are not
            rest = self._phrases([r for r in self.regions if r.key not in chosen])
            if len(rest) < len(direct):
                return ["any pod in any namespace except " + " or ".join(rest), *out]
        return direct + out

    def _phrases(self, picked: list[Region]) -> list[str]:
        by_ns: dict[NamespaceRegion, list[Cube]] = {}
        for r in picked:
            by_ns.setdefault(r.namespace, []).append(r.cube)
        phrases: list[str] = []
        pods_of = {ns: (Cube(),) if len(cubes) == self._per_namespace[ns] else tuple(self.pod_atoms.merge(cubes))
                   for ns, cubes in by_ns.items()}
        if len(by_ns) == len(self._per_namespace) and len(set(pods_of.values())) == 1:
            return [f"{self._pods(c)} in any namespace" for c in next(iter(pods_of.values()))]
        others: dict[tuple[Cube, ...], list[Cube]] = {}
        for ns, cubes in sorted(pods_of.items(), key=lambda kv: (not kv[0].named, kv[0].name)):
            if ns.named:
                phrases.extend(f"{self._pods(c)} in namespace {ns.name}" for c in cubes)
            else:
                others.setdefault(cubes, []).append(ns.cube)
        for cubes, ns_cubes in others.items():
            for ns_cube in self.namespace_atoms.merge(ns_cubes):
                where = self.namespace_atoms.describe(_without_name(ns_cube))
                ns_text = "any other namespace" + (f" with {where}" if where else "")
                phrases.extend(f"{self._pods(c)} in {ns_text}" for c in cubes)
        return phrases

    def notes(self) -> list[str]:
        """The assumptions behind every answer about possible pods."""
        out = [f"namespace {name} (named by a selector) has no Namespace object in the input: taken as labelled "
               f"only {METADATA_NAME_LABEL}={name}" for name in self.implied]
        out.append("possible pods: every pod the policies could select, by namespace and labels; their IPs are "
                   "taken to be in no ipBlock")
        if self.named_ports:
            out.append(NAMED_PORT_NOTE)
        return out

    def _pods(self, cube: Cube) -> str:
        text = self.pod_atoms.describe(cube)
        return f"pods with {text}" if text else "any pod"

    def name(self, key: str) -> str:
        """One endpoint's name: its region's description, or the key itself."""
        return self.describe([key])[0] if key in self.by_key else key

    def region_of(self, namespace: str, namespace_labels: dict[str, str], labels: dict[str, str]) -> Region:
        """The one region a concrete pod falls in: its namespace by name when the input names it, else
        by labels; then its labels."""
        named = any(r.namespace.named and r.namespace.name == namespace for r in self.regions)
        ns_labels = {**namespace_labels, METADATA_NAME_LABEL: namespace}
        found = [r for r in self.regions
                 if (r.namespace.name == namespace if named else
                     not r.namespace.named and r.namespace.cube.contains(ns_labels, self.namespace_atoms.universe))
                 and r.cube.contains(labels, self.pod_atoms.universe)]
        if len(found) != 1:  # regions partition every namespace's label space: anything else is a bug
            raise AssertionError(f"{namespace}{labels} falls in {len(found)} regions")
        return found[0]

    def matching(self, scope: Scope) -> list[Region]:
        """The regions inside `scope` (regions were split along it, so each is wholly in or out). A namespace
        that neither the input nor a policy names is an error: a misspelt name would match pods of nowhere."""
        if scope.namespace in self.unknown:
            known = sorted({r.namespace.name for r in self.regions if r.namespace.named} - self.unknown)
            close = difflib.get_close_matches(scope.namespace, known, n=1, cutoff=0.6)
            raise QueryError(
                f"{scope.namespace}{{{'' if scope.selector.selects_all else scope.selector}}}: namespace "
                f"{scope.namespace} is neither in the input nor named by a policy"
                f"{f' (did you mean {close[0]}?)' if close else ''}; to ask about a namespace that does not exist "
                "yet, give its Namespace object (in an intent: namespaceLabels with possible: true)")
        return [r for r in self.regions
                if (scope.namespace is None or (r.namespace.named and r.namespace.name == scope.namespace))
                and scope.selector.matches(r.pod.label_map)]

    def split_ports(self, ports: PortSet) -> tuple[PortSet, tuple[str, ...]]:
        cached = self._splits.get(ports)
        if cached is None:
            cached = self._splits[ports] = self._split_ports(ports)
        return cached

    @cached_property
    def _splits(self) -> dict[PortSet, tuple[PortSet, tuple[str, ...]]]:
        return {}

    def _split_ports(self, ports: PortSet) -> tuple[PortSet, tuple[str, ...]]:
        """A region's allowed ports as numbers and named ports: the placeholders taken out (and the
        numbers they stand in for put back as their neighbours say), named ports listed apart."""
        names = tuple(f"{c.protocol}:{c.name}" for c in self.named_ports if ports.contains(c.protocol, c.port))
        spare = self._spare
        numbers = ports.difference(PortSet.of((c.protocol, c.port, c.port) for c in self.named_ports))
        refill = [(c.protocol, c.port, c.port) for c in self.named_ports
                  if c.protocol in spare and ports.contains(c.protocol, spare[c.protocol])]
        return numbers.union(PortSet.of(refill)) if refill else numbers, names

    @cached_property
    def _spare(self) -> dict[Protocol, int]:
        """Per protocol, a port no rule names and no placeholder uses: it says how the placeholders'
        numbers are treated as numbers."""
        return _spare_ports(self.cluster, self.named_ports)


def regions(cluster: Cluster, scopes: Sequence[Scope] = (), limit: int | None = None,
            others: Sequence[Cluster] = (), focus: Collection[str] | None = None,
            marked: Sequence[Marked] | None = None) -> RegionSet:
    """`cluster` plus one hypothetical pod for every region the policies (and `scopes`) tell apart.

    `others`: other versions of the input (a diff's other side). The regions are then those that any
    version tells apart, the same pods for every version, so that versions compare region by region.

    `focus`: the namespaces whose connections are asked about (None: every namespace). Each of them is cut
    by every selector that can apply to its pods; every other namespace only by what tells its pods apart
    for a connection with a focus namespace's pod (`_PodSelectors.toward`), so the regions are exact for every
    connection with one end in a focus namespace, not for connections between two other pods.

    `marked` (None: every pod): the pods whose connections are asked about, with a focus that holds the
    marks' origins. Each namespace region is cut by the marks that can hold its pods first; only the parts
    inside a mark are cut further, as above but toward the namespaces of those marks' origins alone, and every
    other part is one region: an answer about the marked pods' connections with their origins needs no more.
    `limit` (default MAX_REGIONS, or MAX_FOCUSED_REGIONS with a focus): how many regions netpol builds at most."""
    versions = [cluster, *others]
    union = Cluster(namespaces=cluster.namespaces, pods=tuple(p for c in versions for p in c.pods),
                    policies=tuple(p for c in versions for p in c.policies),
                    tiered=tuple(p for c in versions for p in c.tiered),
                    cilium=tuple(p for c in versions for p in c.cilium))
    pod_selectors, ns_selectors = (sorted(set(sels)) for sels in _selectors(union))
    pod_atoms = Atoms([*pod_selectors, *(s.selector for s in scopes)])
    also = {str(n.name) for c in others for n in c.namespaces}
    known = _named_namespaces(union, ns_selectors, also)
    unknown = frozenset({s.namespace for s in scopes if s.namespace is not None} - set(known))
    named = sorted({*known, *unknown})
    selectors = _PodSelectors.of(union)
    if focus is not None:  # the other namespaces are cut by the namespace selectors that meet a focus namespace
        focus = frozenset({*focus, *unknown})
        ns_selectors = sorted({*selectors.namespace_selectors(focus), *(s.namespace_selector for s in
                                                                       _tier_selectors(union)),
                               *(n for n, _ in label_selectors(union.cilium))})
    namespace_atoms = Atoms(ns_selectors)
    budget = Budget(limit or (MAX_REGIONS if focus is None else MAX_FOCUSED_REGIONS), len(named))
    namespaces = _namespace_regions(union, named, namespace_atoms, ns_selectors, budget)
    label_sets: dict[str, list[dict[str, str]]] = {}
    for ns in namespaces:  # each version's labels (only the name label where it has no Namespace object)
        label_sets[ns.name] = [dict(ns.labels) if not ns.named else
                               c.namespaces_by_name[ns.name].label_map if ns.name in c.namespaces_by_name
                               else {METADATA_NAME_LABEL: ns.name} for c in versions]
    named_ports = _placeholders(union)
    out: list[Region] = []
    toward = None if focus is None else selectors.focus(focus, {n: label_sets[n] for n in focus if n in label_sets})
    towards: dict[frozenset[str], _Focus] = {}  # per set of marks' origins, the focus on them
    for number, ns in enumerate(namespaces, start=1):
        report(f"namespace {number:,} of {len(namespaces):,}, {len(out):,} regions")
        cubes = CubeSet(pod_atoms, Cube())
        budget.splitting(f"of pods in {'namespace ' if ns.named else ''}{ns.name}")
        inside = toward is None or (ns.named and ns.name in toward.namespaces)
        mine = selectors.within(ns, scopes, label_sets[ns.name]) if inside else set()
        parts = [(None, None)] if marked is None else _marked_parts(cubes, marked, ns, label_sets[ns.name], budget)
        for origins, cube_ids in parts:
            if cube_ids is not None:
                cubes.only(cube_ids)
            if not inside:
                assert toward is not None
                if origins is not None and origins not in towards:
                    towards[origins] = selectors.focus(origins, {n: label_sets[n] for n in origins if n in label_sets})
                mine = selectors.toward(ns, toward if origins is None else towards[origins], scopes,
                                        label_sets[ns.name])
            for sel in sorted(mine):  # whatever the versions' order
                cubes.split(sel, budget)
        for cube in sorted(cubes.cubes.values(), key=_cube_order):
            text = pod_atoms.describe(cube)
            pod = Pod(namespace=ns.name, name="{" + text + "}", labels=cube.labels(), ports=named_ports,
                      hypothetical=True)
            out.append(Region(pod, ns, cube))
    declared = {n.name for n in cluster.namespaces}
    extra_ns = tuple(Namespace(ns.name, ns.labels, declared=not ns.named)
                     for ns in namespaces if ns.name not in declared)
    grown = replace(cluster, namespaces=tuple(sorted((*cluster.namespaces, *extra_ns), key=lambda n: n.name)),
                    pods=(*cluster.pods, *(r.pod for r in out)))
    implied = tuple(ns.name for ns in extra_ns if not ns.declared and ns.name not in unknown)
    return RegionSet(grown, tuple(out), pod_atoms, namespace_atoms, named_ports, implied, unknown)


def _marked_parts(cubes: CubeSet, marked: Sequence[Marked], ns: NamespaceRegion, label_sets: list[dict[str, str]],
                  budget: Budget) -> list[tuple[frozenset[str], list[int]]]:
    """`cubes` (of namespace region `ns`) split by the marks that can hold its pods, and the parts inside
    a mark grouped by the origins of the marks they are in; a part inside none is in no group."""
    holding = [m for m in marked if m.holds(ns, label_sets)]
    for sel in sorted({m.pods for m in holding}):
        cubes.split(sel, budget)
    groups: dict[frozenset[str], list[int]] = {}
    for cube_id, cube in cubes.cubes.items():
        origins = frozenset(m.origin for m in holding if cubes.atoms.inside(cube, m.pods))
        if origins:
            groups.setdefault(origins, []).append(cube_id)
    return sorted(groups.items(), key=lambda kv: sorted(kv[0]))


def _selectors(cluster: Cluster) -> tuple[list[LabelSelector], list[LabelSelector]]:
    """Every pod selector and every namespace selector the policies use."""
    pods: list[LabelSelector] = []
    namespaces: list[LabelSelector] = []
    for pol in cluster.policies:
        pods.append(pol.pod_selector)
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                for peer in rule.peers:
                    if isinstance(peer, PodPeer):
                        if peer.pod_selector is not None:
                            pods.append(peer.pod_selector)
                        if peer.namespace_selector is not None:
                            namespaces.append(peer.namespace_selector)
    for sel in _tier_selectors(cluster):
        namespaces.append(sel.namespace_selector)
        if sel.pod_selector is not None:
            pods.append(sel.pod_selector)
    cilium = label_selectors(cluster.cilium)  # CNP and CCNP selectors cut them too
    return [*pods, *(p for _, p in cilium)], [*namespaces, *(n for n, _ in cilium if n.requirements)]


def _tier_selectors(cluster: Cluster) -> Iterator[TierSelector]:
    for pol in cluster.tiered:
        yield pol.subject
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                for peer in rule.peers:
                    if peer.pods is not None:
                        yield peer.pods


def _named_namespaces(cluster: Cluster, selectors: list[LabelSelector], also: set[str]) -> list[str]:
    """The namespaces the input names: by a Namespace object, a policy, a pod, another version, or a
    `kubernetes.io/metadata.name` value in a namespace selector."""
    names: set[str] = {n.name for n in cluster.namespaces} | {p.namespace for p in cluster.policies}
    names |= {p.namespace for p in cluster.pods} | also
    for sel in selectors:
        for r in sel.requirements:
            if r.key == METADATA_NAME_LABEL:
                names.update(r.values)
    return sorted(names)


def _namespace_regions(cluster: Cluster, names: list[str], atoms: Atoms, selectors: list[LabelSelector],
                       budget: Budget) -> list[NamespaceRegion]:
    known: dict[str, Namespace] = {n.name: n for n in cluster.namespaces}
    out = []
    for name in names:
        labels = known[name].labels if name in known else ((METADATA_NAME_LABEL, name),)
        out.append(NamespaceRegion(NamespaceName(name), True, labels))
    universe = atoms.universe.get(METADATA_NAME_LABEL)
    cubes = CubeSet(atoms, Cube(((METADATA_NAME_LABEL, frozenset({OTHER})),)) if universe is not None else Cube())
    budget.splitting("of namespaces the input does not name")
    for sel in selectors:
        cubes.split(sel, budget)
    for cube in sorted(cubes.cubes.values(), key=_cube_order):
        where = atoms.describe(_without_name(cube)).replace("/", "\u2215")  # no "/" in a namespace's name
        name = NamespaceName(f"(any other namespace{' with ' + where if where else ''})")
        labels = tuple(sorted({**dict(cube.labels()), METADATA_NAME_LABEL: name}.items()))
        out.append(NamespaceRegion(name, False, labels, cube))
    return out


def _without_name(cube: Cube) -> Cube:
    return Cube(tuple(kv for kv in cube.keys if kv[0] != METADATA_NAME_LABEL))


@dataclass(frozen=True)
class _Focus:
    """The namespaces a region set answers for, with each version's labels, and the namespace selectors
    that hold one of them (those of other namespaces' rules that can reach a focus pod)."""

    namespaces: frozenset[str]
    labels: dict[str, list[dict[str, str]]]
    peers: dict[LabelSelector, set[LabelSelector]]  # the focus rules' peers elsewhere, per namespace selector
    holding: dict[LabelSelector, bool]

    def holds(self, nsel: LabelSelector) -> bool:
        """Whether a namespace selector matches a focus namespace (in any version)."""
        found = self.holding.get(nsel)
        if found is None:
            found = self.holding[nsel] = any(nsel.matches(labels) for sets in self.labels.values() for labels in sets)
        return found


@dataclass(frozen=True)
class _PodSelectors:
    """Every pod selector of the input, indexed by where it can apply, so that finding a namespace's
    selectors costs what applies to it, not a pass over every policy per namespace."""

    own: dict[str, set[LabelSelector]]  # per namespace: its policies' subjects and same-namespace peers
    # (namespace selector, pod selectors) of peers whose namespace selector names namespaces by
    # kubernetes.io/metadata.name In: only those named namespaces can match
    by_name: dict[str, dict[LabelSelector, set[LabelSelector]]]
    anywhere: dict[LabelSelector, set[LabelSelector]]  # the other peers, per namespace selector
    policies: dict[str, list[NetworkPolicy]]  # per namespace
    tiered: dict[LabelSelector, set[LabelSelector]]  # the Admin and Baseline subjects and peers, per namespace selector

    @classmethod
    def of(cls, cluster: Cluster) -> _PodSelectors:
        own: dict[str, set[LabelSelector]] = {}
        policies: dict[str, list[NetworkPolicy]] = {}
        peers: list[tuple[LabelSelector, LabelSelector]] = []
        for pol in cluster.policies:
            policies.setdefault(pol.namespace, []).append(pol)
            mine = own.setdefault(pol.namespace, set())
            mine.add(pol.pod_selector)
            for d in DIRECTIONS:
                for rule in pol.rules(d):
                    for peer in rule.peers:
                        if not isinstance(peer, PodPeer) or peer.pod_selector is None:
                            continue
                        if peer.namespace_selector is None:
                            mine.add(peer.pod_selector)
                        else:
                            peers.append((peer.namespace_selector, peer.pod_selector))
        tiered: dict[LabelSelector, set[LabelSelector]] = {}
        for s in _tier_selectors(cluster):
            if s.pod_selector is not None:
                peers.append((s.namespace_selector, s.pod_selector))
                tiered.setdefault(s.namespace_selector, set()).add(s.pod_selector)
        for nsel, psel in label_selectors(cluster.cilium):  # CNP and CCNP selectors apply wherever they can, like
            peers.append((nsel, psel))  # the Admin and Baseline ones
            tiered.setdefault(nsel, set()).add(psel)
        by_name: dict[str, dict[LabelSelector, set[LabelSelector]]] = {}
        anywhere: dict[LabelSelector, set[LabelSelector]] = {}
        for nsel, pods in peers:
            names = next((r.values for r in nsel.requirements
                          if r.key == METADATA_NAME_LABEL and r.operator == "In"), None)
            for name in names or ():
                by_name.setdefault(name, {}).setdefault(nsel, set()).add(pods)
            if names is None:
                anywhere.setdefault(nsel, set()).add(pods)
        return cls(own, by_name, anywhere, policies, tiered)

    def within(self, ns: NamespaceRegion, scopes: Sequence[Scope], label_sets: list[dict[str, str]]
               ) -> set[LabelSelector]:
        """The pod selectors that can apply to pods of namespace region `ns` (with any of its versions'
        labels; a region of other namespaces has no name a selector names)."""
        out = set(self.own.get(ns.name, ())) if ns.named else set()
        named = self.by_name.get(ns.name, {}) if ns.named else {}
        for groups in (named, self.anywhere):
            for nsel, pods in groups.items():
                if any(nsel.matches(labels) for labels in label_sets):
                    out |= pods
        return out | _scoped(ns, scopes)

    def focus(self, namespaces: frozenset[str], labels: dict[str, list[dict[str, str]]]) -> _Focus:
        peers: dict[LabelSelector, set[LabelSelector]] = {}
        for peer in self._focus_peers(namespaces):
            assert peer.namespace_selector is not None
            if peer.pod_selector is not None:
                peers.setdefault(peer.namespace_selector, set()).add(peer.pod_selector)
        return _Focus(namespaces, labels, peers, {})

    def _focus_peers(self, namespaces: frozenset[str]) -> Iterator[PodPeer]:
        """The focus namespaces' rules' peers in other namespaces (those with a namespace selector)."""
        for name in sorted(namespaces):
            for pol in self.policies.get(name, ()):
                for d in DIRECTIONS:
                    for rule in pol.rules(d):
                        for peer in rule.peers:
                            if isinstance(peer, PodPeer) and peer.namespace_selector is not None:
                                yield peer

    def namespace_selectors(self, focus: frozenset[str]) -> set[LabelSelector]:
        """The namespace selectors of the focus namespaces' rules: what tells the other namespaces apart
        for a connection with a focus pod."""
        return {peer.namespace_selector for peer in self._focus_peers(focus) if peer.namespace_selector is not None}

    def toward(self, ns: NamespaceRegion, focus: _Focus, scopes: Sequence[Scope], label_sets: list[dict[str, str]]
               ) -> set[LabelSelector]:
        """The pod selectors that tell apart pods of `ns` (not a focus namespace) for a connection with a pod
        of a focus namespace: the focus namespaces' rules' peers that can hold them, the Admin and Baseline
        selectors, and the subjects of `ns`'s own policies that decide such a connection. A subject decides
        through its rules that can hold a focus pod, and through isolation: where no policy of that direction
        selects every pod of `ns`, whether any selects a pod depends on its labels, so every subject counts."""
        if not focus.namespaces:
            return _scoped(ns, scopes)
        out: set[LabelSelector] = set()
        for groups in (focus.peers, self.tiered):
            for nsel, pods in groups.items():
                if any(nsel.matches(labels) for labels in label_sets):
                    out |= pods
        for d in DIRECTIONS:
            mine = [pol for pol in self.policies.get(ns.name, ()) if ns.named and pol.affects(d)]
            closed = any(pol.pod_selector.selects_all for pol in mine)
            out.update(pol.pod_selector for pol in mine
                       if not closed or any(_may_hold(rule, focus) for rule in pol.rules(d)))
        return out | _scoped(ns, scopes)


def _scoped(ns: NamespaceRegion, scopes: Sequence[Scope]) -> set[LabelSelector]:
    """The selectors of the scopes that apply to namespace region `ns`."""
    return {s.selector for s in scopes if s.namespace is None or (ns.named and s.namespace == ns.name)}


def _may_hold(rule: Rule, focus: _Focus) -> bool:
    """Whether a rule of a namespace outside the focus can have a focus pod as its peer: a rule of every peer,
    a peer whose namespace selector matches a focus namespace, or an ipBlock (which may hold a pod of the
    input)."""
    if not rule.peers:
        return True
    return any(not isinstance(peer, PodPeer) or (peer.namespace_selector is not None
                                                 and focus.holds(peer.namespace_selector)) for peer in rule.peers)


def _numbered_spans(cluster: Cluster) -> list[tuple[Protocol, int, int]]:
    """Every port number and range a rule names."""
    spans: list[tuple[Protocol, int, int]] = []
    for pol in cluster.policies:
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                spans.extend((p.protocol, p.port, p.end_port or p.port) for p in rule.ports if isinstance(p.port, int))
    for tp in cluster.tiered:
        for d in DIRECTIONS:
            for trule in tp.rules(d):
                spans.extend((p.protocol, p.first, p.last) for p in trule.ports or () if p.protocol is not None)
    return spans


def _free_ports(spans: list[tuple[Protocol, int, int]], protocol: Protocol) -> Iterator[int]:
    """Ports of `protocol` that no span names, highest first."""
    taken = PortSet.of(s for s in spans if s[0] == protocol)
    for lo, hi in reversed(PortSet.of([(protocol, MIN_PORT, MAX_PORT)]).difference(taken).intervals(protocol)):
        yield from range(hi, lo - 1, -1)


def _placeholders(cluster: Cluster) -> tuple[ContainerPort, ...]:
    """Container ports for the named ports rules use, each at a number no rule names: one per protocol a
    rule can resolve the name to (a NetworkPolicy port resolves a name under its own protocol, a tiered
    one under any), so that a pod declaring the name under any protocol has its answer."""
    wanted: dict[str, set[Protocol]] = {}
    for pol in cluster.policies:
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                for p in rule.ports:
                    if isinstance(p.port, str):
                        wanted.setdefault(p.port, set()).add(p.protocol)
    for tp in cluster.tiered:
        for d in DIRECTIONS:
            for trule in tp.rules(d):
                for tport in trule.ports or ():
                    if tport.name is not None:
                        wanted.setdefault(tport.name, set()).update(PROTOCOLS)
    if not wanted:
        return ()
    spans = _numbered_spans(cluster)
    free = {proto: _free_ports(spans, proto) for proto in PROTOCOLS}
    out = []
    for name in sorted(wanted):
        for proto in sorted(wanted[name]):
            number = next(free[proto], None)
            if number is None:
                raise RegionLimitError(f"the rules name every {proto} port, so named port {name} cannot be "
                                       "placed on a hypothetical pod")
            out.append(ContainerPort(number, proto, name))
    return tuple(out)


def _spare_ports(cluster: Cluster, placeholders: tuple[ContainerPort, ...]) -> dict[Protocol, int]:
    spans = _numbered_spans(cluster)
    used = {(c.protocol, c.port) for c in placeholders}
    out: dict[Protocol, int] = {}
    for proto in PROTOCOLS:
        number = next((n for n in _free_ports(spans, proto) if (proto, n) not in used), None)
        if number is not None:
            out[proto] = number
    return out


def named_namespaces(cluster: Cluster) -> set[str]:
    """Every namespace the input knows by name: declared, holding an object, or named by a selector
    (kubernetes.io/metadata.name), which on policy-only input is how a namespace is known at all."""
    names = set(cluster.namespaces_by_name)
    for sel in _selectors(cluster)[1]:
        names.update(v for r in sel.requirements if r.key == METADATA_NAME_LABEL for v in r.values)
    return names
