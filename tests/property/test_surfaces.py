"""Every surface tells the same truth: each output of random clusters, parsed back, is the engine's matrix.

Each example writes a random cluster (NetworkPolicies, and with Admin and Baseline policies) to a file, runs
the commands through typer's runner as a user would, parses what they print and compares it with the
all-port matrix (`Analyzer.matrix`, which test_agreement.py holds to the reference evaluator) and, for
outside addresses, with `Analyzer.allowed_ports`. The graph is compared on the possible pods (pods that could
exist, not in the input) too, with the engine `netpol graph` draws; the other surfaces that may name possible
pods are compared on the input's pods here (the lines about possible pods are left out when parsing), and their
possible-pod lines on concrete pods of the regions they name in test_surfaces_possible.py. Covered:
can-reach, matrix (JSON, CSV), list, exposure, graph (DOT and Mermaid, and its isolation marks), the report's
data, diff (JSON and text, between two random versions) and check (JSON and text).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netpol import Analyzer, load_objects
from netpol.analyses.diagram import ANY_POD, ANY_UNRESTRICTED_POD
from netpol.analyses.verdicts import Endpoint
from netpol.cli import app
from netpol.model import Cluster
from netpol.model.portsets import NO_PORTS
from tests.property.strategies import EXTERNAL, NODES, PROBES, cluster, tiered_cluster

# every ipBlock the strategies draw is IPv4: an IPv6 probe is in none, and every surface must still answer for it
OUTSIDE_PROBES = [*EXTERNAL, "2001:db8::7"]
BOTH = pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])
# SURFACES_EXAMPLES=200 runs more examples locally; CI keeps the default, about a minute per test
EXAMPLES = int(os.environ.get("SURFACES_EXAMPLES", "25"))
Test = Callable[[Any, st.DataObject], None]


def on_random_clusters(test: Test, share: float = 1) -> Test:
    """NetworkPolicies alone, and with random Admin and Baseline policies; a few examples each (every one
    runs the CLI), a `share` of them for a test that runs it many times per example."""
    chosen = settings(max_examples=max(1, round(EXAMPLES * share)), deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])
    return BOTH(chosen(given(data=st.data())(test)))  # type: ignore[no-any-return]


def fewer(share: float) -> Callable[[Test], Test]:
    return lambda test: on_random_clusters(test, share)


def random_cluster(data: st.DataObject, clusters: Any) -> tuple[list[dict[str, Any]], Analyzer]:
    objects = data.draw(clusters)
    return objects, Analyzer(load_objects(objects).cluster)
Truth = dict[tuple[str, str], str]  # (source, destination) -> ports, for the pairs that connect on some port


@contextmanager
def written(objects: list[dict[str, Any]]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(yaml.safe_dump_all(objects))
        yield path


def run(*args: str, code: int | tuple[int, ...] = 0) -> str:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code in ((code,) if isinstance(code, int) else code), (args, r.exit_code, r.stderr)
    return r.stdout


def truth(a: Analyzer) -> Truth:
    """The all-port matrix between the input's pods, one pod's traffic to itself left out."""
    m = a.matrix()
    return {(s.key, d.key): str(m.ports(s, d)) for s in a.cluster.pods for d in a.cluster.pods
            if not m.is_self(s, d) and m.ports(s, d)}


def outside_addresses(c: Cluster, probes: list[str] = OUTSIDE_PROBES
                      ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The probe addresses that belong to no pod (a pod's address is that pod)."""
    return [ip for ip in map(ipaddress.ip_address, probes) if not any(ip in p.ips for p in c.pods)]


def outside_truth(a: Analyzer, probes: list[str] = OUTSIDE_PROBES) -> Truth:
    """What each pod may send to and receive from each outside probe address (address as text)."""
    out: Truth = {}
    for p in a.cluster.pods:
        for ip in outside_addresses(a.cluster, probes):
            for src, dst, key in ((Endpoint(pod=p), Endpoint(ip=ip), (p.key, str(ip))),
                                  (Endpoint(ip=ip), Endpoint(pod=p), (str(ip), p.key))):
                ports = a.allowed_ports(src, dst)
                if ports:
                    out[key] = str(ports)
    return out


