"""Possible pods under Cilium are exact (netpol/analyses/regions.py with policies.cilium.label_selectors): random
concrete pods (any labels, in named and other namespaces, under any service account: one the selectors name, `default`
or one no selector names) fall in exactly one region each, and the Cilium reference evaluator (netpol/reference/
cilium.py) on them gives, for every probe, the answer the engine gives for their regions' witness pods. The random
CNPs and CCNPs name service accounts (io.cilium.k8s.policy.serviceaccount, tests/property/strategies_cilium.py), and
so may a NetworkPolicy's pod selector, which Cilium reads as an identity label too.

A seeded wrong rule, possible pods that all run as `default` (as before the service account was cut), makes the
comparison fail on a CNP that admits one service account only."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses import regions as regions_module
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.query import Analyzer
from netpol.analyses.regions import regions
from netpol.model.portsets import PROTOCOLS
from netpol.policies.profiles import apply
from netpol.reference.cilium import cilium_allowed
from tests.property.strategies import EXTERNAL, LABEL_VALUES, NAMESPACES, PROBES, cluster
from tests.property.strategies_cilium import ACCOUNTS, cilium_policies
from tests.property.test_cilium_policies_agreement import ICMP, OPTIONS, SERVICES

POLICY_KINDS = ("Namespace", "NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "Service")
FREE_PORT = 40000  # no random rule names it, no placeholder takes it
ACCOUNT = "io.cilium.k8s.policy.serviceaccount"
Objects = list[dict[str, Any]]


@st.composite
def policies(draw: st.DrawFn) -> Objects:
    """NetworkPolicies, CNPs and CCNPs, and sometimes a NetworkPolicy whose pod selector names a service account."""
    out = [o for o in draw(cluster()) if o["kind"] in POLICY_KINDS]
    if draw(st.booleans()):
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "by-account", "namespace": draw(st.sampled_from(NAMESPACES))},
                    "spec": {"podSelector": {"matchExpressions": [{"key": ACCOUNT, "operator": draw(
                        st.sampled_from(["In", "NotIn"])), "values": [draw(st.sampled_from(ACCOUNTS))]}]},
                        "ingress": [{"from": [{"podSelector": {}}]}]}})
    return [*out, *SERVICES, *draw(cilium_policies())]


def _labels() -> st.SearchStrategy[dict[str, str]]:
    values = sorted({v for vs in LABEL_VALUES.values() for v in vs} | {"zz"})
    return st.dictionaries(st.sampled_from([*sorted(LABEL_VALUES), ACCOUNT]), st.sampled_from(values), max_size=3)


@st.composite
def concrete(draw: st.DrawFn, names: list[str]) -> Objects:
    """Namespaces unnamed by the policies, and pods in any namespace under any service account, declaring some of
    `names` at numbers no rule names (a pod's own io.cilium.k8s.policy.serviceaccount label among its labels: Cilium
    drops it)."""
    objects: Objects = []
    spaces = [*NAMESPACES, "other1", "other2"]
    for ns in ("other1", "other2"):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": draw(
            st.dictionaries(st.sampled_from(["team", "tier"]), st.sampled_from(["x", "f", "zz"]), max_size=2))}})
    for i in range(draw(st.integers(1, 5))):
        ports = [{"containerPort": FREE_PORT + j, "protocol": draw(st.sampled_from(PROTOCOLS)), "name": name}
                 for j, name in enumerate(names) if draw(st.booleans())]
        spec: dict[str, Any] = {"containers": [{"name": "c", "ports": ports}]}
        account = draw(st.sampled_from([None, *ACCOUNTS, "zz"]))
        if account is not None:
            spec["serviceAccountName"] = account
        objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"c{i}", "namespace": draw(st.sampled_from(spaces)), "labels": draw(_labels())}, "spec": spec})
    return objects


def disagreements(policy_objects: Objects, options: list[str],
                  pods: Callable[[list[str]], Objects]) -> list[tuple[str, str, str, int]]:
    """Every (source, destination, protocol, port) where the reference on concrete pods (`pods` of the rules' port
    names) and the engine on their regions differ."""
    rs = regions(apply(load_objects(policy_objects), "cilium", cni_options=options).cluster)
    regional = Analyzer(rs.cluster)
    names = sorted({c.name for c in rs.named_ports if c.name is not None})
    placeholder = {(c.name, c.protocol): c.port for c in rs.named_ports}
    c = apply(load_objects(policy_objects + pods(names)), "cilium", cni_options=options).cluster
    ns_labels = {n.name: n.label_map for n in c.namespaces}
    home = {p.key: regional.engine.class_of[rs.region_of(p.namespace, ns_labels.get(p.namespace, {}), p.label_map,
                                                         p.service_account).key] for p in c.pods}
    outside = [ipaddress.ip_address(ip) for ip in EXTERNAL]
    out = []
    for src in [*c.pods, *outside]:
        for dst in [*c.pods, *outside]:
            if src is dst or not (hasattr(src, "key") or hasattr(dst, "key")):
                continue
            got = regional.engine.allowed_ports(home[src.key] if hasattr(src, "key") else src,
                                                home[dst.key] if hasattr(dst, "key") else dst)
            probes = [(proto, port, port) for proto, port in [*PROBES, *ICMP]]
            probes += [(p.protocol, p.port, placeholder.get((p.name, p.protocol), p.port))
                       for p in getattr(dst, "ports", ())]
            for proto, concrete_port, region_port in probes:
                want = cilium_allowed(c, src, dst, proto, concrete_port)  # type: ignore[arg-type]
                if got.contains(proto, region_port) != want:
                    out.append((str(getattr(src, "key", src)), str(getattr(dst, "key", dst)), proto, concrete_port))
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_concrete_pod_is_answered_by_its_region(data: st.DataObject) -> None:
    policy_objects = data.draw(policies())
    options = data.draw(st.lists(st.sampled_from(OPTIONS), max_size=2))
    try:
        regions(apply(load_objects(policy_objects), "cilium", cni_options=options).cluster)
    except RegionLimitError:  # netpol refuses, in one line, past the limit: no answer to compare
        reject()
    assert disagreements(policy_objects, options, lambda names: data.draw(concrete(names))) == []


def _pod(name: str, account: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}], **({"serviceAccountName": account} if account else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "a", "labels": {"app": name}},
            "spec": spec}


ROBOT_ONLY: Objects = [{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                        "metadata": {"name": "robot-only", "namespace": "a"},
                        "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
                                 "ingress": [{"fromEndpoints": [{"matchLabels": {f"k8s:{ACCOUNT}": "robot"}}]}]}}]


def test_a_seeded_wrong_rule_makes_the_comparison_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Possible pods that all run as `default` (no service-account key): a client under `robot`, which the CNP admits,
    falls in a region whose witness runs as `default`, which it does not."""
    pods = [_pod("web", None), _pod("client", "robot"), _pod("other", None)]
    assert disagreements(ROBOT_ONLY, [], lambda names: pods) == []
    monkeypatch.setattr(regions_module, "service_account_key", lambda cluster: None)
    found = disagreements(ROBOT_ONLY, [], lambda names: pods)
    assert ("a/client", "a/web", "TCP", 80) in found
