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
can resolve it to, at a port number that no rule names and at one standing for each stretch of the numbers
rules name (netpol.analyses.placeholder_ports, `NAMED_PORT_NOTE`), so an answer reads "UDP:metrics" for
wherever a pod declares metrics as UDP, and "TCP:http@80" where only a pod declaring http at 80 is reached.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from netpol.analyses.label_space import (
    ABSENT,
    OTHER,
    Atoms,
    Budget,
    Cube,
    CubeSet,
    NamespaceRegion,
    cube_order,
    widened,
)
from netpol.analyses.placeholder_ports import placeholders, spare_ports
from netpol.analyses.region_selectors import Focus, PodSelectors, tier_selectors
from netpol.bulk import paused_gc
from netpol.errors import QueryError
from netpol.model import (
    DIRECTIONS,
    METADATA_NAME_LABEL,
    Cluster,
    ContainerPort,
    Direction,
    Namespace,
    NamespaceName,
    Pod,
    PodPeer,
)
from netpol.model.calico import DEFAULT_ACCOUNT
from netpol.model.portsets import PortSet, Protocol
from netpol.model.selectors import LabelSelector, Scope
from netpol.policies.calico import calico_compiles
from netpol.policies.cilium import label_selectors, service_account_key
from netpol.progress import report

MAX_REGIONS = 20_000  # hypothetical pods; beyond this the answer would not be readable anyway
# with a focus (regions(focus=...)), a namespace outside it holds a few regions: the generator's repository of
# 5,000 policies in 1,000 namespaces takes 9,000 of them for one namespace's exposure
MAX_FOCUSED_REGIONS = 200_000
ACCOUNT_NOTE = ("possible pods under Cilium: a pod may run under any service account, named as the identity label "
                "io.cilium.k8s.policy.serviceaccount that Cilium's selectors read")
NAMED_PORT_NOTE = ("named ports are taken as declared by the pod, under each protocol a rule resolves them "
                   "with, at any number: TCP:http is open wherever the pod declares http, TCP:http@80 where it "
                   "declares it at 80 (a number a rule names), not TCP:http@80 closed there")


@dataclass(frozen=True)
class Marked:
    """Pods whose connections an answer is about, all of them with pods of namespace `origin` (a diff: the
    subjects of a changed policy of `origin`, and its changed rules' peers): those `pods` matches in `origin`,
    or in every namespace `namespaces` matches."""

    pods: LabelSelector
    origin: str
    namespaces: LabelSelector | None = None
    # the end of the connections the marked pods are at: "ingress" their destinations, "egress" their sources
    # (None: either), so that only the selectors that tell them apart at that end cut them
    side: Direction | None = None
    # a changed policy's subjects, whose other end is wherever its changed rules' peers are; else the pods a
    # changed rule holds, whose other end is in `origin`
    subjects: bool = False

    @property
    def sides(self) -> frozenset[Direction]:
        return frozenset(DIRECTIONS if self.side is None else (self.side,))

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
    assumed: tuple[str, ...] = ()  # what the family's possible pods assume besides (calico_regions.NOTE)
    # the cube key that holds a possible pod's service account, not a label of it (policies.cilium.service_account_key)
    account_key: str | None = None

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
        out.extend(self.assumed)
        if self.named_ports:
            out.append(NAMED_PORT_NOTE)
        return out

    def _pods(self, cube: Cube) -> str:
        text = self.pod_atoms.describe(cube)
        return f"pods with {text}" if text else "any pod"

    def name(self, key: str) -> str:
        """One endpoint's name: its region's description, or the key itself."""
        return self.describe([key])[0] if key in self.by_key else key

    def region_of(self, namespace: str, namespace_labels: dict[str, str], labels: dict[str, str],
                  service_account: str | None = None) -> Region:
        """The one region a concrete pod falls in: its namespace by name when the input names it, else
        by labels; then its labels, and its service account (None: `default`) where the regions tell them apart."""
        named = any(r.namespace.named and r.namespace.name == namespace for r in self.regions)
        ns_labels = {**namespace_labels, METADATA_NAME_LABEL: namespace}
        if self.account_key is not None:
            labels = {**labels, self.account_key: service_account or DEFAULT_ACCOUNT}
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
        spare = self._spare
        names = tuple(named_port_tokens(self.named_ports, ports, spare))
        numbers = ports.difference(PortSet.of((c.protocol, c.port, c.port) for c in self.named_ports))
        refill = [(c.protocol, c.port, c.port) for c in self.named_ports
                  if c.protocol in spare and ports.contains(c.protocol, spare[c.protocol])]
        return numbers.union(PortSet.of(refill)) if refill else numbers, names

    @cached_property
    def _spare(self) -> dict[Protocol, int]:
        """Per protocol, a port no rule names and no placeholder uses: it says how the placeholders'
        numbers are treated as numbers."""
        return spare_ports(self.cluster, self.named_ports)


