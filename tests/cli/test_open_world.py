"""The world is open: check, exposure, list and graph answer for every pod that could exist, and
`--input-only` restricts them to the input's pods and says so."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from netpol.cli import app
from netpol.connectivity import INPUT_ONLY_NOTE
from tests.builders import labels, namespace, pod, policy

runner = CliRunner()


def write(path: Path, *objects: dict) -> str:  # type: ignore[type-arg]
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


def bank(tmp_path: Path, peer: dict) -> str:  # type: ignore[type-arg]
    """bank/vault admits `peer` on TCP/8443; bank/teller is the input's other pod."""
    return write(tmp_path / "bank.yaml", namespace("bank", team="money"), pod("teller", "bank", {"app": "teller"}),
                 pod("vault", "bank", {"app": "vault"}), policy("vault", "bank", labels(app="vault"), ingress=[
                     {"from": [peer], "ports": [{"port": 8443}]}]))


def test_check_only_fails_on_the_pods_of_other_namespaces(tmp_path: Path) -> None:
    manifests = bank(tmp_path, {"namespaceSelector": {}})
    path = tmp_path / "vault.intent.yaml"
    path.write_text(f"apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [{manifests}]\nexpectations:\n"
                    "- name: only bank reaches the vault\n  only: {from: [{namespace: bank}], to: bank/vault}\n"
                    "  port: 8443\n")
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo"])
    assert r.exit_code == 1, r.stdout
    assert r.stdout.splitlines()[1:3] == [
        "  expected: only namespace bank may reach bank/vault on 8443 (1 of 2 pairs wrong)",
        "    any pod in any other namespace -> bank/vault should be denied but is allowed on TCP:8443"]
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo", "--input-only", "-o", "json"])
    assert r.exit_code == 0, r.stdout
    assert json.loads(r.stdout)["assumptions"] == [INPUT_ONLY_NOTE]
    assert r.stderr.splitlines() == [f"netpol: note: {INPUT_ONLY_NOTE}"]