ADDRESS_NAME = re.compile(r"^(any address|any IPv[46] address|[0-9a-f.:/]+(, [0-9a-f.:/]+)*( except .+)?)(; .+)?$")


def in_addresses(name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Is `ip` in the addresses a surface names as `units.names` does: "any address", "a, b", "X except a,
    b", per IP version joined by "; "."""
    if name == "any address":
        return True
    for part in name.split("; "):
        if part.startswith("any IPv"):
            if part == f"any IPv{ip.version} address":
                return True
            continue
        whole, _, gaps = part.partition(" except ")
        nets = [ipaddress.ip_network(n) for n in whole.split(", ")]
        if any(ip.version == n.version and ip in n for n in nets) and not any(
                ip.version == g.version and ip in g for g in (ipaddress.ip_network(x) for x in gaps.split(", ") if x)):
            return True
    return False


def by_address(claims: dict[tuple[str, str], str], a: Analyzer, probes: list[str] = OUTSIDE_PROBES) -> Truth:
    """Claims naming address sets, turned into claims per outside probe address."""
    out: Truth = {}
    for (src, dst), ports in claims.items():
        if not ADDRESS_NAME.match(src if dst in a.cluster.pods_by_key else dst):
            continue  # possible pods ("any pod in namespace x"), or a pod pair
        for ip in outside_addresses(a.cluster, probes):
            if src in a.cluster.pods_by_key and dst not in a.cluster.pods_by_key and in_addresses(dst, ip):
                out[(src, str(ip))] = ports
            if dst in a.cluster.pods_by_key and src not in a.cluster.pods_by_key and in_addresses(src, ip):
                out[(str(ip), dst)] = ports
    return out


def real(claims: dict[tuple[str, str], str], a: Analyzer) -> Truth:
    pods = a.cluster.pods_by_key
    return {k: v for k, v in claims.items() if k[0] in pods and k[1] in pods}


# -- can-reach, matrix, list, exposure ---------------------------------------------------------------------


@on_random_clusters
def test_can_reach_text_and_json_are_the_matrix(clusters: Any, data: st.DataObject) -> None:
    objects, a = random_cluster(data, clusters)
    pods = a.cluster.pods
    src, dst = data.draw(st.sampled_from(pods)), data.draw(st.sampled_from(pods))
    protocol, port = data.draw(st.sampled_from(PROBES))
    m = a.matrix()
    want = m.is_self(src, dst) or m.ports(src, dst).contains(protocol, port)  # type: ignore[arg-type]
    with written(objects) as path:
        args = ("can-reach", src.key, dst.key, "-p", str(port), "--protocol", protocol, "-f", str(path))
        text = run(*args, code=(0, 1))
        verdict = json.loads(run(*args, "-o", "json", code=0 if want else 1))
    assert text.split(":", 1)[0] == ("ALLOWED" if want else "DENIED")
    assert verdict["allowed"] is want
    assert (verdict["source"], verdict["destination"], verdict["protocol"], verdict["port"]) == (
        src.key, dst.key, protocol, port)


@on_random_clusters
def test_matrix_json_and_csv_are_the_matrix(clusters: Any, data: st.DataObject) -> None:
    objects, a = random_cluster(data, clusters)
    want = truth(a)
    m = a.matrix()
    with written(objects) as path:
        as_json = json.loads(run("matrix", "-f", str(path), "-o", "json"))
        rows = list(csv.reader(io.StringIO(run("matrix", "-f", str(path), "-o", "csv"))))
    assert {(e["from"], e["to"]): e["ports"] for e in as_json["ports"]} == want
    assert {tuple(p) for p in as_json["allowed"]} == set(want)
    header, body = rows[0][1:], rows[1:]
    got = {(row[0], d): cell for row in body for d, cell in zip(header, row[1:], strict=True)}
    pods = a.cluster.pods_by_key
    assert got == {(s, d): "self" if m.is_self(pods[s], pods[d]) else want.get((s, d), "deny")
                   for s in pods for d in pods}


@on_random_clusters
def test_list_json_is_the_matrix(clusters: Any, data: st.DataObject) -> None:
    """Every connection between the input's pods, and with the outside probe addresses; possible pods left
    out."""
    objects, a = random_cluster(data, clusters)
    with written(objects) as path:
        rows = json.loads(run("list", "-f", str(path), "-o", "json"))["connections"]
    kept = [r for r in rows if r["source_kind"] != "region" and r["destination_kind"] != "region"]
    claims = {(r["source"], r["destination"]): r["ports"] for r in kept}
    assert len(claims) == len(kept)  # one line per pair
    assert real(claims, a) == truth(a)
    assert by_address(claims, a) == outside_truth(a)


@on_random_clusters
def test_exposure_json_is_the_matrix(clusters: Any, data: st.DataObject) -> None:
    """Each target's "reached by" and "reaches", as pod pairs and outside probe addresses, both ways; peers
    that are possible pods left out."""
    objects, a = random_cluster(data, clusters)
    with written(objects) as path:
        exposure_agrees(json.loads(run("exposure", "-f", str(path), "-o", "json"))["exposure"], a)


def exposure_agrees(items: list[dict[str, Any]], a: Analyzer) -> None:
    """`exposure -o json`'s items are the matrix (test_exposure_json_is_the_matrix)."""
    pods = a.cluster.pods_by_key
    inbound: dict[tuple[str, str], str] = {}
    outbound: dict[tuple[str, str], str] = {}
    for item in items:
        if item["target"] not in pods:
            continue  # possible pods
        for way, claims in (("reached_by", inbound), ("reaches", outbound)):
            for line in item[way]:
                for peer in line["peers"]:
                    key = (peer, item["target"]) if way == "reached_by" else (item["target"], peer)
                    assert key not in claims, key
                    claims[key] = line["ports"]
    assert {i["target"] for i in items} >= set(pods)
    assert real(inbound, a) == real(outbound, a) == truth(a)
    assert {**by_address(inbound, a), **by_address(outbound, a)} == outside_truth(a)


# -- graph ---------------------------------------------------------------------------------------------------

EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[label=(?:"([^"]*)"|([^\s\]]+))', re.M)
NODE = re.compile(r'^\s*"([^"]+)" \[label="([^"]*)"', re.M)
MERMAID_EDGE = re.compile(r'^\s*n_(\S+) -->\|"([^"]*)"\| n_(\S+)$', re.M)


def dot_edges(text: str) -> list[tuple[str, str, str]]:
    return [(unquote(s), unquote(t), q or u) for s, t, q, u in EDGE.findall(text)]


def mermaid_edges(text: str) -> list[tuple[str, str, str]]:
    """The edges of a Mermaid flowchart, ids and labels decoded back to the diagram's node names and ports."""
    def node(mermaid_id: str) -> str:
        return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), mermaid_id)

    def label(text: str) -> str:
        return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)

    return [(node(s), node(t), label(q)) for s, q, t in MERMAID_EDGE.findall(text)]


