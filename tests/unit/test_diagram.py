"""The diagram: grouping, collapsed edges and filters, asserted exactly on the gallery's cases."""

from __future__ import annotations

import pytest

from netpol.analyses.diagram import Diagram
from netpol.errors import QueryError
from netpol.render.graph import diagram_dot
from tests.builders import analyzer, fixture, labels, namespace, pod, policy, workload


def edges(d: Diagram) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, str(e.ports)) for e in d.edges}


def groups(d: Diagram) -> dict[str, tuple[list[str], str]]:
    """group id -> (pod names, isolation mark)."""
    out = {}
    for box in d.namespaces:
        for g in box.groups:
            mark = ("in" if g.ingress_isolated else "") + ("+out" if g.egress_isolated else "")
            out[g.id] = ([p.name for p in g.pods], mark)
    return out


def test_deny_all_no_edges_into_the_isolated_pods() -> None:
    d = fixture("deny-all").diagram()
    assert groups(d) == {"default/test-1": (["test-1", "web"], "in")}
    assert edges(d) == {("default/test-1", "ext:any", "all")}
    assert not d.any_pod and [e.id for e in d.externals] == ["ext:any"]


def test_allow_all_one_edge_from_any_pod() -> None:
    d = fixture("allow-all").diagram()
    assert groups(d) == {"default/test-1": (["test-1", "test-2"], ""), "default/web": (["web"], "in")}
    assert edges(d) == {
        ("any-pod", "default/test-1", "all"), ("any-pod", "default/web", "all"), ("any-pod", "ext:any", "all"),
        ("ext:any", "default/test-1", "all"), ("ext:any", "default/web", "all"),
    }


def test_allow_from_a_namespace() -> None:
    d = fixture("allow-from-a-namespace").diagram()
    assert groups(d) == {"default/web": (["web"], "in"), "dev/test-1": (["test-1"], ""),
                         "prod/test-2": (["test-2"], "")}
    assert [(b.name, b.labels) for b in d.namespaces] == [
        ("default", ()), ("dev", (("purpose", "testing"),)), ("prod", (("purpose", "production"),))]
    assert edges(d) == {
        ("any-pod", "dev/test-1", "all"), ("any-pod", "prod/test-2", "all"), ("any-pod", "ext:any", "all"),
        ("ext:any", "dev/test-1", "all"), ("ext:any", "prod/test-2", "all"),
        ("prod/test-2", "default/web", "all"),
    }


def test_egress_to_a_namespace() -> None:
    d = fixture("egress-to-a-namespace").diagram()
    assert groups(d)["default/test"] == (["test"], "+out")
    assert d.any_unrestricted_pod
    assert edges(d) == {
        ("any-pod", "prod/api", "all"),
        ("any-unrestricted-pod", "default/test", "all"), ("any-unrestricted-pod", "default/web", "all"),
        ("any-unrestricted-pod", "dev/api", "all"), ("any-unrestricted-pod", "ext:any", "all"),
        ("any-unrestricted-pod", "kube-system/coredns", "all"),
        ("default/test", "kube-system/coredns", "TCP:53 UDP:53"),
        ("ext:any", "default/test", "all"), ("ext:any", "default/web", "all"), ("ext:any", "dev/api", "all"),
        ("ext:any", "kube-system/coredns", "all"), ("ext:any", "prod/api", "all"),
    }


def test_namespace_edge_and_identical_pods_collapse() -> None:
    a = analyzer(
        namespace("shop"), namespace("other"),
        *(pod(f"web-{i}", "shop", {"app": "web"}) for i in range(12)),
        pod("db", "shop", {"app": "db"}), pod("x", "other", {"app": "x"}),
        policy("db-from-shop", "shop", labels(app="db"), ingress=[{"from": [{"podSelector": {}}]}]),
    )
    d = a.diagram(port=5432)
    web = next(g for b in d.namespaces for g in b.groups if g.id == "shop/web-0")
    assert web.title == "app=web x12" and len(web.pods) == 12
    assert ("ns:shop", "shop/db", "TCP:5432") in edges(d)
    assert d.namespaces[1].has_anchor
    assert not any(e.target == "shop/db" and e.source != "ns:shop" for e in d.edges)


