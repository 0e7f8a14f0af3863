"""The engine and the reference evaluator agree on every pair of random clusters."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects, reference_allowed
from netpol.analyses.diagram import ANY_POD, ANY_UNRESTRICTED_POD
from netpol.analyses.families import families
from netpol.model import Cluster, Dataplane
from netpol.policies.profiles import apply
from netpol.reference.cilium import cilium_allowed
from tests.property.strategies import EXTERNAL, ICMP_PROBES, PROBES, cluster, label_map, tiered_cluster

# NetworkPolicies alone, and with random Admin and Baseline policies (whose graphs have address sets).
BOTH = pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])


@BOTH
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_agrees_with_reference(clusters: Any, data: st.DataObject) -> None:
    """Point queries, probe matrices and the all-port matrix give the reference's answer on every pair,
    port and outside address; with Admin and Baseline policies of both API versions too (first match)."""
    _agrees(load_objects(data.draw(clusters)).cluster)


@pytest.mark.parametrize("dataplane", [Dataplane("cilium", False, False), Dataplane("calico", True, False)],
                         ids=["cilium", "calico"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_agrees_with_reference_per_dataplane(dataplane: Dataplane, data: st.DataObject) -> None:
    """The same under the plugins' answers (netpol/policies/profiles.py): an ipBlock that matches no pod or node
    address, and egress to a pod's own node that its policies decide. Under Cilium the engine compiles Cilium's
    union (netpol/policies/cilium.py), where a node address is the node's identity: its reference is Cilium's."""
    loaded = load_objects(data.draw(cluster()))
    if dataplane.profile == "cilium":  # as the profile reads the input (policyTypes widened, cilium#48703)
        c = apply(loaded, "cilium").cluster
        _agrees(c, cilium_allowed)
    else:
        _agrees(replace(loaded.cluster, dataplane=dataplane))


def _agrees(c: Cluster, reference_allowed: Callable[..., bool] = reference_allowed) -> None:
    analyzer = Analyzer(c)
    ports_matrix = analyzer.matrix()
    assert {(s.key, d.key) for s, d in ports_matrix.allowed_pairs()} == {  # rows expanded with numpy
        (s.key, d.key) for s in c.pods for d in c.pods if not ports_matrix.is_self(s, d) and ports_matrix.ports(s, d)}
    for protocol, port in [*PROBES, *ICMP_PROBES]:
        m = analyzer.matrix(port, protocol)
        assert {(s.key, d.key) for s, d in m.allowed_pairs()} == {
            (s.key, d.key) for s in c.pods for d in c.pods
            if not m.is_self(s, d) and reference_allowed(c, s, d, protocol, port)}  # type: ignore[arg-type]
        for src in c.pods:
            for dst in c.pods:
                want = reference_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
                assert m.allowed(src, dst) == want, (src.key, dst.key, protocol, port)
                assert analyzer.can_reach(src.key, dst.key, port, protocol).allowed == want, (src.key, dst.key)
                if not m.is_self(src, dst):
                    assert ports_matrix.ports(src, dst).contains(protocol, port) == want  # type: ignore[arg-type]
            for ip in EXTERNAL:
                addr = ipaddress.ip_address(ip)
                owners = [p for p in c.pods if addr in p.ips]
                if owners:
                    continue  # the address is a pod's: covered by the pod pairs
                out = analyzer.can_reach(src.key, ip, port, protocol).allowed
                assert out == reference_allowed(c, src, addr, protocol, port), (src.key, ip)  # type: ignore[arg-type]
                inn = analyzer.can_reach(ip, src.key, port, protocol).allowed
                assert inn == reference_allowed(c, addr, src, protocol, port), (ip, src.key)  # type: ignore[arg-type]


@BOTH
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_allow_graph_agrees_with_reference(clusters: Any, data: st.DataObject) -> None:
    """Edges between classes, and to/from external nodes, give the reference's answers."""
    c = load_objects(data.draw(clusters)).cluster
    engine = Analyzer(c).engine
    g = engine.graph
    for protocol, port in [*PROBES, *ICMP_PROBES]:
        for src in c.pods:
            s = engine.class_of[src.key]
            for dst in c.pods:
                if src.key == dst.key and src.is_one_pod:
                    continue
                d = engine.class_of[dst.key]
                edge = g.get_edge_data(s, d)
                got = edge is not None and edge["ports"].contains(protocol, port)
                assert got == reference_allowed(c, src, dst, protocol, port)  # type: ignore[arg-type]
            for ip in EXTERNAL:
                addr = ipaddress.ip_address(ip)
                if any(addr in p.ips for p in c.pods) or addr == src.host_ip:
                    continue  # a pod's, or its node's: the graph draws no single addresses (docs/semantics.md)
                out_nodes = [n for n in g.successors(s) if _admits(engine, n, addr)]
                in_nodes = [n for n in g.predecessors(s) if _admits(engine, n, addr)]
                out = any(g.edges[s, n]["ports"].contains(protocol, port) for n in out_nodes)
                inn = any(g.edges[n, s]["ports"].contains(protocol, port) for n in in_nodes)
                assert out == reference_allowed(c, src, addr, protocol, port)  # type: ignore[arg-type]
                assert inn == reference_allowed(c, addr, src, protocol, port)  # type: ignore[arg-type]