def named_port_tokens(placeholders: Sequence[ContainerPort], ports: PortSet, spare: dict[Protocol, int]
                      ) -> Iterator[str]:
    """A region's named ports, per name and protocol. `TCP:http`: open on whatever number a pod of the region
    declares http at, but at the numbers `not TCP:http@80` names. Without it, where a pod declares http the
    numbers decide, but `TCP:http@80` opens 80 (a number a rule names) and `not TCP:http@80` closes it there, and
    `not TCP:http` closes the numbers no rule names."""
    for (proto, name), group in itertools.groupby(placeholders, lambda c: (c.protocol, c.name)):
        other, *stand_ins = group
        anywhere = ports.contains(proto, other.port)
        if anywhere:
            yield f"{proto}:{name}"
        elif proto in spare and ports.contains(proto, spare[proto]):
            yield f"not {proto}:{name}"
        odd: dict[bool, list[tuple[Protocol, int, int]]] = {True: [], False: []}  # opened, closed
        for c in stand_ins:
            held, (first, last) = ports.contains(proto, c.port), c.stands_for or (c.port, c.port)
            if held != (anywhere or ports.contains(proto, first)):
                odd[held].append((proto, first, last))
        for held, stretches in odd.items():
            if stretches:
                numbers = ",".join(str(lo) if lo == hi else f"{lo}-{hi}"
                                   for lo, hi in PortSet.of(stretches).intervals(proto))
                yield f"{'' if held else 'not '}{proto}:{name}@{numbers}"


def regions(cluster: Cluster, scopes: Sequence[Scope] = (), limit: int | None = None,
            others: Sequence[Cluster] = (), focus: Collection[str] | None = None,
            marked: Sequence[Marked] | None = None, directions: Collection[Direction] = DIRECTIONS) -> RegionSet:
    """`cluster` plus one hypothetical pod for every region the policies (and `scopes`) tell apart.

    `others`: other versions of the input (a diff's other side). The regions are then those that any
    version tells apart, the same pods for every version, so that versions compare region by region.

    `focus`: the namespaces whose connections are asked about (None: every namespace). Each of them is cut
    by every selector that can apply to its pods; every other namespace only by what tells its pods apart
    for a connection with a focus namespace's pod (`PodSelectors.toward`), so the regions are exact for every
    connection with one end in a focus namespace, not for connections between two other pods. `directions`: of
    the focus pods' connections asked about ("ingress": into them, "egress": out of them); the other namespaces
    are cut only for those (their egress policies decide a connection into a focus pod, their ingress ones a
    connection out of one).

    `marked` (None: every pod): the pods whose connections are asked about, with a focus that holds the
    marks' origins. Each namespace region is cut by the marks that can hold its pods first; only the parts
    inside a mark are cut further, as above but toward the namespaces of those marks' origins alone and only for
    the marks' sides (Marked.side), and every other part is one region: an answer about the marked pods'
    connections with their origins needs no more.
    `limit` (default MAX_REGIONS, or MAX_FOCUSED_REGIONS with a focus): how many regions netpol builds at most.
    Under Calico (netpol.analyses.calico_regions) `focus` and `directions` narrow the cut as here; `marked` is
    not read (the focus holds the marks' origins: every namespace inside it is cut by every selector)."""
    if calico_compiles(cluster):
        from netpol.analyses.calico_regions import calico_regions

        return calico_regions(cluster, scopes, limit or (MAX_REGIONS if focus is None else MAX_FOCUSED_REGIONS),
                              others, focus, directions)
    with paused_gc():  # many small objects that stay alive: no collection walks them while they are built
        return _regions(cluster, scopes, limit, others, focus, marked, directions)


