"""Exact selector containment (netpol.analyses.lint.cover): truth tables, and every pair of small selectors against
brute force over label sets (keys a and b; values x, y, and one value no selector names, which stands for
every other value)."""

from __future__ import annotations

from itertools import combinations, product

import pytest

from netpol.analyses.lint.cover import implies, namespace_names
from netpol.model.selectors import LabelSelector, parse_selector_text, requirement

S = parse_selector_text


@pytest.mark.parametrize(("inner", "outer", "expected"), [
    ("app=web", "", True),
    ("", "app=web", False),
    ("app=web,tier=1", "app=web", True),
    ("app=web", "app=web,tier=1", False),
    ("app=web", "app in (web,api)", True),  # written differently from the outer's conditions
    ("app in (web,api)", "app=web", False),
    ("app in (web,api),app notin (api)", "app=web", True),
    ("app=web", "app", True),
    ("app", "app=web", False),
    ("app=web", "app notin (api)", True),
    ("app notin (api,db)", "app notin (api)", True),
    ("app notin (api)", "app notin (api,db)", False),
    ("!app", "app notin (web)", True),
    ("!app", "app", False),
    ("app notin (web)", "!app", False),
    ("app=web,!app", "tier=1", True),  # matches nothing: implies anything
    ("app=web", "!tier", False),
    ("!tier,app=web", "!tier", True),
])
def test_implies_truth_table(inner: str, outer: str, expected: bool) -> None:
    assert implies(S(inner), S(outer)) is expected


def _selectors() -> list[LabelSelector]:
    conditions = [requirement(k, op, vals) for k in ("a", "b") for op, vals in (
        ("In", ["x"]), ("In", ["x", "y"]), ("NotIn", ["x"]), ("NotIn", ["x", "y"]), ("Exists", []),
        ("DoesNotExist", []))]
    return [LabelSelector.build(expressions=c) for n in range(3) for c in combinations(conditions, n)]


def test_implies_is_exact_against_every_label_set() -> None:
    values = (None, "x", "y", "z")  # z: a value no selector names
    label_sets = [{k: v for k, v in zip(("a", "b"), vs, strict=True) if v is not None}
                  for vs in product(values, repeat=2)]
    selectors = _selectors()
    for inner, outer in product(selectors, repeat=2):
        truth = all(outer.matches(labels) for labels in label_sets if inner.matches(labels))
        assert implies(inner, outer) is truth, (str(inner), str(outer))


@pytest.mark.parametrize(("selector", "names"), [
    ("kubernetes.io/metadata.name=kube-system", {"kube-system"}),
    ("kubernetes.io/metadata.name in (a,b),kubernetes.io/metadata.name notin (b)", {"a"}),
    ("team=x", None),
    ("kubernetes.io/metadata.name notin (a)", None),
    ("!kubernetes.io/metadata.name", set()),
])
def test_namespace_names(selector: str, names: set[str] | None) -> None:
    got = namespace_names(S(selector))
    assert (None if got is None else set(got)) == names


# -- one NetworkPolicy rule covering another (NP114): peers and ports, for every pod that could exist --------

from typing import Any  # noqa: E402

from netpol import load_objects  # noqa: E402
from netpol.analyses.lint.cover import rule_covers  # noqa: E402
from tests.builders import namespace, policy  # noqa: E402

WEB = {"podSelector": {"matchLabels": {"app": "web"}}}
TEAM_A = {"namespaceSelector": {"matchLabels": {"team": "a"}}}
NAMED_DEFAULT = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "default"}}}


def ip(cidr: str, *excepts: str) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr, **({"except": list(excepts)} if excepts else {})}}


def covers(outer: dict[str, Any], inner: dict[str, Any], *, team: str | None = None) -> bool:
    """`outer` and `inner` are ingress rules of one policy in namespace default (declared with team=`team`,
    or not declared when `team` is None)."""
    objects = [policy("p", ingress=[outer, inner])] + ([namespace("default", team=team)] if team else [])
    cluster = load_objects(objects).cluster
    (p,) = cluster.policies
    labels = cluster.namespaces_by_name["default"].label_map if team else None
    return rule_covers(p.ingress[0], p.ingress[1], "default", labels)


