"""The Cilium reference evaluator (netpol/reference/cilium.py) against truth tables written by hand from the
semantics brief (shared/reference/cilium-policies.md, § cited per scenario) and the docs examples it quotes."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from netpol import Analyzer
from netpol.model import Cluster, Pod
from netpol.model.cilium import CiliumOptions
from netpol.model.portsets import icmp_value
from netpol.policies.profiles import apply
from netpol.reference.cilium import cilium_allowed
from netpol.sources import load_objects
from tests.builders import labels, namespace, pod, policy
from tests.unit import test_dataplane as dataplane

Row = tuple[str, str, str, int, bool]  # src, dst, protocol, port (ICMP: type*256+code), allowed


def cnp(name: str, ns: str | None, **spec: Any) -> dict[str, Any]:
    """A CNP (ns given) or CCNP (ns None); spec as written, endpointSelector {} unless given."""
    kind = "CiliumNetworkPolicy" if ns else "CiliumClusterwideNetworkPolicy"
    meta = {"name": name, "namespace": ns} if ns else {"name": name}
    return {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta,
            "spec": {"endpointSelector": spec.pop("endpointSelector", {}), **spec}}


def tcp(*ports: str | int, protocol: str | None = "TCP") -> list[dict[str, Any]]:
    return [{"ports": [{"port": str(p), **({"protocol": protocol} if protocol else {})} for p in ports]}]


def check(objects: list[dict[str, Any]], rows: list[Row], options: CiliumOptions = CiliumOptions()) -> None:
    """The reference gives each row's verdict; so does the engine under --cni cilium (at the default options, for
    rows whose ends are pods or outside addresses: a node's address asked about is not modelled there)."""
    cluster = load_objects(objects).cluster
    got = [(s, d, proto, port, cilium_allowed(cluster, _endpoint(cluster, s), _endpoint(cluster, d), proto, port,
                                              options))  # type: ignore[arg-type]
           for s, d, proto, port, _ in rows]
    assert got == rows
    if options != CiliumOptions():
        return
    staged = apply(load_objects(objects), "cilium").cluster
    analyzer = Analyzer(staged)
    nodes = {str(ip) for n in staged.nodes for ip in n.addresses} | {str(p.host_ip) for p in staged.pods} | {
        str(ip) for p in staged.pods if p.host_network for ip in p.ips}
    engine = [(s, d, proto, port, analyzer.can_reach(s, d, port, proto).allowed)  # type: ignore[arg-type]
              for s, d, proto, port, _ in rows if s not in nodes and d not in nodes]
    assert engine == [r for r in rows if r[0] not in nodes and r[1] not in nodes]


def _endpoint(cluster: Cluster, text: str) -> Pod | Any:
    return cluster.pods_by_key.get(text) or ipaddress.ip_address(text)


# Two namespaces, a and b; pods on node n1 unless said; the node's address 192.168.0.1, n2's 192.168.0.2.
BASE = [
    namespace("a", team="red"), namespace("b", team="blue"),
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
     "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.1"}]}},
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"},
     "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.2"}]}},
    pod("client", "a", {"app": "client"}, ip="10.244.0.1", node="n1", host_ip="192.168.0.1"),
    pod("server", "a", {"app": "server"}, [80, 81, (8080, "TCP", "http")], ip="10.244.0.2", node="n1",
        host_ip="192.168.0.1"),
    pod("other", "b", {"app": "client"}, ip="10.244.1.1", node="n2", host_ip="192.168.0.2"),
    pod("agent", "kube-system", {"app": "agent"}, ip="192.168.0.1", host_network=True, node="n1",
        host_ip="192.168.0.1"),
    pod("far", "kube-system", {"app": "agent"}, ip="192.168.0.2", host_network=True, node="n2",
        host_ip="192.168.0.2"),
]
WORLD = "203.0.113.9"
SERVER_L3 = {"endpointSelector": labels(app="server")}
NO_LOCALHOST = CiliumOptions(allow_localhost="policy")  # so that only rules let the node in (§3.5)


