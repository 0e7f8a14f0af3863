"""Lint's claims checked against the reference evaluator on random clusters.

A finding that says "removing this changes no verdict" (a redundant rule or policy, a shadowed tiered
rule, a policy that selects no pod) is tested by removing it and comparing every verdict: each pod pair
on each probe port, and to and from outside addresses.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import load_objects, reference_allowed
from netpol.analyses.lint import lint
from tests.property.strategies import EXTERNAL, PROBES, cluster, tiered_cluster

REMOVABLE = ("NP110", "NP114", "NP201", "NP205", "NP206")


def verdicts(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str, int], bool]:
    c = load_objects(objects).cluster
    out = {}
    addresses = [ipaddress.ip_address(a) for a in EXTERNAL]
    for protocol, port in PROBES:
        for s in c.pods:
            for d in c.pods:
                if s is not d or not s.is_one_pod:
                    out[(s.key, d.key, protocol, port)] = reference_allowed(c, s, d, protocol, port)  # type: ignore[arg-type]
            for a in addresses:
                out[(s.key, str(a), protocol, port)] = reference_allowed(c, s, a, protocol, port)  # type: ignore[arg-type]
                out[(str(a), s.key, protocol, port)] = reference_allowed(c, a, s, protocol, port)  # type: ignore[arg-type]
    return out


def without(objects: list[dict[str, Any]], finding: Any) -> list[dict[str, Any]]:
    """The objects with the finding's rule (its path) or whole object removed; a NetworkPolicy keeps the
    policy types it had, which the API server would otherwise re-default from the remaining rules."""
    out = copy.deepcopy(objects)
    kind, name = finding.object.split(" ", 1)
    index = next(i for i, o in enumerate(out) if o["kind"] == kind and _name(o) == name)
    rule = re.fullmatch(r"spec\.(ingress|egress)\[(\d+)\]", finding.path or "")
    if rule is None:
        del out[index]
        return out
    obj = out[index]
    if kind == "NetworkPolicy":
        types = load_objects([obj]).cluster.policies[0].policy_types
        obj["spec"]["policyTypes"] = list(types)
    del obj["spec"][rule.group(1)][int(rule.group(2))]
    return out


def _name(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', 'default')}/{meta['name']}" if obj["kind"] == "NetworkPolicy" else meta["name"]


@pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_lint_calls_removable_changes_no_verdict(clusters: Any, data: st.DataObject) -> None:
    objects = data.draw(clusters)
    report = lint(load_objects(objects).cluster)
    claims = [f for f in report.findings if f.rule.id in REMOVABLE]
    if not claims:
        return
    before = verdicts(objects)
    for f in claims:
        assert verdicts(without(objects, f)) == before, f.message
