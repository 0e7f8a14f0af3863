"""Replay under Calico: an endpoint the input does not hold is placed among possible pods by its Calico labels,
its service account included (Calico's records and Cilium's identity labels name it); where the records do not
say what Calico's selectors read, and the kinds of pod they may be get different verdicts, the prediction is
unknown. Exact answers per flow."""

from __future__ import annotations

import io
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from netpol import load_objects
from netpol.analyses.query import Analyzer
from netpol.analyses.replay import replay
from netpol.policies.profiles import apply
from netpol.errors import InputError
from netpol.sources.flow_records import Flow, FlowEndpoint, ReportedRule
from netpol.sources.flows import FlowStats, read_flows
from tests.builders import namespace, pod

OBJECTS: list[dict[str, Any]] = [
    namespace("shop"),
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop",
                                                                "labels": {"tier": "gold"}}},
    pod("web", "shop", {"app": "web"}, [80], ip="10.0.0.1"),
    {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "web-in", "namespace": "shop"},
     "spec": {"selector": "app == 'web'", "ingress": [
         {"action": "Allow", "protocol": "TCP", "source": {"serviceAccounts": {"selector": "tier == 'gold'"}}},
         {"action": "Allow", "protocol": "TCP", "source": {"serviceAccounts": {"names": ["batch"]}}}]}},
]
WEB = FlowEndpoint("shop", "web")


def client(account: str | None, name: str = "gone") -> FlowEndpoint:
    return FlowEndpoint("shop", None, None, (("app", "fe"),), prefix=f"{name}-", service_account=account)


def predictions(flows: list[Flow]) -> dict[str, tuple[str | None, str, str]]:
    analyzer = Analyzer.with_possible(apply(load_objects(OBJECTS), "calico").cluster)
    return {c.source.name: (c.predicted, c.classification, c.note) for c in replay(analyzer, flows).connections}


def test_possible_pods_are_placed_by_their_service_account() -> None:
    """api's labels (tier=gold) are the input's; batch is not in the input: a service account without labels, as
    for the input's pods; another account matches neither rule. Before, placing any of them raised an
    AssertionError (the plain labels fell in no Calico region)."""
    got = predictions([Flow(client(a, n), WEB, "TCP", 80, "allowed", f"f:{i}")
                       for i, (a, n) in enumerate([("api", "a"), ("batch", "b"), ("other", "c")])])
    assert got == {"shop/a-*": ("allowed", "unchanged", ""), "shop/b-*": ("allowed", "unchanged", ""),
                   "shop/c-*": ("denied", "break", got["shop/c-*"][2])}


def test_an_unsaid_service_account_makes_the_prediction_unknown() -> None:
    got = predictions([Flow(client(None), WEB, "TCP", 80, "allowed", "f:1")])
    assert got == {"shop/gone-*": (
        "unknown", "unknown", "depends on what the records do not say of shop/gone-*: its service account, or its "
        "namespace's or service account's labels, which Calico's selectors read")}


def test_an_unsaid_service_account_that_no_verdict_hangs_on() -> None:
    got = predictions([Flow(client(None), WEB, "UDP", 53, None, "f:1")])  # every rule is TCP: denied for all
    assert got == {"shop/gone-*": ("denied", "break", "")}


def test_calico_records_name_the_service_account() -> None:
    line = json.dumps({"source_name": "gone-1", "source_namespace": "shop", "dest_name": "web", "dest_namespace":
                       "shop", "protocol": "tcp", "dest_port": 80, "action": "Allow", "reporter": "Dst",
                       "source_labels": "app=fe | projectcalico.org/serviceaccount=api | "
                                        "projectcalico.org/namespace=shop",
                       "dest_labels": "app=web"}) + "\n"
    flows = list(read_flows("f", io.BytesIO(line.encode()), "auto", FlowStats()))
    assert flows[0].source == FlowEndpoint("shop", "gone-1", None, (("app", "fe"),), service_account="api")


def _read(text: str) -> list[Flow]:
    return list(read_flows("f", io.BytesIO(text.encode()), "auto", FlowStats()))


def test_calico_enterprise_records_exact() -> None:
    path = Path(__file__).resolve().parent.parent / "data" / "flows" / "calico-enterprise.json"
    flows = _read(path.read_text())
    ip = ipaddress.ip_address
    assert [(f.source, f.destination, f.protocol, f.port, f.observed, f.reporter) for f in flows[2:6]] == [
        (FlowEndpoint(ip=ip("203.0.113.5")), FlowEndpoint("shop", "web", None, (("app", "web"),), ip=ip("10.0.0.1")),
         "TCP", 443, "allowed", "destination side"),
        (FlowEndpoint(ip=ip("198.51.100.7")), FlowEndpoint("shop", "fe", None, (("app", "fe"),), ip=ip("10.0.0.3")),
         "TCP", 80, "allowed", "destination side"),
        (FlowEndpoint("shop", prefix="api-"), FlowEndpoint("shop", "web"), "TCP", 80, "allowed", "destination side"),
        (FlowEndpoint("shop", "fe", None, (("app", "fe"),), ip=ip("10.0.0.3")),
         FlowEndpoint("kube-system", "dns", None, (("k8s-app", "dns"),), ip=ip("10.0.9.9")), "UDP", 53, "allowed",
         "source side")]
    assert [f.reported for f in flows] == [  # the last allow or deny by index, whatever the list's order
        ReportedRule("destination", "app", "shop", "app.web-in", "allow", 0),
        ReportedRule("destination", "app", "shop", "app.web-in", "deny", -1),
        ReportedRule("destination", "security", "", "security.sec", "allow", 2),
        ReportedRule("destination", "__PROFILE__", "", "kns.shop", "allow", 0),
        ReportedRule("destination", "app", "shop", "app.web-in", "allow", 1),
        None]


def test_a_malformed_policy_hit_names_the_line_and_field() -> None:
    line = json.dumps({"source_name": "a", "source_namespace": "shop", "source_type": "wep", "source_labels": [],
                       "dest_name": "b", "dest_namespace": "shop", "dest_type": "wep", "dest_labels": [],
                       "proto": "tcp",
                       "dest_port": 80, "action": "allow", "reporter": "dst",
                       "policies": {"enforced_policies": ["0|app|web|allow"]}}) + "\n"
    with pytest.raises(InputError) as info:
        _read(line)
    assert str(info.value) == "f: line 1: policies.enforced_policies[0]: '0|app|web|allow' is not " \
                              "INDEX|TIER|NAME|ACTION|RULE"


CILIUM: list[dict[str, Any]] = [
    namespace("shop"),
    pod("web", "shop", {"app": "web"}, [80], ip="10.0.0.1"),
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "web-in", "namespace": "shop"},
     "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"fromEndpoints": [
         {"matchLabels": {"k8s:io.cilium.k8s.policy.serviceaccount": "robot"}}]}]}},
]


def test_cilium_possible_pods_are_placed_by_their_service_account() -> None:
    """Under Cilium too the account is part of the identity (ciliumsa's regions): a Hubble record's pod that the
    input does not hold runs as the account its labels name, not as `default`."""
    analyzer = Analyzer.with_possible(apply(load_objects(CILIUM), "cilium").cluster)
    flows = [Flow(client(a, n), WEB, "TCP", 80, "allowed", f"f:{i}")
             for i, (a, n) in enumerate([("robot", "a"), ("other", "b")])]
    got = {c.source.name: (c.predicted, c.classification) for c in replay(analyzer, flows).connections}
    assert got == {"shop/a-*": ("allowed", "unchanged"), "shop/b-*": ("denied", "break")}
