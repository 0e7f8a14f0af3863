"""Equivalence classes, the selector index and the allow-graph."""

from __future__ import annotations

import pytest

from netpol import load_objects
from netpol.engine import Engine
from netpol.policies.networkpolicy import compile_policies
from tests.builders import labels, namespace, pod, policy


def _engine(*objects: dict) -> Engine:  # type: ignore[type-arg]
    return Engine(load_objects(objects).cluster)


def test_pods_that_no_selector_tells_apart_share_a_class() -> None:
    e = _engine(
        namespace("shop"), namespace("blog"),
        *[pod(f"web-{i}", ns="shop", labels={"app": "web", "pod-template-hash": str(i)}) for i in range(5)],
        pod("db", ns="shop", labels={"app": "db"}),
        *[pod(f"b-{i}", ns="blog", labels={"app": "web"}) for i in range(3)],
        policy("p", ns="shop", selector=labels(app="db"), ingress=[{"from": [{"podSelector": labels(app="web")}]}]),
    )
    sizes = sorted(c.size for c in e.classes)
    # shop/web-* (5: the hash label is not selected on), shop/db (1), blog/b-* (3: blog holds no
    # policy, but shop does, so shop's pods keep their namespace identity).
    assert sizes == [1, 3, 5]


def test_label_values_no_selector_names_are_folded() -> None:
    e = _engine(pod("a", labels={"v": "1"}), pod("b", labels={"v": "2"}), pod("c", labels={"v": "3"}),
                policy("p", selector={"matchExpressions": [{"key": "v", "operator": "NotIn", "values": ["1"]}]}))
    assert sorted(len(c.pods) for c in e.classes) == [1, 2]


def test_named_ports_and_ip_blocks_split_classes() -> None:
    e = _engine(pod("a", ports=[(80, "TCP", "http")], ip="10.0.0.1"), pod("b", ports=[(81, "TCP", "http")], ip="10.0.0.2"),
                pod("c", ports=[(81, "TCP", "http")], ip="10.0.1.2"),
                policy("p", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": "http"}]}]))
    assert len(e.classes) == 3


def test_selector_index() -> None:
    e = _engine(namespace("x", team="a"), pod("p", ns="x", labels={"app": "1"}), pod("q", ns="x", labels={"app": "2"}),
                policy("z", ns="x", selector=labels(app="1"),
                       ingress=[{"from": [{"namespaceSelector": labels(team="a"), "podSelector": labels(app="2")}]}]))
    p, q = e.class_of["x/p"], e.class_of["x/q"]
    assert e.select("pod", e.cluster.policies[0].pod_selector) == 1 << p
    assert e.is_isolated("ingress", p) and not e.is_isolated("ingress", q)
    assert not e.is_isolated("egress", p)


def test_targets_merge_policies_with_the_same_selector() -> None:
    policies = load_objects([policy("b", selector=labels(app="x")), policy("a", selector=labels(app="x"), egress=[{}])]).cluster.policies
    targets = compile_policies(policies)
    assert [(t.direction, t.policies, [str(r.ref) for r in t.rules]) for t in targets] == [
        ("egress", ("default/a",), ["default/a egress[0]"]),
        ("ingress", ("default/a", "default/b"), []),
    ]


def test_allow_graph_edges_carry_ports_and_provenance() -> None:
    e = _engine(pod("a", labels={"app": "a"}), pod("b", labels={"app": "b"}, ports=[(80, "TCP", "http")]),
                policy("p", selector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}],
                                                                 "ports": [{"port": "http"}]}]))
    a, b = e.class_of["default/a"], e.class_of["default/b"]
    g = e.graph
    assert set(g.edges) == {(a, b), (b, a), (a, "any address"), (b, "any address"), ("any address", a)}
    edge = g.edges[a, b]
    assert str(edge["ports"]) == "TCP:80"
    assert [str(m.ref) for m in edge["ingress"].matches] == ["default/p ingress[0]"]
    assert edge["egress"].isolated_by == ()
    assert g.nodes[b]["ingress_isolated"] and not g.nodes[a]["ingress_isolated"]


def test_allow_graph_external_nodes() -> None:
    e = _engine(pod("a", labels={"app": "a"}, ports=[(80, "TCP", "http")]), pod("b", labels={"app": "b"}),
                policy("in", selector=labels(app="a"), ingress=[
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}], "ports": [{"port": "http"}]}]),
                policy("out", selector=labels(app="b"), policyTypes=["Egress"], egress=[
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}, {"port": "http"}]},
                    {"ports": [{"port": 53, "protocol": "UDP"}]}]))
    a, b = e.class_of["default/a"], e.class_of["default/b"]
    g = e.graph
    edges = {(u, v): str(d["ports"]) for u, v, d in g.edges(data=True)}
    assert edges == {
        ("ipBlock 10.0.0.0/8 except 10.1.0.0/16", a): "TCP:80",  # named port resolved against a
        (a, "any address"): "all",                                # a's egress is not isolated
        (b, "any address"): "UDP:53",                             # the rule with no peers
        (b, "ipBlock 0.0.0.0/0"): "TCP:443 UDP:53",               # named port: no match outside
        (b, "ipBlock 10.0.0.0/8 except 10.1.0.0/16"): "UDP:53",   # through the rule with no peers
        ("any address", b): "all",                                # b's ingress is not isolated
        (a, b): "all",
        # no (b, a): a admits only 10.0.0.0/8, and b has no known IP
    }
    assert g.nodes["ipBlock 0.0.0.0/0"]["kind"] == "external"
    assert [str(m.ref) for m in g.edges[b, "any address"]["egress"].matches] == ["default/out egress[1]"]


@pytest.mark.parametrize("n", [1, 7, 8, 9, 64, 1000, 2049])
def test_bit_matrix_transpose(n: int) -> None:
    import numpy as np

    from netpol.engine.bits import transpose

    width = (n + 7) // 8
    rng = np.random.default_rng(n)
    packed = np.zeros((8 * width, width), np.uint8)
    packed[:n] = rng.integers(0, 256, (n, width), dtype=np.uint8)
    bits = np.unpackbits(packed, axis=1, bitorder="little")
    assert np.array_equal(np.unpackbits(transpose(packed), axis=1, bitorder="little"), bits.T)
