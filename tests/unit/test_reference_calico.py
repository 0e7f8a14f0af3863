"""The Calico reference evaluator on the brief's examples (shared/reference/calico-policies.md): exact verdicts
and exact walks (each tier that applied, the deciding rule or the tier's default action)."""

from __future__ import annotations

from typing import Any

import pytest

from netpol import load_objects
from netpol.model import ip_address
from netpol.reference.calico import Step, calico_decision
from tests.builders import namespace, pod, policy

V3 = "projectcalico.org/v3"


def gnp(name: str, spec: dict[str, Any], kind: str = "GlobalNetworkPolicy") -> dict[str, Any]:
    return {"apiVersion": V3, "kind": kind, "metadata": {"name": name}, "spec": spec}


def cnp(name: str, ns: str, spec: dict[str, Any], kind: str = "NetworkPolicy") -> dict[str, Any]:
    return {"apiVersion": V3, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def tier(name: str, order: float, action: str = "Deny") -> dict[str, Any]:
    return {"apiVersion": V3, "kind": "Tier", "metadata": {"name": name}, "spec": {"order": order,
                                                                                  "defaultAction": action}}


def _world(*objects: dict[str, Any]) -> Any:
    return load_objects(list(objects))


def _end(result: Any, name: str) -> Any:
    return result.cluster.pods_by_key.get(name) or ip_address(name)


def decide(result: Any, src: str, dst: str, port: int = 80, protocol: str = "TCP", **kw: Any) -> Any:
    ends = _end(result, src), _end(result, dst)
    return calico_decision(result.cluster, result.calico, *ends, protocol, port, **kw)  # type: ignore[arg-type]


def verdicts(result: Any, pairs: list[tuple[str, str]], port: int = 80, **kw: Any) -> list[bool]:
    return [decide(result, s, d, port, **kw).allowed for s, d in pairs]


SHOP = (namespace("shop"), pod("web", "shop", {"app": "web"}, [80], ip="10.0.0.1"),
        pod("fe", "shop", {"app": "fe"}, [80], ip="10.0.0.2"), pod("x", "shop", {"app": "x"}, [80], ip="10.0.0.3"))


def test_the_brief_walk_example() -> None:
    """Brief §4: security (100) Passes everything; app (200) holds web's ingress policy."""
    world = _world(*SHOP, tier("security", 100), tier("app", 200),
                   gnp("sec-pass", {"tier": "security", "selector": "all()", "ingress": [{"action": "Pass"}],
                                    "egress": [{"action": "Pass"}]}),
                   cnp("web", "shop", {"tier": "app", "selector": "app == 'web'", "ingress": [
                       {"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'fe'"},
                        "destination": {"ports": [80]}}]}))
    sec = Step("security", "GlobalNetworkPolicy sec-pass", 0, "Pass")
    fe = decide(world, "shop/fe", "shop/web")
    assert fe.allowed and fe.ingress.steps == (sec, Step("app", "NetworkPolicy shop/web", 0, "Allow"))
    x = decide(world, "shop/x", "shop/web")
    assert not x.allowed and x.ingress.steps == (sec, Step("app", None, None, "Deny"))  # end of tier app
    back = decide(world, "shop/web", "shop/fe")
    assert back.allowed and back.egress.steps == (sec, Step(None, "kns.shop", None, "Allow"))  # app skipped
    assert not decide(world, "shop/fe", "shop/web", 81).allowed


def test_global_default_deny_with_a_kube_system_exception() -> None:
    world = _world(*SHOP, namespace("kube-system"), pod("dns", "kube-system", {"k8s-app": "dns"}, [53], ip="10.0.9.9"),
                   gnp("default-deny", {"selector": "projectcalico.org/namespace != 'kube-system'",
                                        "types": ["Ingress", "Egress"]}))
    pairs = [("shop/fe", "shop/web"), ("shop/fe", "kube-system/dns"), ("kube-system/dns", "shop/web"),
             ("kube-system/dns", "10.1.1.1"), ("10.1.1.1", "kube-system/dns"), ("10.1.1.1", "shop/web")]
    assert verdicts(world, pairs) == [False, False, False, True, True, False]
    assert decide(world, "shop/fe", "shop/web").egress.steps == (Step("default", None, None, "Deny"),)


