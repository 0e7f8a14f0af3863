"""Calico's selector parser against an independent evaluator of random expressions, and the Calico reference
evaluator against the Kubernetes one where Calico's semantics are the Kubernetes ones (NetworkPolicy, and the
network-policy-api kinds in Calico's tiers) under the calico profile."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from netpol import load_objects, reference_allowed
from netpol.model.calico_selectors import parse
from netpol.model import Pod
from netpol.policies.calico import node_addresses
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from tests.property.strategies import EXTERNAL, PROBES, cluster, tiered_cluster

KEYS = ["app", "in", "contains", "not", "a.b/c-d_e"]
VALUES = ["", "x", "y z", "it's", 'say "hi"', "xy"]
Tree = tuple[Any, ...]


def _leaf() -> st.SearchStrategy[Tree]:
    key = st.sampled_from(KEYS)
    return st.one_of(
        st.just(("all",)), st.just(("global",)), st.tuples(st.just("has"), key),
        st.tuples(st.just("cmp"), key, st.sampled_from(["==", "!=", "contains", "starts with", "ends with"]),
                  st.sampled_from(VALUES)),
        st.tuples(st.just("in"), key, st.lists(st.sampled_from(VALUES), max_size=3), st.booleans()))


def _trees() -> st.SearchStrategy[Tree]:
    return st.recursive(_leaf(), lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3))), max_leaves=8)


def truth(tree: Tree, labels: dict[str, str]) -> bool:
    """Calico's meaning, written out on its own (libcalico-go parser/ast.go Evaluate)."""
    kind = tree[0]
    if kind in ("all", "global"):
        return True
    if kind == "has":
        return tree[1] in labels
    if kind == "cmp":
        _, key, op, value = tree
        if key not in labels:
            return op == "!="
        found = labels[key]
        return {"==": found == value, "!=": found != value, "contains": value in found,
                "starts with": found.startswith(value), "ends with": found.endswith(value)}[op]
    if kind == "in":
        _, key, values, negated = tree
        return (labels.get(key) in values) != negated if key in labels else negated
    if kind == "not":
        return not truth(tree[1], labels)
    results = [truth(t, labels) for t in tree[1]]
    return all(results) if kind == "and" else any(results)


@st.composite
def rendered(draw: st.DrawFn, tree: Tree) -> str:
    """One of the many ways to write the tree: blanks, quotes, spellings, redundant parentheses."""
    blank = draw(st.sampled_from(["", " ", "  ", "\t"]))
    some = draw(st.sampled_from([" ", "  ", "\t"]))  # where a blank is needed

    def quoted(value: str) -> str:
        quotes = [q for q in ("'", '"') if q not in value]
        q = draw(st.sampled_from(quotes))
        return q + value + q

    kind = tree[0]
    if kind in ("all", "global"):
        text = f"{kind}({blank})"
    elif kind == "has":
        text = f"has({blank}{tree[1]}{blank})"
    elif kind == "cmp":
        _, key, op, value = tree
        spelled = {"starts with": draw(st.sampled_from(["starts with", "startswith", "starts  with"])),
                   "ends with": draw(st.sampled_from(["ends with", "endswith"]))}.get(op, op)
        text = f"{key}{some if spelled[0].isalpha() else blank}{spelled}{blank}{quoted(value)}"
    elif kind == "in":
        _, key, values, negated = tree
        op = draw(st.sampled_from(["not in", "notin", "not  in"])) if negated else "in"
        items = f",{blank}".join(quoted(v) for v in values) + (draw(st.sampled_from(["", ","])) if values else "")
        text = f"{key}{some}{op}{blank}{{{blank}{items}{blank}}}"
    elif kind == "not":
        inner = draw(rendered(tree[1]))
        text = f"!{blank}({inner})" if tree[1][0] in ("and", "or") or draw(st.booleans()) else f"!{blank}{inner}"
    else:
        joiner = f"{blank}{'&&' if kind == 'and' else '||'}{blank}"
        parts = [draw(rendered(t)) for t in tree[1]]
        text = joiner.join(f"({p})" if t[0] in ("and", "or") else p for p, t in zip(parts, tree[1], strict=True))
    return f"({blank}{text}{blank})" if draw(st.integers(0, 4)) == 0 else text


@settings(max_examples=200, deadline=None)
@given(data=st.data(), tree=_trees(),
       labels=st.lists(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4), min_size=1,
                       max_size=4))
def test_random_selectors_mean_what_calico_says(data: st.DataObject, tree: Tree, labels: list[dict[str, str]]) -> None:
    text = data.draw(rendered(tree))
    node = parse(text)
    canonical = parse(str(node))  # Felix's canonical form means the same (`!!x` reads back as x)
    for label_map in labels:
        assert node.evaluate(label_map) == truth(tree, label_map), (text, label_map)
        assert canonical.evaluate(label_map) == truth(tree, label_map)


def _supported_by_calico(objects: list[dict[str, Any]], version: str) -> bool:
    """Peers Calico does not support (nodes, unknown fields) and, in 3.30/3.31, named ports of the tiered kinds
    (which match every port there) are where Calico and the API differ by design (brief §6, §8.10)."""
    for o in objects:
        if not o["kind"].endswith("NetworkPolicy") or o["apiVersion"].startswith("networking"):
            continue
        for direction in ("ingress", "egress"):
            for rule in o["spec"].get(direction, []):
                peers = rule.get("from", rule.get("to", []))
                if any("nodes" in p or "futurePeer" in p for p in peers):
                    return False
                ports = rule.get("ports", [])
                if version != "3.32" and any("namedPort" in p for p in ports):
                    return False
    return True


@pytest.mark.parametrize(("clusters", "version"), [(cluster(), "3.32"), (tiered_cluster(), "3.32"),
                                                   (tiered_cluster(), "3.31")],
                         ids=["v1", "tiered-3.32", "tiered-3.31"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_calico_reference_agrees_on_the_kubernetes_kinds(clusters: Any, version: str, data: st.DataObject) -> None:
    objects = data.draw(clusters)
    assume(_supported_by_calico(objects, version))
    result = apply(load_objects(objects), f"calico:{version}")
    c = result.cluster
    ends = [*c.pods, *(ipaddress.ip_address(ip) for ip in EXTERNAL)]
    nodes = node_addresses(c)
    for protocol, port in PROBES:
        for src in ends:
            for dst in ends:
                if not hasattr(src, "key") and not hasattr(dst, "key"):
                    continue
                if isinstance(dst, Pod) and (src == dst.host_ip) != (src in nodes.get(dst.node or "", ())):
                    continue  # Calico's node has every address of a node, named by nodeName (docs/semantics.md
                    # §16.6); the API rule's the pod's own hostIP
                want = reference_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
                got = calico_allowed(c, result.calico, src, dst, protocol, port, version)  # type: ignore[arg-type]
                assert got == want, (str(src), str(dst), protocol, port)
