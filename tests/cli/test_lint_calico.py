"""`netpol lint` under the network plugins' profiles through the CLI: Calico's own checks (NP117-NP119) and the
cluster checks computed on the compiled stages, with their lines, messages and exit codes; lint without pods under
--cni cilium (it crashed on NetworkPolicies before)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()

CALICO = """apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c, ports: [{containerPort: 53, protocol: UDP}]}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
spec:
  selector: projectcalico.org/namespace != 'kube-system'
  types: [Ingress, Egress]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  order: 10
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Deny
  - action: Allow
    protocol: TCP
    destination: {ports: [80]}
  egress:
  - action: Allow
"""


def _lint(tmp_path: Path, text: str, *options: str) -> tuple[int, str]:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    r = runner.invoke(app, ["lint", "-f", str(path), *options])
    return r.exit_code, r.stdout.replace(str(path), "in.yaml")


def test_calico_findings_with_their_lines_and_the_gate(tmp_path: Path) -> None:
    code, out = _lint(tmp_path, CALICO, "--disable", "NP207")
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("in.yaml")] == [
        "in.yaml:6:1: suppressed info NP207 [unprotected-pods] Pod kube-system/coredns: 1 of the 1 pods in namespace "
        "kube-system are not isolated for ingress by any policy: kube-system/coredns (by --disable)",
        "in.yaml:15:3: warning NP204 [dns-blocked] GlobalNetworkPolicy default-deny: 1 pod (shop/web-1) cannot reach "
        "the DNS pods kube-system/coredns on UDP/53 or TCP/53, so they cannot resolve names",
        "in.yaml:24:10: error NP119 [calico-types-unused] NetworkPolicy shop/web: types is [Ingress], so its 1 egress "
        "rule is ignored",
        "in.yaml:27:5: warning NP117 [calico-rule-never-reached] NetworkPolicy shop/web: ingress[1] (Allow) is never "
        "reached: for every pod that could exist it selects, every peer and port it matches is taken first by "
        "NetworkPolicy shop/web (tier default, order 10) ingress[0] (Deny)"]
    assert out.splitlines()[-1] == "1 error, 2 warnings, 0 info, 1 suppressed"
    # an error fails the gate at --fail-on error; the warnings alone do not
    assert _lint(tmp_path, CALICO, "--fail-on", "error")[0] == 1
    assert _lint(tmp_path, CALICO, "--fail-on", "error", "--disable", "NP119")[0] == 0
    assert _lint(tmp_path, CALICO, "--disable", "NP119")[0] == 1  # the default: warnings fail


def test_calico_pass_to_the_profile_as_json(tmp_path: Path) -> None:
    text = ("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n---\n"
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: hand-on}\nspec:\n"
            "  tier: security\n  selector: all()\n  ingress:\n  - action: Pass\n")
    code, out = _lint(tmp_path, text, "-o", "json")
    assert code == 1
    report = json.loads(out)
    assert [(f["id"], f["path"], f["line"], f["message"]) for f in report["findings"]] == [
        ("NP118", "spec.ingress[0]", 13, "GlobalNetworkPolicy hand-on: ingress[0] (Pass) hands everything it matches "
         "past the last tier, for every pod that could exist it selects: no later tier selects those pods or decides "
         "it, so Calico's namespace profile allows it and this Pass allows")]
    assert report["cluster_checks"] is False


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
