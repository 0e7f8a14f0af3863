"""Laws of Cilium's decision (brief §3) that the reference evaluator must keep on random CNP, CCNP and NetworkPolicy
sets: no order matters (allows are a union, any deny wins); a deny never allows; a policy that does not isolate
(enableDefaultDeny false) never denies what was allowed; enable-policy=never allows everything."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.model import Cluster
from netpol.model.cilium import CiliumOptions
from netpol.model.portsets import icmp_value
from netpol.reference.cilium import cilium_allowed
from netpol.sources import load_objects
from tests.property.strategies import EXTERNAL, cluster
from tests.property.strategies_cilium import cilium_policies, cilium_policy

QUERIES = [("TCP", 80), ("UDP", 53), ("TCP", 8080), ("ICMP", icmp_value(8, 0))]


def table(c: Cluster, options: CiliumOptions = CiliumOptions()) -> dict[tuple[str, str, str, int], bool]:
    ends = [*c.pods, *(ipaddress.ip_address(ip) for ip in EXTERNAL)]
    return {(str(s), str(d), proto, port): cilium_allowed(c, s, d, proto, port, options)  # type: ignore[arg-type]
            for s in ends for d in ends for proto, port in QUERIES if s != d}


def _load(data: st.DataObject, *extra: dict[str, Any]) -> tuple[Cluster, Cluster]:
    objects = data.draw(cluster()) + data.draw(cilium_policies())
    return load_objects(objects).cluster, load_objects([*objects, *extra]).cluster


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.data())
def test_order_does_not_matter(data: st.DataObject) -> None:
    c, _ = _load(data)
    reversed_rules = tuple(replace(p, rules=tuple(replace(r, ingress=r.ingress[::-1], egress=r.egress[::-1])
                                                  for r in p.rules[::-1])) for p in c.cilium[::-1])
    assert table(c) == table(replace(c, cilium=reversed_rules, policies=c.policies[::-1]))


@SETTINGS
@given(data=st.data(), extra=cilium_policy(9))
def test_a_deny_never_allows(data: st.DataObject, extra: dict[str, Any]) -> None:
    spec = {k: v for k, v in extra["spec"].items() if k in ("endpointSelector", "ingressDeny", "egressDeny")}
    if not any(spec.get(k) for k in ("ingressDeny", "egressDeny")):
        spec["ingressDeny"] = [{"fromEntities": ["world"]}]
    before, after = _load(data, {**extra, "spec": {**spec, "enableDefaultDeny": {"ingress": False, "egress": False}}})
    was = table(before)
    assert all(was[key] or not now for key, now in table(after).items())


@SETTINGS
@given(data=st.data(), extra=cilium_policy(9))
def test_an_allow_that_does_not_isolate_never_denies(data: st.DataObject, extra: dict[str, Any]) -> None:
    spec = {k: v for k, v in extra["spec"].items() if k in ("endpointSelector", "ingress", "egress")}
    if not any(spec.get(k) for k in ("ingress", "egress")):
        spec["ingress"] = [{}]
    before, after = _load(data, {**extra, "spec": {**spec, "enableDefaultDeny": {"ingress": False, "egress": False}}})
    now = table(after)
    assert all(now[key] or not was for key, was in table(before).items())


@SETTINGS
@given(data=st.data())
def test_enable_policy_never_allows_everything(data: st.DataObject) -> None:
    c, _ = _load(data)
    assert all(table(c, CiliumOptions(enable_policy="never")).values())