def graph_world(a: Analyzer) -> Analyzer:
    """The analyzer `netpol graph` draws: with every possible pod when the input has pods."""
    return Analyzer.with_possible(a.cluster) if a.cluster.pods else a


def stands_for(b: Analyzer, namespaces: set[str], focus: str | None = None) -> dict[str, set[str]]:
    """What each node of the picture drawn of `b` (with -n `namespaces`, or --focus) stands for, among the
    input's pods and the possible ones: a group its pods; "any pod in NS" every pod of NS, possible ones too;
    "any pod" every pod; "any pod whose egress is not restricted" every such pod."""
    from netpol.analyses.diagram import _egress_restricted

    engine = b.engine
    pods = b.cluster.pods
    out: dict[str, set[str]] = {ANY_POD: {p.key for p in pods}, ANY_UNRESTRICTED_POD: {
        p.key for p in pods if not _egress_restricted(engine, engine.class_of[p.key])}}
    for p in pods:
        out.setdefault(f"ns:{p.namespace}", set()).add(p.key)
    for box in b.diagram(namespaces=sorted(namespaces) or None, focus=focus).namespaces:
        for g in box.groups:
            out[g.id] = {p.key for p in g.pods}
    return out


def pod_truth(b: Analyzer) -> Callable[[str, str], str]:
    """The engine's ports between any two pods of `b`, possible ones too."""
    engine = b.engine

    def ports(s: str, d: str) -> str:
        return str(engine.allowed_ports(engine.class_of[s], engine.class_of[d]))

    return ports