def test_probe_keeps_only_that_port() -> None:
    d = fixture("specific-port").diagram(port=8000)
    assert all(str(e.ports) == "TCP:8000" for e in d.edges)
    assert not any(e.target == "default/apiserver" for e in d.edges)
    d5000 = fixture("specific-port").diagram(port=5000)
    assert {e.source for e in d5000.edges if e.target == "default/apiserver"} == {"default/test-2"}


def test_focus_draws_one_neighbourhood() -> None:
    d = fixture("limit").diagram(focus="default/apiserver")
    assert edges(d) == {
        ("default/test-2", "default/apiserver", "all"),
        ("default/apiserver", "default/test-1", "all"), ("default/apiserver", "default/test-2", "all"),
        ("default/apiserver", "ext:any", "all"),
    }
    assert d.focus == "default/apiserver"


def test_focus_draws_the_namespace_behind_an_any_pod_in_ns_edge() -> None:
    """The focus pod's sources are every group of another namespace: the edge comes from that namespace's
    "any pod in NS" node, and the namespace's box is drawn with its groups (the edge was dropped before,
    with the box, as no group of it was an edge's end)."""
    a = analyzer(
        namespace("shop"), namespace("front", team="front"),
        pod("db", "shop", {"app": "db"}), pod("web", "front", {"app": "web"}), pod("cache", "front", {"app": "cache"}),
        policy("db", "shop", labels(app="db"), policyTypes=["Ingress", "Egress"],
               ingress=[{"from": [{"namespaceSelector": labels(team="front")}], "ports": [{"port": 5432}]}]),
        policy("cache", "front", labels(app="cache"), policyTypes=["Ingress", "Egress"],
               egress=[{"to": [{"namespaceSelector": {}}]}]),  # every pod, no address: restricted
    )
    d = a.diagram(focus="shop/db")
    assert edges(d) == {("ns:front", "shop/db", "TCP:5432")}
    assert groups(d) == {"front/cache": (["cache"], "in+out"), "front/web": (["web"], ""), "shop/db": (["db"], "in+out")}
    assert [(b.name, b.has_anchor) for b in d.namespaces] == [("front", True), ("shop", False)]
    assert d.hidden_edges == 0


def test_focus_with_host_network_pods_sharing_an_address() -> None:
    """Hypothesis's example: host-network pods share the focus pod's address, and pod4's host network
    splits namespace c into two groups, whose edges into the focus pod come from "any pod in c"."""
    objects = [
        namespace("a", app="p"), namespace("b"),
        pod("pod0", "a", ip="10.0.0.1"),
        *(pod(f"pod{i}", "a", ip="10.0.0.1", host_network=True) for i in (1, 2, 3)),
        pod("pod4", "c", ip="10.0.0.1", host_network=True), pod("pod5", "c", ip="10.0.0.1"),
        policy("pol0", "a", labels(app="p")),
        {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
         "metadata": {"name": "default"},
         "spec": {"subject": {"namespaces": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}},
                  "egress": [{"action": "Deny", "to": [{"networks": ["10.0.0.0/24"]},
                                                       {"pods": {"podSelector": {}, "namespaceSelector": {}}}]}]}},
    ]
    d = analyzer(*objects).diagram(focus="a/pod0")
    # every pod with unrestricted egress (the host-network pods, and c's) reaches pod0: one anchor says it
    assert edges(d) == {
        ("a/pod0", "ext:any other address", "all"), ("any-unrestricted-pod", "a/pod0", "all"),
        ("ext:addresses in 10.0.0.0/24 only", "a/pod0", "all"), ("ext:any other address", "a/pod0", "all"),
    }
    assert groups(d) == {"a/pod0": (["pod0"], "+out")}


def test_namespace_filter_keeps_any_pod_edges_and_drops_other_namespaces() -> None:
    d = fixture("allow-from-a-namespace").diagram(namespaces=["default", "prod"])
    assert [b.name for b in d.namespaces] == ["default", "prod"]
    assert edges(d) == {
        ("any-pod", "prod/test-2", "all"), ("any-pod", "ext:any", "all"),
        ("ext:any", "prod/test-2", "all"), ("prod/test-2", "default/web", "all"),
    }