def _admits(engine: Any, node: Any, addr: Any) -> bool:
    data = engine.graph.nodes[node]
    if data["kind"] != "external":
        return False
    if "within" in data:  # a tiered graph's address set: exactly the addresses in these blocks
        return bool(data["within"] == tuple(b for b in engine.blocks if b.contains(addr)))
    return data["block"] is None or data["block"].contains(addr)


@BOTH
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_collapsed_diagram_says_exactly_what_the_matrix_says(clusters: Any, data: st.DataObject) -> None:
    """Expanding every group, namespace and 'any pod' node back to pods gives the pod matrix."""
    c = load_objects(data.draw(clusters)).cluster
    analyzer = Analyzer(c)
    d = analyzer.diagram()
    got = _expanded(c, d, d)
    m = analyzer.matrix()
    want = {(s.key, t.key): {str(m.ports(s, t))} for s in c.pods for t in c.pods
            if not m.is_self(s, t) and m.ports(s, t)}
    assert {k: v for k, v in got.items() if not k[0].startswith("ext:") and not k[1].startswith("ext:")} == want
    engine = analyzer.engine
    external = {(s, t): v for (s, t), v in got.items() if s.startswith("ext:") or t.startswith("ext:")}
    assert external == {
        (_ext(engine.graph, u, p.key), _ext(engine.graph, v, p.key)): {str(data["ports"])}
        for u, v, data in engine.graph.edges(data=True)
        if isinstance(u, str) or isinstance(v, str)
        for p in engine.classes[v if isinstance(u, str) else u].pods
    }


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_focus_diagram_is_exactly_the_focus_pods_row_and_column(clusters: Any, data: st.DataObject) -> None:
    """graph --focus is built from one class's neighbourhood, not the whole graph; expanded, its edges are
    exactly the matrix entries from and to the focus pod."""
    c = load_objects(data.draw(clusters)).cluster
    if not c.pods:
        return
    analyzer = Analyzer(c)
    focus = data.draw(st.sampled_from(c.pods))
    d = analyzer.diagram(focus=focus.key)
    # "any pod not isolated for egress" means the same pods in both pictures: take them from the whole one
    got = {k: v for k, v in _expanded(c, d, analyzer.diagram()).items()
           if not k[0].startswith("ext:") and not k[1].startswith("ext:")}
    m = analyzer.matrix()
    want = {(s.key, t.key): {str(m.ports(s, t))} for s in c.pods for t in c.pods
            if focus.key in (s.key, t.key) and not m.is_self(s, t) and m.ports(s, t)}
    assert got == want


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_namespace_diagram_is_exactly_its_pods_rows_and_columns(clusters: Any, data: st.DataObject) -> None:
    """graph -n is built from the drawn namespaces' rows and columns, not the whole graph: expanded, its
    edges say only true things, every pair between drawn pods is there, and a true pair between a drawn
    pod and a pod elsewhere that no drawn edge shows is counted as hidden."""
    c = load_objects(data.draw(clusters)).cluster
    if not c.pods:
        return
    analyzer = Analyzer(c)
    wanted = data.draw(st.sets(st.sampled_from(sorted({p.namespace for p in c.pods})), min_size=1))
    d = analyzer.diagram(namespaces=sorted(wanted))
    got = {k: v for k, v in _expanded(c, d, analyzer.diagram()).items()
           if not k[0].startswith("ext:") and not k[1].startswith("ext:")}
    m = analyzer.matrix()
    truth = {(s.key, t.key): {str(m.ports(s, t))} for s in c.pods for t in c.pods
             if not m.is_self(s, t) and m.ports(s, t)}
    drawn = {p.key for p in c.pods if p.namespace in wanted}
    assert all(truth.get(k) == v for k, v in got.items())
    assert {k: v for k, v in truth.items() if k[0] in drawn and k[1] in drawn} == {
        k: v for k, v in got.items() if k[0] in drawn and k[1] in drawn}
    unseen = {k for k in truth if (k[0] in drawn) != (k[1] in drawn) and k not in got}
    assert bool(d.hidden_edges) == bool(unseen)


