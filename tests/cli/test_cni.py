"""--cni through the command line: the profile changes the answers where the plugin's answers differ, and
every answer says which profile it is and how it was chosen."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from netpol.cli import app
from tests.unit.test_dataplane import OBJECTS

runner = CliRunner()
CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "shop"},
       "spec": {"endpointSelector": {}, "ingress": [{}]}}
GNP = {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"},
       "spec": {"selector": "all()"}}


def _write(tmp_path: Path, *extra: dict[str, object]) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all([*OBJECTS, *extra]))
    return str(path)


def test_the_profile_decides_and_is_stated(tmp_path: Path) -> None:
    f = _write(tmp_path)
    ask = ["can-reach", "shop/web", "shop/db", "-p", "80", "-f", f]
    assert runner.invoke(app, ask).exit_code == 0
    r = runner.invoke(app, [*ask, "--cni", "cilium", "-o", "json"])
    assert r.exit_code == 1, r.stderr
    notes = json.loads(r.stdout)["assumptions"]
    assert notes[0] == ("dataplane profile cilium 1.20 (--cni cilium); its answers to what the NetworkPolicy API "
                        "leaves open follow (docs/semantics.md §15)")
    assert r.stderr == f"netpol: info: {notes[0]}\n"
    assert runner.invoke(app, [*ask, "--cni", "calico"]).exit_code == 0
    own_node = ["can-reach", "shop/web", "shop/agent", "-p", "80", "-f", f]
    assert [runner.invoke(app, [*own_node, "--cni", cni]).exit_code for cni in ("generic", "cilium", "calico")] == [
        0, 1, 1]
    r = runner.invoke(app, ["matrix", "-p", "80", "-f", f, "--cni", "calico:3.31", "-o", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["assumptions"][0].startswith("dataplane profile calico 3.31 ")


def test_explain_and_lint_take_it(tmp_path: Path) -> None:
    f = _write(tmp_path)
    for command in (["explain"], ["lint"], ["list"], ["exposure"], ["graph", "-o", str(tmp_path / "g.dot")]):
        r = runner.invoke(app, [*command, "-f", f, "--cni", "cilium"])
        assert "netpol: info: dataplane profile cilium 1.20 (--cni cilium)" in r.stderr, (command, r.stderr)


def test_recognised_from_the_input(tmp_path: Path) -> None:
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db", "-p", "80", "-f", _write(tmp_path, CNP)])
    # the cilium profile evaluates the CiliumNetworkPolicy (issue 25): `ingress: [{}]` isolates shop and allows nothing
    lines = r.stdout.splitlines()
    assert r.exit_code == 1 and [lines[0], lines[2]] == [
        "DENIED: shop/web -> shop/db TCP/80", "  ingress of shop/db: denied: shop/db is isolated for ingress by "
        "CNP shop/x, shop/db-in and no rule allows receiving TCP/80 from shop/web"]
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db", "-p", "80", "-f", _write(tmp_path, CNP),
                            "--ignore-unmodelled"])
    assert r.exit_code == 1 and "  assumption: dataplane profile cilium 1.20 (recognised: the input holds " \
                                "CiliumNetworkPolicy (cilium.io)); its answers" in r.stdout


def test_two_plugins_or_an_unknown_one_are_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, CNP, GNP)
    r = runner.invoke(app, ["matrix", "-f", path, "--ignore-unmodelled"])
    assert r.exit_code == 2 and r.stdout == "" and r.stderr == (
        "netpol: error: the input shows two network plugins: calico (the input holds GlobalNetworkPolicy "
        f"(projectcalico.org), first at {path}: document 9, line 121 (GlobalNetworkPolicy g)); cilium (the input "
        f"holds CiliumNetworkPolicy (cilium.io), first at {path}: document 8, line 111 (CiliumNetworkPolicy "
        "shop/x)). Pass --cni NAME to say which one enforces the policies\n")
    r = runner.invoke(app, ["matrix", "-f", _write(tmp_path, CNP, GNP), "--cni", "calico:2"])
    assert r.exit_code == 2 and r.stderr == (
        "netpol: error: --cni 'calico:2': netpol knows no release '2' of calico; it knows 3.30, 3.31, 3.32\n")


def test_version_names_the_profiles() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[1] == "dataplane profiles (--cni): generic, cilium (1.20), calico (3.30, 3.31, 3.32)"


def test_diff_compares_under_one_profile(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = tmp_path / "a" / "in.yaml"
    base.write_text(yaml.safe_dump_all(list(OBJECTS)))
    head = tmp_path / "b" / "in.yaml"
    head.write_text(yaml.safe_dump_all([*OBJECTS, CNP]))
    r = runner.invoke(app, ["diff", str(base), str(head), "--ignore-unmodelled"])
    assert r.exit_code == 2 and r.stderr.splitlines()[-1] == (
        "netpol: error: BASE runs the generic profile and HEAD the cilium profile (recognised from their kinds); "
        "pass --cni NAME to compare both under one")
    r = runner.invoke(app, ["diff", str(base), str(head), "--ignore-unmodelled", "--cni", "cilium"])
    # under one profile, HEAD's CNP is evaluated (issue 25): `ingress: [{}]` isolates shop's pods, so connections
    # to them are lost
    assert r.exit_code == 1 and " lost," in r.stdout.splitlines()[0], r.stderr
    r = runner.invoke(app, ["diff", str(base), str(base), "--cni", "generic"])
    assert r.exit_code == 0, r.stderr


def test_check_states_the_profile(tmp_path: Path) -> None:
    f = _write(tmp_path)
    intent = tmp_path / "shop.intent.yaml"
    intent.write_text(yaml.safe_dump({"apiVersion": "netpol/v1", "kind": "NetworkPolicyIntent", "manifests": [f],
                                      "expectations": [{"name": "web reaches db", "from": "shop/web", "to": "shop/db",
                                                        "port": 80, "expect": "allow"}]}))
    assert runner.invoke(app, ["check", str(intent), "--allow-outside-repo", "--input-only"]).exit_code == 0
    r = runner.invoke(app, ["check", str(intent), "--allow-outside-repo", "--input-only", "--cni", "cilium",
                            "-o", "json"])
    assert r.exit_code == 1  # db's ipBlock does not admit web under Cilium
    notes = json.loads(r.stdout)["assumptions"]
    assert any(a.startswith("dataplane profile cilium 1.20 (--cni cilium)") for a in notes)