def test_no_policy_allows_everything() -> None:
    """§3.2: a pod is unrestricted until a rule of that direction selects it."""
    check(BASE, [("a/client", "a/server", "TCP", 80, True), ("b/other", "a/server", "UDP", 53, True),
                 (WORLD, "a/server", "ICMP", icmp_value(8, 0), True), ("a/server", WORLD, "SCTP", 9, True)])


def test_deny_table_of_the_docs() -> None:
    """§5 [DENY] table: allow L3 from client and 80/TCP, 81/TCP, deny 80/TCP: 81 allowed, 80 denied, ping allowed;
    the deny alone isolates and so denies everything."""
    allow = cnp("allow", "a", **SERVER_L3, ingress=[
        {"fromEndpoints": [labels(app="client")]},
        {"fromEndpoints": [labels(app="client")], "toPorts": tcp(80, 81)}])
    deny = cnp("deny", "a", **SERVER_L3, ingressDeny=[{"fromEndpoints": [labels(app="client")],
                                                        "toPorts": tcp(80)}])
    rows: list[Row] = [("a/client", "a/server", "TCP", 81, True), ("a/client", "a/server", "TCP", 80, False),
                       ("a/client", "a/server", "ICMP", icmp_value(8, 0), True),
                       ("b/other", "a/server", "TCP", 81, False)]
    check([*BASE, allow, deny], rows)
    check([*BASE, deny], [(s, d, p, n, False) for s, d, p, n, _ in rows])


def test_empty_sections() -> None:
    """§3.2: `ingress: [{}]` isolates and allows nothing (the opposite of NetworkPolicy's `ingress: [{}]`);
    `ingressDeny: [{}]` denies nothing and isolates; `ingress: []` does not isolate."""
    rows: list[Row] = [("a/client", "a/server", "TCP", 80, False), (WORLD, "a/server", "ICMP", icmp_value(8, 0), False)]
    check([*BASE, cnp("p", "a", **SERVER_L3, ingress=[{}])], rows)
    check([*BASE, cnp("p", "a", **SERVER_L3, ingressDeny=[{}])], rows)
    check([*BASE, cnp("p", "a", **SERVER_L3, ingress=[], egress=[{}])],
          [("a/client", "a/server", "TCP", 80, True), ("a/server", "a/client", "TCP", 80, False)])
    check([*BASE, policy("np", "a", labels(app="server"), ingress=[{}])],
          [("a/client", "a/server", "TCP", 80, True), (WORLD, "a/server", "ICMP", icmp_value(8, 0), True)])


def test_enable_default_deny_false_adds_allows_without_isolating() -> None:
    """§3.2: entries that are not default-deny leave the pod open, but their denies still win; one
    default-deny entry of another policy isolates."""
    open_allow = cnp("open", "a", **SERVER_L3, enableDefaultDeny={"ingress": False},
                     ingress=[{"fromEndpoints": [labels(app="client")], "toPorts": tcp(80)}])
    open_deny = cnp("no-world", None, enableDefaultDeny={"ingress": False}, ingressDeny=[{"fromEntities": ["world"]}])
    check([*BASE, open_allow, open_deny], [
        ("b/other", "a/server", "TCP", 443, True), (WORLD, "a/server", "TCP", 80, False),
        (WORLD, "a/client", "TCP", 80, False), ("a/client", "a/server", "TCP", 80, True)])
    closing = cnp("close", "a", **SERVER_L3, ingress=[{"fromEndpoints": [labels(app="nobody")]}])
    check([*BASE, open_allow, closing], [("b/other", "a/server", "TCP", 443, False),
                                         ("a/client", "a/server", "TCP", 80, True)])
    # enable-non-default-deny-policies=false: every rule isolates (§1.3)
    check([*BASE, open_allow], [("b/other", "a/server", "TCP", 443, False)],
          CiliumOptions(non_default_deny_policies=False))