@fewer(0.4)  # seven runs of the CLI per example
def test_graph_edges_are_true_for_every_pod_they_stand_for(clusters: Any, data: st.DataObject) -> None:
    """Every drawn edge holds for every pair of pods its ends stand for, of the input or possible (same
    ports); every true pair of the input's pods is drawn; with -n, true pairs with pods elsewhere that no edge
    shows are counted as hidden; with --focus, every true pair of the focus pod is drawn; and when every pod
    of a drawn namespace, of the input or possible, opens the same ports to a drawn pod (the focus pod), its
    possible pods are drawn as sources of that pod (as `list` names them), also when the input holds one pod
    there. DOT and Mermaid draw the same edges, and the isolation marks say what `exposure` says."""
    objects, a = random_cluster(data, clusters)
    namespaces = sorted({p.namespace for p in a.cluster.pods})
    chosen = data.draw(st.sets(st.sampled_from(namespaces), max_size=len(namespaces) - 1)) if namespaces else set()
    graph_agrees(objects, chosen, data.draw(st.sampled_from([p.key for p in a.cluster.pods])))


def plain(objects: list[dict[str, Any]]) -> Cluster:
    return load_objects(objects).cluster


def graph_agrees(objects: list[dict[str, Any]], chosen: set[str], focus: str | None = None,
                 cluster_of: Callable[[list[dict[str, Any]]], Cluster] = plain, extra: tuple[str, ...] = ()) -> None:
    """The checks of test_graph_edges_are_true_for_every_pod_they_stand_for on one input, drawn whole, with
    -n for each of `chosen`, and with --focus `focus`; `cluster_of` reads the input as the CLI given `extra`
    does (test_calico_surfaces: under --cni calico)."""
    a = Analyzer(cluster_of(objects))
    b = graph_world(a)
    want = truth(a)
    ports_of = pod_truth(b)
    one = {p.key for p in b.cluster.pods if p.is_one_pod}
    with written(objects) as path:
        pictures = []
        for picked, focused in ((set(), None), (chosen, None), *([(set(), focus)] if focus else [])):
            args = ("graph", "-f", str(path), *extra, *(x for ns in sorted(picked) for x in ("-n", ns)),
                    *(("--focus", focused) if focused else ()))
            dot = run(*args, "--format", "dot")
            assert sorted(mermaid_edges(run(*args, "--format", "mermaid"))) == sorted(dot_edges(dot))
            pictures.append((dot, picked, focused))
        exposure = json.loads(run("exposure", "-f", str(path), "-o", "json", *extra))["exposure"]
    # the isolation marks of the whole picture say what exposure says: ingress isolated by any tier, and egress
    # restricted (isolated, not only by policies that allow all egress)
    isolated_by = {e["target"]: e["isolated_by"] for e in exposure}
    of = stands_for(b, set())
    for node, label in NODE.findall(pictures[0][0]):
        if unquote(node) in of and not unquote(node).startswith(("ns:", ANY_POD, ANY_UNRESTRICTED_POD)):
            marks = re.search(r"\[((?:ingress|egress)(?: \+ egress)?) isolated\]", label)
            directions = marks.group(1).split(" + ") if marks else []
            for key in of[unquote(node)]:
                assert ("ingress" in directions) == bool(isolated_by[key]["ingress"]), (key, label)
                assert "egress" not in directions or isolated_by[key]["egress"], (key, label)
    for text, picked, focused in pictures:
        of = stands_for(b, picked, focused)
        shown = {p.key for p in a.cluster.pods if not picked or p.namespace in picked}
        wanted = {k for k in want if k[0] in shown and k[1] in shown and (not focused or focused in k)}
        got: dict[tuple[str, str], set[str]] = {}
        for src, dst, ports in dot_edges(text):
            if src.startswith("ext:") or dst.startswith("ext:"):
                continue  # outside addresses: list and exposure are compared with them
            for s in of[src]:
                for d in of[dst]:
                    if s != d or s not in one:
                        assert ports_of(s, d) == ports, ("an edge says more", src, s, dst, d)
                        got.setdefault((s, d), set()).add(ports)
        assert wanted <= set(got), "a true pair is not drawn"
        unseen = {k for k in want if (k[0] in shown) != (k[1] in shown) and k not in got}
        assert ("not drawn (without -n they are)" in text) == bool(unseen)
        for d in [focused] if focused else shown:
            for ns in {a.cluster.pods_by_key[k].namespace for k in shown}:
                pods = [p.key for p in b.cluster.pods if p.namespace == ns]  # a lone d too: its own traffic counts
                same = {ports_of(s, d) for s in pods}
                if len(same) == 1 and (ports := same.pop()) != str(NO_PORTS):
                    assert all((s, d) in got for s in pods if b.cluster.pods_by_key[s].hypothetical), (ns, d)