@pytest.mark.parametrize(("outer", "inner", "team", "expected"), [
    # pod peers: the pod selector implies, and the namespaces are among the outer's
    ({"from": [{"podSelector": {}}]}, {"from": [WEB]}, None, True),
    ({"from": [WEB]}, {"from": [{"podSelector": {}}]}, None, False),
    ({"from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}}]},
     {"from": [{"podSelector": {"matchLabels": {"app": "web", "tier": "x"}}}]}, None, True),
    ({"from": [TEAM_A]}, {"from": [{**TEAM_A, **WEB}]}, None, True),
    ({"from": [{**TEAM_A, **WEB}]}, {"from": [TEAM_A]}, None, False),
    ({"from": [{"namespaceSelector": {}}]}, {"from": [WEB]}, None, True),
    ({"from": [WEB]}, {"from": [{**NAMED_DEFAULT, **WEB}]}, None, True),  # only namespace default by name
    ({"from": [WEB]}, {"from": [{**TEAM_A, **WEB}]}, "a", False),  # another namespace may have team=a
    ({"from": [TEAM_A]}, {"from": [{"podSelector": {}}]}, None, False),  # default's labels unknown
    ({"from": [TEAM_A]}, {"from": [{"podSelector": {}}]}, "a", True),  # declared with team=a
    ({"from": [TEAM_A]}, {"from": [{"podSelector": {}}]}, "b", False),
    ({"from": [NAMED_DEFAULT]}, {"from": [WEB]}, None, True),
    ({"from": [WEB, TEAM_A]}, {"from": [WEB, {**TEAM_A, **WEB}]}, None, True),  # each inner peer by some outer one
    ({"from": [WEB]}, {"from": [WEB, TEAM_A]}, None, False),
    # ipBlocks: address sets, excepts and unions of blocks
    ({"from": [ip("10.0.0.0/8")]}, {"from": [ip("10.1.0.0/16")]}, None, True),
    ({"from": [ip("10.0.0.0/8")]}, {"from": [ip("11.0.0.0/16")]}, None, False),
    ({"from": [ip("10.0.0.0/8", "10.1.0.0/16")]}, {"from": [ip("10.1.2.0/24")]}, None, False),
    ({"from": [ip("10.0.0.0/8", "10.1.0.0/16")]}, {"from": [ip("10.2.0.0/16")]}, None, True),
    ({"from": [ip("10.0.0.0/9"), ip("10.128.0.0/9")]}, {"from": [ip("10.0.0.0/8")]}, None, True),
    ({"from": [ip("10.1.0.0/23"), ip("10.1.3.0/24")]}, {"from": [ip("10.1.0.0/22", "10.1.2.0/24")]}, None, True),
    ({"from": [ip("10.1.0.0/23")]}, {"from": [ip("10.1.0.0/22", "10.1.2.0/24")]}, None, False),
    ({"from": [ip("10.0.0.0/8")]}, {"from": [ip("fd00::/8")]}, None, False),
    ({"from": [ip("0.0.0.0/0")]}, {"from": [WEB]}, None, False),  # pod IPs are not known to be in any block
    ({"from": [{"namespaceSelector": {}}]}, {"from": [ip("10.0.0.0/8")]}, None, False),
    # no peers: every pod and every address
    ({}, {"from": [ip("10.0.0.0/8"), TEAM_A]}, None, True),
    ({"from": [{"namespaceSelector": {}}, ip("0.0.0.0/0"), ip("::/0")]}, {}, None, True),
    ({"from": [{"namespaceSelector": {}}, ip("0.0.0.0/0")]}, {}, None, False),
    # ports: numbers and ranges by containment, named ports only by themselves or the whole protocol
    ({"ports": [{"port": 80, "endPort": 90}]}, {"ports": [{"port": 80}]}, None, True),
    ({"ports": [{"port": 80, "endPort": 90}]}, {"ports": [{"port": 80, "endPort": 91}]}, None, False),
    ({"ports": [{"port": 80}, {"port": 81}]}, {"ports": [{"port": 80, "endPort": 81}]}, None, True),
    ({"ports": [{"port": 80}]}, {"ports": [{"port": 80, "protocol": "UDP"}]}, None, False),
    ({"ports": [{"port": "http"}]}, {"ports": [{"port": "http"}]}, None, True),
    ({"ports": [{"port": "http"}]}, {"ports": [{"port": "http", "protocol": "UDP"}]}, None, False),
    ({"ports": [{"port": "http"}]}, {"ports": [{"port": 80}]}, None, False),
    ({"ports": [{"port": 80}]}, {"ports": [{"port": "http"}]}, None, False),
    ({"ports": [{"protocol": "TCP"}]}, {"ports": [{"port": "http"}]}, None, True),
    ({"ports": [{"port": 1, "endPort": 65535}]}, {"ports": [{"port": "http"}]}, None, True),
    ({"ports": [{"protocol": p} for p in ("TCP", "UDP", "SCTP")]}, {}, None, False),  # no ports: ICMP too
    ({"ports": [{"protocol": "TCP"}]}, {}, None, False),
    ({}, {"ports": [{"port": "http", "protocol": "SCTP"}]}, None, True),
    # both: peers and ports must each be covered
    ({"from": [{"podSelector": {}}], "ports": [{"port": 80}]}, {"from": [WEB], "ports": [{"port": 443}]}, None,
     False),
])
def test_rule_covers_truth_table(outer: dict[str, Any], inner: dict[str, Any], team: str | None,
                                 expected: bool) -> None:
    assert covers(outer, inner, team=team) is expected
