"""`netpol lint` under the network plugins' profiles through the CLI: the cluster checks computed on the compiled
stages, with their messages and exit codes; lint without pods under --cni cilium (it crashed on NetworkPolicies
before)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()

def _lint(tmp_path: Path, text: str, *options: str) -> tuple[int, str]:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    r = runner.invoke(app, ["lint", "-f", str(path), *options])
    return r.exit_code, r.stdout.replace(str(path), "in.yaml")


CILIUM_PODS = """apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.6}
---
"""
DB_FROM_BLOCK = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.1.0/24}}]}]
"""


def test_an_ipblock_under_each_profile_says_what_the_plugin_does(tmp_path: Path) -> None:
    for cni, how in (("generic", "whether it matches them depends on the network plugin (netpol assumes it does)"),
                     ("calico", "the calico profile matches them, which other network plugins do not all do"),
                     ("cilium", "the cilium profile matches none of them (a CIDR matches addresses outside the cluster "
                                "only), which other network plugins do not all do")):
        extra = "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {order: 1}\n" \
            if cni == "calico" else ""
        code, out = _lint(tmp_path, CILIUM_PODS + DB_FROM_BLOCK + extra, "--cni", cni, "-o", "json",
                          "--disable", "NP207,NP208")
        found = [(f["id"], f["message"]) for f in json.loads(out)["findings"] if f["suppressed"] is None]
        assert (code, found) == (1, [("NP210", "NetworkPolicy default/db: ingress[0].from[0]: 10.0.1.0/24 contains the "
                                               f"IPs of 2 pods (default/db-1, default/web-1); {how}")]), cni


def test_lint_without_pods_under_cilium_says_what_it_did_not_check(tmp_path: Path) -> None:
    text = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-out}\nspec:\n"
            "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n"
            "  egress: [{to: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: 5432}]}]\n")
    code, out = _lint(tmp_path, text, "--cni", "cilium", "-o", "json")
    report = json.loads(out)
    assert (code, report["findings"]) == (0, [])
    assert report["notes"] == [
        "NP212 (other side denies) was not checked for possible pods: under the cilium profile it is judged on the "
        "compiled stages for the input's pods only; pass the workloads to check it for them"]