# -- the HTML report's data ----------------------------------------------------------------------------------


def report_data(path: Path) -> dict[str, Any]:
    """The JSON the page embeds, read back from the page as the browser reads it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.html"
        run("report", "-f", str(path), "-o", str(out))
        html = out.read_text()
    found = re.search(r'<script type="application/json" id="netpol-data">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@on_random_clusters
def test_report_cells_panels_and_summary_are_the_engines_answer(clusters: Any, data: st.DataObject) -> None:
    objects, a = random_cluster(data, clusters)
    want = truth(a)
    m = a.matrix()
    with written(objects) as path:
        page = report_data(path)
    cls = {p["key"]: p["cls"] for p in page["pods"]}
    pods = a.cluster.pods_by_key
    assert list(cls) == [p.key for p in a.cluster.pods]
    # cells: every pair, as the page's script shows them ("self" for one pod with itself)
    one = {p["key"]: p["one"] for p in page["pods"]}
    cells = {(s, d): page["cells"][f"{cls[s]},{cls[d]}"] for s in pods for d in pods}
    assert {k: "self" if k[0] == k[1] and one[k[0]] else page["portsets"][c[0]] for k, c in cells.items()} == {
        (s, d): "self" if m.is_self(pods[s], pods[d]) else want.get((s, d), "none") for s in pods for d in pods}
    # panels: for each pod, every pod and outside probe address it connects with, both ways, with the cell's
    # explanation for pods
    podsof: dict[int, list[str]] = {}
    for k, c in cls.items():
        podsof.setdefault(c, []).append(k)
    grouped = {k for g in page["groups"].values() for k in g["pods"]}
    assert grouped == set(pods)
    claims: dict[tuple[str, str], str] = {}
    for key in pods:
        panel = page["panels"][cls[key]]
        for way in ("in", "out"):
            for e in panel[way]:
                peers = [e["address"]] if e["address"] is not None else [k for c in e["classes"] for k in podsof[c]]
                for peer in peers:
                    pair = (peer, key) if way == "in" else (key, peer)
                    if pair[0] == pair[1] and m.is_self(pods[key], pods[key]):
                        continue
                    assert claims.setdefault(pair, page["portsets"][e["ports"]]) == page["portsets"][e["ports"]]
                    if e["address"] is None:
                        assert e["why"] == cells[pair][1]
    assert real(claims, a) == want
    assert by_address(claims, a) == outside_truth(a)
    # summary: counts in their own units
    s = page["summary"]
    assert (s["pods"], s["workloads"]) == (sum(p.workload is None for p in pods.values()),
                                           sum(p.workload is not None for p in pods.values()))
    for d in ("ingress", "egress"):
        # a NetworkPolicy of its namespace selects it for d (never a host-network pod)
        isolated = [p for p in pods.values() if not p.host_network and any(
            pol.namespace == p.namespace and pol.pod_selector.matches(p.label_map) and pol.affects(d)  # type: ignore[arg-type]
            for pol in a.cluster.policies)]
        assert s["isolated"][d] == {"pods": sum(p.workload is None for p in isolated),
                                    "workloads": sum(p.workload is not None for p in isolated)}


def test_graph_agrees_where_possible_pods_part_what_the_input_groups() -> None:
    """The shape that failed in CI, on inputs of my own: host-network pods that the input alone groups and the
    possible pods tell apart (an Admin Deny on one node address), and a lone pod whose sources are possible
    pods only, whole and with -n."""
    from tests.builders import namespace, pod, policy

    deny = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": "no-scraping"}, "spec": {
                "priority": 1, "subject": {"pods": {"namespaceSelector": {}, "podSelector": {}}},
                "egress": [{"action": "Deny", "to": [{"networks": ["192.168.0.2/32"]}],
                            "ports": [{"portNumber": {"protocol": "TCP", "port": 9100}}]}]}}
    graph_agrees([namespace("infra"), pod("agent", "infra", {"app": "agent"}, ip="192.168.0.1", host_network=True),
                  pod("exporter", "infra", {"app": "exporter"}, ip="192.168.0.2", host_network=True),
                  pod("web", "shop", {"app": "web"}), deny, policy("web", "shop", {"matchLabels": {"app": "web"}},
                  ingress=[{"from": [{"podSelector": {}}], "ports": [{"port": 80}]}])], {"shop"}, "shop/web")


# -- diff ------------------------------------------------------------------------------------------------------

POLICY_KINDS = {"NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"}
SIGNS = ("+ ", "- ", "~ ")  # a change's line in the text
DIFF_PROBES = [*OUTSIDE_PROBES, *sorted({a for n in NODES.values() for a in n["addresses"]})]  # nodes: Admin rules


def change_of(before: Truth, after: Truth) -> dict[tuple[str, str], tuple[str, str]]:
    """The pairs whose ports differ, with the ports before and after ("none": no connection)."""
    return {k: (before.get(k, "none"), after.get(k, "none")) for k in before.keys() | after.keys()
            if before.get(k) != after.get(k)}


@fewer(0.5)  # three runs of the CLI, of two versions, per example
def test_diff_json_and_text_are_the_change_of_the_matrix(clusters: Any, data: st.DataObject) -> None:
    """BASE is a random cluster, HEAD the same pods, nodes and namespaces under another random cluster's
    policies. --input-only's JSON, pair by pair and per outside probe address, is where the two versions'
    matrices differ (ports before and after); its text names the same sources and destinations; and the
    diff of every possible pod reports a change whenever the input's pods see one."""
    base = data.draw(clusters)
    other = data.draw(clusters)
    kept = [o for o in base if o["kind"] not in POLICY_KINDS]
    diff_agrees(base, kept + [o for o in other if o["kind"] in POLICY_KINDS])


