"""`replay` predicts verdicts, so it refuses, as can-reach does, next to objects that enforce traffic and
that netpol does not evaluate, unless --ignore-unmodelled is given."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

POD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n"
       "spec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.0.5}\n")
CNP = ("---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: drop, namespace: shop}\n"
       "spec: {endpointSelector: {}, ingress: [{}]}\n")
ISTIO = ("---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny, namespace: shop}\n"
         "spec: {action: DENY}\n")


def test_replay_refuses_beside_unmodelled_objects(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(POD + ISTIO)
    (tmp_path / "f.csv").write_text("source,destination,protocol,port,verdict\n10.1.1.1,shop/web,TCP,80,allowed\n")
    args = ["replay", str(tmp_path / "f.csv"), "-f", str(tmp_path / "m.yaml")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "AuthorizationPolicy (security.istio.io/v1): shop/deny" in r.stderr
    r = CliRunner().invoke(app, [*args, "--ignore-unmodelled"])
    assert r.exit_code == 0 and "ignored (--ignore-unmodelled)" in r.stderr


def test_replay_evaluates_cilium_policies(tmp_path: Path) -> None:
    """Under the cilium profile (recognised from the CiliumNetworkPolicy) the policy is evaluated: `ingress: [{}]`
    isolates shop/web and allows nothing, so the observed flow is one policy does not explain."""
    (tmp_path / "m.yaml").write_text(POD + CNP)
    (tmp_path / "f.csv").write_text("source,destination,protocol,port,verdict\n10.1.1.1,shop/web,TCP,80,allowed\n")
    r = CliRunner().invoke(app, ["replay", str(tmp_path / "f.csv"), "-f", str(tmp_path / "m.yaml")])
    assert r.exit_code == 1 and "not evaluated" not in r.stderr, r.stderr + r.stdout