def test_ip_block_nodes_show_their_excepts() -> None:
    a = analyzer(
        namespace("default"), pod("app", labels={"app": "a"}),
        policy("out", egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                               "ports": [{"port": 443}]}], policyTypes=["Egress"]),
    )
    d = a.diagram()
    assert edges(d) == {("default/app", "ext:10.0.0.0/8 except 10.1.0.0/16", "TCP:443"),
                        ("ext:any", "default/app", "all")}
    assert [str(e.block) for e in d.externals] == ["10.0.0.0/8 except 10.1.0.0/16", "None"]


def test_focus_must_be_a_pod_and_namespaces_must_exist() -> None:
    with pytest.raises(QueryError, match="needs a pod"):
        fixture("external").diagram(focus="203.0.113.7")
    with pytest.raises(QueryError, match="unknown namespace"):
        fixture("limit").diagram(namespaces=["nope"])


def test_pods_of_one_workload_and_workload_endpoints_are_titled_by_it() -> None:
    def owned(name: str) -> dict:  # type: ignore[type-arg]
        p = pod(name, labels={"app": "web", "pod-template-hash": "5d9c7"})
        p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c7",
                                             "uid": "u", "controller": True}]
        return p

    d = analyzer(namespace("default"), owned("web-5d9c7-a"), owned("web-5d9c7-b"), owned("web-5d9c7-c")).diagram()
    assert [g.title for b in d.namespaces for g in b.groups] == ["deployment/web x3"]
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "default"},
              "spec": {"replicas": 4, "template": {"metadata": {"labels": {"app": "api"}},
                                                   "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    d = analyzer(namespace("default"), deploy).diagram()
    assert [g.title for b in d.namespaces for g in b.groups] == ["deployment/api (x4)"]
    assert edges(d) == {("default/deployment/api", "default/deployment/api", "all"),  # replicas reach each other
                        ("default/deployment/api", "ext:any", "all"), ("ext:any", "default/deployment/api", "all")}


def test_a_group_of_workloads_is_titled_workloads() -> None:
    d = analyzer(namespace("default"), *(workload(f"w{i}", replicas=1) for i in range(8))).diagram()
    assert [g.title for b in d.namespaces for g in b.groups] == ["8 workloads"]
    d = analyzer(namespace("default"), *(pod(f"p{i}") for i in range(5))).diagram()
    assert [g.title for b in d.namespaces for g in b.groups] == ["5 pods"]


def test_allow_all_egress_is_not_marked_as_a_restriction() -> None:
    a = analyzer(namespace("default"), pod("a", labels={"app": "a"}), pod("b", labels={"app": "b"}),
                 policy("open", selector=labels(app="a"), egress=[{}], policyTypes=["Egress"]),
                 policy("dns", selector=labels(app="b"), egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}],
                        policyTypes=["Egress"]))
    assert groups(a.diagram()) == {"default/a": (["a"], ""), "default/b": (["b"], "+out")}


def test_namespace_filter_counts_the_edges_it_leaves_out() -> None:
    d = fixture("allow-from-a-namespace").diagram(namespaces=["prod"])
    assert d.hidden_edges == 2  # prod/test-2 -> default/web, and prod/test-2 -> dev/test-1: one per namespace
    assert "2 edge(s) to or from pods of other namespaces are not drawn (without -n they are)" in diagram_dot(d)
    assert fixture("allow-from-a-namespace").diagram().hidden_edges == 0