def diff_agrees(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> None:
    """The checks of test_diff_json_and_text_are_the_change_of_the_matrix on one pair of versions."""
    a, b = (Analyzer(load_objects(objects).cluster) for objects in (base, head))
    want = change_of(truth(a), truth(b))
    want_outside = change_of(outside_truth(a, DIFF_PROBES), outside_truth(b, DIFF_PROBES))
    with written(base) as old, written(head) as new:
        code = (1,) if want or want_outside else (0, 1)  # the probes are not every address a change may be on
        verdict = json.loads(run("diff", str(old), str(new), "--input-only", "-o", "json", code=code))
        text = run("diff", str(old), str(new), "--input-only", code=1 if verdict["changed"] else 0)
        run("diff", str(old), str(new), "-o", "json", code=1 if verdict["changed"] else (0, 1))
    diff_claims_agree(verdict, text, a, want, want_outside, DIFF_PROBES)


def diff_claims_agree(verdict: dict[str, Any], text: str, a: Analyzer, want: dict[tuple[str, str], tuple[str, str]],
                      want_outside: dict[tuple[str, str], tuple[str, str]], probes: list[str]) -> None:
    """`diff --input-only`'s JSON is the change of the matrix (`want`, and `want_outside` at the `probes`), and its
    text names the same ends."""
    claims: dict[tuple[str, str], tuple[str, str]] = {}
    lines = []
    for c in verdict["changes"]:
        lines.append(f"{', '.join(c['sources'])} -> {c['destination']}: ")
        for src in c["sources"]:
            assert (src, c["destination"]) not in claims
            claims[(src, c["destination"])] = (c["before"], c["after"])
    assert verdict["changed"] is bool(verdict["changes"]) and not verdict["added_pods"] and not verdict["removed_pods"]
    assert real(claims, a) == want  # type: ignore[arg-type]
    assert by_address(claims, a, probes) == want_outside  # type: ignore[arg-type]
    body = text.splitlines()[1:]
    assert [line[2:line.index(": ", line.index(" -> ")) + 2] for line in body if line[:2] in SIGNS] == lines


# -- check -----------------------------------------------------------------------------------------------------


@on_random_clusters
def test_an_intent_written_from_the_matrix_passes_and_a_flipped_one_fails(clusters: Any, data: st.DataObject) -> None:
    """Each expectation's result, in JSON and text, is the matrix's answer: only the flipped one fails, on its one
    pair, with the engine's verdict."""
    objects, a = random_cluster(data, clusters)
    m = a.matrix()
    pods = a.cluster.pods
    pairs = [(s, d) for s in pods for d in pods if not m.is_self(s, d)]
    if not pairs:
        return
    chosen = data.draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=6, unique=True))
    expectations = []
    for i, (s, d) in enumerate(chosen):
        protocol, port = data.draw(st.sampled_from(PROBES))
        allowed = m.ports(s, d).contains(protocol, port)  # type: ignore[arg-type]
        expectations.append({"name": f"e{i}", "from": s.key, "to": d.key, "ports": [{"port": port, "protocol": protocol}],
                             "expect": "allow" if allowed else "deny"})
    flipped = data.draw(st.integers(0, len(expectations) - 1))
    wrong = [dict(e, expect={"allow": "deny", "deny": "allow"}[e["expect"]]) if i == flipped else e
             for i, e in enumerate(expectations)]
    with written(objects) as path:
        for name, items, code in (("right", expectations, 0), ("wrong", wrong, 1)):
            intent = path.parent / f"{name}.intent.yaml"
            intent.write_text(yaml.safe_dump({"apiVersion": "netpol/v1", "kind": "NetworkPolicyIntent",
                                              "expectations": items}))
            verdict = json.loads(run("check", str(intent), "-f", str(path), "-o", "json", code=code))
            text = run("check", str(intent), "-f", str(path), code=code)
            failed = {flipped} if name == "wrong" else set()
            assert [(r["name"], r["passed"], r["pairs"]) for r in verdict["results"]] == [
                (e["name"], i not in failed, 1) for i, e in enumerate(items)]
            for i, r in enumerate(verdict["results"]):  # the failing pair, with the engine's verdict on it
                s, d = chosen[i]
                assert [(f["source"], f["destination"], f["verdict"]["allowed"]) for f in r["failures"]] == (
                    [(s.key, d.key, expectations[i]["expect"] == "allow")] if i in failed else [])
            assert [line.split(" (")[0] for line in text.splitlines() if line.startswith(("PASS", "FAIL"))] == [
                f"{'FAIL' if i in failed else 'PASS'} {intent.name}: {e['name']}" for i, e in enumerate(items)]
