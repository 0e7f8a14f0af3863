"""The intermediate form: what each family compiles into, and the walk over stages read generically."""

from __future__ import annotations

from netpol import load_manifests, load_objects
from netpol.model import IPBlock, ip_network
from netpol.model.portsets import ALL_PORTS, PortSet
from netpol.model.selectors import LabelSelector
from netpol.policies.networkpolicy import compile_stages
from netpol.policies.stages import (
    Addresses,
    Everything,
    NamedPort,
    NodePods,
    NodeRule,
    Nodes,
    Pods,
    PortRange,
    Stage,
    StagePolicy,
    StageRule,
)
from netpol.policies.walk import Hit, Segment, Step, walk_stages
from tests.builders import labels, namespace, pod, policy

TIERED = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a}
spec:
  priority: 5
  subject: {namespaces: {}}
  egress:
  - {name: web, action: Pass, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}],
     ports: [{namedPort: http}]}
  - {action: Deny, to: [{networks: [10.0.0.0/8]}, {unknownPeer: {}}]}
  - {action: Allow, to: [{unknownPeer: {}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {pods: {namespaceSelector: {}, podSelector: {}}}
  ingress:
  - {action: Deny, from: [{namespaces: {}}], ports: [{portRange: {protocol: UDP, start: 53, end: 54}}]}
"""


def _selector(**kv: str) -> LabelSelector:
    return LabelSelector.build(kv)


def test_network_policy_is_one_stage_of_allows_that_denies_the_rest() -> None:
    cluster = load_objects([
        namespace("default"),
        pod("h", labels={"app": "h"})
        | {"spec": {"hostNetwork": True, "nodeName": "n1", "containers": [{"name": "c"}]}},
        policy("p", selector=labels(app="x"), ingress=[
            {"from": [{"podSelector": labels(app="y")}, {"ipBlock": {"cidr": "10.0.0.0/8"}}],
             "ports": [{"port": "http"}, {"port": 80, "endPort": 90, "protocol": "UDP"}]},
            {}],
            egress=[{"to": [{"namespaceSelector": {}}]}], policyTypes=["Ingress"]),
    ]).cluster
    stages = compile_stages(cluster)
    (stage,) = stages["ingress"]
    x = Pods("default", None, _selector(app="x"))
    assert (stage.name, stage.first_match, stage.end) == ("NetworkPolicy", False, "Deny")
    assert stage.policies == (StagePolicy("default/p", x),)
    assert [(str(r.ref), r.subject, r.peers, r.ports, r.action) for r in stage.rules] == [
        ("default/p ingress[0]", x,
         (Pods("default", None, _selector(app="y")), Addresses(IPBlock(ip_network("10.0.0.0/8")))),
         (NamedPort("http", "TCP"), PortRange("UDP", 80, 90)), "Allow"),
        ("default/p ingress[1]", x, (Everything(),), None, "Allow"),
        ("the node rule (n1)", NodePods("n1"), (Nodes(frozenset({"n1"}), frozenset()),), None, "Allow"),
    ]
    (egress,) = stages["egress"]
    assert egress.policies == () and [r.ref for r in egress.rules] == [NodeRule("n1", "egress")]
    assert [str(r.ref) for r in egress.inert] == ["default/p egress[0]"]  # policyTypes leaves egress out


def test_tiered_policies_are_first_match_stages_around_network_policy() -> None:
    cluster = load_manifests(["-"], TIERED).cluster
    stages = compile_stages(cluster)
    assert [(s.name, s.first_match, s.end) for s in stages["egress"]] == [
        ("Admin", True, "Pass"), ("NetworkPolicy", False, "Deny"), ("Baseline", True, "Pass")]
    admin = stages["egress"][0]
    assert admin.policies == (StagePolicy("ANP a", Pods(None, LabelSelector(), None)),)
    assert [(r.action, r.peers, r.ports) for r in admin.rules] == [
        ("Pass", (Pods(None, LabelSelector(), _selector(app="web")),), (NamedPort("http", None),)),
        ("Deny", (Addresses(IPBlock(ip_network("10.0.0.0/8"))), Everything()), None),  # fails closed
        ("Allow", (), None),  # an Allow with a peer netpol does not know matches nothing
    ]
    baseline = stages["ingress"][2]
    assert [(r.action, r.ports) for r in baseline.rules] == [("Deny", (PortRange("UDP", 53, 54),))]
    assert stages["egress"][2].rules == () and stages["ingress"][0].rules == ()


def _stage(name: str, first_match: bool, end: str, *rules: tuple[str, PortSet]) -> tuple[Stage, list[Hit]]:
    made = [StageRule(f"{name}[{i}]", Pods(None, None, None), (Everything(),), None, action)  # type: ignore[arg-type]
            for i, (action, _) in enumerate(rules)]
    stage = Stage(name, first_match, end, tuple(made))  # type: ignore[arg-type]
    return stage, [Hit(r, ports, first_match) for r, (_, ports) in zip(made, rules, strict=True)]


def test_walk_log_reads_on_pass_skips_the_stage_end_denies_what_is_left() -> None:
    """A Calico-like input the families of today do not produce: Log, a first-match stage ending in Deny."""
    tcp = PortSet.of
    tier1, hits1 = _stage("t1", True, "Deny", ("Log", tcp([("TCP", 1, 65535)])), ("Pass", tcp([("TCP", 80, 80)])),
                          ("Allow", tcp([("TCP", 81, 81)])))
    tier2, hits2 = _stage("t2", True, "Pass", ("Deny", tcp([("TCP", 80, 80)])))
    walk = walk_stages([Step(tier1, True, hits1), Step(tier2, False, hits2)])
    rest = ALL_PORTS.difference(tcp([("TCP", 80, 81)]))  # every protocol, ICMP included
    assert walk.segments == (
        Segment(tcp([("TCP", 81, 81)]), "t1[2]", True),
        Segment(rest, "t1", False),  # the end of a stage that selects the pod
        Segment(tcp([("TCP", 80, 80)]), "t2[0]", False, "t1[1]"),  # handed on by the Pass, denied in t2
    )
    # the same stage not selecting the pod: what no rule decided passes through to the default
    walk = walk_stages([Step(tier1, False, hits1), Step(tier2, False, hits2)])
    assert walk.segments[1] == Segment(rest, "default", True)
    assert walk.allowed == rest.union(tcp([("TCP", 81, 81)]))
