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


def test_calico_policies_are_refused_in_the_diff(tmp_path: Path) -> None:
    """diff does not read Calico's tiers yet: under --cni calico a GlobalNetworkPolicy is refused (never a
    "no change" that ignores it), and the error says which commands evaluate it."""
    with_gnp = tmp_path / "gnp.yaml"
    with_gnp.write_text(POD + CALICO_GNP)
    code, out = _diff(with_gnp, with_gnp)
    assert code == 2 and "this command does not evaluate Calico's own policy kinds yet (can-reach, matrix, " \
        "explain, exposure and list do)" in out["stderr"]
