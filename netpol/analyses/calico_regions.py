"""Every possible pod under Calico: regions of the label space Calico's selectors read (docs/semantics.md §16,
"Possible pods under Calico").

Calico's selectors read a pod's Calico labels (netpol.model.calico.endpoint_labels): its own, then
projectcalico.org/namespace, /orchestrator and /serviceaccount, its namespace's labels as `pcns.*` and its
service account's as `pcsa.*`, a pod's own label taking precedence over an inherited one. So a possible pod of
a namespace is a label map over those keys where, per namespace region:

- projectcalico.org/namespace is the namespace's name, /orchestrator is k8s;
- projectcalico.org/serviceaccount is the name of any service account (a DNS-1123 subdomain), absent when
  the name has 63 characters or more; the service account's labels are unknown (any `pcsa.*`, present or not);
- a `pcns.X` label is present when the namespace has label X (any value: the pod's own label may shadow it)
  and may be absent otherwise; the namespace's name label is always present;
- any other key is the pod's own label: absent, or any label value.

Per key the values are cut into atoms (netpol.analyses.calico_values), and a region is a cube of them, split
by every selector the stages name (Calico's, and the Kubernetes kinds' pod selectors read as Calico's) until
each selector is true or false on the whole cube: one pod built from a cube's witnesses answers for every pod
in it. Namespaces are cut as for the other families (netpol.analyses.regions), the other namespaces also by
whether they have each label X a `pcns.X` test reads. What netpol cannot cut exactly it refuses in one line.

Focus, as for the other families: a question about some namespaces (an exposure, a diff's changed policies, a
check's destinations) needs exact answers only for connections with an end there. Those namespaces are cut by
every selector; every other one only by what tells its pods apart for such a connection: the selectors of the
subjects of its own walk in the direction asked about (a pod that sends to a focus pod: the egress policies'
and rules' subjects; one that receives: the ingress ones') and the peers of the rules of the other direction
whose subject can hold a pod of a focus namespace (the focus pod's own walk).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from netpol.analyses.calico_values import (
    DNS_LABEL,
    LABEL_VALUE,
    Atomic,
    Syntax,
    named_values,
    string_tests,
    value_atoms,
)
from netpol.analyses.label_space import ABSENT, Atom, Atoms, Budget, Cube, NamespaceRegion, cube_order, widened
from netpol.analyses.placeholder_ports import placeholders
from netpol.errors import QueryError
from netpol.model import DIRECTIONS, METADATA_NAME_LABEL, Cluster, ContainerPort, Direction, Namespace, Pod
from netpol.model.calico import (
    DEFAULT_ACCOUNT,
    NAME_LABEL,
    NAMESPACE_LABEL,
    ORCHESTRATOR,
    SERVICE_ACCOUNT_LABEL,
    endpoint_labels,
)
from netpol.model.calico_selectors import And, Compare, Has, InSet, Node, Not, Or
from netpol.model.selectors import LabelSelector, Requirement, Scope, valid_label_key, valid_namespace_name
from netpol.policies.calico import calico_selector, calico_stages
from netpol.policies.stages import AllOf, AnyOf, Identified, OnNode, Pods, Subject
from netpol.policies.stages import Not as NotTerm
from netpol.progress import report

if TYPE_CHECKING:
    from netpol.analyses.regions import Region, RegionSet

SERVICE_ACCOUNT = Syntax("DNS subdomain", 62)  # a name of 63 characters or more gets no serviceaccount label
LONG_ACCOUNT = "a" * 63  # a service account whose name is too long for the label
_FIXED = (NAMESPACE_LABEL, ORCHESTRATOR, SERVICE_ACCOUNT_LABEL)  # Calico's own: a pod's label cannot shadow them
_ALWAYS = (f"pcns.{NAME_LABEL}", f"pcns.{METADATA_NAME_LABEL}", f"pcsa.{NAME_LABEL}")  # every endpoint has them
NOTE = ("possible pods under Calico: a pod may run under any service account, whose labels are unknown, and may "
        "carry its own pcns.* or pcsa.* labels, which Calico reads before its namespace's and service account's")


def selector_node(selector: LabelSelector) -> Node:
    """A Kubernetes label selector on a pod's own labels as the Calico selector that reads the same labels."""
    for r in selector.requirements:
        if r.key in _FIXED or r.key.startswith(("pcns.", "pcsa.")):
            raise QueryError(f"possible pods under Calico: a Kubernetes selector on label {r.key} (a key Calico "
                             "sets or inherits) is not cut exactly; answer for the input's pods with --input-only")
    return calico_selector(selector)


