"""Possible pods under Calico are exact (netpol/analyses/calico_regions.py): random concrete pods (own labels,
shadowing pcns.*/pcsa.* labels among them, any service account with any labels, in named and other namespaces)
fall in exactly one region each, and the Calico reference evaluator on them gives, for every probe, the answer the
engine gives for their regions' witness pods."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses.calico_regions import calico_region_of
from netpol.analyses.calico_values import LABEL_VALUE, Syntax, value_atoms
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.query import Analyzer
from netpol.analyses.regions import MAX_REGIONS, RegionSet, regions
from netpol.model import Cluster, Direction
from netpol.model.calico_selectors import parse
from netpol.model.portsets import PROTOCOLS, Protocol, icmp_value
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from tests.property.strategies import EXTERNAL, NAMESPACES
from tests.property.test_calico_agreement import ACCOUNTS, CALICO_PROBES, KEYS, VALUES, calico_cluster

POLICY_KINDS = ("Namespace", "NetworkPolicy", "GlobalNetworkPolicy", "Tier", "NetworkSet", "GlobalNetworkSet")
FREE_PORT = 40000  # no random rule names it, no placeholder takes it
LONG_ACCOUNT = "s" * 70  # no projectcalico.org/serviceaccount label


def _labels() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from([*KEYS, "pcns.team", "pcsa.role", "zz"]),
                           st.sampled_from([v for v in VALUES] + ["zz", "pq"]), max_size=3)


@st.composite
def concrete(draw: st.DrawFn, names: list[str]) -> list[dict[str, Any]]:
    """Namespaces unnamed by the policies, service accounts with labels, and pods with any of it."""
    objects: list[dict[str, Any]] = []
    spaces = [*NAMESPACES, "other1", "other2"]
    for ns in ("other1", "other2"):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": draw(
            st.dictionaries(st.sampled_from(["team", "tier"]), st.sampled_from(["x", "p", "zz"]), max_size=2))}})
    for ns in spaces:
        for account in (*ACCOUNTS, LONG_ACCOUNT):
            if draw(st.integers(0, 2)) == 0:
                objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                    "name": account, "namespace": ns,
                    "labels": draw(st.dictionaries(st.just("role"), st.sampled_from(["x", "y", "p", ""])))}})
    for i in range(draw(st.integers(1, 5))):
        ports = [{"containerPort": FREE_PORT + j, "protocol": draw(st.sampled_from(PROTOCOLS)), "name": name}
                 for j, name in enumerate(names) if draw(st.booleans())]
        spec: dict[str, Any] = {"containers": [{"name": "c", "ports": ports}]}
        account = draw(st.sampled_from([None, *ACCOUNTS, LONG_ACCOUNT, "zz"]))
        if account is not None:
            spec["serviceAccountName"] = account
        objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"c{i}", "namespace": draw(st.sampled_from(spaces)), "labels": draw(_labels())}, "spec": spec})
    return objects


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_concrete_pod_is_answered_by_its_region(data: st.DataObject) -> None:
    policies = [o for o in data.draw(calico_cluster()) if o["kind"] in POLICY_KINDS]
    try:
        rs = regions(apply(load_objects(policies), "calico").cluster)
    except RegionLimitError:  # netpol refuses, in one line, past the limit: no answer to compare
        reject()
    result = apply(load_objects(policies + data.draw(concrete(_names(rs)))), "calico")
    for src, dst, proto, port, got in _answers(rs, result.cluster, lambda s, d: True):
        assert got == calico_allowed(result.cluster, result.calico, src, dst, proto, port), (str(src), str(dst), proto,
                                                                                           port)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), directions=st.sampled_from([("ingress",), ("egress",), ("ingress", "egress")]))
def test_focused_regions_answer_every_connection_with_an_end_in_the_focus(data: st.DataObject,
                                                                           directions: tuple[Direction, ...]) -> None:
    """Regions cut for a focus namespace (its pods' connections into them, out of them or both) answer as Calico
    does, and as the unfocused regions do where both fit, for every connection with an end in the focus."""
    policies = [o for o in data.draw(calico_cluster()) if o["kind"] in POLICY_KINDS]
    cluster = apply(load_objects(policies), "calico").cluster
    calico = cluster.calico.policies if cluster.calico else ()
    named = sorted({n.name for n in cluster.namespaces} | {p.namespace for p in calico if p.namespace is not None})
    if not named:
        reject()
    focus = data.draw(st.sampled_from(named))
    try:
        focused = regions(cluster, focus=frozenset({focus}), directions=directions, limit=MAX_REGIONS)
    except RegionLimitError:
        reject()
    try:
        unfocused = regions(cluster, limit=MAX_REGIONS)
    except RegionLimitError:
        unfocused = None
    assert unfocused is None or len(focused.regions) <= len(unfocused.regions)
    result = apply(load_objects(policies + data.draw(concrete(_names(focused)))), "calico")
    c = result.cluster

    def asked(src: object, dst: object) -> bool:
        return ("ingress" in directions and getattr(dst, "namespace", None) == focus) or \
            ("egress" in directions and getattr(src, "namespace", None) == focus)

    every = {} if unfocused is None else {(str(s), str(d), proto, port): got for s, d, proto, port, got in
                                          _answers(unfocused, c, asked)}
    for src, dst, proto, port, got in _answers(focused, c, asked):
        assert got == calico_allowed(c, result.calico, src, dst, proto, port), (str(src), str(dst), proto, port)
        assert every.get((str(src), str(dst), proto, port), got) == got


def _names(rs: RegionSet) -> list[str]:
    return sorted({c.name for c in rs.named_ports if c.name is not None})


def _answers(rs: RegionSet, c: Cluster, asked: Callable[[Any, Any], bool]
             ) -> Iterator[tuple[Any, Any, Protocol, int, bool]]:
    """Per pair of concrete pods and outside addresses `asked` takes, and per probe (the random rules' ports and
    the destination's named ports): whether the regions' engine allows it, on the ends' regions' witnesses."""
    regional = Analyzer(rs.cluster)
    placeholder = {(p.name, p.protocol): p.port for p in rs.named_ports}
    home = {p.key: regional.engine.class_of[calico_region_of(rs, c, p).key] for p in c.pods}
    outside = [ipaddress.ip_address(ip) for ip in EXTERNAL]
    for src in [*c.pods, *outside]:
        for dst in [*c.pods, *outside]:
            if src is dst or not (hasattr(src, "key") or hasattr(dst, "key")) or not asked(src, dst):
                continue
            s = home[src.key] if hasattr(src, "key") else src
            d = home[dst.key] if hasattr(dst, "key") else dst
            got = regional.engine.allowed_ports(s, d)
            probes = [(proto, port, port) for proto, port in CALICO_PROBES]
            probes += [(p.protocol, p.port, placeholder.get((p.name, p.protocol), p.port))
                       for p in getattr(dst, "ports", ())]
            for proto, concrete_port, region_port in probes:
                value = icmp_value(region_port, 0) if proto == "ICMP" else region_port
                yield src, dst, proto, concrete_port, got.contains(proto, value)


def _brute(tests: list[Any], syntax: Syntax, alphabet: str, length: int) -> set[tuple[bool, ...]]:
    """Every combination the tests take on values of the syntax up to `length` over `alphabet`, named ones left
    out: what value_atoms must find."""
    from itertools import product

    named = {v for t in tests for v in getattr(t, "values", (getattr(t, "value", None),))
             if getattr(t, "op", "==") in ("==", "!=")}
    out = set()
    for n in range(length + 1):
        for chars in product(alphabet, repeat=n):
            v = "".join(chars)
            if syntax.valid(v) and v not in named:
                out.add(tuple(t.evaluate({"k": v}) for t in tests))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["contains", "starts with", "ends with", "=="]),
                          st.text(alphabet="ab.-", max_size=3)), min_size=1, max_size=4))
def test_value_atoms_are_every_realizable_combination(tests: list[tuple[str, str]]) -> None:
    """Against brute force over short values: every combination brute force finds has a witness, and the
    witnesses (real values, each checked here) show each combination once."""
    from netpol.analyses.calico_regions import _atomic

    node = parse(" || ".join(f"k {op} '{lit}'" for op, lit in tests))
    atomic = sorted(set(_atomic(node)), key=str)
    named, classes = value_atoms("k", atomic, LABEL_VALUE)
    found = [tuple(t.evaluate({"k": w}) for t in atomic) for w in classes]
    assert len(found) == len(set(found))
    assert all(LABEL_VALUE.valid(w) and w not in named for w in classes)
    assert _brute(atomic, LABEL_VALUE, "ab.-c", 6) <= set(found)


def _calico_policy(namespace: str, selector: str, source: str) -> dict[str, Any]:
    return {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "p",
                                                                                        "namespace": namespace},
            "spec": {"selector": selector, "ingress": [{"action": "Allow", "source": {"selector": source}}]}}


def test_a_focus_cuts_the_other_namespaces_only_for_its_connections() -> None:
    """Namespace b's policy and its peers tell b's pods apart only for connections inside b: with a focus on a,
    b is one region for connections into a (b's pods are sources: no egress policy tells them apart, and a's
    rule reads only a's pods), and is cut by b's own policy for connections out of a (b's pods are destinations
    of its ingress walk); a is cut by everything. Unfocused, b is cut by every selector."""
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("a", "b")]
    objects += [_calico_policy("a", "app == 'x'", "tier == 't'"), _calico_policy("b", "app == 'y'", "role == 'r'")]
    cluster = apply(load_objects(objects), "calico").cluster

    def count(rs: RegionSet) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in rs.regions:
            found[r.namespace.name] = found.get(r.namespace.name, 0) + 1
        return {n: found[n] for n in ("a", "b")}

    every = count(regions(cluster))
    assert every["b"] > 2
    assert count(regions(cluster, focus=frozenset({"a"}), directions=("ingress",))) == {"a": every["a"], "b": 1}
    assert count(regions(cluster, focus=frozenset({"a"}), directions=("egress",))) == {"a": every["a"], "b": 2}