def test_union_across_kinds_and_deny_over_all() -> None:
    """§3.1: CNP, CCNP and NetworkPolicy allows are one union; a CCNP deny beats a NetworkPolicy allow."""
    objects = [*BASE,
               policy("np", "a", labels(app="server"), ingress=[{"ports": [{"port": 80}]}]),
               cnp("cnp", "a", **SERVER_L3, ingress=[{"fromEndpoints": [{}], "toPorts": tcp(81)}]),
               cnp("ccnp", None, **SERVER_L3, ingressDeny=[{"fromEndpoints": [
                   {"matchLabels": {"io.kubernetes.pod.namespace": "b"}}], "toPorts": tcp(80)}])]
    check(objects, [("a/client", "a/server", "TCP", 80, True), ("a/client", "a/server", "TCP", 81, True),
                    ("b/other", "a/server", "TCP", 80, False), ("b/other", "a/server", "TCP", 81, False),
                    (WORLD, "a/server", "TCP", 80, True), ("a/client", "a/server", "TCP", 82, False),
                    ("a/client", "a/server", "UDP", 80, False)])


def test_endpoint_selectors_and_namespaces() -> None:
    """§2.3: a CNP's selectors stay in its namespace unless they name the namespace (or its labels); a CCNP's
    `{}` is every pod of every namespace; neither is world or a node."""
    rows = {
        "cnp {}": ([{}], [True, False, False, False]),
        "cnp names b": ([{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "b"}}], [False, True, False, False]),
        "cnp namespace labels": ([{"matchLabels": {"io.cilium.k8s.namespace.labels.team": "blue"}}],
                                 [False, True, False, False]),
        "cnp every namespace": ([{"matchExpressions": [{"key": "io.kubernetes.pod.namespace",
                                                        "operator": "Exists"}]}], [True, True, False, False]),
        "cnp reserved host": ([{"matchLabels": {"reserved:host": ""}}], [False, False, True, False]),
    }
    for name, (selectors, want) in rows.items():
        objects = [*BASE, cnp("p", "a", **SERVER_L3, ingress=[{"fromEndpoints": selectors, "toPorts": tcp(81)}])]
        got = [cilium_allowed(load_objects(objects).cluster, *_pair(objects, s), "TCP", 81, NO_LOCALHOST)
               for s in ("a/client", "b/other", "kube-system/agent", WORLD)]
        assert got == want, name
    check([*BASE, cnp("p", None, **SERVER_L3, ingress=[{"fromEndpoints": [{}]}])],
          [("a/client", "a/server", "TCP", 1, True), ("b/other", "a/server", "TCP", 1, True),
           (WORLD, "a/server", "TCP", 1, False), ("kube-system/far", "a/server", "TCP", 1, False)])
    # a CNP's endpointSelector never selects outside its namespace, whatever it names
    check([*BASE, cnp("p", "a", endpointSelector={"matchLabels": {"k8s:io.kubernetes.pod.namespace": "b"}},
                      ingress=[{}])],
          [("a/client", "b/other", "TCP", 1, True), ("b/other", "a/client", "TCP", 1, False)])


def _pair(objects: list[dict[str, Any]], src: str) -> tuple[Any, Any]:
    cluster = load_objects(objects).cluster
    return _endpoint(cluster, src), cluster.pods_by_key["a/server"]


