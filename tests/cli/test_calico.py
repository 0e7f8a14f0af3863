"""Calico's policies through the command line under the calico profile: can-reach shows the walk per direction
(tier, policy, order, rule index, action; a tier's default action; each Pass that handed on), as text and as
JSON data; matrix evaluates them; a command that does not read Calico's tiers yet refuses them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()
DATA = Path(__file__).resolve().parents[1] / "data" / "calico"
PASS = str(DATA / "security-tier-pass.yaml")


def _walk(src: str, dst: str, *extra: str) -> tuple[int, list[str]]:
    r = runner.invoke(app, ["can-reach", src, dst, "-p", "80", "-f", PASS, *extra])
    return r.exit_code, [line for line in r.stdout.splitlines() if not line.startswith("  assumption")]


def test_can_reach_shows_each_tier_that_passed_and_what_decided() -> None:
    assert _walk("shop/fe", "shop/web") == (0, [
        "ALLOWED: shop/fe -> shop/web TCP/80",
        "  egress  of shop/fe: tier security: GlobalNetworkPolicy quarantine (order 10) egress[0]: Pass -> no tier "
        "decided: the namespace's profile allows",
        "  ingress of shop/web: tier security: GlobalNetworkPolicy quarantine (order 10) ingress[1]: Pass -> tier "
        "app: NetworkPolicy shop/web (no order) ingress[0]: Allow"])
    assert _walk("shop/bad", "shop/web")[1][2] == \
        "  ingress of shop/web: tier security: GlobalNetworkPolicy quarantine (order 10) ingress[0]: Deny"
    assert _walk("203.0.113.9", "shop/web")[1][2] == (
        "  ingress of shop/web: tier security: GlobalNetworkPolicy quarantine (order 10) ingress[1]: Pass -> tier "
        "app: no rule matched, the tier's default action: Deny")


def test_can_reach_json_has_the_walk_as_data() -> None:
    r = runner.invoke(app, ["can-reach", "203.0.113.9", "shop/web", "-p", "80", "-f", PASS, "-o", "json"])
    assert r.exit_code == 1
    ingress = json.loads(r.stdout)["ingress"]
    assert ingress["walk"] == [
        {"tier": "security", "kind": "GlobalNetworkPolicy", "policy": "quarantine", "order": 10.0,
         "direction": "ingress", "rule": 1, "action": "Pass"},
        {"tier": "app", "kind": None, "policy": None, "order": None, "direction": None, "rule": None,
         "action": "Deny", "node_rule": None}]
    assert ingress["allowed"] is False and ingress["tier"] == "app"
    assert ingress["isolated_by"] == ["GlobalNetworkPolicy quarantine", "NetworkPolicy shop/web"]


def test_matrix_evaluates_calico_policies() -> None:
    r = runner.invoke(app, ["matrix", "-f", PASS, "-p", "80", "-o", "json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["allowed"] == [["shop/fe", "shop/bad"], ["shop/fe", "shop/web"],
                                               ["shop/web", "shop/bad"], ["shop/web", "shop/fe"]]


FLOW = "source,destination,protocol,port,verdict\nshop/fe,shop/web,TCP,81,allowed\n"  # web admits 80 alone


def test_replay_reads_the_tiers_too() -> None:
    """replay evaluates Calico's kinds like every other command (tests/cli/test_replay_calico.py has the rest)."""
    r = runner.invoke(app, ["replay", "-", "-f", PASS, "-o", "json"], input=FLOW)
    assert r.exit_code == 1, r.stderr
    assert json.loads(r.stdout)["connections"][0]["decided_by"] == [
        "ingress: tier security: GlobalNetworkPolicy quarantine (order 10) ingress[1]: Pass -> tier app: no rule "
        "matched, the tier's default action: Deny"]


STAGED = str(DATA / "staged-what-if.yaml")


def test_staged_answers_as_if_the_staged_policies_were_applied() -> None:
    ask = ["can-reach", "shop/fe", "shop/web", "-p", "80", "-f", STAGED]
    plain = runner.invoke(app, ask)
    assert plain.exit_code == 0
    assert plain.stdout.splitlines()[2] == \
        "  ingress of shop/web: tier default: GlobalNetworkPolicy web-in (order 20) ingress[0]: Allow"
    staged = runner.invoke(app, [*ask, "--staged", "-o", "json"])
    assert staged.exit_code == 1
    out = json.loads(staged.stdout)
    assert out["ingress"]["walk"] == [{"tier": "default", "kind": "GlobalNetworkPolicy", "policy": "lockdown",
                                       "order": 10.0, "direction": "ingress", "rule": 0, "action": "Deny"}]
    assert out["assumptions"][-1] == \
        "what if: the staged Calico policies applied (--staged): StagedGlobalNetworkPolicy/lockdown"
    matrix = runner.invoke(app, ["matrix", "-f", STAGED, "-p", "80", "-o", "json", "--staged"])
    assert json.loads(matrix.stdout)["allowed"] == [["shop/web", "shop/fe"]]


def test_a_staged_set_replaces_and_a_delete_removes_its_enforced_counterpart(tmp_path: Path) -> None:
    base = (DATA / "staged-what-if.yaml").read_text()
    replace_web_in = base + """---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: web-in}
spec:
  order: 20
  selector: app == 'web'
  ingress:
  - action: Allow
    source: {selector: app == 'nobody'}
"""
    f = tmp_path / "replace.yaml"
    f.write_text(replace_web_in.replace("stagedAction: Set", "stagedAction: Ignore"))
    ask = ["can-reach", "203.0.113.9", "shop/web", "-p", "80", "-f", str(f)]
    assert runner.invoke(app, ask).exit_code == 0  # web-in as enforced allows everyone
    staged = runner.invoke(app, [*ask, "--staged"])  # its staged twin replaces it: admits nobody
    assert staged.exit_code == 1, staged.stdout
    assert staged.stdout.splitlines()[2] == \
        "  ingress of shop/web: tier default: no rule matched, the tier's default action: Deny"
    delete = base.replace("stagedAction: Set", "stagedAction: Ignore") + """---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: web-in}
spec: {stagedAction: Delete}
"""
    f.write_text(delete)
    r = runner.invoke(app, ["can-reach", "shop/fe", "shop/web", "-p", "80", "-f", str(f), "--staged"])
    assert r.exit_code == 0 and r.stdout.splitlines()[2] == \
        "  ingress of shop/web: no tier decided: the namespace's profile allows"


def test_staged_needs_calico() -> None:
    r = runner.invoke(app, ["can-reach", "shop/fe", "shop/web", "-p", "80", "-f", STAGED, "--staged", "--cni",
                            "generic", "--ignore-unmodelled"])
    assert r.exit_code == 2
    assert "--staged answers as if Calico's staged policies were applied: it needs the calico profile " \
           "(--cni calico)" in r.stderr


def test_ignored_calico_policies_are_not_evaluated_either() -> None:
    """Under another profile Calico's kinds are named as not evaluated and, with --ignore-unmodelled, answered
    without: the engine does not evaluate them behind its back (web would be isolated: fe's traffic on 81 would
    break). (Every command evaluates them under the calico profile, replay too since issue 26.)"""
    r = runner.invoke(app, ["replay", "-", "-f", PASS, "--cni", "generic", "--ignore-unmodelled", "-o", "json"],
                      input=FLOW)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["unchanged"] == 1  # allowed, as if no Calico policy were there
    assert "ignored (--ignore-unmodelled): 1 GlobalNetworkPolicy (projectcalico.org/v3): quarantine" in r.stderr