def test_types_default_as_calico_does_not_as_kubernetes() -> None:
    """A policy with only egress rules leaves ingress alone (Kubernetes would isolate ingress too)."""
    world = _world(*SHOP, gnp("web-out", {"selector": "app == 'web'", "egress": [
        {"action": "Allow", "destination": {"nets": ["10.0.0.2/32"]}}]}))
    assert verdicts(world, [("shop/x", "shop/web"), ("shop/web", "shop/fe"), ("shop/web", "shop/x")]) == [
        True, True, False]  # fe is 10.0.0.2, x 10.0.0.3


def test_kubernetes_policies_sit_in_the_default_tier_at_order_1000() -> None:
    knp = policy("web-in", "shop", {"matchLabels": {"app": "web"}}, ingress=[{"from": [
        {"podSelector": {"matchLabels": {"app": "fe"}}}]}])
    allow_later = gnp("allow-all", {"order": 2000, "selector": "all()", "ingress": [{"action": "Allow"}]})
    deny_first = gnp("deny-x", {"order": 500, "selector": "all()", "ingress": [
        {"action": "Deny", "source": {"selector": "app == 'fe'"}}]})
    pairs = [("shop/fe", "shop/web"), ("shop/x", "shop/web")]
    assert verdicts(_world(*SHOP, knp), pairs) == [True, False]
    # a Calico Allow after the KNP in the default tier still allows what the KNP does not (brief §6)
    assert verdicts(_world(*SHOP, knp, allow_later), pairs) == [True, True]
    assert decide(_world(*SHOP, knp, allow_later), "shop/fe", "shop/web").ingress.steps == (
        Step("default", "KubernetesNetworkPolicy shop/web-in", 0, "Allow"),)
    assert verdicts(_world(*SHOP, knp, deny_first), pairs) == [False, False]


@pytest.mark.parametrize(("kind", "outside", "blocked", "plain"), [
    ("GlobalNetworkPolicy", True, False, True),  # notSelector alone matches anywhere, outside included
    ("NetworkPolicy", False, False, True),  # in a NetworkPolicy it is scoped to the namespace: no outside
])
def test_not_selector_and_outside_addresses(kind: str, outside: bool, blocked: bool, plain: bool) -> None:
    spec = {"selector": "app == 'web'", "ingress": [{"action": "Allow", "source": {"notSelector": "has(blocked)"}}]}
    obj = gnp("p", spec) if kind == "GlobalNetworkPolicy" else cnp("p", "shop", spec)
    world = _world(*SHOP, pod("bad", "shop", {"blocked": "yes"}, ip="10.0.0.4"), obj)
    assert verdicts(world, [("203.0.113.9", "shop/web"), ("shop/bad", "shop/web"), ("shop/fe", "shop/web")]) == [
        outside, blocked, plain]


def test_network_sets_are_labelled_addresses() -> None:
    world = _world(*SHOP, {"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {
        "name": "partners", "labels": {"role": "partner"}}, "spec": {"nets": ["198.51.100.0/24", "10.0.0.2/32"]}},
                   gnp("web-out", {"selector": "app == 'web'", "egress": [
                       {"action": "Allow", "destination": {"selector": "role == 'partner'"}}]}))
    # fe (10.0.0.2) lacks the label but its address is in a matching set (brief §2)
    assert verdicts(world, [("shop/web", "198.51.100.7"), ("shop/web", "203.0.113.1"), ("shop/web", "shop/fe"),
                            ("shop/web", "shop/x")]) == [True, False, True, False]


