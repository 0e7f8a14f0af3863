"""The commands beyond can-reach, matrix and explain under --cni calico (issue 26): exposure and list answer for
every possible pod, cut by Calico's selectors exactly (string tests, namespace labels a pod's own pcns.* label
shadows, service accounts); exact outputs on small inputs."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()

DB = """apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web-1}}
spec: {containers: [{name: c}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  selector: app == 'db'
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app starts with 'web-'}
    destination: {ports: [5432]}
  - action: Allow
    protocol: TCP
    source: {namespaceSelector: team == 'ops'}
    destination: {ports: [22]}
"""

ACCOUNTS = """apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {serviceAccountName: api, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: api}
spec:
  selector: app == 'api'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {serviceAccounts: {names: [front]}}
    destination: {ports: [http]}
"""

DB_RULE = "NetworkPolicy shop/db (tier default, no order)"


def _run(tmp_path: Path, text: str, *args: str) -> tuple[int, str, str]:
    f = tmp_path / "in.yaml"
    f.write_text(text)
    r = runner.invoke(app, [*args, "-f", str(f)])
    return r.exit_code, r.stdout, r.stderr


def test_exposure_names_every_possible_pod_calico_lets_in(tmp_path: Path) -> None:
    """A string test cuts the pods by value (app starts with 'web-'), a namespaceSelector reads pcns.team, which a
    pod's own label shadows: pods of any namespace labelled pcns.team=ops reach port 22 (Calico reads them so)."""
    code, out, err = _run(tmp_path, DB, "exposure", "shop/db")
    assert code == 0, err
    assert out.splitlines() == [
        "shop/db",
        "  ingress isolated by NetworkPolicy shop/db; egress not isolated",
        "  reached by:",
        "    pods with (app not starts with 'web-' or no app) and pcns.team=ops in namespace shop; pods with "
        f"pcns.team=ops in any other namespace : TCP:22  (egress: not isolated; ingress: {DB_RULE} ingress[1] (Allow))",
        "    pods with app starts with 'web-' and pcns.team=ops in namespace shop : TCP:22,5432  (egress: not "
        f"isolated; ingress: {DB_RULE} ingress[0] (Allow), {DB_RULE} ingress[1] (Allow))",
        "    shop/web; pods with app starts with 'web-' and pcns.team notin (ops) in namespace shop : TCP:5432  "
        f"(egress: not isolated; ingress: {DB_RULE} ingress[0] (Allow))",
        "  reaches:",
        "    any address : all  (egress: not isolated)",
        "    shop/web; any pod in any namespace except pods with app=db in namespace shop : all  (egress: not "
        "isolated; ingress: not isolated)"]
    assert "possible pods under Calico: a pod may run under any service account, whose labels are unknown, and " \
           "may carry its own pcns.* or pcsa.* labels" in err


def test_list_is_the_same_truth(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, DB, "list", "--to", "shop/db")
    assert code == 0
    assert out.splitlines() == [
        "shop/web; pods with app starts with 'web-' and pcns.team notin (ops) in namespace shop => shop/db : TCP:5432",
        "pods with app starts with 'web-' and pcns.team=ops in namespace shop => shop/db : TCP:22,5432",
        "pods with (app not starts with 'web-' or no app) and pcns.team=ops in namespace shop; pods with "
        "pcns.team=ops in any other namespace => shop/db : TCP:22"]


def test_service_accounts_cut_possible_pods(tmp_path: Path) -> None:
    """Possible pods run under any service account: serviceAccounts.names tells them apart; the named port
    resolves on the destination."""
    code, out, _ = _run(tmp_path, ACCOUNTS, "list", "--to", "shop/api")
    assert (code, out) == (0, "pods with projectcalico.org/serviceaccount=front in any namespace => shop/api : "
                              "TCP:8080\n")
    code, out, _ = _run(tmp_path, ACCOUNTS, "list", "--to", "shop/api", "-o", "json")
    assert [(c["source"], c["source_kind"], c["ports"]) for c in json.loads(out)["connections"]] == [
        ("pods with app notin (api) and projectcalico.org/serviceaccount=front in any namespace", "region", "TCP:8080"),
        ("pods with app=api and projectcalico.org/serviceaccount=front in any namespace", "region", "TCP:8080")]


def test_what_possible_pods_cannot_cut_exactly_is_refused(tmp_path: Path) -> None:
    text = ("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\n"
            "spec: {selector: projectcalico.org/namespace starts with 'team-', ingress: [{action: Deny}]}\n")
    code, _, err = _run(tmp_path, text, "exposure")
    assert code == 2
    assert err.splitlines()[-1] == (
        'netpol: error: possible pods under Calico: the selector test projectcalico.org/namespace starts with '
        '"team-" on the namespace\'s name is not cut exactly; answer for the input\'s pods with --input-only')


def _diff(tmp_path: Path, base: str, head: str, *args: str) -> tuple[int, str]:
    b, h = tmp_path / "base.yaml", tmp_path / "head.yaml"
    b.write_text(base)
    h.write_text(head)
    r = runner.invoke(app, ["diff", str(b), str(h), *args])
    return r.exit_code, r.stdout


def test_diff_reports_what_a_calico_change_opens_for_every_possible_pod(tmp_path: Path) -> None:
    """`app starts with 'web-'` widened to `app starts with 'web'`: exactly the pods with app starting 'web' but not
    'web-' gain 5432, whether or not they also had 22."""
    code, out = _diff(tmp_path, DB, DB.replace("starts with 'web-'", "starts with 'web'"))
    assert code == 1
    assert out.splitlines() == [
        "1 change(s) gained, 0 lost, 1 with changed ports",
        "+ pods with app starts with 'web' and app not starts with 'web-' and pcns.team notin (ops) in namespace shop "
        f"-> pods with app=db in namespace shop; shop/db: TCP:5432 (ingress: {DB_RULE} ingress[0] (Allow))",
        "~ pods with app starts with 'web' and app not starts with 'web-' and pcns.team=ops in namespace shop -> pods "
        f"with app=db in namespace shop; shop/db: TCP:22 => TCP:22,5432 (ingress: {DB_RULE} ingress[0] (Allow); "
        f"ingress: {DB_RULE} ingress[1] (Allow))"]


def test_equivalent_calico_rewrites_are_no_change(tmp_path: Path) -> None:
    for old, new in [("selector: app == 'db'", "selector: \"!(app != 'db') && has(app)\""),
                     ("starts with 'web-'}", "starts with 'web-' && app contains 'web'}"),
                     ("team == 'ops'", "\"team in {'ops'}\"")]:
        assert old in DB
        assert _diff(tmp_path, DB, DB.replace(old, new)) == (0, "no reachability change\n"), new


INTENT = """apiVersion: netpol/v1
kind: NetworkPolicyIntent
manifests: [db.yaml]
expectations:
- {name: web reaches db, from: shop/web, to: shop/db, ports: [{port: 5432}], expect: allow}
- {name: web-2 pods reach db, from: "shop{app=web-2}", to: shop/db, ports: [{port: 5432}], expect: allow}
- {name: api pods do not reach db, from: "shop{app=api}", to: shop/db, ports: [{port: 5432}], expect: deny}
- {name: api pods do not ssh to db, from: "shop{app=api}", to: shop/db, ports: [{port: 22}], expect: deny}
"""


def test_check_answers_for_every_possible_pod_under_calico(tmp_path: Path) -> None:
    """An api pod that labels itself pcns.team=ops is let in on 22 (the namespaceSelector reads its own label)."""
    (tmp_path / "db.yaml").write_text(DB)
    (tmp_path / "db.intent.yaml").write_text(INTENT)
    r = runner.invoke(app, ["check", str(tmp_path / "db.intent.yaml"), "--allow-outside-repo"])
    assert r.exit_code == 1, r.stderr
    assert [line.replace(f"{tmp_path}/", "") for line in r.stdout.splitlines() if "assumption:" not in line] == [
        "PASS db.intent.yaml: web reaches db (1 pair)",
        "PASS db.intent.yaml: web-2 pods reach db (2 pairs)",
        "PASS db.intent.yaml: api pods do not reach db (2 pairs)",
        "FAIL db.intent.yaml: api pods do not ssh to db (db.intent.yaml:8)",
        "  expected: shop{app=api} -> shop/db on 22: deny (1 of 2 pairs wrong)",
        "    pods with app=api and pcns.team=ops in namespace shop -> shop/db should be denied but is allowed on TCP:22",
        "      ALLOWED: pods with app=api and pcns.team=ops in namespace shop -> shop/db TCP/22",
        "        egress  of pods with app=api and pcns.team=ops in namespace shop: no tier decided: the namespace's "
        "profile allows",
        "        ingress of shop/db: tier default: NetworkPolicy shop/db (no order) ingress[1]: Allow",
        "3 passed, 1 failed"]


def test_graph_draws_calico_answers(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, DB, "graph", "--format", "mermaid")
    assert code == 0
    assert [line.strip() for line in out.splitlines() if "-->" in line or line.strip().startswith("n_shop")] == [
        'n_shop_2f_db("db<br>app=db<br>#91;ingress isolated#93;")',
        'n_shop_2f_web("web<br>app=web-1")',
        'n_any_2d_pod -->|"all"| n_ext_3a_any_20_other_20_address',
        'n_any_2d_pod -->|"all"| n_shop_2f_web',
        'n_ext_3a_any_20_other_20_address -->|"all"| n_shop_2f_web',
        'n_shop_2f_web -->|"TCP:5432"| n_shop_2f_db']


def test_lint_says_which_checks_read_calicos_tiers(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, DB, "lint", "-o", "json")
    assert code == 0
    report = json.loads(out)
    assert [(f["id"], f["message"]) for f in report["findings"]] == [
        ("NP207", "Namespace shop: 1 of the 2 pods in namespace shop are not isolated for ingress by any policy: "
                  "shop/web"),
        ("NP211", 'NetworkPolicy shop/db: ingress[1].source (namespaceSelector [team == "ops"]) matches none of the 1 '
                  "namespaces in the input; it can only match namespaces the input does not declare, so their labels "
                  "and pods are unknown here")]
    assert report["notes"] == [
        "NP204 (DNS blocked) was not checked: the input has no DNS pods (k8s-app=kube-dns in kube-system), and under "
        "the calico profile it needs them"]


def test_report_counts_calicos_kinds_and_its_isolation(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    code, _, err = _run(tmp_path, DB, "report", "-o", str(page))
    assert code == 0, err
    html = page.read_text()
    for row in ("<td>NetworkPolicy (projectcalico.org)</td><td>1</td>",
                "<td>isolated for ingress by a Calico tier</td><td>1 of 2 pods</td>"):
        assert row in html, row