def test_entities() -> None:
    """§2.4: world is outside addresses only, cluster every pod and node, host the endpoint's own node,
    remote-node the others; all is everything."""
    sources = ["a/client", "b/other", "kube-system/agent", "kube-system/far", WORLD, "192.168.0.2"]
    tables = {
        "world": [False, False, False, False, True, False],
        "cluster": [True, True, True, True, False, True],
        "host": [False, False, True, False, False, False],
        "remote-node": [False, False, False, True, False, True],
        "all": [True, True, True, True, True, True],
        "kube-apiserver": [False, False, False, False, False, False],
    }
    for entity, want in tables.items():
        objects = [*BASE, cnp("p", "a", **SERVER_L3, ingress=[{"fromEntities": [entity], "toPorts": tcp(80)}])]
        cluster = load_objects(objects).cluster
        server = cluster.pods_by_key["a/server"]
        assert [cilium_allowed(cluster, _endpoint(cluster, s), server, "TCP", 80, NO_LOCALHOST)
                for s in sources] == want, entity


def test_localhost_is_allowed_unless_denied() -> None:
    """§3.5: ingress from the endpoint's own node passes an isolated pod (allow-localhost=always), not egress to
    it, and not a remote node; a deny beats it; allow-localhost=policy takes it away."""
    objects = [*BASE, cnp("p", "a", **SERVER_L3, ingress=[{}], egress=[{}])]
    rows: list[Row] = [("kube-system/agent", "a/server", "TCP", 80, True), ("192.168.0.1", "a/server", "TCP", 80, True),
                       ("kube-system/far", "a/server", "TCP", 80, False), ("a/server", "kube-system/agent", "TCP", 80,
                                                                           False)]
    check(objects, rows)
    check([*objects, cnp("d", "a", **SERVER_L3, ingressDeny=[{"fromEntities": ["host"]}])],
          [(s, d, p, n, False) for s, d, p, n, _ in rows])
    check(objects, [(s, d, p, n, False) for s, d, p, n, _ in rows], CiliumOptions(allow_localhost="policy"))


