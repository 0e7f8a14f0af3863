"""Lint under the network plugins' profiles, checked against the engine and the Calico reference on random inputs.

- The walk lint reads per rule (netpol/analyses/lint/walked.py) allows exactly what the engine answers, for every
  class, direction and peer cell, under Calico's tiers and Cilium's stages.
- What lint calls never reached (NP117) or redundant (NP205, NP206) under --cni calico changes no verdict when it is
  removed, and a Pass lint says reaches the profile (NP118) changes no verdict when it is made an Allow: every pair
  of pods and outside addresses on every probe, by the Calico reference evaluator (netpol/reference/calico.py)."""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses.lint import lint
from netpol.analyses.lint.walked import cells, walk
from netpol.engine import Engine
from netpol.model import DIRECTIONS
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from tests.property.strategies import EXTERNAL, PROBES, cluster
from tests.property.strategies_cilium import cilium_policies
from tests.property.test_calico_agreement import calico_cluster

CLAIMS = ("NP117", "NP118", "NP205", "NP206")


def _walks_agree(objects: list[dict[str, Any]], cni: str) -> None:
    engine = Engine(apply(load_objects(objects), cni).cluster)
    for d in DIRECTIONS:
        for cls in range(len(engine.classes)):
            for cell in cells(engine, d, cls):
                assert walk(engine, d, cls, cell).allowed == engine.evaluate(d, cls, cell.peer, cell.destination).ports


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=calico_cluster())
def test_the_walk_lint_reads_allows_what_the_engine_allows_under_calico(objects: list[dict[str, Any]]) -> None:
    _walks_agree(objects, "calico")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pods=cluster(), policies=cilium_policies())
def test_the_walk_lint_reads_allows_what_the_engine_allows_under_cilium(pods: list[dict[str, Any]],
                                                                        policies: list[dict[str, Any]]) -> None:
    _walks_agree(pods + policies, "cilium")


def verdicts(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str, int], bool]:
    """Every pair of pods and outside addresses on every probe, by the Calico reference."""
    result = apply(load_objects(objects), "calico")
    c = result.cluster
    ends: list[Any] = [*c.pods, *(ipaddress.ip_address(a) for a in EXTERNAL)]
    out = {}
    for src in ends:
        for dst in ends:
            if (not hasattr(src, "key") and not hasattr(dst, "key")) or (src is dst and src.is_one_pod):
                continue
            for protocol, port in PROBES:
                out[(str(src), str(dst), protocol, port)] = calico_allowed(c, result.calico, src, dst, protocol, port,
                                                                          "3.32")
    return out


def changed(objects: list[dict[str, Any]], finding: Any) -> list[dict[str, Any]]:
    """The objects with what the finding claims changes nothing changed: its rule or policy removed (a policy keeps
    the types it had, which would otherwise be defaulted again from the remaining rules), its Pass made an Allow."""
    out = copy.deepcopy(objects)
    kind, name = finding.object.split(" ", 1)
    short = name.rpartition("/")[2]
    index = next(i for i, o in enumerate(out) if o["kind"] == kind and o["metadata"]["name"] == short and o[
        "metadata"].get("namespace", "default" if o["apiVersion"] == "networking.k8s.io/v1" else None)
        == finding.namespace)
    rule = re.fullmatch(r"spec\.(ingress|egress)\[(\d+)\]", finding.path or "")
    if rule is None:
        del out[index]
        return out
    spec = out[index]["spec"]
    direction, i = rule.group(1), int(rule.group(2))
    if finding.rule.id == "NP118":
        spec[direction][i]["action"] = "Allow"
        return out
    loaded = apply(load_objects([o for o in objects if o["kind"] in ("Tier",)] + [objects[index]]), "calico").cluster
    if out[index]["apiVersion"] == "networking.k8s.io/v1":
        spec["policyTypes"] = list(loaded.policies[0].policy_types)
    else:
        spec["types"] = list(next(p for p in loaded.calico.policies).types)  # type: ignore[union-attr]
    del spec[direction][i]
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=calico_cluster())
def test_what_lint_claims_under_calico_changes_no_verdict(objects: list[dict[str, Any]]) -> None:
    claims = [f for f in lint(apply(load_objects(objects), "calico").cluster).findings if f.rule.id in CLAIMS]
    before = verdicts(objects) if claims else {}
    assert [f.message for f in claims if verdicts(changed(objects, f)) != before] == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_some_claims_are_made(data: st.DataObject) -> None:
    """The comparison above is not empty: a Calico input with a rule after an unconditional Deny gets NP117."""
    objects = data.draw(calico_cluster())
    objects.append({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "zz"},
                    "spec": {"order": 0, "selector": "all()", "ingress": [{"action": "Deny"}, {"action": "Allow"}]}})
    ids = {(f.rule.id, f.object, f.path) for f in lint(apply(load_objects(objects), "calico").cluster).findings}
    assert ("NP117", "GlobalNetworkPolicy zz", "spec.ingress[1]") in ids
