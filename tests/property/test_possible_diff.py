"""The policy-only diff: equivalent rewrites of random policy sets are no change, and every change it
reports (and every pair it does not) is what the reference evaluator says on the regions' pods."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects, reference_allowed
from netpol.diff import diff, possible_diff
from netpol.regions import regions
from tests.property.strategies import PROBES, cluster, tiered_cluster

POLICY_KINDS = ("Namespace", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                "ClusterNetworkPolicy", "Node")
BOTH = pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])


def _policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in POLICY_KINDS]


def _as_expressions(sel: dict[str, Any]) -> dict[str, Any]:
    """matchLabels written as matchExpressions In: the same selector."""
    out = {"matchExpressions": [*sel.get("matchExpressions", []),
                                *({"key": k, "operator": "In", "values": [v]} for k, v in sel.get("matchLabels", {}).items())]}
    return out if out["matchExpressions"] else {}


def _rewrite_selectors(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_as_expressions(v) if k in ("podSelector", "namespaceSelector") and isinstance(v, dict)
                    else _rewrite_selectors(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_selectors(v) for v in node]
    return node


def _effective_types(spec: dict[str, Any]) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


@st.composite
def rewritten(draw: st.DrawFn, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same policies, written another way: selectors as expressions, NetworkPolicy rules and peers
    reordered, and policies with several rules split into one policy per rule."""
    out = []
    for obj in copy.deepcopy(objects):
        if draw(st.booleans()):
            obj = _rewrite_selectors(obj)
        if obj["kind"] != "NetworkPolicy":
            out.append(obj)
            continue
        spec = obj["spec"]
        spec["policyTypes"] = _effective_types(spec)  # explicit, so that splitting keeps the isolation
        for key, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(key) or []:
                if rule.get(peers_key):
                    rule[peers_key] = draw(st.permutations(rule[peers_key]))
            if spec.get(key):
                spec[key] = draw(st.permutations(spec[key]))
        rules = [(k, r) for k in ("ingress", "egress") for r in spec.get(k) or []]
        if len(rules) > 1 and draw(st.booleans()):
            for i, (key, rule) in enumerate(rules):
                part = {**{k: v for k, v in spec.items() if k not in ("ingress", "egress")}, key: [rule]}
                out.append({**obj, "metadata": {**obj["metadata"], "name": f"{obj['metadata']['name']}-{i}"},
                            "spec": part})
        else:
            out.append(obj)
    return out


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_equivalent_rewrites_are_no_change(clusters: Any, data: st.DataObject) -> None:
    base = _policies(data.draw(clusters))
    head = data.draw(rewritten(base))
    changes, _ = possible_diff(load_objects(base).cluster, load_objects(head).cluster)
    assert not changes.changed, [(c.sources, c.destination, str(c.before), str(c.after)) for c in changes.changes]


@BOTH
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_region_changes_are_exactly_the_reference_differences(clusters: Any, data: st.DataObject) -> None:
    base_c = load_objects(_policies(data.draw(clusters))).cluster
    head_c = load_objects(_policies(data.draw(clusters))).cluster
    rb, rh = regions(base_c, others=[head_c]), regions(head_c, others=[base_c])
    assert [r.key for r in rb.regions] == [r.key for r in rh.regions]  # the same possible pods on both sides
    raw = diff(Analyzer(rb.cluster), Analyzer(rh.cluster))
    changed = {(s, c.destination) for c in raw.changes for s in c.sources}
    placeholders = {(c.protocol, c.port) for c in rb.named_ports}
    pairs = [(s, d) for s in rb.regions for d in rb.regions]
    if len(pairs) > 64:  # the reference is slow on tiers: a random sample, every change among them
        pairs = data.draw(st.lists(st.sampled_from(pairs), min_size=64, max_size=64, unique=True))
    for src, dst in pairs:
        hb, hh = rh.by_key[src.key].pod, rh.by_key[dst.key].pod
        differs = any(reference_allowed(rb.cluster, src.pod, dst.pod, proto, port)  # type: ignore[arg-type]
                      != reference_allowed(rh.cluster, hb, hh, proto, port)  # type: ignore[arg-type]
                      for proto, port in [*PROBES, *placeholders])
        if differs:
            assert (src.key, dst.key) in changed, (src.key, dst.key)
        if (src.key, dst.key) not in changed:
            assert not differs
    summary, _ = possible_diff(base_c, head_c)
    assert summary.changed == raw.changed