def _atomic(node: Node) -> Iterator[Atomic]:
    if isinstance(node, Has | Compare | InSet):
        yield node
    elif isinstance(node, Not):
        yield from _atomic(node.operand)
    elif isinstance(node, And | Or):
        for o in node.operands:
            yield from _atomic(o)


@dataclass(frozen=True)
class _Rule:
    """One stage rule: its direction, its subject and the Calico selectors of its peers."""

    direction: Direction
    subject: Subject
    peers: frozenset[Node]


@dataclass(frozen=True)
class _Selectors:
    """What the stages of every version name: Calico selectors (pod selectors converted), namespace selectors
    and namespaces named; per direction the selectors of the subjects (policies' and rules'), and the rules."""

    pods: tuple[Node, ...]
    namespaces: tuple[LabelSelector, ...]
    named: frozenset[str]
    subjects: dict[Direction, frozenset[Node]]
    rules: tuple[_Rule, ...]


def _nodes(x: object, namespaces: set[LabelSelector], named: set[str]) -> Iterator[Node]:
    """The Calico selectors a subject, peer or condition reads (pod selectors converted); the namespace selectors
    and the namespaces it names go to `namespaces` and `named`."""
    if isinstance(x, AllOf | AnyOf):
        for term in x.terms:
            yield from _nodes(term, namespaces, named)
    elif isinstance(x, NotTerm):
        yield from _nodes(x.term, namespaces, named)
    elif isinstance(x, OnNode):
        yield from _nodes(x.pods, namespaces, named)
    elif isinstance(x, Identified):  # Calico's labels: a Kubernetes selector on them reads them as they are
        yield x.predicate if not isinstance(x.predicate, LabelSelector) else calico_selector(x.predicate)
    elif isinstance(x, Pods):
        if x.namespace is not None:
            named.add(x.namespace)
        if x.namespace_selector is not None:
            namespaces.add(x.namespace_selector)
        if x.pod_selector is not None:
            yield selector_node(x.pod_selector)


def _collect(versions: Sequence[Cluster], scopes: Sequence[Scope]) -> _Selectors:
    pods: set[Node] = {selector_node(s.selector) for s in scopes}
    namespaces: set[LabelSelector] = set()
    named: set[str] = set()
    subjects: dict[Direction, set[Node]] = {d: set() for d in DIRECTIONS}
    rules: set[_Rule] = set()
    for cluster in versions:
        stages = calico_stages(cluster)
        for d in DIRECTIONS:
            for stage in stages[d]:
                for policy in stage.policies:
                    subjects[d].update(_nodes(policy.subject, namespaces, named))
                for rule in (*stage.rules, *stage.inert):
                    subjects[d].update(_nodes(rule.subject, namespaces, named))
                    peers = frozenset(n for peer in rule.peers for n in _nodes(peer, namespaces, named))
                    rules.add(_Rule(d, rule.subject, peers))
        calico = cluster.calico
        named.update(p.namespace for p in (calico.policies if calico else ()) if p.namespace is not None)
    pods.update(n for nodes in subjects.values() for n in nodes)
    pods.update(n for r in rules for n in r.peers)
    return _Selectors(tuple(sorted(pods, key=str)), tuple(sorted(namespaces)), frozenset(named),
                      {d: frozenset(nodes) for d, nodes in subjects.items()}, tuple(rules))


def _may_hold(subject: object, spaces: Sequence[_Space]) -> bool:
    """Whether a rule's subject can hold a pod of one of these namespace regions (True where it cannot tell)."""
    if isinstance(subject, AllOf):
        return all(_may_hold(t, spaces) for t in subject.terms)
    if isinstance(subject, Pods) and subject.namespace is not None:
        return any(s.region.named and s.region.name == subject.namespace for s in spaces)
    if isinstance(subject, Identified):
        node = subject.predicate if not isinstance(subject.predicate, LabelSelector) else \
            calico_selector(subject.predicate)
        return any(_truth(node, s, Cube()) is not False for s in spaces)
    return True


