"""Exact selector containment (netpol.lint.cover): truth tables, and every pair of small selectors against
brute force over label sets (keys a and b; values x, y, and one value no selector names, which stands for
every other value)."""

from __future__ import annotations

from itertools import combinations, product

import pytest

from netpol.lint.cover import implies, namespace_names
from netpol.selectors import LabelSelector, parse_selector_text, requirement

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
