"""`diff` says what each version's answer rests on (its profile, what --ignore-unmodelled left out), in JSON
and Markdown as well as on stderr; an assumption only one version makes names that version."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

POD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n"
       "spec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.0.5}\n")
# An enforcing kind netpol does not evaluate (Calico's own are evaluated under --cni calico: the last test).
GNP = ("---\napiVersion: crd.antrea.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {name: deny-all}\n"
       "spec: {priority: 1}\n")
CALICO_GNP = ("---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: deny-all}\n"
              "spec: {selector: all(), types: [Ingress, Egress]}\n")


def _diff(base: Path, head: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = CliRunner().invoke(app, ["diff", str(base), str(head), "-o", "json", "--cni", "calico", *args])
    return r.exit_code, json.loads(r.stdout) if r.stdout else {"stderr": r.stderr}


def test_ignored_objects_are_named_in_the_diff(tmp_path: Path) -> None:
    plain, with_gnp = tmp_path / "plain.yaml", tmp_path / "gnp.yaml"
    plain.write_text(POD)
    with_gnp.write_text(POD + GNP)
    code, out = _diff(with_gnp, with_gnp)
    assert code == 2 and "ClusterNetworkPolicy" in out["stderr"]  # refused without --ignore-unmodelled
    code, out = _diff(with_gnp, with_gnp, "--ignore-unmodelled")
    ignored = [a for a in out["assumptions"] if a.startswith("ignored (--ignore-unmodelled)")]
    assert code == 0 and len(ignored) == 1 and "deny-all" in ignored[0]
    code, out = _diff(plain, with_gnp, "--ignore-unmodelled")
    assert [a for a in out["assumptions"] if "deny-all" in a] == [f"HEAD only: {ignored[0]}"]
    md = CliRunner().invoke(app, ["diff", str(plain), str(with_gnp), "-o", "md", "--cni", "calico",
                                  "--ignore-unmodelled"]).stdout
    assert "HEAD only: ignored" in md


def test_calico_policies_are_evaluated_in_the_diff(tmp_path: Path) -> None:
    """diff reads Calico's tiers under --cni calico: a GlobalNetworkPolicy that denies everything closes every
    connection, for every possible pod too (it was refused before Calico's possible pods)."""
    plain, with_gnp = tmp_path / "plain.yaml", tmp_path / "gnp.yaml"
    plain.write_text(POD)
    with_gnp.write_text(POD + CALICO_GNP)
    code, out = _diff(plain, with_gnp)
    assert code == 1
    assert [(c["kind"], c["sources"], c["destination"]) for c in out["changes"]] == [
        ("lost", ["any pod in any namespace", "shop/web"], "any address"),
        ("lost", ["any pod in any namespace", "any address", "shop/web"], "any pod in any namespace"),
        ("lost", ["any pod in any namespace", "any address"], "shop/web")]
    assert _diff(with_gnp, with_gnp)[0] == 0