def _toward(selectors: _Selectors, spaces: Sequence[_Space], scopes: Sequence[Scope],
            directions: Collection[Direction]) -> tuple[Node, ...]:
    """What cuts a namespace outside the focus (`spaces`: the focus namespaces' regions) for the connections
    into the focus pods ("ingress" in `directions`) and out of them ("egress"): the subjects of its pods' own
    walk in that direction, the peers of the focus pods' rules, and the scopes."""
    other: dict[Direction, Direction] = {"ingress": "egress", "egress": "ingress"}
    out = {selector_node(s.selector) for s in scopes}
    for d in directions:
        out |= selectors.subjects[other[d]]
        out.update(n for r in selectors.rules if r.direction == d and _may_hold(r.subject, spaces) for n in r.peers)
    return tuple(sorted(out, key=str))


class CalicoAtoms(Atoms):
    """Per Calico label key, its atoms (named values, witnesses of the string tests' combinations, ABSENT): the
    regions' cubes hold them, and describe them in the selectors' terms."""

    def __init__(self, tests: Mapping[str, list[Atomic]], syntaxes: Mapping[str, Syntax]) -> None:
        self.tests = tests
        self.named: dict[str, tuple[str, ...]] = {}
        self.classes: dict[str, tuple[str, ...]] = {}
        self.universe = {}
        for key in sorted(tests):
            self.named[key], self.classes[key] = value_atoms(key, tests[key], syntaxes[key])
            self.universe[key] = frozenset({*self.named[key], *self.classes[key], ABSENT})

    def atom_of(self, key: str, value: str | None) -> Atom:
        """The atom a value falls in."""
        if value is None or value in self.named[key]:
            return value
        vector = self._vector(key, value)
        return next(c for c in self.classes[key] if self._vector(key, c) == vector)

    def _vector(self, key: str, value: str) -> tuple[bool, ...]:
        return tuple(t.evaluate({key: value}) for t in self.tests[key])

    def describe(self, cube: Cube) -> str:
        return " and ".join(self._key_text(k, atoms) for k, atoms in cube.keys)

    def _key_text(self, key: str, atoms: frozenset[Atom]) -> str:
        present = atoms - {ABSENT}
        missing = (self.universe[key] - {ABSENT}) - present
        if not present:
            return f"no {key}"
        if not missing:
            return f"{key} set"
        if all(m in self.named[key] for m in missing) and len(missing) <= len(present):
            text = f"{key} notin ({','.join(sorted(str(m) for m in missing))})"
            return text if ABSENT in atoms else f"{text} and {key} set"
        split = self._one_test(key, present, missing)
        if split is not None:
            return f"({split} or no {key})" if ABSENT in atoms else split
        named = sorted(str(a) for a in present if a in self.named[key])
        pieces = [f"{key}={named[0]}" if len(named) == 1 else f"{key} in ({','.join(named)})"] if named else []
        pieces += [self._class_text(key, str(a)) for a in sorted(present - set(named), key=str)]
        if ABSENT in atoms:
            pieces.append(f"no {key}")
        return pieces[0] if len(pieces) == 1 else "(" + " or ".join(pieces) + ")"

    def _one_test(self, key: str, present: frozenset[Atom], missing: frozenset[Atom]) -> str | None:
        """One string test that is true on every present atom and false on every missing one, or the reverse."""
        for t in string_tests(self.tests[key]):
            on = {t.evaluate({key: str(a)}) for a in present}
            if len(on) == 1 and {t.evaluate({key: str(a)}) for a in missing} == {not on.pop()}:
                return f"{key} {'' if t.evaluate({key: str(next(iter(present)))}) else 'not '}{t.op} '{t.value}'"
        return None

    def _class_text(self, key: str, witness: str) -> str:
        """The values a string-test combination holds: each test true or false, and none of the named values."""
        tests = string_tests(self.tests[key])
        parts = [f"{key} {'' if t.evaluate({key: witness}) else 'not '}{t.op} '{t.value}'" for t in tests]
        answers = tuple(t.evaluate({key: witness}) for t in tests)
        alike = sorted(v for v in self.named[key] if tuple(t.evaluate({key: v}) for t in tests) == answers)
        if alike or not parts:
            parts.append(f"{key} notin ({','.join(alike)})" if alike else f"{key} set")
        return " and ".join(parts)


@dataclass(frozen=True)
class _Space:
    """One namespace region's pods: per key, the atoms its pods' labels may take."""

    region: NamespaceRegion
    allowed: dict[str, frozenset[Atom]]

    def current(self, cube: Cube, key: str) -> frozenset[Atom]:
        return cube.get(key) or self.allowed[key]

    def widened(self, cube: Cube, atoms: CalicoAtoms) -> Cube:
        """The same pods, said as simply as it goes: per key, the atoms no pod of this namespace region can take
        added where that is said in fewer words ("pcns.team notin (ops)" where every pod has pcns.team)."""
        return widened(cube, atoms, {key: atoms.universe[key] - self.allowed[key] for key, _ in cube.keys})


