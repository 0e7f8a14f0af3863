"""Possible pods under Calico are exact (netpol/analyses/calico_regions.py): random concrete pods (own labels,
shadowing pcns.*/pcsa.* labels among them, any service account with any labels, in named and other namespaces)
fall in exactly one region each, and the Calico reference evaluator on them gives, for every probe, the answer the
engine gives for their regions' witness pods."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses.calico_regions import calico_region_of
from netpol.analyses.calico_values import LABEL_VALUE, Syntax, value_atoms
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.query import Analyzer
from netpol.analyses.regions import regions
from netpol.model.calico_selectors import parse
from netpol.model.portsets import PROTOCOLS, icmp_value
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
    regional = Analyzer(rs.cluster)
    names = sorted({c.name for c in rs.named_ports if c.name is not None})
    placeholder = {(c.name, c.protocol): c.port for c in rs.named_ports}
    result = apply(load_objects(policies + data.draw(concrete(names))), "calico")
    c = result.cluster
    home = {p.key: regional.engine.class_of[calico_region_of(rs, c, p).key] for p in c.pods}
    outside = [ipaddress.ip_address(ip) for ip in EXTERNAL]
    for src in [*c.pods, *outside]:
        for dst in [*c.pods, *outside]:
            if src is dst or not (hasattr(src, "key") or hasattr(dst, "key")):
                continue
            s = home[src.key] if hasattr(src, "key") else src
            d = home[dst.key] if hasattr(dst, "key") else dst
            got = regional.engine.allowed_ports(s, d)
            probes = [(proto, port, port) for proto, port in CALICO_PROBES]
            probes += [(p.protocol, p.port, placeholder.get((p.name, p.protocol), p.port))
                       for p in getattr(dst, "ports", ())]
            for proto, concrete_port, region_port in probes:
                want = calico_allowed(c, result.calico, src, dst, proto, concrete_port)
                value = icmp_value(region_port, 0) if proto == "ICMP" else region_port
                assert got.contains(proto, value) == want, (str(src), str(dst), proto, concrete_port)


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
