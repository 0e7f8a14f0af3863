"""The report's data (netpol/analyses/report.py) and page (render/report.py), without a browser."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

import netpol.analyses.report
import netpol.render.report
from netpol.analyses.report import (
    DIFF_SCOPE,
    REPORT_SCOPE,
    build_report,
    diff_assumptions,
    diff_verdicts,
    input_title,
    port_intervals,
)
from netpol.render.report import _page, diff_html, report_html
from tests.builders import analyzer, fixture, pod, policy, workload


def cells_by_pod(data: dict, pods: list) -> dict[tuple[str, str], str]:  # type: ignore[type-arg]
    cls = {p["key"]: p["cls"] for p in data["pods"]}
    return {(s, d): data["portsets"][data["cells"][f"{cls[s]},{cls[d]}"][0]] for s in pods for d in pods}


@pytest.mark.parametrize("name", ["limit", "specific-port", "egress-allow-dns", "tiered-pass-v1alpha2"])
def test_every_cell_is_the_matrix_answer(name: str) -> None:
    a = fixture(name)
    data = build_report(a, None, None).data
    m = a.matrix()
    keys = [p.key for p in a.cluster.pods]
    got = cells_by_pod(data, keys)
    for s in m.pods:
        for d in m.pods:
            want = "self" if m.is_self(s, d) else str(m.ports(s, d))
            assert got[(s.key, d.key)] == want, (s.key, d.key)


def test_explanations_name_the_deciding_policy_and_rule() -> None:
    data = build_report(fixture("limit"), None, None).data
    cls = {p["key"]: p["cls"] for p in data["pods"]}
    denied = data["explanations"][data["cells"][f"{cls['default/test-1']},{cls['default/apiserver']}"][1]]
    assert denied == ("egress of the source: not isolated: every port allowed\n"
                      "ingress of the destination: isolated by default/api-allow; no rule matches")
    allowed = data["explanations"][data["cells"][f"{cls['default/test-2']},{cls['default/apiserver']}"][1]]
    assert allowed.endswith("isolated by default/api-allow; default/api-allow ingress[0] allows all")


def test_many_classes_keep_only_pairs_within_a_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netpol.analyses.report, "CLASS_LIMIT", 1)
    a = analyzer(pod("a", "x", {"app": "a"}), pod("b", "y", {"app": "b"}),
                 policy("p", "x", {"matchLabels": {"app": "a"}}), policy("q", "y", {"matchLabels": {"app": "b"}}))
    report = build_report(a, None, None)
    assert report.namespace_level and report.data["within_namespaces"]
    cls = {p["key"]: p["cls"] for p in report.data["pods"]}
    assert set(report.data["cells"]) == {f"{cls['x/a']},{cls['x/a']}", f"{cls['y/b']},{cls['y/b']}"}


def test_port_intervals_cut_at_every_rule_port() -> None:
    a = analyzer(pod("web", ports=[(8080, "TCP", "http")]), policy(
        "p", ingress=[{"ports": [{"port": 80, "endPort": 90}, {"port": "http"}, {"port": 53, "protocol": "UDP"}]}]))
    assert port_intervals(a) == ["TCP:1-79", "TCP:80-90", "TCP:91-8079", "TCP:8080", "TCP:8081-65535",
                                 "UDP:1-52", "UDP:53", "UDP:54-65535", "SCTP:all", "ICMP:all", "ICMPv6:all"]


def test_the_page_loads_nothing_and_runs_only_its_own_script() -> None:
    a = fixture("limit")
    html = report_html(build_report(a, None, None), None, a.explain(), a.explain_tiers(), None, "t")
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert csp.group(1) == f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from anywhere


def test_embedded_data_cannot_close_its_script_element() -> None:
    """Not "</script>", and not "<!--<script>" either (which makes the next "</script>" not end the data,
    so the page's own script becomes part of it): "<", ">" and "&" never appear raw in the data."""
    hostile = {"name": "</script><script>alert(1)</script>\u2028", "rule": "<!--<script>", "x": "a&b\u2029>"}
    html = _page("t", "", "", hostile)
    payload = re.search(r'<script type="application/json" id="netpol-data">(.*?)</script>', html, re.S)
    assert payload is not None
    assert not set(payload.group(1)) & set("<>&\u2028\u2029")
    assert json.loads(payload.group(1)) == hostile


def test_diff_page_explains_both_sides() -> None:
    from netpol.analyses.diff import diff

    base, head = fixture("deny-all"), fixture("allow-all")
    d = diff(base, head)
    verdicts = diff_verdicts(base, head, d.changes)
    html = diff_html(d, verdicts, "t", ())
    assert html.count('<tr class="change"') == len(d.changes) == 4
    change = next(c for c in d.changes if c.destination == "default/test-1")
    before, after = verdicts[change]
    assert not isinstance(before, str) and not isinstance(after, str)
    assert (before.allowed, after.allowed) == (False, True)


def test_tiered_explanations_name_the_tier_rule_and_the_pass() -> None:
    texts = build_report(fixture("tiered-pass-v1alpha2"), None, None).data["explanations"]
    assert any("handed on by CNP gryffindor-delegates priority 10 ingress[0] 'let-namespaces-decide' (Pass)" in t
               for t in texts)


def panel_of(data: dict, key: str) -> dict[str, set[tuple[str, str]]]:  # type: ignore[type-arg]
    """A pod's graph panel as (peer, ports) per direction: peers as pod keys, or an outside address set."""
    podsof: dict[int, list[str]] = {}
    for p in data["pods"]:
        podsof.setdefault(p["cls"], []).append(p["key"])
    cls = next(p["cls"] for p in data["pods"] if p["key"] == key)
    return {way: {(peer, data["portsets"][e["ports"]]) for e in data["panels"][cls][way]
                  for peer in ([e["address"]] if e["address"] is not None else
                               [k for c in e["classes"] for k in podsof[c]])}
            for way in ("in", "out")}


def test_graph_panel_is_the_engines_answer_not_the_collapsed_diagram() -> None:
    """limit: apiserver is isolated for ingress (only test-2 may reach it) but not for egress, so it reaches
    both other pods and any address; the collapsed diagram draws those edges from "any pod"."""
    a = fixture("limit")
    data = build_report(a, None, a.diagram()).data
    assert panel_of(data, "default/apiserver") == {
        "in": {("default/test-2", "all")},
        "out": {("default/test-1", "all"), ("default/test-2", "all"), ("any address", "all")}}
    assert panel_of(data, "default/test-1") == {
        "in": {("default/apiserver", "all"), ("default/test-2", "all"), ("any address", "all")},
        "out": {("default/test-2", "all"), ("any address", "all")}}


def test_graph_panel_of_a_tiered_input_names_address_sets_with_their_exact_ports() -> None:
    """An Admin deny to 10.0.0.0/8 with a default allow elsewhere: the panel names both address sets."""
    a = analyzer(pod("web", labels={"app": "web"}), {
        "apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
        "metadata": {"name": "no-private"},
        "spec": {"priority": 1, "subject": {"namespaces": {}},
                 "egress": [{"action": "Deny", "to": [{"networks": ["10.0.0.0/8"]}],
                             "ports": [{"portNumber": {"protocol": "TCP", "port": 443}}]}]}})
    data = build_report(a, None, a.diagram()).data
    everything_but_443 = "TCP:1-442,444-65535 UDP:all SCTP:all ICMP:all ICMPv6:all"  # a rule with ports denies no ICMP
    assert panel_of(data, "default/web") == {
        "in": {("any address", "all")},
        "out": {("10.0.0.0/8", everything_but_443), ("0.0.0.0/0 except 10.0.0.0/8; any IPv6 address", "all")}}


def test_diff_page_colours_each_way_a_change_goes() -> None:
    """Opening (gained) and widening (changed, more ports) had one colour; each way now has its own."""
    from netpol.analyses.diff import Change, ReachabilityDiff
    from netpol.model.portsets import NO_PORTS, PortSet

    def ports(*spec: tuple[str, int, int]) -> PortSet:
        return PortSet.of(list(spec))  # type: ignore[arg-type]

    tcp80, tcp80_443, udp53 = ports(("TCP", 80, 80)), ports(("TCP", 80, 80), ("TCP", 443, 443)), ports(("UDP", 53, 53))
    changes = (Change("gained", ("x/a",), "x/b", NO_PORTS, tcp80), Change("changed", ("x/a",), "x/c", tcp80, tcp80_443),
               Change("changed", ("x/a",), "x/d", tcp80_443, tcp80), Change("changed", ("x/a",), "x/e", tcp80, udp53),
               Change("lost", ("x/a",), "x/f", tcp80, NO_PORTS))
    html = diff_html(ReachabilityDiff(changes, (), ()), {}, "t", ())
    assert re.findall(r'<tr class="change" data-kind="(\w+)"><td class="(\w+)">', html) == [
        ("gained", "opened"), ("changed", "widened"), ("changed", "narrowed"), ("changed", "reshaped"),
        ("lost", "closed")]
    css = netpol.render.report._asset("report.css")
    colours = {k: re.search(rf"\.{k}{{color:(#\w+)", css).group(1)  # type: ignore[union-attr]
               for k in ("opened", "widened", "narrowed", "reshaped", "closed")}
    assert len(set(colours.values())) == 5


def test_summary_counts_pods_and_workloads_apart() -> None:
    """A pod and a workload of 3 replicas, both isolated for ingress: "2 pods isolated" beside "1 pod, 1
    workload" mixed the units; each count now says its own."""
    a = analyzer(pod("a"), workload("w", replicas=3, labels={"app": "w"}), policy("p"))
    html = report_html(build_report(a, None, None), None, a.explain(), a.explain_tiers(), None, "t")
    rows = dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", html))
    assert (rows["pods"], rows["workloads"]) == ("1", "1")
    assert rows["isolated for ingress by a NetworkPolicy"] == "1 of 1 pods, 1 of 1 workloads"
    assert rows["isolated for egress by a NetworkPolicy"] == "0 of 1 pods, 0 of 1 workloads"
    assert 'id="no-pods"' not in html


def test_a_policy_only_page_says_why_it_is_empty_and_what_to_run() -> None:
    a = analyzer(policy("p"))
    html = report_html(build_report(a, None, None), None, a.explain(), a.explain_tiers(), None, "t")
    note = re.search(r'<p id="no-pods"[^>]*>(.*?)</p>', html, re.S)
    assert note is not None
    assert "no pods or workloads" in note.group(1) and "<code>netpol list -f PATH</code>" in note.group(1)


def test_title_names_a_dot_folder_by_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert input_title(["."]) == "shop (.)"
    assert input_title(["./", "k8s/app.yaml", "-"]) == "shop (./), k8s/app.yaml, standard input"
    assert input_title(["sub/.."]) == "shop (sub/..)"
    assert input_title(None) == "live cluster"


def test_report_command_titles_the_page_with_the_folder_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from netpol.cli import app
    from tests.builders import FIXTURES

    monkeypatch.chdir(FIXTURES / "limit")
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", "-f", ".", "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    assert "<title>netpol report: limit (.)</title>" in out.read_text()


SELF = "a pod's traffic to itself ('self') is assumed allowed"


def assumption_items(html: str) -> list[str]:
    block = re.search(r'<section id="assumptions">.*?<ul id="assumption-list">(.*?)</ul></section>', html, re.S)
    assert block is not None
    return re.findall(r"<li>(.*?)</li>", block.group(1))


def test_the_page_lists_every_assumption_near_its_top() -> None:
    """The cluster's assumptions (here an ignored object, as --ignore-unmodelled adds it), then the engine's
    for these pods, then the page's scope, each escaped, right after the summary."""
    from dataclasses import replace

    from netpol.analyses.query import Analyzer

    base = fixture("limit")
    a = Analyzer(replace(base.cluster, assumptions=("ignored: 1 CiliumNetworkPolicy <b>x</b>",)))
    data = build_report(a, None, None).data
    assert data["assumptions"] == ["ignored: 1 CiliumNetworkPolicy <b>x</b>", SELF, REPORT_SCOPE]
    html = report_html(build_report(a, None, None), None, a.explain(), a.explain_tiers(), None, "t")
    assert assumption_items(html) == ["ignored: 1 CiliumNetworkPolicy &lt;b&gt;x&lt;/b&gt;", "a pod&#x27;s traffic "
                                      "to itself (&#x27;self&#x27;) is assumed allowed", REPORT_SCOPE.replace("'", "&#x27;")]
    assert html.index('id="summary"') < html.index('id="assumptions"') < html.index('id="graph-section"')
    assert build_report(base, None, None).data["assumptions"] == [SELF, REPORT_SCOPE]  # the standing ones


def test_host_network_pods_are_among_the_page_assumptions() -> None:
    a = analyzer(pod("a"), pod("h", host_network=True), policy("p"))
    notes = build_report(a, None, None).data["assumptions"]
    assert [n for n in notes if "hostNetwork" in n] == [
        "default/h uses hostNetwork: assuming the plugin cannot tell its traffic from its node's, so policies do not "
        "isolate it and pod/namespace selectors do not match it (ipBlock may, by node IP)"]


def test_diff_page_says_which_version_makes_an_assumption() -> None:
    from dataclasses import replace

    from netpol.analyses.diff import diff
    from netpol.analyses.query import Analyzer

    base = fixture("deny-all")
    head = fixture("allow-all")
    head = Analyzer(replace(head.cluster, assumptions=("ignored: <x>",)))
    notes = diff_assumptions(base, head)
    assert notes == (SELF, "HEAD only: ignored: <x>", DIFF_SCOPE)
    assert diff_assumptions(head, base) == ("BASE only: ignored: <x>", SELF, DIFF_SCOPE)
    html = diff_html(diff(base, head), {}, "t", notes)
    assert assumption_items(html)[1] == "HEAD only: ignored: &lt;x&gt;"


def test_domain_names_are_among_the_page_and_matrix_assumptions() -> None:
    """can-reach said it; the matrix (and so the report) did not, though its answers rest on it too."""
    a = analyzer(pod("a", ip="10.0.0.1"), pod("b", ip="10.0.0.2", labels={"app": "b"}), {
        "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "fqdn"},
        "spec": {"tier": "Admin", "priority": 1, "subject": {"pods": {"namespaceSelector": {},
                                                                      "podSelector": {"matchLabels": {"app": "b"}}}},
                 "egress": [{"action": "Accept", "to": [{"domainNames": ["*.example.com", "api.example.org"]}]}]}})
    note = ("default/b's egress has domainNames rules (*.example.com, api.example.org): which addresses they match "
            "depends on DNS at run time, so netpol assumes they match no pod or address it knows; the network plugin "
            "may allow more")
    assert [n for n in a.matrix().assumptions() if "domainNames" in n] == [note]
    assert note in build_report(a, None, None).data["assumptions"]