def _truth(node: Node, space: _Space, cube: Cube) -> bool | None:
    """The selector on every label map of the cube: True, False, or None (it depends)."""
    if isinstance(node, Has | Compare | InSet):
        key = node.label
        found = {node.evaluate({} if a is None else {key: a}) for a in space.current(cube, key)}
        return found.pop() if len(found) == 1 else None
    if isinstance(node, Not):
        inner = _truth(node.operand, space, cube)
        return None if inner is None else not inner
    if isinstance(node, And | Or):
        decisive = isinstance(node, Or)  # the value that decides the whole
        undecided = False
        for o in node.operands:
            v = _truth(o, space, cube)
            if v is decisive:
                return decisive
            undecided |= v is None
        return None if undecided else not decisive
    return True


def _split(cube: Cube, node: Node, space: _Space, atoms: CalicoAtoms, budget: Budget) -> list[Cube]:
    """`cube` cut into cubes on each of which `node` is true or false throughout."""
    if _truth(node, space, cube) is not None:
        return [cube]
    tests = list(_atomic(node))
    for key in sorted({t.label for t in tests}):
        mine = [t for t in tests if t.label == key]
        groups: dict[tuple[bool, ...], set[Atom]] = {}
        for a in space.current(cube, key):
            groups.setdefault(tuple(t.evaluate({} if a is None else {key: a}) for t in mine), set()).add(a)
        if len(groups) > 1:
            budget.charge(len(groups) - 1, (len(cube.keys) + 1) * (len(groups) - 1), [key])
            return [part for g in sorted(groups.values(), key=lambda g: sorted(map(str, g)))
                    for part in _split(cube.with_key(key, frozenset(g), atoms.universe[key]), node, space, atoms,
                                       budget)]
    raise AssertionError(f"{node} undecided on a cube no key of it splits")  # Kleene logic on uniform atoms decides


def _cut(space: _Space, selectors: Sequence[Node], atoms: CalicoAtoms, budget: Budget) -> list[Cube]:
    """A namespace region's pods cut by every selector, one at a time; whenever the cubes have doubled, those on
    which every selector so far gives the same answers are merged where their union is a cube (Atoms.merge), so
    that the parts one selector leaves outside do not multiply with the next one's."""
    cubes: list[tuple[Cube, tuple[bool, ...]]] = [(Cube(), ())]
    merged = 1  # how many cubes the last merge left: merging again once they double keeps its cost linear
    for i, node in enumerate(selectors):
        cubes = [(part, (*answers, bool(_truth(node, space, part))))
                 for cube, answers in cubes for part in _split(cube, node, space, atoms, budget)]
        if len(cubes) > 2 * merged or i == len(selectors) - 1:
            groups: dict[tuple[bool, ...], list[Cube]] = {}
            for cube, answers in cubes:
                groups.setdefault(answers, []).append(cube)
            before = len(cubes)
            cubes = [(c, answers) for answers, group in groups.items()
                     for c in (atoms.merge(group) if len(group) > 1 else group)]
            merged = len(cubes)
            budget.release(before - merged, 0)
    return [c for c, _ in cubes]


