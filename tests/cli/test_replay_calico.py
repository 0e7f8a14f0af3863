"""netpol replay under Calico through typer's runner: Calico's own kinds are evaluated as can-reach evaluates them
(tiers, Pass, Log, a tier's default action, network sets, service accounts, a node's own pods, --staged), and each
connection names the walk that decided it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()
TIERS = str(Path(__file__).resolve().parent.parent / "data" / "flows" / "calico-tiers.yaml")
FLOWS = ("source,destination,protocol,port,verdict,time\n"
         "shop/api-1,shop/web,TCP,80,allowed,2026-12-01T10:00:00Z\n"
         "shop/api-1,10.0.0.1,TCP,80,allowed,2026-12-01T10:05:00Z\n"
         "shop/fe,shop/web,TCP,80,allowed,\n"
         "203.0.113.5,shop/web,TCP,443,denied,\n"
         "198.51.100.7,shop/fe,TCP,80,allowed,\n"
         "192.0.2.1,shop/web,TCP,80,allowed,\n"
         "shop/fe,10.0.9.9,UDP,53,allowed,\n")
BREAKS = ("observed passing, but these policies deny it: applying them breaks this traffic (if they are applied "
          "already, the plugin does not enforce them as written)")
MISMATCHES = ("observed denied, but these policies allow it: the plugin enforces something the input does not hold "
              "(plugin-specific policies, a host firewall, policies changed since), or the input opens what was closed")


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["replay", "-", "-f", TIERS, *args], input=FLOWS)


def test_text_names_the_tier_policy_and_rule_that_decided() -> None:
    """Log continues; a Deny or Allow of the security tier is final; a tier whose default action is Pass hands on
    to the app tier, whose end denies what its policy does not allow (fe runs as the default service account)."""
    r = run()
    assert r.exit_code == 1, r.stderr
    assert r.stdout == (
        "WOULD BREAK: observed traffic these policies deny (2)\n"
        "  198.51.100.7 -> shop/fe TCP/80: 1 record(s); observed allowed\n"
        "    decided by ingress: tier security: GlobalNetworkPolicy sec (order 10) ingress[1]: Deny\n"
        f"    {BREAKS}\n"
        "  shop/fe -> shop/web TCP/80: 1 record(s); observed allowed\n"
        "    decided by ingress: tier app: no rule matched, the tier's default action: Deny\n"
        f"    {BREAKS}\n"
        "MISMATCH: observed denied, but these policies allow it (1)\n"
        "  203.0.113.5 -> shop/web TCP/443: 1 record(s); observed denied\n"
        "    decided by ingress: tier security: GlobalNetworkPolicy sec (order 10) ingress[2]: Allow\n"
        f"    {MISMATCHES}\n"
        "3 connection(s) unchanged; 6 connection(s) from 7 record(s)\n")
    assert "not evaluated" not in r.stderr


def test_json_walk_per_side() -> None:
    r = run("-o", "json")
    assert r.exit_code == 1, r.stderr
    conns = {(c["source"], c["destination"], c["protocol"], c["port"]): c for c in json.loads(r.stdout)["connections"]}
    assert sorted(conns) == [("192.0.2.1", "shop/web", "TCP", 80), ("198.51.100.7", "shop/fe", "TCP", 80),
                             ("203.0.113.5", "shop/web", "TCP", 443), ("shop/api-1", "shop/web", "TCP", 80),
                             ("shop/fe", "kube-system/dns", "UDP", 53), ("shop/fe", "shop/web", "TCP", 80)]
    by_sa = conns[("shop/api-1", "shop/web", "TCP", 80)]
    assert (by_sa["records"], by_sa["observed"], by_sa["predicted"], by_sa["classification"]) == \
        (["-:2", "-:3"], "allowed", "allowed", "unchanged")  # by name and by web's IP: one connection
    # as can-reach says it: the security tier's default Pass is in no walk step (netpol/analyses/calico_walk.py)
    assert by_sa["decided_by"] == ["egress: no tier decided: the namespace's profile allows",
                                   "ingress: tier app: NetworkPolicy shop/web-in (order 10) ingress[0]: Allow"]
    profile = {"tier": None, "kind": None, "policy": None, "order": None, "direction": None, "rule": None,
               "action": "Allow", "node_rule": None}  # no tier decided: the namespace's profile allows
    assert by_sa["walk"] == {"egress": [profile], "ingress": [{"tier": "app", "kind": "NetworkPolicy", "policy": "shop/web-in",
                                          "order": 10.0, "direction": "ingress", "rule": 0, "action": "Allow"}]}
    partner = conns[("203.0.113.5", "shop/web", "TCP", 443)]
    assert partner["walk"] == {"ingress": [{"tier": "security", "kind": "GlobalNetworkPolicy", "policy": "sec",
                                            "order": 10.0, "direction": "ingress", "rule": 2, "action": "Allow"}]}
    node = conns[("192.0.2.1", "shop/web", "TCP", 80)]  # n1's address: Calico does not police it to n1's pods
    assert (node["predicted"], node["classification"]) == ("allowed", "unchanged")
    assert node["decided_by"] == [
        "ingress: the node rule (n1): Allow (Calico does not police a node's traffic to its own pods)"]


def test_staged_replays_as_if_the_staged_policies_were_applied() -> None:
    r = run("--staged", "-o", "csv")
    assert r.exit_code == 1, r.stderr
    rows = {(row[0], row[1]): row for row in (line.split(",") for line in r.stdout.splitlines()[1:])}
    assert rows[("shop/fe", "kube-system/dns")][7:11] == [
        "allowed", "denied", "break", "ingress: tier security: GlobalNetworkPolicy dns-lock (order 5) ingress[0]: Deny"]
    plain = run("-o", "csv")
    assert [row for row in plain.stdout.splitlines() if row.startswith("shop/fe,kube-system/dns")] == [
        "shop/fe,kube-system/dns,UDP,53,1,,,allowed,allowed,unchanged,egress: no tier decided: the namespace's "
        "profile allows; ingress: no tier decided: the namespace's profile allows,,,,"]


ENTERPRISE = str(Path(__file__).resolve().parent.parent / "data" / "flows" / "calico-enterprise.json")


def test_calico_enterprise_flow_logs_and_the_rules_they_report() -> None:
    """Calico Enterprise's flow logs (addresses, `-` for an aggregated name or no namespace, `_name_aggr`,
    labels as {"labels": [...]}, "INDEX|TIER|NAME|ACTION|RULE" policy hits): each record's last enforced allow or
    deny is compared with the rule netpol's walk ends with. Line 4 reports the profile's allow where netpol's
    security tier denies (a break, and a policy mismatch); line 5 reports web-in's rule 1 where netpol's rule 0
    allows (the verdicts agree, the rule does not). A Pass, a tier's end and Calico's `tier.name` names agree."""
    r = runner.invoke(app, ["replay", ENTERPRISE, "-f", TIERS])
    assert r.exit_code == 1, r.stderr
    assert r.stdout == (
        "WOULD BREAK: observed traffic these policies deny (1)\n"
        "  198.51.100.7 -> shop/fe TCP/80: 1 record(s), 2025-12-01T10:00:00Z; observed allowed\n"
        "    decided by ingress: tier security: GlobalNetworkPolicy sec (order 10) ingress[1]: Deny\n"
        f"    {BREAKS}\n"
        "POLICY MISMATCH: Calico's flow logs name another deciding rule than netpol (2)\n"
        "  198.51.100.7 -> shop/fe TCP/80\n"
        "    destination side: Calico reports the namespace's profile: allow; netpol: ingress: tier security: "
        "GlobalNetworkPolicy sec (order 10) ingress[1]: Deny\n"
        "  shop/api-* -> shop/web TCP/80\n"
        "    destination side: Calico reports tier app: shop/app.web-in rule 1: allow; netpol: ingress: tier app: "
        "NetworkPolicy shop/web-in (order 10) ingress[0]: Allow\n"
        "5 connection(s) unchanged; 6 connection(s) from 6 record(s)\n")
    data = json.loads(runner.invoke(app, ["replay", ENTERPRISE, "-f", TIERS, "-o", "json"]).stdout)
    assert data["summary"]["policy_mismatch"] == 2
    agreed = next(c for c in data["connections"] if c["source"] == "203.0.113.5")
    assert (agreed["source_placement"], agreed["reported"], agreed["policy_mismatch"]) == (
        "outside", [{"side": "destination", "tier": "security", "namespace": "", "name": "security.sec",
                     "action": "allow", "rule": 2, "text": "tier security: security.sec rule 2: allow"}], [])


def test_fail_on_mismatch_counts_a_policy_mismatch() -> None:
    """Only line 5 (the verdicts agree, the rule does not): --fail-on mismatch fails, break does not."""
    line = open(ENTERPRISE).read().splitlines()[4] + "\n"
    assert runner.invoke(app, ["replay", "-", "-f", TIERS], input=line).exit_code == 0
    r = runner.invoke(app, ["replay", "-", "-f", TIERS, "--fail-on", "mismatch", "-o", "csv"], input=line)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1].endswith(
        ",,,destination side: Calico reports tier app: shop/app.web-in rule 1: allow; netpol: ingress: tier app: "
        "NetworkPolicy shop/web-in (order 10) ingress[0]: Allow")


def test_calico_storage_objects_are_named_with_what_to_give_instead(tmp_path: Path) -> None:
    """Every command evaluates Calico's v3 kinds now: what a refusal under the calico profile still names is the
    storage form (crd.projectcalico.org/v1), and it says which form to give (before: "every command but replay")."""
    (tmp_path / "m.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: c}]}\n"
        "status: {podIP: 10.0.0.1}\n---\napiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\n"
        "metadata: {name: x, namespace: shop}\nspec: {}\n")
    r = runner.invoke(app, ["replay", "-", "-f", str(tmp_path / "m.yaml"), "--cni", "calico"],
                      input="source,destination,protocol,port\n10.1.1.1,shop/web,TCP,80\n")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1] == (
        "netpol: error: the answer cannot see everything that allows or denies traffic here: 1 NetworkPolicy "
        "(crd.projectcalico.org/v1): shop/x, not evaluated by netpol. The calico profile answers the questions the "
        "NetworkPolicy API leaves open as Calico does: every command evaluates Calico's projectcalico.org/v3 kinds; "
        "crd.projectcalico.org/v1 objects are Calico's storage, which netpol does not read: give their "
        "projectcalico.org/v3 form (calicoctl get -o yaml, or the Calico API server). netpol does not answer as if "
        "they were absent; pass --ignore-unmodelled to answer without them (every answer then says what it "
        "ignored), or remove them from the input")
