"""Objects netpol does not evaluate, ignored under --ignore-unmodelled, are named in the outputs themselves
(the graph's legend and title, lint findings in text, JSON and SARIF), not only in stderr warnings: a CI gate
on lint does not pass silently on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.analyses.lint import RULES
from netpol.cli import app

runner = CliRunner()
SHOP = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: shop}
spec: {action: DENY}
---
apiVersion: crd.antrea.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: isolate}
spec: {priority: 5}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
"""
ISTIO = ("AuthorizationPolicy shop/deny (security.istio.io/v1): not evaluated by netpol (Istio); it may allow or "
         "deny traffic that these findings do not see")
ANTREA = ("ClusterNetworkPolicy isolate (crd.antrea.io/v1beta1): not evaluated by netpol (Antrea); it may allow or "
          "deny traffic that these findings do not see")
WHY = RULES["NP115"].why


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "shop.yaml").write_text(SHOP)
    monkeypatch.chdir(tmp_path)
    return "shop.yaml"


def test_lint_text_names_each_object_at_its_line_and_fails(shop: str) -> None:
    r = runner.invoke(app, ["lint", shop, "--ignore-unmodelled"])
    assert r.exit_code == 1
    assert r.stdout == (f"shop.yaml:16:1: warning NP115 [not-evaluated] {ISTIO}\n    why: {WHY}\n"
                        f"shop.yaml:21:1: warning NP115 [not-evaluated] {ANTREA}\n\n"
                        "0 errors, 2 warnings, 0 info, 0 suppressed\n")


@pytest.mark.parametrize(("options", "code"), [
    (["--disable", "NP115"], 0), (["--fail-on", "error"], 0), (["--fail-on", "warning"], 1), ([], 1)])
def test_lint_exit_code(shop: str, options: list[str], code: int) -> None:
    assert runner.invoke(app, ["lint", shop, "--ignore-unmodelled", *options]).exit_code == code


def test_lint_json(shop: str) -> None:
    r = runner.invoke(app, ["lint", shop, "--ignore-unmodelled", "-o", "json"])
    out = json.loads(r.stdout)
    assert [(f["id"], f["message"], f["object"], f["namespace"], f["file"], f["document"], f["line"], f["column"],
             f["suppressed"]) for f in out["findings"]] == [
        ("NP115", ISTIO, "AuthorizationPolicy shop/deny", "shop", "shop.yaml", 4, 16, 1, None),
        ("NP115", ANTREA, "ClusterNetworkPolicy isolate", None, "shop.yaml", 5, 21, 1, None)]
    assert out["summary"] == {"error": 0, "warning": 2, "info": 0, "suppressed": 0}


def test_lint_sarif(shop: str) -> None:
    r = runner.invoke(app, ["lint", shop, "--ignore-unmodelled", "-o", "sarif"])
    run = json.loads(r.stdout)["runs"][0]
    index = list(RULES).index("NP115")
    assert run["tool"]["driver"]["rules"][index]["id"] == "NP115"
    assert [{k: v for k, v in res.items() if k != "partialFingerprints"} for res in run["results"]] == [
        {"ruleId": "NP115", "ruleIndex": index, "level": "warning", "message": {"text": message},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "shop.yaml", "uriBaseId": "%SRCROOT%"},
                                             "region": {"startLine": line, "startColumn": 1}}}]}
        for message, line in ((ISTIO, 16), (ANTREA, 21))]


def test_lint_namespace_option_keeps_cluster_scoped_objects(shop: str) -> None:
    r = runner.invoke(app, ["lint", shop, "--ignore-unmodelled", "-n", "other", "-o", "json"])
    assert [f["message"] for f in json.loads(r.stdout)["findings"]] == [ANTREA]


