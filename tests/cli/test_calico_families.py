"""Outside addresses under --cni calico: a rule whose nets are of one family matches that family's packets only,
so the outside address sets every surface answers for are cut by family as well as by block (an IPv6 address
in no block is not answered like an IPv4 one in none). Exact outputs on one small input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()

POD = """apiVersion: v1
kind: Namespace
metadata: {name: c}
---
apiVersion: v1
kind: Pod
metadata: {name: pod2, namespace: c}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
"""

IPV4_DNS = POD + """---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p3, namespace: c}
spec:
  selector: all()
  ingress:
  - action: Allow
    protocol: TCP
    destination: {nets: [10.0.1.0/24, 10.0.0.0/24], ports: [53]}
"""


def _run(tmp_path: Path, text: str, *args: str, code: int = 0) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    r = runner.invoke(app, [*args, "-f", str(path), "--cni", "calico", "--input-only"])
    assert r.exit_code == code, r.output
    return r.stdout


def _diff(tmp_path: Path, old: str, new: str) -> list[tuple[str, list[str], str, str, str]]:
    """`diff --input-only -o json`'s changes, from OLD to NEW (changed: exit code 1)."""
    (tmp_path / "old.yaml").write_text(old)
    (tmp_path / "new.yaml").write_text(new)
    r = runner.invoke(app, ["diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--cni", "calico",
                            "--input-only", "-o", "json"])
    assert r.exit_code == 1, r.output
    changes = json.loads(r.stdout)["changes"]
    return [(c["kind"], c["sources"], c["destination"], c["before"], c["after"]) for c in changes]


def test_exposure_lets_in_the_ipv4_addresses_only(tmp_path: Path) -> None:
    [item] = json.loads(_run(tmp_path, IPV4_DNS, "exposure", "c/pod2", "-o", "json"))["exposure"]
    assert [(p["peers"], p["ports"]) for p in item["reached_by"]] == [(["any IPv4 address"], "TCP:53")]
    assert [(p["peers"], p["ports"]) for p in item["reaches"]] == [(["any address"], "all")]


def test_list_names_the_ipv6_addresses_apart(tmp_path: Path) -> None:
    rows = json.loads(_run(tmp_path, IPV4_DNS, "list", "-o", "json"))["connections"]
    assert sorted((r["source"], r["destination"], r["ports"]) for r in rows) == [
        ("0.0.0.0/0 except 10.0.0.0/23", "c/pod2", "TCP:53"),
        ("10.0.0.0/24", "c/pod2", "TCP:53"),
        ("10.0.1.0/24", "c/pod2", "TCP:53"),
        ("c/pod2", "0.0.0.0/0 except 10.0.0.0/23", "all"),
        ("c/pod2", "10.0.0.0/24", "all"),
        ("c/pod2", "10.0.1.0/24", "all"),
        ("c/pod2", "any IPv6 address", "all"),
    ]


def test_graph_draws_the_other_addresses_per_family(tmp_path: Path) -> None:
    dot = _run(tmp_path, IPV4_DNS, "graph")
    edges = {line.strip() for line in dot.splitlines() if "->" in line and "ext%3A" in line}
    assert edges == {
        '"c/pod2" -> "ext%3Aaddresses in 10.0.0.0/24 only" [label=all]',
        '"c/pod2" -> "ext%3Aaddresses in 10.0.1.0/24 only" [label=all]',
        '"c/pod2" -> "ext%3Aany other IPv4 address" [label=all]',
        '"c/pod2" -> "ext%3Aany other IPv6 address" [label=all]',
        '"ext%3Aaddresses in 10.0.0.0/24 only" -> "c/pod2" [label="TCP:53"]',
        '"ext%3Aaddresses in 10.0.1.0/24 only" -> "c/pod2" [label="TCP:53"]',
        '"ext%3Aany other IPv4 address" -> "c/pod2" [label="TCP:53"]',
    }


def test_diff_says_the_ipv6_addresses_lose_everything(tmp_path: Path) -> None:
    assert sorted(_diff(tmp_path, POD, IPV4_DNS)) == [
        ("changed", ["any IPv4 address"], "c/pod2", "all", "TCP:53"),
        ("lost", ["any IPv6 address"], "c/pod2", "all", "none"),
    ]


ON_NODE = """apiVersion: v1
kind: Pod
metadata: {name: pod0, namespace: a}
spec: {containers: [{name: c}], nodeName: n1}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 203.0.113.1}]}
"""

ISOLATED = ON_NODE + """---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p0, namespace: a}
spec: {selector: all()}
"""


def test_diff_leaves_out_the_own_node_that_both_versions_let_in(tmp_path: Path) -> None:
    """Traffic from a pod's own node is not policed: lifting the pod's isolation changes every other address."""
    assert _diff(tmp_path, ISOLATED, ON_NODE) == [
        ("gained", ["0.0.0.0/0 except 203.0.113.1/32; any IPv6 address"], "a/pod0", "none", "all"),
    ]
