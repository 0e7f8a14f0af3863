"""Check intent expectations against a compiled cluster.

An expectation holds when every (source, destination) pair it names is
allowed (or denied) on every port it names. Pairs of a pod with itself are
skipped: policies do not govern them. Endpoints that match nothing are an
error, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from netpol.engine import bit_ids
from netpol.errors import InputError, QueryError
from netpol.intent import Expect, Expectation, IntentFile, PortSpec, Selection
from netpol.portsets import ALL_PORTS, MAX_PORT, MIN_PORT, PortSet, Protocol
from netpol.query import Analyzer
from netpol.selectors import EVERYTHING, Scope
from netpol.verdicts import Endpoint, Verdict

EXPLAINED_FAILURES = 3  # failures that carry a full verdict; the rest are listed


@dataclass(frozen=True)
class PairFailure:
    source: Endpoint
    destination: Endpoint
    expect: Expect  # for this pair: an `only` expectation denies the sources it does not list
    wanted: PortSet  # the ports the expectation is about
    wrong: PortSet  # of those, the ones allowed against a deny or denied against an allow
    verdict: Verdict | None  # can_reach on the first wrong port, for the first few failures


@dataclass(frozen=True)
class Outcome:
    expectation: Expectation
    pairs: int
    failures: tuple[PairFailure, ...]
    error: str | None = None  # the expectation could not be checked (it names nothing, an unknown pod, ...)

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


@dataclass(frozen=True)
class FileError:
    """An intent file that could not be checked at all (invalid, or its manifests do not load)."""

    path: str
    message: str


def check_intent(analyzer: Analyzer, intent: IntentFile) -> tuple[Outcome, ...]:
    """Every expectation; one that cannot be checked is an error outcome and the others still run.

    Selections of possible pods (`NS{labels}`, `possible: true`; every namespace selection when the input
    has no pods) are checked on every possible such pod: regions split along the intent's selections."""
    selections = [sel for exp in intent.expectations for sel in (*exp.sources, *exp.destinations)]
    automatic = all(p.hypothetical for p in analyzer.cluster.pods)  # no pod of the input
    if any(sel.possible for sel in selections) or (automatic and any(sel.namespace for sel in selections)):
        scopes = [Scope(sel.namespace, sel.selector or EVERYTHING) for sel in selections
                  if sel.possible or (automatic and sel.namespace is not None)]
        analyzer = Analyzer.with_possible(analyzer.cluster, scopes, intent.possible_namespaces())
        if automatic:
            intent = replace(intent, expectations=tuple(_as_possible(exp) for exp in intent.expectations))
    outcomes = []
    for exp in intent.expectations:
        try:
            outcomes.append(check_expectation(analyzer, exp))
        except InputError as exc:
            outcomes.append(Outcome(exp, 0, (), str(exc)))
    return tuple(outcomes)


def check_expectation(analyzer: Analyzer, exp: Expectation) -> Outcome:
    try:
        sources, _ = _endpoints(analyzer, exp.sources)
        destinations, wanted_for = _endpoints(analyzer, exp.destinations)  # Service ports come fixed
        pairs = list(_pairs(exp, sources, destinations))
        count = len(pairs)
        wrong_pairs: list[tuple[Endpoint, Endpoint, Expect, PortSet, PortSet]] = []

        def wanted_at(dst: Endpoint) -> PortSet:
            wanted = wanted_for.get(dst.name)
            if wanted is None:  # once per destination
                wanted = wanted_for[dst.name] = _wanted(analyzer, exp, dst)
            return wanted

        for src, dst, expect in pairs:
            wanted = wanted_at(dst)
            allowed = analyzer.allowed_ports(src, dst)
            wrong = wanted.difference(allowed) if expect == "allow" else wanted.intersection(allowed)
            if wrong:
                wrong_pairs.append((src, dst, expect, wanted, wrong))
        if exp.kind == "only":  # every other pod of the cluster must be denied
            listed = {s.name for s in sources}
            for dst in destinations:
                others, found = _others(analyzer, listed, dst, wanted_at(dst))
                count += others
                wrong_pairs.extend((src, dst, "deny", wanted_at(dst), wrong) for src, wrong in found)
        if not count:
            raise QueryError("names no pair of distinct endpoints to check")
        failures = []
        for i, (src, dst, expect, wanted, wrong) in enumerate(wrong_pairs):
            verdict = None
            if i < EXPLAINED_FAILURES:
                proto, port = wrong.first()
                verdict = analyzer.can_reach(src, dst, port, proto)
            failures.append(PairFailure(src, dst, expect, wanted, wrong, verdict))
    except QueryError as exc:
        raise InputError(exp.location, None, str(exc)) from None
    return Outcome(exp, count, tuple(failures))


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


def _others(analyzer: Analyzer, listed: set[str], dst: Endpoint, wanted: PortSet
            ) -> tuple[int, list[tuple[Endpoint, PortSet]]]:
    """How many pods outside `listed` pair with `dst`, and those allowed a wanted port, with those ports.

    Per engine class, not per pod: a class's pods get the same answer. Only the classes the
    destination's ingress could admit on a wanted port (Engine.admitting) are evaluated."""
    engine = analyzer.engine
    pods = analyzer.cluster.pods
    by_key = analyzer.cluster.pods_by_key
    count = len(pods) - sum(1 for k in listed if k in by_key)  # every other pod, less dst with itself
    if dst.pod is not None and dst.name not in listed and dst.pod.is_one_pod:
        count -= 1
    candidates = engine.all_bits if dst.pod is None else engine.admitting(engine.class_of[dst.pod.key], wanted)
    found: list[tuple[str, Endpoint, PortSet]] = []
    for c in bit_ids(candidates):
        members = [p for p in engine.classes[c].pods if p.key not in listed and _distinct(Endpoint(pod=p), dst)]
        if not members:
            continue
        wrong = wanted.intersection(analyzer.allowed_ports(Endpoint(pod=members[0]), dst))
        if wrong:
            found.extend((p.key, Endpoint(pod=p), wrong) for p in members)
    found.sort(key=lambda f: f[0])  # in the cluster's pod order (by key), as the pairs are listed
    return count, [(src, wrong) for _, src, wrong in found]


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
        scope = Scope(sel.namespace, sel.selector or EVERYTHING)
        return [Endpoint(pod=r.pod) for r in analyzer.possible.matching(scope)]
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
        return PortSet.of([(exp.protocol, MIN_PORT, MAX_PORT)])
    return PortSet.of(_port_range(analyzer, spec, dst) for spec in exp.ports)


def _port_range(analyzer: Analyzer, spec: PortSpec, dst: Endpoint) -> tuple[Protocol, int, int]:
    proto: Protocol = spec.protocol or "TCP"
    if spec.name is not None:
        number = analyzer.resolve_port(spec.name, proto, dst)
        return proto, number, number
    assert spec.first is not None and spec.last is not None
    return proto, spec.first, spec.last