def _tiered(name: str, kind: str, direction: str, action: str) -> dict:  # type: ignore[type-arg]
    rule = {"name": "r", "action": action, ("from" if direction == "ingress" else "to"): [{"namespaces": {}}]}
    spec: dict = {"subject": {"namespaces": labels(team="a")}, direction: [rule]}  # type: ignore[type-arg]
    if kind == "AdminNetworkPolicy":
        spec["priority"] = 5
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def test_isolation_counts_every_tier() -> None:
    """A pod under a Baseline or Admin Deny is isolated in that direction, as under a NetworkPolicy; an Allow or
    a Pass isolates nothing."""
    base = (namespace("a", team="a"), namespace("b"), pod("x", "a", {"app": "x"}), pod("y", "b", {"app": "y"}))
    cases = {
        ("BaselineAdminNetworkPolicy", "ingress", "Deny"): "in",
        ("AdminNetworkPolicy", "egress", "Deny"): "+out",
        ("AdminNetworkPolicy", "ingress", "Allow"): "",
        ("AdminNetworkPolicy", "ingress", "Pass"): "",
    }
    for (kind, direction, action), mark in cases.items():
        name = "default" if kind == "BaselineAdminNetworkPolicy" else "p"
        d = analyzer(*base, _tiered(name, kind, direction, action)).diagram()
        assert groups(d)["a/x"] == (["x"], mark), (kind, direction, action)
        assert groups(d)["b/y"] == (["y"], "")


def test_anchors_mean_every_pod_that_could_exist() -> None:
    """With the possible pods, "any pod (any namespace)" is drawn only where every pod that could exist has
    the edge: a rule for db's own namespace is "any pod in shop", one for every namespace is "any pod"; on
    the input alone the anchors stand for the input's pods (and are labelled so)."""
    from netpol.analyses.query import Analyzer

    def shop(peer: dict) -> tuple[dict, ...]:  # type: ignore[type-arg]
        return (namespace("shop"), pod("web", "shop", {"app": "web"}), pod("api", "shop", {"app": "api"}),
                pod("db", "shop", {"app": "db"}), policy("db", "shop", labels(app="db"), ingress=[
                    {"from": [peer], "ports": [{"port": 5432}]}]))

    own, everyone = shop({"podSelector": {}}), shop({"namespaceSelector": {}})
    into_db = {(e.source, e.target, str(e.ports)) for e in Analyzer.with_possible(analyzer(*own).cluster).diagram().edges
               if e.target == "shop/db"}
    assert into_db == {("ns:shop", "shop/db", "TCP:5432")}
    d = Analyzer.with_possible(analyzer(*everyone).cluster).diagram()
    assert d.possible and {e for e in edges(d) if e[1] == "shop/db"} == {("any-pod", "shop/db", "TCP:5432")}
    assert groups(d) == {"shop/api": (["api", "web"], ""), "shop/db": (["db"], "in")}  # possible pods: not drawn
    assert "any pod\n(any namespace)" in diagram_dot(d)
    d = analyzer(*own).diagram()  # the input alone: every pod of the input is in shop
    assert not d.possible and {e for e in edges(d) if e[1] == "shop/db"} == {("any-pod", "shop/db", "TCP:5432")}
    assert "any pod of the input\n(any namespace)" in diagram_dot(d)
    # a rule for some labels only: no anchor vouches for the possible pods, so the input's sources are drawn
    d = Analyzer.with_possible(analyzer(*shop({"podSelector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web", "api"]}]}})).cluster).diagram()
    assert {e for e in edges(d) if e[1] == "shop/db"} == {("shop/api", "shop/db", "TCP:5432")}


def test_possible_pods_alone_are_drawn_as_their_anchor() -> None:
    """A namespace whose input has one pod still has every pod that could exist in it: when those (not a pod
    of the input) are the only sources of an edge, it is drawn from "any pod in NS", or from "any pod" when
    every pod that could exist has it; on the input alone, the one pod's own traffic is not drawn."""
    from netpol.analyses.query import Analyzer

    web = (pod("web", "shop", {"app": "web"}), policy("web", "shop", labels(app="web"), ingress=[
        {"from": [{"podSelector": {}}], "ports": [{"port": 80}]}], egress=[{}]))
    d = Analyzer.with_possible(analyzer(*web).cluster).diagram(namespaces=["shop"])
    assert groups(d) == {"shop/web": (["web"], "in")}
    assert edges(d) == {("ns:shop", "shop/web", "TCP:80"), ("any-pod", "ext:any", "all")}
    assert [b.has_anchor for b in d.namespaces] == [True]
    dot = diagram_dot(d)
    assert '"ns%3Ashop" -> "shop/web" [label="TCP:80"]' in dot and '"any pod in shop"' in dot
    assert edges(analyzer(*web).diagram(namespaces=["shop"])) == {("shop/web", "ext:any", "all")}
    everyone = (web[0], policy("web", "shop", labels(app="web"), ingress=[{"from": [{"namespaceSelector": {}}]}]))
    d = Analyzer.with_possible(analyzer(*everyone).cluster).diagram()
    assert edges(d) == {("any-pod", "shop/web", "all"), ("any-pod", "ext:any", "all")}