def test_service_accounts() -> None:
    api = pod("api", "shop", {"app": "api"}, ip="10.0.0.5")
    api["spec"]["serviceAccountName"] = "api"
    gold = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop",
                                                                       "labels": {"tier": "gold"}}}
    by_name = cnp("p", "shop", {"selector": "app == 'web'", "ingress": [
        {"action": "Allow", "source": {"serviceAccounts": {"names": ["api"]}}}]})
    by_label = gnp("p", {"selector": "app == 'web'", "ingress": [
        {"action": "Allow", "source": {"serviceAccounts": {"selector": "tier == 'gold'"}}}]})
    pairs = [("shop/api", "shop/web"), ("shop/fe", "shop/web")]
    assert verdicts(_world(*SHOP, api, by_name), pairs) == [True, False]
    assert verdicts(_world(*SHOP, api, gold, by_label), pairs) == [True, False]
    assert verdicts(_world(*SHOP, api, by_label), pairs) == [False, False]  # no ServiceAccount: no labels
    selected = gnp("q", {"serviceAccountSelector": "projectcalico.org/name == 'api'", "types": ["Ingress"]})
    assert verdicts(_world(*SHOP, api, selected), [("shop/fe", "shop/api"), ("shop/fe", "shop/web")]) == [False, True]


@pytest.mark.parametrize(("rule", "allowed"), [
    ({"destination": {"ports": ["http"]}}, [True, False, False]),  # the container port's own protocol
    ({"protocol": "TCP", "destination": {"ports": ["http"]}}, [True, False, False]),
    ({"protocol": "UDP", "destination": {"ports": ["http"]}}, [False, False, False]),  # UDP: no such port
    ({"protocol": "TCP", "destination": {"ports": ["8000:9000"], "notPorts": ["http"]}}, [False, False, True]),
    ({"protocol": "TCP", "destination": {"notPorts": [80]}}, [True, False, True]),
    ({"protocol": "ICMP", "icmp": {"type": 8}}, [False, False, False]),  # ping only: TCP ends the tier in Deny
    ({"protocol": 6, "ipVersion": 6}, [False, False, False]),
])
def test_rule_ports_and_protocols(rule: dict[str, Any], allowed: list[bool]) -> None:
    web = pod("web", "shop", {"app": "web"}, [(8080, "TCP", "http")], ip="10.0.0.1")
    world = _world(namespace("shop"), web, pod("fe", "shop", {}, ip="10.0.0.2"),
                   gnp("p", {"selector": "app == 'web'", "ingress": [{"action": "Allow", **rule}]}))
    assert [decide(world, "shop/fe", "shop/web", port).allowed for port in (8080, 80, 8500)] == allowed


def test_log_continues_and_tier_default_pass() -> None:
    log_then_deny = gnp("p", {"selector": "all()", "ingress": [{"action": "Log"}, {"action": "Deny"}]})
    assert decide(_world(*SHOP, log_then_deny), "shop/fe", "shop/web").ingress.steps == (
        Step("default", "GlobalNetworkPolicy p", 1, "Deny"),)
    passing = _world(*SHOP, tier("open", 10, "Pass"), gnp("nothing", {"tier": "open", "selector": "all()",
                                                                      "ingress": [{"action": "Deny",
                                                                                   "protocol": "UDP"}]}))
    assert decide(passing, "shop/fe", "shop/web").ingress.steps == (
        Step("open", None, None, "Pass"), Step(None, "kns.shop", None, "Allow"))


@pytest.mark.parametrize(("version", "first"), [("3.32", "web-a"), ("3.31", "web")])
def test_equal_orders_tie_by_the_release_key(version: str, first: str) -> None:
    """3.32 compares name/namespace/kind ('web-a/' < 'web//' as '-' < '/'); 3.31 compares the name."""
    world = _world(*SHOP, gnp("web", {"order": 10, "selector": "all()", "ingress": [{"action": "Allow"}]}),
                   gnp("web-a", {"order": 10, "selector": "all()", "ingress": [{"action": "Deny"}]}))
    d = decide(world, "shop/fe", "shop/web", version=version)
    assert d.ingress.steps[0].policy == f"GlobalNetworkPolicy {first}" and d.allowed is (first == "web")


def test_staged_policies_only_in_the_what_if_view() -> None:
    world = _world(*SHOP, gnp("deny", {"selector": "all()", "ingress": [{"action": "Deny"}]},
                              kind="StagedGlobalNetworkPolicy"),
                   gnp("gone", {"stagedAction": "Delete"}, kind="StagedGlobalNetworkPolicy"))
    assert decide(world, "shop/fe", "shop/web").allowed
    assert not decide(world, "shop/fe", "shop/web", staged=True).allowed