def _expanded(c: Any, d: Any, whole: Any) -> dict[tuple[str, str], set[str]]:
    """The diagram's edges with every group, namespace and 'any pod' node expanded to pods (`whole`: the
    unfiltered diagram, which says which pods 'any pod not isolated for egress' stands for)."""
    members: dict[str, set[str]] = {ANY_POD: {p.key for p in c.pods}, ANY_UNRESTRICTED_POD: set()}
    for box in d.namespaces:
        members[f"ns:{box.name}"] = {p.key for p in c.pods if p.namespace == box.name}
        for g in box.groups:
            members[g.id] = {p.key for p in g.pods}
    for box in whole.namespaces:
        for g in box.groups:
            if not g.egress_isolated:
                members[ANY_UNRESTRICTED_POD] |= {p.key for p in g.pods}
    got: dict[tuple[str, str], set[str]] = {}
    for e in d.edges:
        for s in members.get(e.source, {e.source}):
            for t in members.get(e.target, {e.target}):
                if s != t or not c.pods_by_key[s].is_one_pod:
                    got.setdefault((s, t), set()).add(str(e.ports))
    return got


def _ext(g: Any, node: Any, pod_key: str) -> str:
    if isinstance(node, int):
        return pod_key
    if "within" in g.nodes[node]:
        return f"ext:{node}"
    block = g.nodes[node]["block"]
    return "ext:any" if block is None else f"ext:{block}"


POLICY_KINDS = ("NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy")


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_diff_reports_exactly_the_changed_pod_pairs(clusters: Any, data: st.DataObject) -> None:
    """Same pods, policies from another random cluster: the diff is the difference of the two matrices."""
    from netpol.analyses.diff import diff

    base_objects, other = data.draw(clusters), data.draw(clusters)
    pods_and_namespaces = [o for o in base_objects if o["kind"] not in POLICY_KINDS]
    namespaces = {o["metadata"]["name"] for o in pods_and_namespaces if o["kind"] == "Namespace"}
    head_policies = [o for o in other if o["kind"] in POLICY_KINDS[1:]
                     or (o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] in namespaces)]
    base = Analyzer(load_objects(base_objects).cluster)
    head = Analyzer(load_objects(pods_and_namespaces + head_policies).cluster)
    got = {(s, c.destination): (str(c.before), str(c.after)) for c in diff(base, head).changes for s in c.sources
           if s in base.cluster.pods_by_key and c.destination in base.cluster.pods_by_key}  # pod pairs
    mb, mh = base.matrix(), head.matrix()
    want = {}
    for src in base.cluster.pods:
        for dst in base.cluster.pods:
            if not mb.is_self(src, dst):
                before = mb.ports(src, dst)
                after = mh.ports(head.cluster.pods_by_key[src.key], head.cluster.pods_by_key[dst.key])
                if before != after:
                    want[(src.key, dst.key)] = (str(before), str(after))
    assert got == want