def test_cidr_matches_outside_addresses_only() -> None:
    """§4.2: toCIDR 10.0.0.0/8 does not reach pods in 10.244.0.0/16, nor nodes; except and CIDR groups; the
    `nodes` and `pods` match modes widen it."""
    group = {"apiVersion": "cilium.io/v2", "kind": "CiliumCIDRGroup", "metadata": {"name": "partners",
                                                                                   "labels": {"kind": "partner"}},
             "spec": {"externalCIDRs": ["198.51.100.0/24"]}}
    egress = cnp("p", "a", endpointSelector=labels(app="client"), egress=[
        {"toCIDR": ["10.0.0.0/8", "192.168.0.0/16"]},
        {"toCIDRSet": [{"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}, {"cidrGroupRef": "partners"}]},
        {"toCIDRSet": [{"cidrGroupSelector": labels(kind="partner")}], "toPorts": tcp(22)}])
    objects = [*BASE, group, egress]
    rows: list[Row] = [("a/client", "a/server", "TCP", 80, False), ("a/client", "10.244.0.2", "TCP", 80, False),
                       ("a/client", "10.9.9.9", "TCP", 80, True), ("a/client", "kube-system/far", "TCP", 80, False),
                       ("a/client", "192.168.0.2", "TCP", 80, False), ("a/client", "203.0.113.9", "TCP", 80, True),
                       ("a/client", "203.0.113.200", "TCP", 80, False), ("a/client", "198.51.100.7", "UDP", 5, True)]
    check(objects, rows)
    nodes = [(s, d, p, n, True if d in ("kube-system/far", "192.168.0.2") else want) for s, d, p, n, want in rows]
    check(objects, nodes, CiliumOptions(policy_cidr_match_mode=frozenset({"nodes"})))
    pods = [(s, d, p, n, True if d in ("a/server", "10.244.0.2") else want) for s, d, p, n, want in rows]
    check(objects, pods, CiliumOptions(policy_cidr_match_mode=frozenset({"pods"})))
    # NetworkPolicy's ipBlock the same way (§6.1)
    check([*BASE, policy("np", "a", labels(app="client"), policyTypes=["Egress"],
                         egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])],
          [("a/client", "a/server", "TCP", 80, False), ("a/client", WORLD, "TCP", 80, True),
           ("a/client", "kube-system/agent", "TCP", 80, False)])


def test_ports_protocols_and_icmp() -> None:
    """§5: an omitted protocol is ANY in a CNP (TCP, UDP, SCTP, never ICMP) and TCP in a NetworkPolicy; port 0
    is every port; endPort; named ports on the destination; icmps admit their types only."""
    cnp_rules = cnp("p", "a", **SERVER_L3, ingress=[
        {"fromEndpoints": [labels(app="client")], "toPorts": tcp(80, protocol=None)},
        {"fromEndpoints": [labels(app="client")], "toPorts": [{"ports": [{"port": "1000", "endPort": 1010,
                                                                           "protocol": "UDP"}]}]},
        {"fromEndpoints": [labels(app="client")], "toPorts": tcp("http", protocol="ANY")},
        {"fromEndpoints": [labels(app="client")], "icmps": [{"fields": [{"type": "EchoRequest"},
                                                                        {"family": "IPv6", "type": "EchoReply"}]}]},
        {"fromEntities": ["world"], "toPorts": tcp(0, protocol="SCTP")}])
    check([*BASE, cnp_rules], [
        ("a/client", "a/server", "TCP", 80, True), ("a/client", "a/server", "UDP", 80, True),
        ("a/client", "a/server", "SCTP", 80, True), ("a/client", "a/server", "ICMP", icmp_value(80, 0), False),
        ("a/client", "a/server", "UDP", 1010, True), ("a/client", "a/server", "UDP", 1011, False),
        ("a/client", "a/server", "TCP", 1005, False), ("a/client", "a/server", "TCP", 8080, True),
        ("a/client", "a/server", "UDP", 8080, False), ("a/client", "a/server", "ICMP", icmp_value(8, 0), True),
        ("a/client", "a/server", "ICMP", icmp_value(0, 0), False),
        ("a/client", "a/server", "ICMPv6", icmp_value(129, 0), True),
        ("a/client", "a/server", "ICMPv6", icmp_value(128, 0), False), (WORLD, "a/server", "SCTP", 65535, True),
        (WORLD, "a/server", "TCP", 1, False)])
    knp = policy("np", "a", labels(app="server"), ingress=[{"ports": [{"port": 80}, {"port": "http"}]}])
    check([*BASE, knp], [("a/client", "a/server", "TCP", 80, True), ("a/client", "a/server", "UDP", 80, False),
                         ("a/client", "a/server", "TCP", 8080, True),
                         ("a/client", "a/server", "ICMP", icmp_value(8, 0), False)])


def test_both_ends_must_allow() -> None:
    """§3.4: S -> D needs S's egress and D's ingress."""
    objects = [*BASE, cnp("out", "a", endpointSelector=labels(app="client"),
                          egress=[{"toEndpoints": [labels(app="server")], "toPorts": tcp(80, 81)}]),
               cnp("in", "a", **SERVER_L3, ingress=[{"fromEndpoints": [labels(app="client")], "toPorts": tcp(81)}])]
    check(objects, [("a/client", "a/server", "TCP", 80, False), ("a/client", "a/server", "TCP", 81, True),
                    ("a/client", "b/other", "TCP", 81, False), ("a/client", "a/client", "TCP", 1, True)])


def test_to_services() -> None:
    """§4.3: a Service by name or labels is its selected pods; no namespace is every namespace's Services."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "a",
                                                                "labels": {"tier": "backend"}},
           "spec": {"selector": {"app": "server"}, "ports": [{"port": 80}]}}
    for peer in ({"k8sService": {"serviceName": "api", "namespace": "a"}}, {"k8sService": {"serviceName": "api"}},
                 {"k8sServiceSelector": {"selector": labels(tier="backend")}}):
        check([*BASE, svc, cnp("p", "b", egress=[{"toServices": [peer]}])],
              [("b/other", "a/server", "TCP", 80, True), ("b/other", "a/client", "TCP", 80, False),
               ("b/other", WORLD, "TCP", 80, False)])
    check([*BASE, svc, cnp("p", "b", egress=[{"toServices": [{"k8sService": {"serviceName": "api",
                                                                             "namespace": "b"}}]}])],
          [("b/other", "a/server", "TCP", 80, False)])


def test_runtime_peers_match_nothing_but_isolate() -> None:
    """§1.2: toFQDNs never match a pod or node, and outside addresses only by DNS (assumed none); L7 rules admit
    the L4 connection."""
    check([*BASE, cnp("p", "a", endpointSelector=labels(app="client"), egress=[
        {"toFQDNs": [{"matchName": "example.com"}]},
        {"toEndpoints": [labels(app="server")], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}],
                                                              "rules": {"http": [{"method": "GET"}]}}]}])],
          [("a/client", WORLD, "TCP", 443, False), ("a/client", "a/server", "TCP", 80, True),
           ("a/client", "a/server", "TCP", 81, False)])


def test_identity_labels() -> None:
    """§2.1: labels the identity filter drops never match In; the service account and namespace labels do."""
    objects = [*BASE, pod("sts", "a", {"statefulset.kubernetes.io/pod-name": "sts-0", "app": "db"}, ip="10.244.0.9",
                          node="n1"),
               cnp("p", "a", **SERVER_L3, ingress=[
                   {"fromEndpoints": [labels(**{"statefulset.kubernetes.io/pod-name": "sts-0"})]},
                   {"fromEndpoints": [labels(**{"io.cilium.k8s.policy.serviceaccount": "default",
                                                "io.cilium.k8s.namespace.labels.team": "blue"})]}])]
    check(objects, [("a/sts", "a/server", "TCP", 80, False), ("b/other", "a/server", "TCP", 80, True),
                    ("a/client", "a/server", "TCP", 80, False)])


def test_network_policy_policy_types_under_cilium() -> None:
    """§6.1: policyTypes is ignored when rules exist (cilium#48703): `policyTypes: [Egress]` with ingress rules
    isolates ingress too."""
    knp = policy("np", "a", labels(app="server"), policyTypes=["Egress"],
                 ingress=[{"from": [{"podSelector": labels(app="client")}]}], egress=[{}])
    check([*BASE, knp], [("a/client", "a/server", "TCP", 80, True), ("b/other", "a/server", "TCP", 80, False)])


def test_the_dataplane_cluster_agrees_with_the_engine_s_cilium_column() -> None:
    """tests/unit/test_dataplane.py's NetworkPolicy-only cluster: the engine's Cilium truth table."""
    check(list(dataplane.OBJECTS), [(_key(s), _key(d), "TCP", 80, want)
                                    for (s, d), want in zip(dataplane.PAIRS, dataplane.TABLES["cilium"], strict=True)])


def _key(name: str) -> str:
    return name if "." in name else f"shop/{name}"


@pytest.mark.parametrize(("mode", "want"), [("default", [False, True]), ("always", [False, False]),
                                            ("never", [True, True])])
def test_enable_policy(mode: str, want: list[bool]) -> None:
    """§1.3 enable-policy: always isolates every endpoint (and, with no entries, not even its node passes);
    never enforces nothing."""
    objects = [*BASE, cnp("p", "a", **SERVER_L3, ingress=[{}])]
    cluster = load_objects(objects).cluster
    options = CiliumOptions(enable_policy=mode)  # type: ignore[arg-type]
    got = [cilium_allowed(cluster, cluster.pods_by_key["a/client"], cluster.pods_by_key["a/server"], "TCP", 80,
                          options),
           cilium_allowed(cluster, cluster.pods_by_key["kube-system/agent"], cluster.pods_by_key["a/client"], "TCP",
                          80, options)]
    assert got == want