LEGEND_ROWS = [
    '<TR><TD BORDER="2" COLOR="#c0392b" BGCOLOR="#fdedec" CELLPADDING="4">not evaluated</TD><TD ALIGN="LEFT">'
    'ignored (--ignore-unmodelled): 1 AuthorizationPolicy<BR ALIGN="LEFT"/>(security.istio.io/v1): shop/deny, '
    'not evaluated by netpol; they may<BR ALIGN="LEFT"/>allow or deny this traffic</TD></TR>',
    '<TR><TD BORDER="2" COLOR="#c0392b" BGCOLOR="#fdedec" CELLPADDING="4">not evaluated</TD><TD ALIGN="LEFT">'
    'ignored (--ignore-unmodelled): 1 ClusterNetworkPolicy<BR ALIGN="LEFT"/>(crd.antrea.io/v1beta1): isolate, '
    'not evaluated by netpol; they may<BR ALIGN="LEFT"/>allow or deny this traffic</TD></TR>',
]
TITLE = ("not evaluated (--ignore-unmodelled): objects that may allow or deny the traffic drawn here, named in the "
         "legend")


def test_graph_dot_names_them_in_title_and_legend(shop: str) -> None:
    r = runner.invoke(app, ["graph", "-f", shop, "--ignore-unmodelled"])
    assert r.exit_code == 0
    assert f'label="netpol allow-graph (allowed ports)\n{TITLE}" labelloc=t' in r.stdout
    legend = next(line for line in r.stdout.splitlines() if line.startswith("\tlegend "))
    assert legend.endswith("".join(LEGEND_ROWS) + '</TABLE>> fontsize=9 shape=plaintext style=""]')


def test_graph_mermaid_names_them_in_title_and_legend(shop: str) -> None:
    r = runner.invoke(app, ["graph", "-f", shop, "--ignore-unmodelled", "--format", "mermaid"])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[1] == f'title: "netpol allow-graph (allowed ports); {TITLE}"'
    assert [line for line in lines if line.startswith("    legend7") or line.startswith("    legend8")] == [
        '    legend7("not evaluated: ignored #40;--ignore-unmodelled#41;: 1 AuthorizationPolicy<br>'
        '#40;security.istio.io/v1#41;: shop/deny, not evaluated by netpol; they may<br>allow or deny this traffic")',
        '    legend8("not evaluated: ignored #40;--ignore-unmodelled#41;: 1 ClusterNetworkPolicy<br>'
        '#40;crd.antrea.io/v1beta1#41;: isolate, not evaluated by netpol; they may<br>allow or deny this traffic")']
    assert "  class legend7,legend8 ignored" in lines


def test_graph_without_ignored_objects_has_no_such_row(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SHOP.split("---\napiVersion: security.istio.io")[0])
    r = runner.invoke(app, ["graph", "-f", str(tmp_path / "shop.yaml")])
    assert r.exit_code == 0 and "not evaluated" not in r.stdout


def test_lint_names_policy_kinds_a_live_read_could_not_list() -> None:
    from netpol.analyses.lint import lint
    from netpol.model import Cluster
    from netpol.sources.unmodelled import Unmodelled

    unread = ("adminnetworkpolicies (policy.networking.k8s.io/v1alpha1), forbidden (403), so the Admin tier could "
              "not be read")
    report = lint(Cluster(), unmodelled=Unmodelled(unread=(unread,)))
    assert [(f.rule.id, f.message, f.object, f.namespace, f.location) for f in report.findings] == [
        ("NP115", f"{unread}: not evaluated by netpol; it may allow or deny traffic that these findings do not see",
         unread, None, None)]
    assert report.fails("warning")


def test_report_lint_section_lists_them(shop: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["report", "-f", shop, "--ignore-unmodelled", "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 0
    page = (tmp_path / "r.html").read_text()
    assert page.count("not evaluated by netpol (Istio); it may allow or deny traffic that these findings do not") == 1
    assert page.count("not evaluated by netpol (Antrea); it may allow or deny traffic that these findings do not") == 1