def _regions(cluster: Cluster, scopes: Sequence[Scope], limit: int | None, others: Sequence[Cluster],
             focus: Collection[str] | None, marked: Sequence[Marked] | None, directions: Collection[Direction]
             ) -> RegionSet:
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
    selectors = PodSelectors.of(union)
    if focus is not None:  # the other namespaces are cut by the namespace selectors that meet a focus namespace
        focus = frozenset({*focus, *unknown})
        ns_selectors = sorted({*selectors.namespace_selectors(focus), *(s.namespace_selector for s in
                                                                       tier_selectors(union)),
                               *(n for n, _ in label_selectors(union.cilium))})
    namespace_atoms = Atoms(ns_selectors)
    budget = Budget(limit or (MAX_REGIONS if focus is None else MAX_FOCUSED_REGIONS), len(named))
    namespaces = _namespace_regions(union, named, namespace_atoms, ns_selectors, budget)
    label_sets: dict[str, list[dict[str, str]]] = {}
    for ns in namespaces:  # each version's labels (only the name label where it has no Namespace object)
        label_sets[ns.name] = [dict(ns.labels) if not ns.named else
                               c.namespaces_by_name[ns.name].label_map if ns.name in c.namespaces_by_name
                               else {METADATA_NAME_LABEL: ns.name} for c in versions]
    named_ports = placeholders(union)
    account = service_account_key(cluster) if service_account_key(cluster) in pod_atoms.universe else None
    # a pod always runs as some service account: its key is never absent (ACCOUNT_NOTE)
    start = Cube() if account is None else Cube(((account, pod_atoms.universe[account] - {ABSENT}),))
    out: list[Region] = []
    toward = None if focus is None else selectors.focus(focus, {n: label_sets[n] for n in focus if n in label_sets},
                                                        directions)
    towards: dict[tuple[frozenset[str], frozenset[Direction]], Focus] = {}  # per marks' origins and sides, the focus
    for number, ns in enumerate(namespaces, start=1):
        report(f"namespace {number:,} of {len(namespaces):,}, {len(out):,} regions")
        cubes = CubeSet(pod_atoms, start)
        budget.splitting(f"of pods in {'namespace ' if ns.named else ''}{ns.name}")
        inside = toward is None or (ns.named and ns.name in toward.namespaces)
        if marked is None:  # every connection with a focus pod
            mine = (selectors.within(ns, scopes, label_sets[ns.name]) if inside else
                    selectors.toward(ns, toward, scopes, label_sets[ns.name]) if toward is not None else set())
            for sel in sorted(mine):  # whatever the versions' order
                cubes.split(sel, budget)
        for origins, sides, subjects, cube_ids in _marked_parts(cubes, marked, ns, label_sets[ns.name], budget):
            cubes.only(cube_ids)
            if subjects:  # a changed policy's subjects: the other end may be in any namespace
                mine = selectors.within(ns, scopes, label_sets[ns.name], sides)
            else:  # pods changed rules hold: the other end is in the rules' namespaces
                wanted = frozenset(_OTHER[side] for side in sides)  # marked sources: connections into the origins
                if (origins, wanted) not in towards:
                    towards[(origins, wanted)] = selectors.focus(
                        origins, {n: label_sets[n] for n in origins if n in label_sets}, wanted)
                mine = selectors.toward(ns, towards[(origins, wanted)], scopes, label_sets[ns.name])
            for sel in sorted(mine):  # whatever the versions' order
                cubes.split(sel, budget)
        for cube in sorted(cubes.cubes.values(), key=cube_order):
            labels = dict(cube.labels())
            said = cube if account is None else widened(cube, pod_atoms, {account: frozenset({ABSENT})})
            pod = Pod(namespace=ns.name, name="{" + pod_atoms.describe(said) + "}",
                      labels=tuple(kv for kv in labels.items() if kv[0] != account), ports=named_ports,
                      hypothetical=True, service_account=labels[account] if account is not None else None)
            out.append(Region(pod, ns, said))
    declared = {n.name for n in cluster.namespaces}
    extra_ns = tuple(Namespace(ns.name, ns.labels, declared=not ns.named)
                     for ns in namespaces if ns.name not in declared)
    grown = replace(cluster, namespaces=tuple(sorted((*cluster.namespaces, *extra_ns), key=lambda n: n.name)),
                    pods=(*cluster.pods, *(r.pod for r in out)))
    implied = tuple(ns.name for ns in extra_ns if not ns.declared and ns.name not in unknown)
    return RegionSet(grown, tuple(out), pod_atoms, namespace_atoms, named_ports, implied, unknown,
                     (ACCOUNT_NOTE,) if account is not None else (), account)