def anp(name: str, subject: dict[str, str], egress: list[dict[str, object]]) -> dict[str, object]:
    """An AdminNetworkPolicy (v1alpha1) of priority 1 whose subject is pods with these labels in any namespace."""
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": name}, "spec": {"priority": 1, "subject": {"pods": {
                "namespaceSelector": {}, "podSelector": {"matchLabels": subject}}}, "egress": egress}}


def test_an_admin_deny_on_some_possible_pods_keeps_any_pod_off_the_edge() -> None:
    """web admits every namespace on TCP/80, but an Admin Deny stops pods labelled app=batch (in any namespace,
    none in the input) sending to pods on TCP/80: "any pod" would lie, so the edge is drawn from the pods whose
    egress is not restricted, whole and with -n; pods of other namespaces reach any address."""
    from netpol.analyses.query import Analyzer

    objects = (namespace("shop"), pod("web", "shop", {"app": "web"}), policy(
        "web", "shop", labels(app="web"), ingress=[{"from": [{"namespaceSelector": {}}], "ports": [{"port": 80}]}]),
        anp("no-batch-to-web", {"app": "batch"}, [{"action": "Deny", "to": [{"pods": {"namespaceSelector": {},
            "podSelector": {}}}], "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}]}]))
    world = Analyzer.with_possible(analyzer(*objects).cluster)
    for d in (world.diagram(), world.diagram(namespaces=["shop"])):
        assert groups(d) == {"shop/web": (["web"], "in")}
        assert edges(d) == {("any-unrestricted-pod", "shop/web", "TCP:80"), ("any-pod", "ext:any other address", "all")}
        assert d.any_pod and d.any_unrestricted_pod
    # the input alone: web reaches any address; its own traffic is not drawn
    assert edges(analyzer(*objects).diagram()) == {("shop/web", "ext:any other address", "all")}


def test_possible_pods_may_tell_apart_pods_the_input_alone_groups() -> None:
    """Two host-network pods (no policy isolates them) connect alike among the input's pods, and are one
    group there; but an Admin Deny keeps every policed pod from 192.168.0.2 (exporter's node address) on
    TCP/9100, so with the possible pods exporter is a node of its own, and "any pod" reaches agent only. A
    check of the picture must read each node's pods off the picture drawn, not off the input's grouping."""
    from netpol.analyses.query import Analyzer

    objects = (namespace("infra"), pod("agent", "infra", {"app": "agent"}, ip="192.168.0.1", host_network=True),
               pod("exporter", "infra", {"app": "exporter"}, ip="192.168.0.2", host_network=True),
               anp("no-scraping", {}, [{"action": "Deny", "to": [{"networks": ["192.168.0.2/32"]}],
                                        "ports": [{"portNumber": {"protocol": "TCP", "port": 9100}}]}]))
    alone = analyzer(*objects).diagram()
    assert groups(alone) == {"infra/agent": (["agent", "exporter"], "")}
    d = Analyzer.with_possible(analyzer(*objects).cluster).diagram()
    assert groups(d) == {"infra/agent": (["agent"], ""), "infra/exporter": (["exporter"], "")}
    other, node = "ext:any other address", "ext:addresses in 192.168.0.2/32 only"
    assert edges(d) == {
        ("any-pod", "infra/agent", "all"), ("any-unrestricted-pod", "infra/exporter", "all"),
        ("any-pod", other, "all"), ("any-unrestricted-pod", node, "all"),
        (node, "infra/agent", "all"), (node, "infra/exporter", "all"),
        (other, "infra/agent", "all"), (other, "infra/exporter", "all")}