def test_host_endpoint_only_policies_do_not_act_on_pods() -> None:
    world = _world(*SHOP, gnp("dnt", {"selector": "all()", "doNotTrack": True, "applyOnForward": True,
                                      "ingress": [{"action": "Deny"}]}))
    assert decide(world, "shop/fe", "shop/web").allowed


ANP = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "a"},
       "spec": {"priority": 5, "subject": {"namespaces": {}}, "ingress": [
           {"action": "Deny", "from": [{"namespaces": {}}], "ports": [{"namedPort": "http"}]}]}}
CNP = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "c"},
       "spec": {"tier": "Admin", "priority": 5, "subject": {"namespaces": {}}, "ingress": [
           {"action": "Deny", "from": [{"namespaces": {}}], "protocols": [{"destinationNamedPort": "http"}]}]}}


def test_network_policy_api_kinds_in_their_tiers() -> None:
    web = pod("web", "shop", {"app": "web"}, [(8080, "TCP", "http")], ip="10.0.0.1")
    base = (namespace("shop"), web, pod("fe", "shop", {}, ip="10.0.0.2"))
    old = _world(*base, ANP)
    # [3.30/3.31] a namedPort makes the rule match every port and protocol
    assert [decide(old, "shop/fe", "shop/web", p, version="3.31").allowed for p in (8080, 80)] == [False, False]
    assert decide(old, "shop/fe", "shop/web", 80, version="3.31").ingress.steps == (
        Step("adminnetworkpolicy", "AdminNetworkPolicy a", 0, "Deny"),)
    new = _world(*base, CNP)
    assert [decide(new, "shop/fe", "shop/web", p).allowed for p in (8080, 80)] == [False, True]
    assert decide(new, "shop/fe", "shop/web", 8080).ingress.steps == (
        Step("kube-admin", "ClusterNetworkPolicy c", 0, "Deny"),)


def test_own_node_and_self() -> None:
    web = pod("web", "shop", {"app": "web"}, ip="10.0.0.1", node="n1", host_ip="192.168.0.1")
    world = _world(namespace("shop"), web, gnp("deny", {"selector": "all()", "types": ["Ingress", "Egress"]}))
    assert verdicts(world, [("192.168.0.1", "shop/web"), ("shop/web", "192.168.0.1"), ("shop/web", "shop/web")]) \
        == [True, False, True]


@pytest.mark.parametrize(("rules", "asked", "allowed"), [
    # ping only: echo requests pass, other ICMP types and every TCP port end the tier in Deny (brief §5)
    ([{"protocol": "ICMP", "icmp": {"type": 8}}], [("ICMP", 8, None), ("ICMP", 0, None), ("TCP", 80, None)],
     [True, False, False]),
    ([{"protocol": "ICMP", "icmp": {"type": 3, "code": 4}}], [("ICMP", 3, 4), ("ICMP", 3, None), ("ICMP", 3, 1)],
     [True, False, False]),
    ([{"protocol": "ICMP", "notICMP": {"type": 8}}], [("ICMP", 8, None), ("ICMP", 0, None), ("ICMPv6", 0, None)],
     [False, True, False]),
    ([{"notProtocol": "TCP"}], [("ICMP", 8, None), ("TCP", 80, None), ("UDP", 53, None)], [True, False, True]),
    ([{"protocol": "ICMPv6", "ipVersion": 6}], [("ICMPv6", 128, None), ("ICMP", 8, None)], [True, False]),
    ([{}], [("ICMP", 8, None), ("ICMPv6", 128, None), ("SCTP", 9, None)], [True, True, True]),
])
def test_icmp(rules: list[dict[str, Any]], asked: list[tuple[str, int, int | None]], allowed: list[bool]) -> None:
    world = _world(*SHOP, gnp("p", {"selector": "app == 'web'", "ingress": [{"action": "Allow", **r} for r in rules]}))
    assert [decide(world, "shop/fe", "shop/web", t, p, code=c).allowed for p, t, c in asked] == allowed