@dataclass(frozen=True)
class _Builder:
    versions: tuple[Cluster, ...]
    selectors: _Selectors
    atoms: CalicoAtoms

    @cached_property
    def inherited(self) -> list[str]:
        """The namespace labels X that a `pcns.X` test reads (the name labels are on every namespace)."""
        return sorted({k.removeprefix("pcns.") for k in self.atoms.tests if k.startswith("pcns.") and k not in _ALWAYS})

    def space(self, ns: NamespaceRegion) -> _Space:
        labels = dict(ns.labels) if not ns.named else self._named_labels(ns.name)
        allowed: dict[str, frozenset[Atom]] = {}
        for key, universe in self.atoms.universe.items():
            if key == NAMESPACE_LABEL:
                value = str(ns.name) if ns.named else None
                allowed[key] = frozenset({self.atoms.atom_of(key, value)} if value is not None else
                                         set(self.atoms.classes[key]))
            elif key == ORCHESTRATOR:
                allowed[key] = frozenset({self.atoms.atom_of(key, "k8s")})
            elif key == SERVICE_ACCOUNT_LABEL:
                allowed[key] = universe
            elif not valid_label_key(key):  # no pod carries it (_refuse_inexact: nor is it inherited)
                allowed[key] = frozenset({ABSENT})
            elif key in _ALWAYS or (key.startswith("pcns.") and key.removeprefix("pcns.") in labels):
                allowed[key] = universe - {ABSENT}  # inherited, and a pod's own label may shadow it
            else:
                allowed[key] = universe
        return _Space(ns, allowed)

    def _named_labels(self, name: str) -> dict[str, str]:
        """A named namespace's labels; the versions of a diff must agree on which labels a `pcns.` test reads."""
        found = [c.namespaces_by_name[name].label_map if name in c.namespaces_by_name else {METADATA_NAME_LABEL: name}
                 for c in self.versions]
        for x in self.inherited:
            if len({x in f for f in found}) > 1:
                raise QueryError(f"possible pods under Calico: namespace {name} has label {x} in one version and not "
                                 f"in the other, which a pcns.{x} test reads; compare the input's pods with "
                                 "--input-only")
        return {**found[0], NAME_LABEL: name}

    def pod(self, space: _Space, cube: Cube, ports: tuple[ContainerPort, ...]) -> Pod:
        """The witness pod of a cube: per key the first atom it allows (ABSENT where allowed)."""
        own: dict[str, str] = {}
        account: str | None = None
        for key in sorted(self.atoms.universe):
            choice = space.current(cube, key) & space.allowed[key]
            atom = ABSENT if ABSENT in choice else min(str(a) for a in choice)
            if key == SERVICE_ACCOUNT_LABEL:
                account = LONG_ACCOUNT if atom is None else atom
            elif key not in _FIXED and atom is not None and valid_label_key(key):
                own[key] = atom
        text = self.atoms.describe(space.widened(cube, self.atoms))
        return Pod(namespace=space.region.name, name="{" + text + "}", labels=tuple(sorted(own.items())), ports=ports,
                   hypothetical=True, service_account=account)


def _tests(selectors: _Selectors) -> dict[str, list[Atomic]]:
    out: dict[str, set[Atomic]] = {}
    for node in selectors.pods:
        for t in _atomic(node):
            out.setdefault(t.label, set()).add(t)
    return {k: sorted(v, key=str) for k, v in out.items()}


def _syntax(key: str) -> Syntax:
    return DNS_LABEL if key == NAMESPACE_LABEL else SERVICE_ACCOUNT if key == SERVICE_ACCOUNT_LABEL else LABEL_VALUE


def _refuse_inexact(tests: Mapping[str, list[Atomic]]) -> None:
    """What possible pods cannot answer exactly: string tests on the namespace's name (a namespace region of
    every other namespace carries no name they could read), inherited keys no pod label can shadow, and on a
    service account's name label beyond a label value's 63 characters (a long name drops the serviceaccount label, which ties the two keys)."""
    for t in string_tests(tests.get(NAMESPACE_LABEL, ())):
        raise QueryError(f"possible pods under Calico: the selector test {t} on the namespace's name is not cut "
                         "exactly; answer for the input's pods with --input-only")
    for key in tests:
        if key.startswith(("pcns.", "pcsa.")) and not valid_label_key(key):
            raise QueryError(f"possible pods under Calico: a selector tests {key}, which a pod's own label cannot "
                             "shadow (not a valid label key); answer for the input's pods with --input-only")
    for v in named_values(tests.get(NAMESPACE_LABEL, ())):
        if v.startswith("(any other namespace"):
            raise QueryError(f"possible pods under Calico: {NAMESPACE_LABEL} == {v!r} names netpol's own region name")
    key = f"pcsa.{NAME_LABEL}"
    mine = string_tests(tests.get(key, ()))
    if mine and set(value_atoms(key, mine, Syntax("DNS subdomain", 253))[1]) - set(
            value_atoms(key, mine, LABEL_VALUE)[1]):
        raise QueryError(f"possible pods under Calico: the tests on {key} tell apart service account names longer "
                         "than a label value; answer for the input's pods with --input-only")