@st.composite
def _edited(draw: st.DrawFn, clusters: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A random cluster and a version of it with a few edits of some kinds: policies dropped, rewritten
    or added; pods relabelled, dropped or added; namespace labels changed. Most objects stay as they were,
    so most classes' rows and columns are not recomputed."""
    base, other = draw(clusters), draw(clusters)
    kinds = draw(st.sets(st.sampled_from(["Pod", "Namespace", *POLICY_KINDS]), min_size=1))
    spare = [o for o in other if o["kind"] in kinds and o["kind"] not in ("Namespace", "BaselineAdminNetworkPolicy")]
    head = []
    for obj in base:
        edit = draw(st.integers(0, 4)) if obj["kind"] in kinds else None
        if edit == 0:
            continue  # dropped
        if edit == 1 and obj["kind"] in ("Pod", "Namespace"):
            obj = {**obj, "metadata": {**obj["metadata"], "labels": draw(label_map())}}
        elif edit == 1:
            like = [o for o in other if o["kind"] == obj["kind"]]
            if like:  # the same policy, rewritten
                obj = {**draw(st.sampled_from(like)), "metadata": obj["metadata"]}
        head.append(obj)
    for i, obj in enumerate(draw(st.lists(st.sampled_from(spare), max_size=2)) if spare else []):
        head.append({**obj, "metadata": {**obj["metadata"], "name": f"added{i}"}})
    return base, head


@BOTH
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rows_and_columns_are_the_class_graph(clusters: Any, data: st.DataObject) -> None:
    """Every class's row and column, built from its own rules and the inverted index (netpol.engine.slices),
    has the class graph's ports on every edge (the graph agrees with the reference above)."""
    from netpol.engine.slices import PortCodes, Slices
    from netpol.model.portsets import NO_PORTS

    engine = Analyzer(load_objects(data.draw(clusters)).cluster).engine
    codes = PortCodes.common(engine)
    slices = Slices(engine, codes, range(len(engine.classes)), range(len(engine.classes)))
    g = engine.graph
    n = len(engine.classes)

    def edge(s: int, d: int) -> Any:
        found = g.get_edge_data(s, d)
        return NO_PORTS if found is None else found["ports"]

    for c in range(n):
        row, column = slices.row(c), slices.column(c)
        assert [codes.decode(row[d]) for d in range(n)] == [edge(c, d) for d in range(n)], c
        assert [codes.decode(column[s]) for s in range(n)] == [edge(s, c) for s in range(n)], c


@BOTH
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_diff_of_a_few_edits_is_the_pairwise_comparison(clusters: Any, data: st.DataObject) -> None:
    """Only the edited rows and columns are computed (netpol.engine.slices): the changes are still exactly
    those that comparing every pod pair, and every pod with every outside node, finds."""
    from netpol.analyses.diff import diff

    base_objects, head_objects = data.draw(_edited(clusters))
    base, head = Analyzer(load_objects(base_objects).cluster), Analyzer(load_objects(head_objects).cluster)
    got = {(s, c.destination, str(c.before), str(c.after)) for c in diff(base, head).changes for s in c.sources}
    assert got == _pairwise(base, head)


def _pairwise(base: Analyzer, head: Analyzer) -> set[tuple[str, str, str, str]]:
    """The diff the slow way: every pair of pods through each version's class graph, and each pod with
    every range of outside addresses that both versions' blocks cut, range by range."""
    from netpol.analyses.phrases import address_phrase
    from netpol.model.portsets import NO_PORTS

    sides = (base.engine, head.engine)
    keys = sorted(set(sides[0].class_of) | set(sides[1].class_of))
    several = {p.key for a in (base, head) for p in a.cluster.pods if not p.is_one_pod}

    def edge(e: Any, src: Any, dst: Any) -> Any:
        data = None if src is None or dst is None else e.graph.get_edge_data(src, dst)
        return NO_PORTS if data is None else data["ports"]

    out = set()

    def compare(src: str, dst: str, before: Any, after: Any) -> None:
        if before != after:
            out.add((src, dst, str(before), str(after)))

    for s in keys:
        for d in keys:
            if s != d or s in several:
                compare(s, d, *(edge(e, e.class_of.get(s), e.class_of.get(d)) for e in sides))
    ranges = sides[0].address_ranges(blocks=sides[1].blocks)  # both versions' cuts: a common refinement
    every = [n for r in ranges for n in r.networks]
    for k in keys:
        for direction in ("egress", "ingress"):
            alike: dict[tuple[Any, Any], list[Any]] = {}
            for r in ranges:  # each range asked in both versions; ranges that changed alike are one endpoint
                ports = tuple(NO_PORTS if k not in e.class_of else e.external_ports(direction, e.class_of[k], r.first)
                              for e in sides)
                alike.setdefault(ports, []).extend(r.networks)
            for (before, after), nets in alike.items():
                name = address_phrase(nets, every)
                compare(*((k, name) if direction == "egress" else (name, k)), before, after)
    return out


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_classes_reaching_a_target_agree_with_reference(clusters: Any, data: st.DataObject) -> None:
    """`Engine.reaching` (lint's DNS check) names exactly the classes with a pod the reference lets reach
    a pod of the target class, a pod's traffic to itself left out."""
    c = load_objects(data.draw(clusters)).cluster
    engine = Analyzer(c).engine
    if not engine.classes:
        return
    target = engine.classes[data.draw(st.integers(0, len(engine.classes) - 1))]
    for protocol, port in [*PROBES, *ICMP_PROBES]:
        got = engine.reaching(1 << target.id, (protocol, port))  # type: ignore[arg-type]
        want = {s.id for s in engine.classes for p in s.pods for q in target.pods
                if (p is not q or not p.is_one_pod) and reference_allowed(c, p, q, protocol, port)}  # type: ignore[arg-type]
        assert {s.id for s in engine.classes if (got >> s.id) & 1} == want, (protocol, port)


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_only_expectations_checked_per_class_find_every_allowed_other_pod(clusters: Any, data: st.DataObject) -> None:
    """`only` checks the pods it does not list per class, evaluating only the classes the destination's
    ingress could admit; it must find exactly the pods a pod-by-pod check finds."""
    from netpol.analyses.check import _Columns, _Covered, _others
    from netpol.analyses.verdicts import Endpoint
    from netpol.model.portsets import PortSet

    c = load_objects(data.draw(clusters)).cluster
    if not c.pods:
        return
    analyzer = Analyzer(c)
    dst = Endpoint(pod=data.draw(st.sampled_from(c.pods)))
    listed = {p.key for p in data.draw(st.lists(st.sampled_from(c.pods), max_size=3))}
    wanted = data.draw(st.sampled_from([PortSet.of([("TCP", 1, 65535), ("UDP", 1, 65535), ("SCTP", 1, 65535)]),
                                        PortSet.of([("TCP", 80, 80)]), PortSet.of([("UDP", 53, 53)])]))
    count, found = _others(analyzer, _Columns(analyzer, _Covered(frozenset(listed), ()), [dst.name]), dst, wanted)
    others = [p for p in c.pods if p.key not in listed and (p.key != dst.name or not p.is_one_pod)]
    want = [(p.key, str(w)) for p in others
            for w in [wanted.intersection(analyzer.allowed_ports(Endpoint(pod=p), dst))] if w]
    assert count == len(others)
    assert [(e.name, str(w)) for e, w, _ in found] == want


@BOTH
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_open_world_anchors_hold_for_every_possible_pod(clusters: Any, data: st.DataObject) -> None:
    """With the possible pods, an anchor stands for every pod it names, of the input and possible: each
    such pod has exactly the edge's ports to the edge's target (a target group: each of its pods)."""
    c = load_objects(data.draw(clusters)).cluster
    if not c.pods:
        return
    analyzer = Analyzer.with_possible(c)
    d = analyzer.diagram()
    engine, views = analyzer.engine, families(analyzer.engine)
    pods = analyzer.cluster.pods
    restricted = {g.id for box in d.namespaces for g in box.groups if g.egress_isolated}
    real_restricted = {p.key for box in d.namespaces for g in box.groups if g.id in restricted for p in g.pods}
    members = {ANY_POD: list(pods),
               ANY_UNRESTRICTED_POD: [p for p in pods if p.key not in real_restricted and not (
                   p.hypothetical and (views.is_restricted("egress", engine.class_of[p.key])
                                       or views.tier_isolating("egress", engine.class_of[p.key])))]}
    for box in d.namespaces:
        members[f"ns:{box.name}"] = [p for p in pods if p.namespace == box.name]
    targets = {g.id: g.pods for box in d.namespaces for g in box.groups}
    for e in d.edges:
        if e.source not in members or e.target not in targets:
            continue
        for t in targets[e.target]:
            for s in members[e.source]:
                if s.key != t.key or not t.is_one_pod:
                    got = engine.allowed_ports(engine.class_of[s.key], engine.class_of[t.key])
                    assert got == e.ports, (e, s.key, t.key)
