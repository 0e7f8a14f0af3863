"""Every surface tells the same truth under --cni calico: the Calico twin of test_surfaces.py. Random clusters of
Calico policies, tiers, network sets, service accounts and pods (test_calico_agreement's generator, whose engine
answers are held to the Calico reference there) are written to a file; list and exposure (JSON), and diff between
two random versions (JSON and text), parsed back, are the engine's matrix on the input's pods and the outside probe
addresses; the graph's edges hold for every pod they stand for, possible ones too. Possible pods are held to the
reference by test_calico_regions_exact.py."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects
from netpol.analyses.label_space import RegionLimitError
from netpol.model import Cluster
from netpol.policies.profiles import apply
from tests.property.test_calico_agreement import calico_cluster
from tests.property.test_surfaces import (
    EXAMPLES,
    OUTSIDE_PROBES,
    by_address,
    change_of,
    diff_claims_agree,
    exposure_agrees,
    graph_agrees,
    graph_world,
    outside_truth,
    real,
    run,
    truth,
    written,
)

CALICO = ("--cni", "calico")
POLICY_KINDS = ("NetworkPolicy", "GlobalNetworkPolicy", "Tier", "NetworkSet", "GlobalNetworkSet")
SOME = settings(max_examples=max(1, EXAMPLES // 2), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _cluster(objects: list[dict[str, Any]]) -> Cluster:
    return apply(load_objects(objects), "calico").cluster


def _analyzer(objects: list[dict[str, Any]]) -> Analyzer:
    return Analyzer(_cluster(objects))


@SOME
@given(objects=calico_cluster())
def test_list_json_is_the_matrix(objects: list[dict[str, Any]]) -> None:
    a = _analyzer(objects)
    with written(objects) as path:
        rows = json.loads(run("list", "-f", str(path), "-o", "json", *CALICO, code=(0, 2)) or "{}").get("connections")
    if rows is None:
        return  # possible pods refused (too many): test_calico_commands holds the refusal's words
    kept = [r for r in rows if r["source_kind"] != "region" and r["destination_kind"] != "region"]
    claims = {(r["source"], r["destination"]): r["ports"] for r in kept}
    assert len(claims) == len(kept)
    assert real(claims, a) == truth(a)
    assert by_address(claims, a) == outside_truth(a)


@SOME
@given(objects=calico_cluster())
def test_exposure_json_is_the_matrix(objects: list[dict[str, Any]]) -> None:
    a = _analyzer(objects)
    with written(objects) as path:
        out = run("exposure", "-f", str(path), "-o", "json", *CALICO, code=(0, 2))
    if out:
        exposure_agrees(json.loads(out)["exposure"], a)


@settings(max_examples=max(1, EXAMPLES // 3), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_diff_json_and_text_are_the_change_of_the_matrix(data: st.DataObject) -> None:
    """BASE a random cluster, HEAD its pods under another one's Calico policies: --input-only's JSON is where
    the matrices differ, and its text names the same ends. (The diff of every possible pod runs the same engine on
    regions that test_calico_regions_exact holds to the reference; test_calico_commands has its exact outputs.)"""
    base = data.draw(calico_cluster())
    other = data.draw(calico_cluster())
    head = [o for o in base if o["kind"] not in POLICY_KINDS] + [o for o in other if o["kind"] in POLICY_KINDS]
    a, b = _analyzer(base), _analyzer(head)
    want = change_of(truth(a), truth(b))
    want_outside = change_of(outside_truth(a), outside_truth(b))
    with written(base) as old, written(head) as new:
        code = (1,) if want or want_outside else (0, 1)
        verdict = json.loads(run("diff", str(old), str(new), "--input-only", "-o", "json", *CALICO, code=code))
        text = run("diff", str(old), str(new), "--input-only", *CALICO, code=1 if verdict["changed"] else 0)
    diff_claims_agree(verdict, text, a, want, want_outside, OUTSIDE_PROBES)


@settings(max_examples=max(1, EXAMPLES // 8), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_graph_edges_are_true_for_every_pod_they_stand_for(data: st.DataObject) -> None:
    """test_surfaces' graph checks (edges true for every pod, possible ones too; every true pair of the input's
    pods drawn; -n, --focus; the isolation marks are exposure's) under --cni calico."""
    objects = data.draw(calico_cluster())
    a = _analyzer(objects)
    namespaces = sorted({p.namespace for p in a.cluster.pods})
    chosen = data.draw(st.sets(st.sampled_from(namespaces), max_size=len(namespaces) - 1)) if namespaces else set()
    try:
        graph_world(a)
    except RegionLimitError:
        return  # too many possible pods: the graph says so and draws the input alone (test_graph_possible)
    graph_agrees(objects, chosen, data.draw(st.sampled_from([p.key for p in a.cluster.pods])), _cluster, CALICO)
