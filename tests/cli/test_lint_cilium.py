"""`netpol lint` on Cilium's own policies through the CLI: NP116 and NP213 under --cni cilium, with their lines;
under the generic profile the same input gives NP115 (not evaluated), never a Cilium finding."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app
from tests.semantics.test_lint_rules import ADDRESSED, ALLOW_DB_80, deny_db, docs

runner = CliRunner()
QUIET = "NP207,NP208"


def _findings(path: Path, *options: str) -> tuple[int, set[tuple[str, str, str | None, int | None]]]:
    r = runner.invoke(app, ["lint", "-f", str(path), "--disable", QUIET, "-o", "json", *options])
    active = [f for f in json.loads(r.stdout)["findings"] if f["suppressed"] is None]
    return r.exit_code, {(f["id"], f["object"], f["path"], f["line"]) for f in active}


def test_cilium_findings_with_their_lines(tmp_path: Path) -> None:
    text = docs(ADDRESSED, ALLOW_DB_80, deny_db(", toPorts: [{ports: [{port: '80'}]}]").replace(
        "ingressDeny:\n  - {", "egress:\n  - toCIDR: [10.0.1.0/24]\n  ingressDeny:\n  - {"))
    path = tmp_path / "cilium.yaml"
    path.write_text(text)
    lines = text.splitlines()
    allow_line = lines.index("  - {fromEndpoints: [{matchLabels: {app: db}}], toPorts: [{ports: [{port: '80', "
                             "protocol: TCP}]}]}") + 1
    cidr_line = lines.index("  - toCIDR: [10.0.1.0/24]") + 1
    assert _findings(path, "--cni", "cilium") == (1, {
        ("NP116", "CiliumNetworkPolicy default/allow", "spec.ingress[0]", allow_line),
        ("NP213", "CiliumClusterwideNetworkPolicy deny", "spec.egress[0].toCIDR[0]", cidr_line)})
    code, found = _findings(path, "--cni", "generic", "--ignore-unmodelled")
    assert code == 1 and {f[0] for f in found} == {"NP115"}
