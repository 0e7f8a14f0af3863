"""`explain --cni calico`: Calico's tiers in evaluation order (order, default action), each one's policies in
evaluation order (order, kind, name, directions, selector) and their rules (index, action, summary), a rule
after a catch-all first-match rule of its policy marked shadowed; as text and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()
SHADOWED = str(Path(__file__).resolve().parents[1] / "data" / "calico-explain" / "shadowed.yaml")


def test_explain_lists_tiers_policies_and_rules_in_evaluation_order() -> None:
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", SHADOWED])
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        "Calico tiers in evaluation order: in each tier the first matching rule decides (Pass: the next tier);",
        "a pod some policy of the tier selects that no rule matched gets the tier's default action; a pod no",
        "policy of the tier selects goes on to the next tier; after the last tier, the namespace's profile allows",
        "tier security  order 100  default action Pass",
        '  GlobalNetworkPolicy gate  order 10  ingress  selector: role == "db"',
        "    ingress[0] Log: from anywhere; to anywhere",
        "    ingress[1] Deny: protocol UDP; from anywhere; to ports 53",
        "    ingress[2] Pass: from anywhere; to anywhere",
        "    ingress[3] Allow: from nets 10.0.0.0/8; to anywhere",
        "      shadowed: never reached, ingress[2] matches all its traffic first",
        "  GlobalNetworkPolicy late  order 20  egress  selector: all()",
        "    egress[0] Deny: protocol TCP; from ports 5000; to anywhere (never matches: netpol assumes the client's "
        "source port is outside `source.ports`)",
        "  GlobalNetworkPolicy idle  order 30  ingress  selector: all()",
        "    no rules",
        "tier default  order 1000000  default action Deny",
        "  KubernetesNetworkPolicy shop/web  order 1000  ingress  selector: app=web",
        "    ingress[0] Allow: from anywhere; on all ports and ICMP",
        "    ingress[1] Allow: from pods [app=fe] in namespace shop; on TCP:80",
        "      shadowed: never reached, ingress[0] matches all its traffic first"]
    assert "not evaluated" not in r.stderr  # evaluated, no longer named as ignored


def test_explain_json_has_the_tiers_as_data() -> None:
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", SHADOWED, "-o", "json"])
    assert r.exit_code == 0
    tiers = json.loads(r.stdout)
    assert [(t["tier"], t["order"], t["default_action"], [p["policy"] for p in t["policies"]]) for t in tiers] == [
        ("security", 100.0, "Pass", ["gate", "late", "idle"]), ("default", 1_000_000.0, "Deny", ["shop/web"])]
    gate = tiers[0]["policies"][0]
    assert (gate["kind"], gate["order"], gate["directions"], gate["selector"]) == \
        ("GlobalNetworkPolicy", 10.0, ["ingress"], 'role == "db"')
    assert [(r["direction"], r["index"], r["action"], r["shadowed_by"]) for r in gate["rules"]] == [
        ("ingress", 0, "Log", None), ("ingress", 1, "Deny", None), ("ingress", 2, "Pass", None),
        ("ingress", 3, "Allow", 2)]
    assert gate["rules"][1]["summary"] == "protocol UDP; from anywhere; to ports 53"
    assert [(r["index"], r["action"]) for r in tiers[0]["policies"][1]["rules"]] == [(0, "Deny")]
    assert tiers[0]["policies"][2]["rules"] == [] and tiers[0]["policies"][2]["directions"] == ["ingress"]


def test_explain_namespace_keeps_cluster_wide_policies_and_that_namespace_only() -> None:
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", SHADOWED, "-n", "other", "-o", "json"])
    assert r.exit_code == 0
    assert [(t["tier"], [p["policy"] for p in t["policies"]]) for t in json.loads(r.stdout)] == [
        ("security", ["gate", "late", "idle"])]


ACROSS = str(Path(__file__).resolve().parents[1] / "data" / "calico-explain" / "across.yaml")


def test_explain_marks_rules_shadowed_by_earlier_policies_and_tiers() -> None:
    """A rule every packet of which an earlier policy's rule of its tier matches first, or an earlier tier decides
    (it selects every pod the rule governs, has no Pass rule, ends in Deny); a rule only partly covered is not."""
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", ACROSS])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[3:] == [
        "tier strict  order 50  default action Deny",
        "  GlobalNetworkPolicy strict.locked  no order  ingress  selector: has(locked)",
        "    ingress[0] Allow: protocol TCP; from anywhere; to ports 80",
        "tier security  order 100  default action Pass",
        "  GlobalNetworkPolicy security.first  order 10  ingress  selector: all()",
        '    ingress[0] Deny: from selector app == "bad"; to anywhere',
        '  GlobalNetworkPolicy security.second  order 20  ingress  selector: app == "web"',
        '    ingress[0] Allow: protocol TCP; from selector app == "bad"; to ports 80',
        "      shadowed: never decides, GlobalNetworkPolicy security.first ingress[0] matches all its traffic first",
        '    ingress[1] Allow: from selector app == "fe"; to anywhere',
        '    ingress[2] Allow: protocol TCP; from selector (app == "fe" && team == "a"); to ports 8080',
        "      shadowed: never reached, ingress[1] matches all its traffic first",
        '  GlobalNetworkPolicy security.third  order 30  ingress  selector: (has(locked) && app == "x")',
        "    ingress[0] Allow: from anywhere; to anywhere",
        "      shadowed: never decides, tier strict (it selects every pod the rule governs, has no Pass rule and "
        "ends in Deny) decides all its traffic first"]
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", ACROSS, "-o", "json"])
    second = json.loads(r.stdout)[1]["policies"][1]
    assert [(x["index"], x["shadowed_by"], x["shadowed_across"]) for x in second["rules"]] == [
        (0, None, "GlobalNetworkPolicy security.first ingress[0]"), (1, None, None), (2, 1, None)]
