"""Replay: each flow placed, merged per connection and classified, table-driven with exact answers."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from netpol import load_objects
from netpol.analyses.query import Analyzer
from netpol.analyses.replay import Connection, replay
from netpol.sources.flow_records import Flow, FlowEndpoint, Observed
from tests.builders import namespace, pod, workload


def policy(name: str, ns: str, selector: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns},
            "spec": {"podSelector": {"matchLabels": selector}, **spec}}


OBJECTS = [
    namespace("a", team="t"), namespace("b"),
    pod("web", "a", {"app": "web"}, [80], ip="10.0.0.10"),
    pod("client", "a", {"app": "client"}, ip="10.0.0.11"),
    pod("other", "b", {"app": "other"}, ip="10.0.1.1"),
    workload("api", "b", labels={"app": "api"}),
    policy("web-in", "a", {"app": "web"}, ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                                    "ports": [{"port": 80}]}]),
    policy("client-out", "a", {"app": "client"}, policyTypes=["Egress"], egress=[
        {"to": [{"podSelector": {"matchLabels": {"app": "web"}}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]),
    policy("api-in", "b", {"app": "api"}, ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "t"}}}]}]),
]


def ep(text: str, labels: dict[str, str] | None = None, ip: str | None = None) -> FlowEndpoint:
    address = ipaddress.ip_address(ip) if ip else None
    if "/" not in text:
        return FlowEndpoint(ip=ipaddress.ip_address(text))
    parts = text.split("/")
    lab = tuple(sorted(labels.items())) if labels is not None else None
    if len(parts) == 3:
        return FlowEndpoint(parts[0], workload=f"{parts[1]}/{parts[2]}", labels=lab, ip=address)
    return FlowEndpoint(parts[0], parts[1], labels=lab, ip=address)


def flow(src: FlowEndpoint, dst: FlowEndpoint, port: int, observed: Observed, line: int, proto: str = "TCP",
         time: str | None = None) -> Flow:
    return Flow(src, dst, proto, port, observed, f"f:{line}", time)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.with_possible(load_objects(OBJECTS).cluster)


def row(c: Connection) -> tuple[object, ...]:
    return (c.source.name, c.destination.name, c.port, c.records, c.observed, c.predicted, c.classification)


CASES = [
    # allowed and observed allowed: unchanged; the same connection by IP merges into it
    ([flow(ep("a/client"), ep("a/web"), 80, "allowed", 1), flow(ep("10.0.0.11"), ep("10.0.0.10"), 80, None, 2)],
     [("a/client", "a/web", 80, ("f:1", "f:2"), "allowed", "allowed", "unchanged")]),
    # observed passing, denied by the policies: a break, whatever the observation point
    ([flow(ep("b/other"), ep("a/web"), 80, "allowed", 1)],
     [("b/other", "a/web", 80, ("f:1",), "allowed", "denied", "break")]),
    # no verdict observed (a non-policy drop) and denied: a break too
    ([flow(ep("b/other"), ep("b/deployment/api"), 8080, None, 1)],
     [("b/other", "b/deployment/api", 8080, ("f:1",), None, "denied", "break")]),
    # one record denied is enough for observed denied; allowed by the ipBlock: a mismatch
    ([flow(ep("a/client"), ep("192.0.2.1"), 443, "allowed", 1),
      flow(ep("a/client"), ep("192.0.2.1"), 443, "denied", 2)],
     [("a/client", "192.0.2.1", 443, ("f:1", "f:2"), "denied", "allowed", "mismatch")]),
    # denied and observed denied: unchanged
    ([flow(ep("a/client"), ep("10.9.9.9"), 443, "denied", 1)],
     [("a/client", "10.9.9.9", 443, ("f:1",), "denied", "denied", "unchanged")]),
    # a workload without a known IP behind an ipBlock rule, no IP in the record: unknown
    ([flow(ep("a/client"), ep("b/deployment/api"), 8080, "allowed", 1)],
     [("a/client", "b/deployment/api", 8080, ("f:1",), "allowed", "unknown", "unknown")]),
    # ... the record's IP is in no ipBlock (inside the except): the no-IP assumption is exact
    ([flow(ep("a/client"), ep("b/deployment/api", ip="10.0.2.7"), 8080, "allowed", 1)],
     [("a/client", "b/deployment/api", 8080, ("f:1",), "allowed", "denied", "break")]),
    # a pod the input does not hold: by its labels, as a possible pod
    ([flow(ep("a/client-7c9-x", {"app": "client"}), ep("a/web"), 80, "allowed", 1)],
     [("a/client-7c9-x", "a/web", 80, ("f:1",), "allowed", "allowed", "unchanged")]),
    ([flow(ep("b/gone", {"app": "x"}), ep("a/web"), 80, "allowed", 1)],
     [("b/gone", "a/web", 80, ("f:1",), "allowed", "denied", "break")]),
    # ... without labels: unmatched, said so
    ([flow(ep("a/ghost"), ep("a/web"), 80, "allowed", 1)],
     [("a/ghost", "a/web", 80, ("f:1",), "allowed", None, "unmatched")]),
    # two outside addresses: nothing netpol governs
    ([flow(ep("192.0.2.1"), ep("192.0.2.2"), 80, "allowed", 1)],
     [("192.0.2.1", "192.0.2.2", 80, ("f:1",), "allowed", None, "unmatched")]),
]


@pytest.mark.parametrize(("flows", "want"), CASES)
def test_classifications(analyzer: Analyzer, flows: list[Flow], want: list[tuple[object, ...]]) -> None:
    assert [row(c) for c in replay(analyzer, flows).connections] == want


def test_break_names_the_deciding_rule_and_times(analyzer: Analyzer) -> None:
    flows = [flow(ep("b/other"), ep("a/web"), 80, "allowed", 1, time="2026-12-01T10:00:00.5Z"),
             flow(ep("b/other"), ep("a/web"), 80, "allowed", 2, time="2026-12-01T10:00:00.25Z"),
             flow(ep("b/other"), ep("a/web"), 80, "allowed", 3, time="2026-12-01T10:00:00.123456789Z")]
    (c,) = replay(analyzer, flows).connections
    assert c.decided_by == ("ingress: isolated by a/web-in; no rule allows TCP/80",)
    assert (c.first_seen, c.last_seen, c.record_count) == ("2026-12-01T10:00:00.123456789Z",
                                                           "2026-12-01T10:00:00.5Z", 3)


def test_allowed_names_the_allowing_rules(analyzer: Analyzer) -> None:
    (c,) = replay(analyzer, [flow(ep("a/client"), ep("a/web"), 80, "allowed", 1)]).connections
    assert c.decided_by == ("egress: a/client-out egress[0]", "ingress: a/web-in ingress[0]")


def test_possible_pod_is_described_and_assumed(analyzer: Analyzer) -> None:
    r = replay(analyzer, [flow(ep("b/gone", {"app": "x"}), ep("a/web"), 80, "allowed", 1)])
    assert r.connections[0].source.detail == "not in the input: as pods with app notin (api) in namespace b"
    assert r.assumptions[0].startswith("an endpoint the input does not hold is placed by its namespace and the labels")


def test_one_engine_question_per_class_key(analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = analyzer.can_reach

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(analyzer, "can_reach", counting)
    flows = [flow(ep(f"b/gone-{i}", {"app": "x"}), ep("a/web"), 80, "allowed", i) for i in range(50)]
    r = replay(analyzer, flows * 3)
    assert len(r.connections) == 50 and r.summary()["records"] == 150
    assert len(calls) == 1  # fifty pods of one class, one port: one question


def test_calico_goldmane_replay(analyzer: Analyzer) -> None:
    """Both reporters of one connection merge; an aggregated name finds its Deployment; `pub` is unmatched."""
    from pathlib import Path

    from netpol.sources.flows import FlowStats, read_flows

    path = Path(__file__).resolve().parent.parent / "data" / "flows" / "goldmane.json"
    with open(path, "rb") as fh:
        r = replay(analyzer, read_flows("g", fh, "calico", FlowStats()))
    assert [row(c) for c in r.connections] == [
        ("b/gone-5f6d7-*", "a/web", 80, ("g:6",), "allowed", "denied", "break"),
        ("pub", "a/web", 80, ("g:4",), "denied", None, "unmatched"),
        ("a/client", "a/web", 80, ("g:1", "g:2"), "allowed", "allowed", "unchanged"),
        ("b/deployment/api", "a/web", 80, ("g:3",), "denied", "denied", "unchanged"),
    ]
    assert r.connections[1].note == ("pub: outside the pods with no address (Calico pub/pvt, a host endpoint or a "
                                     "network set): which ipBlock it falls in is unknown")


def test_calico_prefix_of_input_pods_in_one_class() -> None:
    objects = [pod("web-5d9c7-a", "a", {"app": "web"}, ip="10.0.0.1"), pod("web-5d9c7-b", "a", {"app": "web"}),
               pod("db", "a", {"app": "db"}),
               policy("db-in", "a", {"app": "db"},
                      ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}])]
    analyzer = Analyzer.with_possible(load_objects(objects).cluster)
    src = FlowEndpoint("a", labels=(("app", "web"),), prefix="web-5d9c7-")
    (c,) = replay(analyzer, [flow(src, ep("a/db"), 5432, "allowed", 1)]).connections
    assert row(c) == ("a/web-5d9c7-*", "a/db", 5432, ("f:1",), "allowed", "allowed", "unchanged")
    assert c.source.detail == "2 pod(s) of the input named web-5d9c7-*"


def test_base_equal_to_head_changes_nothing() -> None:
    from netpol.analyses.replay import versions

    cluster = load_objects(OBJECTS).cluster
    head, base = versions(cluster, cluster)
    flows = [f for fs, _ in CASES for f in fs]
    r = replay(head, flows, base)
    assert [c.change for c in r.connections] == [None] * len(r.connections)
    assert [c.base_predicted for c in r.connections] == [c.predicted for c in r.connections]


def test_base_without_the_policy_says_newly_denied() -> None:
    from netpol.analyses.replay import versions

    head_cluster = load_objects(OBJECTS).cluster
    base_cluster = load_objects([o for o in OBJECTS if o["metadata"]["name"] != "web-in"]).cluster
    head, base = versions(head_cluster, base_cluster)
    r = replay(head, [flow(ep("b/other"), ep("a/web"), 80, "allowed", 1),
                      flow(ep("a/client"), ep("a/web"), 80, "allowed", 2)], base)
    assert [(c.source.name, c.base_predicted, c.predicted, c.change) for c in r.connections] == [
        ("b/other", "allowed", "denied", "newly denied"), ("a/client", "allowed", "allowed", None)]


@pytest.mark.parametrize(("ip", "predicted"), [
    ("10.0.2.55", "unknown"),  # in the Admin Deny's 0.0.0.0/0: the allow netpol computes without the IP may be wrong
    (None, "unknown"),
])
def test_tiered_networks_and_a_pod_without_known_ip(ip: str | None, predicted: str) -> None:
    from netpol import load_manifests
    from tests.builders import FIXTURES

    analyzer = Analyzer.with_possible(load_manifests([str(FIXTURES / "tiered-egress-cidr-v1alpha1")]).cluster)
    gone = ep("slytherin/gone", {"app": "x"}, ip=ip)
    (c,) = replay(analyzer, [flow(ep("gryffindor/harry"), gone, 80, "allowed", 1)]).connections
    assert (c.predicted, c.classification) == (predicted, predicted)
    # the input's pod with its IP is exact: the Admin allow for 10.0.2.10/32
    (c,) = replay(analyzer, [flow(ep("gryffindor/harry"), ep("slytherin/draco"), 80, "allowed", 1)]).connections
    assert (c.predicted, c.classification) == ("allowed", "unchanged")


def test_records_and_connections_counted_as_they_stream(analyzer: Analyzer) -> None:
    from netpol.analyses.replay import Replayer

    replayer = Replayer(analyzer)
    replayer.add([flow(ep("a/client"), ep("a/web"), 80, "allowed", n) for n in range(1, 4)]
                 + [flow(ep("b/other"), ep("a/web"), 80, None, 4), flow(ep("10.0.0.11"), ep("a/web"), 80, None, 5)])
    assert (replayer.records, replayer.connections) == (5, 2)


def test_connections_merge_by_value_whatever_objects_carry_them(analyzer: Analyzer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Endpoints are remembered by identity first; equal endpoints in other objects, or after that memory
    starts over, still join their connection."""
    monkeypatch.setattr("netpol.analyses.replay.MAX_BY_ID", 1)
    client, web = ep("a/client"), ep("a/web")
    r = replay(analyzer, [flow(client, web, 80, None, 1), flow(ep("a/client"), ep("a/web"), 80, None, 2),
                          flow(client, web, 80, "denied", 3, time="2026-12-01T10:00:01.5Z"),
                          flow(ep("10.0.0.11"), web, 80, None, 4, time="2026-12-01T10:00:01.25Z"),
                          flow(client, web, 80, None, 5)])
    assert [(*row(c), c.first_seen, c.last_seen) for c in r.connections] == [
        ("a/client", "a/web", 80, ("f:1", "f:2", "f:3", "f:4", "f:5"), "denied", "allowed", "mismatch",
         "2026-12-01T10:00:01.25Z", "2026-12-01T10:00:01.5Z")]
