"""Random and mutated manifests: loading either succeeds or fails with a clean InputError."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, InputError, load_manifests, load_objects
from netpol.sources.manifests import raw_objects
from tests.builders import FIXTURES

SEEDS: list[dict[str, Any]] = [
    doc for path in sorted(FIXTURES.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "TCP", "udp", "http", "80", "10.0.0.0/8", "10.0.0.1/33", "In", "Exists", "Bogus",
                     "a/b", "-x", "Ingress", "Egress", "kube-system", "x" * 70, "10.0.0.0/255.0.0.0", "fe80::%eth0/64",
                     "10.0.0.0/08", "010.0.0.0/8", "::ffff:10.0.0.0/104", "10.0.0.1/24", "::ffff:10.0.0.1"]),
    st.text(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6) | st.sampled_from(
        ["matchLabels", "podSelector", "ports", "port", "from", "to", "cidr", "except", "endPort"]), inner, max_size=3)),
    max_leaves=8)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, prefix + (i,)))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs = copy.deepcopy(draw(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=4)))
    mutate(draw, docs, values)
    return docs


def mutate(draw: st.DrawFn, docs: list[dict[str, Any]], new: st.SearchStrategy[Any]) -> None:
    """1 to 3 times: a field of one of `docs` deleted, or replaced with a value of `new` (a copy)."""
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(st.sampled_from(docs))
        path = draw(st.sampled_from(_paths(doc)[1:] or [()]))
        if not path:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(new))  # sampled lists and maps are shared


def _load_cleanly(objects: list[Any]) -> None:
    try:
        result = load_objects(objects)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    analyzer = Analyzer(result.cluster)  # whatever loads must also analyse
    analyzer.explain()
    for src in result.cluster.pods[:3]:
        for dst in result.cluster.pods[:3]:
            analyzer.can_reach(src.key, dst.key, 80)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_manifests(objects: list[dict[str, Any]]) -> None:
    _load_cleanly(objects)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=3))
def test_random_objects(objects: list[Any]) -> None:
    try:
        _load_cleanly(objects)
    except InputError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    for name in ("x.yaml", "x.json", "-"):
        try:
            list(raw_objects(name, text))
        except InputError as exc:
            assert "\n" not in str(exc)


def test_mutated_files_report_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [1, 2]\n")
    try:
        load_manifests([str(bad)])
    except InputError as exc:
        assert str(exc).startswith(f"{bad}: document 1")
        assert "metadata.labels: must be an object, not a list" in str(exc)
    else:
        raise AssertionError("expected an InputError")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutated())
def test_cli_on_mutated_files_never_shows_a_traceback(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    from typer.testing import CliRunner

    from netpol.cli import app

    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    result = CliRunner().invoke(app, ["matrix", "-f", str(path), "-o", "csv"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2)
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("netpol: error:")]
        assert len(errors) == 1 and str(path) in errors[0]
