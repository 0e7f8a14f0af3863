from __future__ import annotations

import pytest

from netpol.model.selectors import EVERYTHING, LabelSelector, requirement


@pytest.mark.parametrize(("op", "values", "labels", "expected"), [
    ("In", ["a", "b"], {"k": "a"}, True),
    ("In", ["a", "b"], {"k": "c"}, False),
    ("In", ["a"], {}, False),
    ("In", [""], {}, False),  # an absent key never equals a value, not even ""
    ("In", [""], {"k": ""}, True),
    ("NotIn", ["a"], {"k": "b"}, True),
    ("NotIn", ["a"], {"k": "a"}, False),
    ("NotIn", ["a"], {}, True),
    ("Exists", [], {"k": ""}, True),
    ("Exists", [], {"j": "x"}, False),
    ("DoesNotExist", [], {}, True),
    ("DoesNotExist", [], {"k": "x"}, False),
])
def test_operators(op: str, values: list[str], labels: dict[str, str], expected: bool) -> None:
    assert requirement("k", op, values).matches(labels) is expected  # type: ignore[arg-type]


def test_empty_selector_selects_everything() -> None:
    assert EVERYTHING.selects_all and EVERYTHING.matches({}) and EVERYTHING.matches({"a": "b"})


def test_match_labels_and_expressions_are_anded_and_canonical() -> None:
    a = LabelSelector.build({"app": "x"}, (requirement("tier", "In", ["b", "a"]),))
    b = LabelSelector.build(None, (requirement("tier", "In", ["a", "b"]), requirement("app", "In", ["x"])))
    assert a == b and hash(a) == hash(b)
    assert a.matches({"app": "x", "tier": "a"})
    assert not a.matches({"app": "x"})
    assert str(a) == "app=x,tier in (a,b)"