def calico_regions(cluster: Cluster, scopes: Sequence[Scope], limit: int, others: Sequence[Cluster],
                   focus: Collection[str] | None = None, directions: Collection[Direction] = DIRECTIONS) -> RegionSet:
    """regions() under Calico (netpol.analyses.regions): `cluster` plus one hypothetical pod per region of
    every namespace the input names and of the other namespaces, exact for every connection (with a `focus`:
    every connection with an end in a focus namespace, in `directions` as seen from it)."""
    from netpol.analyses.regions import Region, RegionSet, _named_namespaces, _namespace_regions

    versions = (cluster, *others)
    selectors = _collect(versions, scopes)
    tests = _tests(selectors)
    _refuse_inexact(tests)
    atoms = CalicoAtoms(tests, {k: _syntax(k) for k in tests})
    builder = _Builder(versions, selectors, atoms)
    exists = [LabelSelector((Requirement(x, "Exists"),)) for x in builder.inherited]
    ns_selectors = sorted({*selectors.namespaces, *exists})
    union = replace(cluster, namespaces=cluster.namespaces, pods=tuple(p for c in versions for p in c.pods),
                    policies=tuple(p for c in versions for p in c.policies),
                    tiered=tuple(p for c in versions for p in c.tiered))
    also = {str(n.name) for c in others for n in c.namespaces} | set(selectors.named)
    also |= {v for k in (NAMESPACE_LABEL, f"pcns.{NAME_LABEL}", f"pcns.{METADATA_NAME_LABEL}")
             for v in named_values(tests.get(k, ())) if valid_namespace_name(v)}
    known = _named_namespaces(union, list(ns_selectors), also)
    unknown = frozenset({s.namespace for s in scopes if s.namespace is not None} - set(known))
    named = sorted({*known, *unknown})
    namespace_atoms = Atoms(ns_selectors)
    budget = Budget(limit, len(named))
    namespaces = _namespace_regions(union, named, namespace_atoms, list(ns_selectors), budget)
    ports = placeholders(union)
    out: list[Region] = []
    inside = None if focus is None else {*focus, *unknown}
    toward = () if inside is None else _toward(
        selectors, [builder.space(ns) for ns in namespaces if ns.named and ns.name in inside], scopes, directions)
    for number, ns in enumerate(namespaces, start=1):
        report(f"namespace {number:,} of {len(namespaces):,}, {len(out):,} regions")
        space = builder.space(ns)
        budget.splitting(f"of pods in {'namespace ' if ns.named else ''}{ns.name}")
        mine = selectors.pods if inside is None or (ns.named and ns.name in inside) else toward
        cubes = _cut(space, mine, atoms, budget)
        for cube in sorted(cubes, key=cube_order):
            out.append(Region(builder.pod(space, cube, ports), ns, space.widened(cube, atoms)))
    declared = {n.name for n in cluster.namespaces}
    extra_ns = tuple(Namespace(ns.name, ns.labels, declared=not ns.named)
                     for ns in namespaces if ns.name not in declared)
    grown = replace(cluster, namespaces=tuple(sorted((*cluster.namespaces, *extra_ns), key=lambda n: n.name)),
                    pods=(*cluster.pods, *(r.pod for r in out)))
    implied = tuple(ns.name for ns in extra_ns if not ns.declared and ns.name not in unknown)
    return RegionSet(grown, tuple(out), atoms, namespace_atoms, ports, implied, unknown, (NOTE,))


def calico_region_of(rs: RegionSet, cluster: Cluster, pod: Pod) -> Region:
    """The one region a pod of `cluster` falls in, by its Calico labels (its service account's labels as
    `cluster` gives them): its namespace by name when the regions name it, else by labels; then per key the
    atom of its label."""
    atoms = rs.pod_atoms
    assert isinstance(atoms, CalicoAtoms)
    ns_labels = cluster.namespaces_by_name[pod.namespace].label_map if pod.namespace in cluster.namespaces_by_name \
        else {METADATA_NAME_LABEL: pod.namespace}
    accounts = {(a.namespace, a.name): dict(a.labels) for a in (cluster.calico.service_accounts if cluster.calico
                                                                 else ())}
    seen = endpoint_labels(pod.namespace, pod.label_map, pod.service_account, ns_labels,
                           accounts.get((pod.namespace, pod.service_account or DEFAULT_ACCOUNT), {}))
    named = any(r.namespace.named and r.namespace.name == pod.namespace for r in rs.regions)
    found = [r for r in rs.regions
             if (r.namespace.name == pod.namespace if named else not r.namespace.named
                 and r.namespace.cube.contains(ns_labels, rs.namespace_atoms.universe))
             and all(atoms.atom_of(k, seen.get(k)) in v for k, v in r.cube.keys)]
    if len(found) != 1:  # regions partition every namespace's pods: anything else is a bug
        raise AssertionError(f"{pod.key} {seen} falls in {len(found)} regions")
    return found[0]
