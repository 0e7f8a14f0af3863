"""Inputs with policies but no pods: a diff compares every possible pod, matrix and check warn."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()

DENY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: payments}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: []
"""
OPEN = DENY.replace("ingress: []", "ingress: [{}]")  # opens the database to everyone
HINT = ("pass the manifests that create the pods too (Deployments, StatefulSets, ...; for a chart: helm template "
        "... | netpol ... -f -), or a snapshot of the cluster (netpol snapshot); or ask about every possible pod: "
        "netpol list, exposure, diff")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_diff_of_policies_only_compares_every_possible_pod(tmp_path: Path) -> None:
    """Without pods a diff is not "no change": it compares every possible pod, in the policies' terms."""
    r = runner.invoke(app, ["diff", write(tmp_path, "base.yaml", DENY), write(tmp_path, "head.yaml", OPEN)])
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        "1 change(s) gained, 0 lost, 0 with changed ports",
        "+ any pod in any namespace, any address -> pods with app=db in namespace payments: all "
        "(ingress: payments/db ingress[0])",
    ]
    assert ("netpol: note: possible pods: every pod the policies could select, by namespace and labels; their IPs "
            "are taken to be in no ipBlock") in r.stderr.splitlines()
    same = DENY.replace("{matchLabels: {app: db}}", "{matchExpressions: [{key: app, operator: In, values: [db]}]}")
    r = runner.invoke(app, ["diff", write(tmp_path, "base.yaml", DENY), write(tmp_path, "same.yaml", same)])
    assert (r.exit_code, r.stdout) == (0, "no reachability change\n")


def test_diff_with_pods_on_one_side_compares(tmp_path: Path) -> None:
    pods = DENY + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: payments, labels: {app: db}}\n" \
        "spec: {containers: [{name: c}]}\n"
    r = runner.invoke(app, ["diff", write(tmp_path, "base.yaml", DENY), write(tmp_path, "head.yaml", pods)])
    assert r.exit_code == 1
    assert "pod added: payments/db-0" in r.stdout


def test_matrix_and_check_warn_when_there_are_no_pods(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", DENY)
    warning = (f"netpol: warning: the input has 1 NetworkPolicies but no pods or workloads, so there is no "
               f"connection to show; {HINT}")
    r = runner.invoke(app, ["matrix", "-f", path, "-o", "json"])
    assert r.exit_code == 0
    assert warning in r.stderr.splitlines()
    intent = write(tmp_path, "i.intent.yaml", "apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [p.yaml]\n"
                   "expectations:\n- {from: {namespace: payments}, to: {namespace: payments}, expect: deny}\n")
    r = runner.invoke(app, ["check", intent, "--allow-outside-repo"])  # about every possible pod of payments
    assert warning not in r.stderr.splitlines()
    assert (f"netpol: note: {tmp_path}/p.yaml: no pods or workloads, so namespace and podSelector endpoints stand "
            "for every possible such pod") in r.stderr.splitlines()
    assert r.exit_code == 1  # pods without app=db in payments still reach each other: a failure, not a pass
    assert "FAIL i.intent.yaml" in r.stdout
    r = runner.invoke(app, ["explain", "-f", path])  # explain is about policies: no warning
    assert "no pods or workloads" not in r.stderr


def test_tiered_policies_without_pods_warn_too(tmp_path: Path) -> None:
    path = write(tmp_path, "anp.yaml", "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
                 "metadata: {name: deny}\nspec: {tier: Admin, priority: 1, subject: {namespaces: {}}}\n")
    r = runner.invoke(app, ["matrix", "-f", path, "-o", "json"])
    assert (f"netpol: warning: the input has 0 NetworkPolicies and 1 Admin or Baseline policies but no pods or "
            f"workloads, so there is no connection to show; {HINT}") in r.stderr.splitlines()