def _marked_parts(cubes: CubeSet, marked: Sequence[Marked] | None, ns: NamespaceRegion,
                  label_sets: list[dict[str, str]], budget: Budget
                  ) -> list[tuple[frozenset[str], frozenset[Direction], bool, list[int]]]:
    """`cubes` (of namespace region `ns`) split by the marks that can hold its pods, and the parts inside
    a mark grouped by the origins and sides of the marks they are in, and whether one is a mark of subjects;
    a part inside none is in no group."""
    holding = [m for m in marked or () if m.holds(ns, label_sets)]
    for sel in sorted({m.pods for m in holding}):
        cubes.split(sel, budget)
    groups: dict[tuple[frozenset[str], frozenset[Direction], bool], list[int]] = {}
    for cube_id, cube in cubes.cubes.items():
        inside = [m for m in holding if cubes.atoms.inside(cube, m.pods)]
        if inside:
            key = (frozenset(m.origin for m in inside), frozenset(side for m in inside for side in m.sides),
                   any(m.subjects for m in inside))
            groups.setdefault(key, []).append(cube_id)
    return [(*key, ids) for key, ids in sorted(groups.items(), key=lambda kv: (sorted(kv[0][0]), sorted(kv[0][1]),
                                                                                kv[0][2]))]


_OTHER: dict[Direction, Direction] = {"ingress": "egress", "egress": "ingress"}  # the other end's side


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
    for sel in tier_selectors(cluster):
        namespaces.append(sel.namespace_selector)
        if sel.pod_selector is not None:
            pods.append(sel.pod_selector)
    cilium = label_selectors(cluster.cilium)  # CNP and CCNP selectors cut them too
    return [*pods, *(p for _, p in cilium)], [*namespaces, *(n for n, _ in cilium if n.requirements)]


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
    for cube in sorted(cubes.cubes.values(), key=cube_order):
        where = atoms.describe(_without_name(cube)).replace("/", "\u2215")  # no "/" in a namespace's name
        name = NamespaceName(f"(any other namespace{' with ' + where if where else ''})")
        labels = tuple(sorted({**dict(cube.labels()), METADATA_NAME_LABEL: name}.items()))
        out.append(NamespaceRegion(name, False, labels, cube))
    return out


def _without_name(cube: Cube) -> Cube:
    return Cube(tuple(kv for kv in cube.keys if kv[0] != METADATA_NAME_LABEL))


def named_namespaces(cluster: Cluster) -> set[str]:
    """Every namespace the input knows by name: declared, holding an object, or named by a selector
    (kubernetes.io/metadata.name), which on policy-only input is how a namespace is known at all."""
    names = set(cluster.namespaces_by_name)
    for sel in _selectors(cluster)[1]:
        names.update(v for r in sel.requirements if r.key == METADATA_NAME_LABEL for v in r.values)
    return names
