"""Check intent expectations against a compiled cluster.

An expectation holds when every (source, destination) pair it names is
allowed (or denied) on every port it names. Pairs of a pod with itself are
skipped: policies do not govern them. Endpoints that match nothing are an
error, never a pass.

The world is open: an `only` expectation's "every other pod" is every pod that could exist, the input's
and the possible pods (regions) of every namespace, unless the check is asked for the input's pods alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netpol.analyses.cilium_explain import runtime_dependence
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.query import Analyzer
from netpol.analyses.verdicts import Endpoint, Verdict
from netpol.engine import bit_ids
from netpol.errors import InputError, QueryError
from netpol.model import SERVICE_REF, Pod
from netpol.model.intent import Expect, Expectation, IntentFile, PortSpec, Selection
from netpol.model.portsets import ALL_PORTS, PortSet, Protocol
from netpol.model.selectors import EVERYTHING, Scope

if TYPE_CHECKING:
    from netpol.engine.slices import Codes

EXPLAINED_FAILURES = 3  # failures that carry a full verdict; the rest are listed


@dataclass(frozen=True)
class PairFailure:
    source: Endpoint
    destination: Endpoint
    expect: Expect  # for this pair: an `only` expectation denies the sources it does not list
    wanted: PortSet  # the ports the expectation is about
    wrong: PortSet  # of those, the ones allowed against a deny or denied against an allow
    verdict: Verdict | None  # can_reach on the first wrong port, for the first few failures

    @property
    def source_text(self) -> str:
        """The source as text: a possible pod in the policies' terms (for an `only` expectation's other
        pods, every region of its class), never its region key."""
        return str(self.source)


@dataclass(frozen=True)
class Outcome:
    expectation: Expectation
    pairs: int
    failures: tuple[PairFailure, ...]
    error: str | None = None  # the expectation could not be checked (it names nothing, an unknown pod, ...)
    # What only runtime facts decide of its pairs' verdicts (Cilium's L7 rules, toFQDNs...): it holds at L3/L4,
    # and netpol cannot say more, so it does not pass (docs/intent.md)
    depends: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None and not self.depends


@dataclass(frozen=True)
class FileError:
    """An intent file that could not be checked at all (invalid, or its manifests do not load)."""

    path: str
    message: str


def check_intent(analyzer: Analyzer, intent: IntentFile, input_only: bool = False) -> tuple[Outcome, ...]:
    """Every expectation, on the analyzer `prepare` makes (see there)."""
    return check_prepared(prepare(analyzer, intent, input_only))


@dataclass(frozen=True)
class Prepared:
    """An intent as it is checked, and the analyzer it is checked on."""

    analyzer: Analyzer
    intent: IntentFile
    only_error: str | None = None  # why no `only` expectation can be checked (too many possible pods)

    def check(self, exp: Expectation) -> Outcome:
        """One expectation; one that cannot be checked is an error outcome."""
        if exp.kind == "only" and self.only_error is not None:
            return Outcome(exp, 0, (), self.only_error)
        try:
            return check_expectation(self.analyzer, exp)
        except InputError as exc:
            return Outcome(exp, 0, (), str(exc))


def prepare(analyzer: Analyzer, intent: IntentFile, input_only: bool = False) -> Prepared:
    """The intent as it is checked, on which analyzer.

    Possible pods are added (regions split along the intent's namespace selections) when an expectation
    names possible pods (`NS{labels}`, `possible: true`), when the input has no pods (every namespace
    selection then means every possible such pod), and when an `only` expectation must deny every other
    pod that could exist. When the policies tell apart too many kinds of pod, that is an error: of the
    file when its selections name possible pods, else of each `only` expectation (the others still run).
    `input_only`: the input's pods alone, and no selection may name possible pods."""
    selections = [sel for exp in intent.expectations for sel in (*exp.sources, *exp.destinations)]
    if input_only:
        named = [sel.text for sel in selections if sel.possible]
        if named:
            raise QueryError(f"{named[0]} names possible pods, but --input-only answers for the input's pods alone")
        return Prepared(analyzer, intent)
    automatic = not analyzer.cluster.pods  # no pod of the input
    named_possible = any(sel.possible for sel in selections) or (automatic and any(sel.namespace for sel in selections))
    if not (named_possible or any(exp.kind == "only" for exp in intent.expectations)):
        return Prepared(analyzer, intent)
    scopes = [_scope(sel) for sel in selections if sel.possible or sel.namespace is not None]
    if automatic:
        intent = replace(intent, expectations=tuple(_as_possible(exp) for exp in intent.expectations))
    try:
        return Prepared(Analyzer.with_possible(analyzer.cluster, scopes, intent.possible_namespaces(), _focus(intent)),
                        intent)
    except RegionLimitError as exc:
        if named_possible:
            raise
        return Prepared(analyzer, intent, f"{exc}; so the pods that are not in the input cannot be checked "
                                          "(--input-only checks `only` against the input's pods alone)")


def _focus(intent: IntentFile) -> frozenset[str] | None:
    """The namespaces of the destinations of the expectations that pair possible pods (an `only` one's other
    pods, or a selection of possible pods): every such pair has an end there (an `isolated` expectation's
    reverse pairs too), so regions cut exactly there, and elsewhere only as far as connections with them
    tell apart, answer every pair (netpol.analyses.regions' focus); pairs of the input's pods need no region. None:
    such a destination of any namespace."""
    out: set[str] = set()
    for exp in intent.expectations:
        if exp.kind != "only" and not any(sel.possible for sel in (*exp.sources, *exp.destinations)):
            continue
        for dst in exp.destinations:  # a pair to outside addresses has its other end, the source, there
            if dst.network is not None and exp.kind == "only":
                return None  # every other pod of every namespace to the addresses
            for sel in exp.sources if dst.network is not None else (dst,):
                if sel.network is not None:
                    continue  # addresses to addresses: no pod
                namespace = _namespace_of(sel)
                if namespace is None:
                    return None
                out.add(namespace)
    return frozenset(out)


def _namespace_of(sel: Selection) -> str | None:
    """The namespace of a selection's pods; None for possible pods of any namespace."""
    if sel.namespace is not None:
        return sel.namespace
    if sel.pod is not None:
        return sel.pod.split("/", 1)[0]
    if sel.service is not None:  # svc/NAME:PORT is a Service of namespace default
        match = SERVICE_REF.match(sel.service)
        return match.group(1) if match is not None and match.group(1) else "default"
    return None


def check_prepared(prepared: Prepared) -> tuple[Outcome, ...]:
    """Every expectation; one that cannot be checked is an error outcome and the others still run."""
    return tuple(prepared.check(exp) for exp in prepared.intent.expectations)


def check_expectation(analyzer: Analyzer, exp: Expectation) -> Outcome:
    try:
        sources, _ = _endpoints(analyzer, exp.sources)
        destinations, wanted_for = _endpoints(analyzer, exp.destinations)  # Service ports come fixed
        pairs = list(_pairs(exp, sources, destinations))
        count = len(pairs)
        wrong_pairs: list[tuple[Endpoint, Endpoint, Expect, PortSet, PortSet, str | None]] = []

        def wanted_at(dst: Endpoint) -> PortSet:
            wanted = wanted_for.get(dst.name)
            if wanted is None:  # once per destination
                wanted = wanted_for[dst.name] = _wanted(analyzer, exp, dst)
            return wanted

        cilium = analyzer.cluster.dataplane.profile == "cilium"
        depends: list[str] = []
        for src, dst, expect in pairs:
            wanted = wanted_at(dst)
            allowed = analyzer.allowed_ports(src, dst)
            wrong = wanted.difference(allowed) if expect == "allow" else wanted.intersection(allowed)
            if wrong:
                wrong_pairs.append((src, dst, expect, wanted, wrong, None))
            elif cilium:
                depends.extend(f"{src} -> {dst}: {note}" for note in runtime_dependence(
                    analyzer.engine, analyzer.peer_ref(src), analyzer.peer_ref(dst), wanted))
        if exp.kind == "only":  # every other pod that could exist must be denied
            covered = _Covered(frozenset(s.name for s in sources),
                               tuple(_scope(sel) for sel in exp.sources if sel.possible or sel.namespace is not None))
            columns = _Columns(analyzer, covered, [d.pod.key for d in destinations if d.pod is not None])
            for dst in destinations:
                others, found = _others(analyzer, columns, dst, wanted_at(dst))
                count += others
                wrong_pairs.extend((src, dst, "deny", wanted_at(dst), wrong, described)
                                   for src, wrong, described in found)
        if not count:
            raise QueryError("names no pair of distinct endpoints to check")
        failures = []
        for i, (src, dst, expect, wanted, wrong, described) in enumerate(wrong_pairs):
            src, dst = _in_words(analyzer, src, described), _in_words(analyzer, dst, None)
            verdict = None
            if i < EXPLAINED_FAILURES:
                proto, port = wrong.first()
                verdict = analyzer.can_reach(src, dst, port, proto)
            failures.append(PairFailure(src, dst, expect, wanted, wrong, verdict))
    except QueryError as exc:
        raise InputError(exp.location, None, str(exc)) from None
    return Outcome(exp, count, tuple(failures), depends=tuple(dict.fromkeys(depends)))


def _in_words(analyzer: Analyzer, e: Endpoint, described: str | None) -> Endpoint:
    """A possible pod named as list and exposure name it (`described`, else its own region's phrase), so
    that no failure line or explanation shows a region key."""
    if e.pod is None or not e.pod.hypothetical:
        return e
    assert analyzer.possible is not None
    return replace(e, described=described or "; ".join(analyzer.possible.describe([e.pod.key])))


def _distinct(a: Endpoint, b: Endpoint) -> bool:
    """Two endpoints, one of them a pod; a workload of several replicas with itself is a real pair."""
    if a.pod is None and b.pod is None:
        return False
    return a.name != b.name or (a.pod is not None and not a.pod.is_one_pod)


def _pairs(exp: Expectation, sources: list[Endpoint],
           destinations: list[Endpoint]) -> Iterator[tuple[Endpoint, Endpoint, Expect]]:
    """(source, destination, allow|deny) for every pair the expectation lists (an `only` expectation's
    other pods are checked per class, by _others)."""
    for dst in destinations:
        for src in sources:
            if _distinct(src, dst):
                yield src, dst, exp.expect
    if exp.kind == "isolated":
        for src in destinations:
            for dst in sources:
                if _distinct(src, dst):
                    yield src, dst, "deny"


@dataclass(frozen=True)
class _Covered:
    """The pods an `only` expectation lists: the endpoints it resolved to, and every pod, of the input or
    possible, that its namespace selections describe (a real pod that a possible-pod source covers is that
    source; a possible pod of `{namespace: shop}` is a pod of shop)."""

    keys: frozenset[str]
    scopes: tuple[Scope, ...]

    def __contains__(self, pod: Pod) -> bool:
        return pod.key in self.keys or any(
            (s.namespace is None or s.namespace == pod.namespace) and s.selector.matches(pod.label_map)
            for s in self.scopes)


class _Columns:
    """What every class may send to the destinations' classes (netpol.engine.slices: one column per class
    with array operations, not one evaluation per pair), and each class's pods outside `covered`, found once
    for every destination."""

    def __init__(self, analyzer: Analyzer, covered: _Covered, destinations: list[str]) -> None:
        from netpol.engine.slices import PortCodes, Slices

        engine = analyzer.engine
        self.covered = covered
        self.slices = Slices(engine, PortCodes.common(engine), (), {engine.class_of[k] for k in destinations})
        self._columns: dict[int, Codes] = {}
        self._outside: dict[int, list[Pod]] = {}

    def allowed(self, src: int, dst: int) -> PortSet:
        """The ports class `src` may send to class `dst`."""
        column = self._columns.get(dst)
        if column is None:
            column = self._columns[dst] = self.slices.column(dst)
        return self.slices.codes.decode(column[src])

    def outside(self, cls: int) -> list[Pod]:
        """The pods of class `cls` that `covered` does not hold."""
        found = self._outside.get(cls)
        if found is None:
            found = self._outside[cls] = [p for p in self.slices.engine.classes[cls].pods if p not in self.covered]
        return found


def _others(analyzer: Analyzer, columns: _Columns, dst: Endpoint, wanted: PortSet
            ) -> tuple[int, list[tuple[Endpoint, PortSet, str | None]]]:
    """How many pods, of the input or possible, outside `columns.covered` pair with `dst`, and those allowed a
    wanted port: (source, ports, None) per pod of the input, in key order, then (one region, ports, the regions
    in the policies' terms) per class of possible pods.

    Per engine class, not per pod: a class's pods get the same answer. Only the classes the
    destination's ingress could admit on a wanted port (Engine.admitting) are evaluated. The regions were
    split along the covered scopes (`prepare`), so each region is wholly covered or not."""
    engine = analyzer.engine
    itself = dst.name if dst.pod is not None and dst.pod.is_one_pod else None  # pairs with no other pod
    count = sum(1 for p in analyzer.cluster.pods if p not in columns.covered and p.key != itself)
    target = None if dst.pod is None else engine.class_of[dst.pod.key]
    candidates = engine.all_bits if target is None else engine.admitting(target, wanted)
    real: list[tuple[str, Endpoint, PortSet]] = []
    possible: list[tuple[str, Endpoint, PortSet]] = []
    for c in bit_ids(candidates):
        members = [p for p in columns.outside(c) if p.key != itself]
        if not members:
            continue
        allowed = (analyzer.allowed_ports(Endpoint(pod=members[0]), dst) if target is None
                   else columns.allowed(c, target))
        wrong = wanted.intersection(allowed)
        if not wrong:
            continue
        real.extend((p.key, Endpoint(pod=p), wrong) for p in members if not p.hypothetical)
        regions = [p for p in members if p.hypothetical]
        if regions:
            assert analyzer.possible is not None
            described = "; ".join(analyzer.possible.describe(p.key for p in regions))
            possible.append((described, Endpoint(pod=regions[0]), wrong))
    real.sort(key=lambda f: f[0])  # in the cluster's pod order (by key), as the pairs are listed
    possible.sort(key=lambda f: f[0])
    return count, [(src, ports, None) for _, src, ports in real] + [(src, ports, d) for d, src, ports in possible]


def _scope(sel: Selection) -> Scope:
    return Scope(sel.namespace, sel.selector or EVERYTHING)


def _endpoints(analyzer: Analyzer, selections: tuple[Selection, ...]) -> tuple[list[Endpoint], dict[str, PortSet]]:
    """The endpoints, and the ports fixed for some of them (a Service's target port on each backing pod)."""
    out: dict[str, Endpoint] = {}
    fixed: dict[str, PortSet] = {}
    for sel in selections:
        if sel.service is not None:
            _, sport, backends = analyzer.service_backends(sel.service)
            found = [Endpoint(pod=pod) for pod, target in backends if target is not None]
            for pod, target in backends:
                if target is not None:
                    fixed[pod.key] = fixed.get(pod.key, PortSet()).union(
                        PortSet.of([(sport.protocol, target, target)]))
        else:
            found = _resolve(analyzer, sel)
        if not found:
            raise QueryError(f"{sel.text} matches no pod: an expectation about nothing would always pass")
        out.update((e.name, e) for e in found)
    return list(out.values()), fixed


def _as_possible(exp: Expectation) -> Expectation:
    """On an input without pods, namespace selections mean every possible such pod."""
    def mark(sels: tuple[Selection, ...]) -> tuple[Selection, ...]:
        return tuple(replace(s, possible=True) if s.namespace is not None else s for s in sels)

    return replace(exp, sources=mark(exp.sources), destinations=mark(exp.destinations))


def _resolve(analyzer: Analyzer, sel: Selection) -> list[Endpoint]:
    if sel.possible:
        assert analyzer.possible is not None
        return [Endpoint(pod=r.pod) for r in analyzer.possible.matching(_scope(sel))]
    if sel.pod is not None:
        return [analyzer.endpoint(sel.pod)]
    if sel.network is not None:  # one address per range the policies tell apart covers the whole network
        return [analyzer.endpoint(str(r.first)) for r in analyzer.address_ranges(sel.network)]
    assert sel.namespace is not None
    if sel.namespace not in analyzer.cluster.namespaces_by_name:
        raise QueryError(f"unknown namespace {sel.namespace!r}")
    return [
        Endpoint(pod=p) for p in analyzer.cluster.pods
        if p.namespace == sel.namespace and not p.hypothetical
        and (sel.selector is None or sel.selector.matches(p.label_map))
    ]


def _wanted(analyzer: Analyzer, exp: Expectation, dst: Endpoint) -> PortSet:
    if not exp.ports:
        if exp.protocol is None:
            return ALL_PORTS
        return PortSet.whole(exp.protocol)
    return PortSet.of(_port_range(analyzer, spec, dst) for spec in exp.ports)


def _port_range(analyzer: Analyzer, spec: PortSpec, dst: Endpoint) -> tuple[Protocol, int, int]:
    proto: Protocol = spec.protocol or "TCP"
    if spec.name is not None:
        number = analyzer.resolve_port(spec.name, proto, dst)
        return proto, number, number
    assert spec.first is not None and spec.last is not None
    return proto, spec.first, spec.last
