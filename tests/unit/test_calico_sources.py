"""Calico's v3 kinds: parsed results and validation errors (shared/reference/calico-policies.md §5-§7)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from netpol import InputError, load_manifests, load_objects
from netpol.model.calico_selectors import ALL, Compare, Has, InSet, parse
from netpol.sources.calico import (
    CalicoPolicy,
    CalicoPort,
    CalicoRule,
    CalicoTier,
    EntityRule,
    ICMPMatch,
    NetworkSet,
    ServiceAccount,
    ServiceAccountMatch,
)
from tests.builders import policy

V3 = "projectcalico.org/v3"


def gnp(spec: dict[str, Any], name: str = "g", kind: str = "GlobalNetworkPolicy") -> dict[str, Any]:
    return {"apiVersion": V3, "kind": kind, "metadata": {"name": name}, "spec": spec}


def np(spec: dict[str, Any], name: str = "web", ns: str = "shop", kind: str = "NetworkPolicy") -> dict[str, Any]:
    return {"apiVersion": V3, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def tier(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": V3, "kind": "Tier", "metadata": {"name": name}, "spec": spec}


def _one(obj: dict[str, Any], *others: dict[str, Any]) -> CalicoPolicy:
    policies = load_objects([obj, *others]).calico.policies
    assert len(policies) == 1
    return policies[0]


def test_a_network_policy_and_its_rules() -> None:
    p = _one(np({"order": 100, "selector": "app == 'web'", "ingress": [
        {"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'fe'"},
         "destination": {"ports": [80, "6040:6050", "http"], "notPorts": [81]}},
        {"action": "Pass", "protocol": 1, "icmp": {"type": 8}, "ipVersion": 4},
        {"action": "Log", "notProtocol": "UDP", "source": {"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"],
                                                            "notSelector": "has(x)"}},
        {"action": "Deny", "source": {"serviceAccounts": {"names": ["api"], "selector": "tier == 'gold'"},
                                      "namespaceSelector": "global()"}},
    ]}))
    assert (p.kind, p.namespace, p.name, p.tier, p.order) == ("NetworkPolicy", "shop", "web", "default", 100.0)
    assert p.selector == Compare("app", "==", "web") and p.types == ("Ingress",)
    assert p.ingress == (
        CalicoRule("Allow", 6, source=EntityRule(selector=Compare("app", "==", "fe")),
                   destination=EntityRule(ports=(CalicoPort(80, 80), CalicoPort(6040, 6050), CalicoPort(name="http")),
                                          not_ports=(CalicoPort(81, 81),))),
        CalicoRule("Pass", 1, icmp=ICMPMatch(8), ip_version=4),
        CalicoRule("Log", not_protocol=17, source=EntityRule(
            nets=(ipaddress.ip_network("10.0.0.0/8"),), not_nets=(ipaddress.ip_network("10.1.0.0/16"),),
            not_selector=Has("x"))),
        CalicoRule("Deny", source=EntityRule(namespace_selector=parse("global()"), service_accounts=ServiceAccountMatch(
            ("api",), Compare("tier", "==", "gold")))),
    )


@pytest.mark.parametrize(("ingress", "egress", "declared", "types"), [
    (False, False, None, ("Ingress",)),  # no rules: Ingress
    (True, False, None, ("Ingress",)),
    (False, True, None, ("Egress",)),  # egress rules only: Egress alone (Kubernetes would add Ingress)
    (True, True, [], ("Ingress", "Egress")),  # empty is absent
    (False, True, ["Ingress"], ("Ingress",)),  # declared: obeyed, egress rules then ignored
    (False, False, ["Egress", "Ingress"], ("Ingress", "Egress")),
])
def test_types_default_as_calico_does(ingress: bool, egress: bool, declared: list[str] | None,
                                      types: tuple[str, ...]) -> None:
    spec: dict[str, Any] = {"selector": "all()"}
    if ingress:
        spec["ingress"] = [{"action": "Allow"}]
    if egress:
        spec["egress"] = [{"action": "Allow"}]
    if declared is not None:
        spec["types"] = declared
    assert _one(gnp(spec)).types == types


def test_global_policy_tiers_sets_accounts_and_staged_kinds() -> None:
    result = load_objects([
        tier("security", order=100, defaultAction="Pass"), tier("default"),
        gnp({"tier": "security", "order": -5.5, "namespaceSelector": "team == 'a'", "serviceAccountSelector": "",
             "selector": "", "egress": [{"action": "Pass"}], "doNotTrack": True, "applyOnForward": True}),
        gnp({"stagedAction": "Delete", "tier": "security"}, name="old", kind="StagedGlobalNetworkPolicy"),
        np({"stagedAction": "Set", "ingress": [{"action": "Deny"}]}, kind="StagedNetworkPolicy"),
        np({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                                                                         "ports": [{"port": 80}]}]},
           kind="StagedKubernetesNetworkPolicy"),
        {"apiVersion": V3, "kind": "NetworkSet", "metadata": {"name": "partners", "namespace": "shop",
                                                              "labels": {"role": "partner"}},
         "spec": {"nets": ["192.0.2.7", "198.51.100.1/24"]}},
        {"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {"name": "all-v4"}, "spec": {"nets": ["0.0.0.0/0"]}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop",
                                                                    "labels": {"tier": "gold"}}},
    ])
    calico = result.calico
    assert calico.tiers == (CalicoTier("default", 1_000_000.0, "Deny"), CalicoTier("security", 100.0, "Pass"))
    g, staged_g, staged_knp, staged_np = calico.policies
    assert (g.tier, g.order, g.types, g.selector, g.namespace_selector, g.service_account_selector) == (
        "security", -5.5, ("Egress",), ALL, Compare("team", "==", "a"), None)
    assert g.do_not_track and g.host_only and not g.staged
    assert (staged_g.kind, staged_g.staged_action, staged_g.staged) == ("StagedGlobalNetworkPolicy", "Delete", True)
    assert (staged_np.kind, staged_np.staged_action, staged_np.namespace) == ("StagedNetworkPolicy", "Set", "shop")
    # a staged Kubernetes NetworkPolicy is placed as Calico places a Kubernetes one: default tier, order 1000
    assert (staged_knp.kind, staged_knp.tier, staged_knp.order, str(staged_knp.selector)) == (
        "StagedKubernetesNetworkPolicy", "default", 1000.0,
        '(projectcalico.org/orchestrator == "k8s" && app == "web")')
    assert staged_knp.ingress == (CalicoRule("Allow", 6, source=EntityRule(nets=(ipaddress.ip_network("10.0.0.0/8"),)),
                                             destination=EntityRule(ports=(CalicoPort(80, 80),))),)
    assert calico.network_sets == (
        NetworkSet(None, "all-v4", (), (ipaddress.ip_network("0.0.0.0/0"),)),
        NetworkSet("shop", "partners", (("role", "partner"),),
                   (ipaddress.ip_network("192.0.2.7/32"), ipaddress.ip_network("198.51.100.0/24"))))
    assert calico.service_accounts == (ServiceAccount("shop", "api", (("tier", "gold"),)),)
    # still named as not evaluated: the verdicts refuse them until the engine evaluates them
    assert {o.name for o in result.unmodelled.objects} == {"g"}  # staged kinds only preview (§14)


def test_kubernetes_policy_as_calico_places_it() -> None:
    from netpol.sources.calico import from_kubernetes

    k = load_objects([policy("db", "shop", {"matchExpressions": [{"key": "tier", "operator": "In",
                                                                    "values": ["a", "b"]}]},
                            egress=[{"to": [{"namespaceSelector": {}}, {"podSelector": {}}],
                                     "ports": [{"port": "dns", "protocol": "UDP"}, {"port": 8000, "endPort": 8080}]}])
                     ]).cluster.policies[0]
    c = from_kubernetes(k)
    assert (c.kind, c.tier, c.order, c.types) == ("KubernetesNetworkPolicy", "default", 1000.0, ("Ingress", "Egress"))
    assert str(c.selector) == '(projectcalico.org/orchestrator == "k8s" && tier in {"a", "b"})'
    k8s = Compare("projectcalico.org/orchestrator", "==", "k8s")
    assert [(r.action, r.protocol, r.destination.selector, r.destination.namespace_selector, r.destination.ports)
            for r in c.egress] == [
        ("Allow", 17, k8s, ALL, (CalicoPort(name="dns"),)),
        ("Allow", 6, k8s, ALL, (CalicoPort(8000, 8080),)),
        ("Allow", 17, k8s, None, (CalicoPort(name="dns"),)),
        ("Allow", 6, k8s, None, (CalicoPort(8000, 8080),)),
    ]
    assert InSet("tier", ("a", "b")).evaluate({"tier": "b"})


RULE = "spec.ingress[0]"
# (object, field, message): what Calico's API validation rejects (brief §7)
INVALID: list[tuple[dict[str, Any], str, str]] = [
    (tier("Security"), "metadata.name", "'Security' is not a valid object name"),
    (tier("a.b"), "metadata.name", "'a.b' is not a valid tier name"),
    (tier("t", defaultAction="Allow"), "spec.defaultAction", "must be Deny or Pass, not 'Allow'"),
    (tier("default", order=5), "spec.order", "the built-in tier 'default' has order 1e+06, not 5"),
    (tier("kube-admin", defaultAction="Deny"), "spec.defaultAction",
     "the built-in tier 'kube-admin' has defaultAction Pass, not Deny"),
    (tier("t", order="first"), "spec.order", "must be a number, not 'first'"),
    (gnp({}, name="a.b.c"), "metadata.name", "'a.b.c' is not a valid policy name"),
    (gnp({"tier": "nope"}), "spec.tier", "no Tier 'nope' in the input, and it is not a built-in tier"),
    (gnp({"types": ["Ingress", "Ingress"]}), "spec.types[1]", "duplicate policy type 'Ingress'"),
    (gnp({"types": ["ingress"]}), "spec.types[0]", "unknown policy type 'ingress'"),
    (gnp({"selector": "app = 'x'"}), "spec.selector", "expected == at column 5 of selector \"app = 'x'\""),
    (gnp({"selector": "global()"}), "spec.selector", "global() can only be used in a rule's namespaceSelector"),
    (gnp({"namespaceSelector": "global()"}), "spec.namespaceSelector", "global() can only be used"),
    (np({"namespaceSelector": "all()"}), "spec.namespaceSelector", "unknown field"),
    (gnp({"ingress": [{"source": {}}]}), f"{RULE}.action", "required field is missing"),
    (gnp({"ingress": [{"action": "Accept"}]}), f"{RULE}.action", "must be one of Allow, Deny, Log, Pass"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "tcp"}]}), f"{RULE}.protocol", "unknown protocol 'tcp'"),
    (gnp({"ingress": [{"action": "Allow", "protocol": 256}]}), f"{RULE}.protocol", "must be between 1 and 255"),
    (gnp({"ingress": [{"action": "Allow", "ipVersion": 5}]}), f"{RULE}.ipVersion", "must be 4 or 6, not 5"),
    (gnp({"ingress": [{"action": "Allow", "icmp": {"type": 8}}]}), f"{RULE}.icmp",
     "ICMP fields require protocol to be ICMP or ICMPv6"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "ICMP", "icmp": {"type": 255}}]}), f"{RULE}.icmp.type",
     "must be between 0 and 254, not 255"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "ICMP", "icmp": {"code": 0}}]}), f"{RULE}.icmp.code",
     "an ICMP code needs an ICMP type"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "ICMP", "ipVersion": 6}]}), f"{RULE}.protocol",
     "protocol ICMP requires ipVersion 4"),
    (gnp({"ingress": [{"action": "Allow", "destination": {"ports": [80]}}]}), f"{RULE}.destination.ports",
     "rules with numeric port or port range must set protocol to TCP or UDP or SCTP"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "ICMP", "destination": {"ports": ["http"]}}]}),
     f"{RULE}.destination.ports", "protocol ICMP has no ports"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": [0]}}]}),
     f"{RULE}.destination.ports[0]", "ports must be between 1 and 65535, not 0"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": ["90:80"]}}]}),
     f"{RULE}.destination.ports[0]", "the range 90:80 is reversed"),
    (gnp({"ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": ["Http"]}}]}),
     f"{RULE}.destination.ports[0]", "'Http' is neither a port number (1-65535) nor a valid port name"),
    (gnp({"ingress": [{"action": "Allow", "source": {"nets": ["10.0.0.1/8"]}}]}), f"{RULE}.source.nets[0]",
     "'10.0.0.1/8' has host bits set (write 10.0.0.0/8)"),
    (gnp({"ingress": [{"action": "Allow", "source": {"nets": ["10.0.0.1"]}}]}), f"{RULE}.source.nets[0]",
     "'10.0.0.1' is not a CIDR (it needs a prefix length)"),
    (gnp({"ingress": [{"action": "Allow", "source": {"notNets": ["0.0.0.0/0"]}}]}), f"{RULE}.source.notNets[0]",
     "notNets may not hold 0.0.0.0/0"),
    (gnp({"ingress": [{"action": "Allow", "source": {"nets": ["10.0.0.0/8"]}, "destination": {"nets": ["::/0"]}}]}),
     RULE, "a rule cannot mix IPv4 and IPv6 nets"),
    (gnp({"ingress": [{"action": "Allow", "ipVersion": 6, "source": {"nets": ["10.0.0.0/8"]}}]}),
     f"{RULE}.ipVersion", "the rule's nets are IPv4, not IPv6"),
    (gnp({"ingress": [{"action": "Allow", "source": {"selector": "global()"}}]}), f"{RULE}.source.selector",
     "global() can only be used"),
    (gnp({"ingress": [{"action": "Allow", "source": {"namespaceSelector": "global() && a == 'b'"}}]}),
     f"{RULE}.source.namespaceSelector", "a namespaceSelector with global() must be exactly global()"),
    (gnp({"ingress": [{"action": "Allow", "source": {"selector": "a in {'x'"}}]}), f"{RULE}.source.selector",
     "expected a quoted string or '}', found the end at column 10"),
    (gnp({"ingress": [{"action": "Deny", "http": {"methods": ["GET"]}}]}), f"{RULE}.http",
     "HTTP match is only valid on Allow rules"),
    (gnp({"egress": [{"action": "Allow", "http": {}}]}), "spec.egress[0].http", "only valid on ingress rules"),
    (gnp({"ingress": [{"action": "Allow", "source": {"services": {"name": "db", "namespace": "x"},
                                                      "selector": "a == 'b'"}}]}), f"{RULE}.source.selector",
     "cannot be given with services on the same side"),
    (gnp({"ingress": [{"action": "Allow", "source": {"services": {"name": "db"}}}]}),
     f"{RULE}.source.services.namespace", "services in a GlobalNetworkPolicy must name the Service's namespace"),
    (np({"ingress": [{"action": "Allow", "destination": {"services": {"name": "db"}}}]}),
     f"{RULE}.destination.services", "services belong in the source of an ingress rule"),
    (gnp({"doNotTrack": True, "preDNAT": True, "applyOnForward": True}), "spec",
     "preDNAT and doNotTrack cannot both be true"),
    (gnp({"preDNAT": True, "applyOnForward": True, "egress": [{"action": "Allow"}]}), "spec.preDNAT",
     "a preDNAT policy cannot have egress rules"),
    (gnp({"doNotTrack": True}), "spec.applyOnForward", "must be true if either preDNAT or doNotTrack is true"),
    (gnp({"stagedAction": "Apply"}, kind="StagedGlobalNetworkPolicy"), "spec.stagedAction",
     "must be one of Set, Delete, Learn, Ignore"),
    (gnp({"stagedAction": "Delete", "selector": "all()"}, kind="StagedGlobalNetworkPolicy"), "spec.selector",
     "a staged Delete names the policy to delete only"),
    (gnp({"stagedAction": "Set"}), "spec.stagedAction", "unknown field"),
    ({"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {"name": "s"}, "spec": {"nets": ["10.0.0.300"]}},
     "spec.nets[0]", "'10.0.0.300' is not an IP address or a CIDR"),
    ({"apiVersion": V3, "kind": "NetworkSet",
      "metadata": {"name": "s", "labels": {"projectcalico.org/namespace": "x"}}},
     "metadata.labels.projectcalico.org/namespace", "Calico reserves this label"),
]


@pytest.mark.parametrize(("obj", "path", "message"), INVALID,
                         ids=[f"{i}-{c[2][:30]}" for i, c in enumerate(INVALID)])
def test_invalid_objects_fail_with_one_line(obj: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_objects([obj])
    assert caught.value.field == path
    assert message in caught.value.message, caught.value.message
    assert "\n" not in str(caught.value)


def test_the_error_names_file_document_line_object_and_field(tmp_path: Path) -> None:
    f = tmp_path / "gnp.yaml"
    f.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: blue}\n---\n"
                 "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: deny-blue\nspec:\n"
                 "  ingress:\n  - action: Deny\n    destination:\n      ports: [80]\n")
    with pytest.raises(InputError) as caught:
        load_manifests([str(f)])
    assert str(caught.value) == (
        f"{f}: document 2, line 5 (GlobalNetworkPolicy deny-blue): spec.ingress[0].destination.ports: rules with "
        "numeric port or port range must set protocol to TCP or UDP or SCTP")


def test_enterprise_fields_and_blank_selectors_warn() -> None:
    result = load_objects([
        {"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {"name": "s"},
         "spec": {"nets": ["10.0.0.0/8"], "allowedEgressDomains": ["x.example"]}},
        np({"ingress": [{"action": "Allow", "source": {"selector": "  "}}]}),
    ])
    messages = [d.message for d in result.diagnostics if d.severity == "warning"]
    assert any("allowedEgressDomains is a Calico Enterprise field" in m for m in messages)
    assert any(m.startswith("spec.ingress[0].source.selector: a blank selector is all()") for m in messages)
    assert result.calico.policies[0].ingress[0].source.selector == ALL


def test_the_same_object_twice_differently_is_an_error() -> None:
    load_objects([tier("t", order=1), tier("t", order=1)])
    with pytest.raises(InputError, match="Tier//t is defined twice|Tier/t is defined twice"):
        load_objects([tier("t", order=1), tier("t", order=2)])


def test_pods_and_workloads_keep_their_service_account() -> None:
    """Calico labels an endpoint with its service account (projectcalico.org/serviceaccount, pcsa.*)."""
    from tests.builders import pod, workload

    runs_as = pod("a", "shop")
    runs_as["spec"]["serviceAccountName"] = "api"
    deploy = workload("web", "shop")
    deploy["spec"]["template"]["spec"]["serviceAccountName"] = "web-sa"
    pods = load_objects([runs_as, pod("b", "shop"), deploy]).cluster.pods
    assert [(p.name, p.service_account) for p in pods] == [("a", "api"), ("b", None), ("deployment/web", "web-sa")]
    with pytest.raises(InputError, match=r"spec.serviceAccountName: must be a string, not an integer"):
        runs_as["spec"]["serviceAccountName"] = 7
        load_objects([runs_as])


def test_what_netpol_does_not_evaluate_is_said() -> None:
    """HostEndpoints, host-only policies, HTTP matches and source ports: warnings, never silence (brief §1)."""
    result = load_objects([
        {"apiVersion": V3, "kind": "HostEndpoint", "metadata": {"name": "eth0"}, "spec": {"node": "n1"}},
        gnp({"doNotTrack": True, "applyOnForward": True}),
        np({"ingress": [{"action": "Allow", "http": {"methods": ["GET"]},
                         "source": {"ports": [1234], "selector": "all()"}, "protocol": "TCP"}]}),
    ])
    assert [(d.location.object if d.location else None, d.message) for d in result.diagnostics
            if d.severity == "warning"] == [
        ("HostEndpoint eth0", "host endpoints are not analysed (netpol evaluates Calico's policies for pods only)"),
        ("GlobalNetworkPolicy g", "a doNotTrack policy applies to host endpoints only: ignored for pods (and its "
                                  "tier does not apply to them through it)"),
        ("NetworkPolicy shop/web", "spec.ingress[0]: HTTP methods and paths (L7) are not checked: the rule is "
                                   "evaluated at L4"),
        ("NetworkPolicy shop/web", "spec.ingress[0]: the client's source port is unknown: netpol assumes it is in no "
                                   "port listed there"),
    ]
