"""`explain --cni calico`: Calico's tiers in evaluation order (order, default action), each one's policies in
evaluation order (order, kind, name, directions, selector) and their rules (index, action, summary), a rule
that no connection of any possible pod reaches marked shadowed, with what decides first; as text and as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from netpol import load_manifests
from netpol.cli import app
from netpol.policies.profiles import apply

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
        "      shadowed: never reached, all its traffic is decided first by GlobalNetworkPolicy gate ingress[1] and "
        "GlobalNetworkPolicy gate ingress[2]",
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
        ("ingress", 3, "Allow", None)]  # UDP/53 is denied by ingress[1], the rest passed by ingress[2]
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
    """A rule all of whose traffic is decided first, by earlier policies' rules of its tier and by an earlier tier
    (its rules, its end's Deny) together: a pod with the label `locked` is decided in tier strict; a rule only
    partly covered (ingress[1]: traffic from fe that no earlier rule decides) is not."""
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
        "      shadowed: never reached, all its traffic is decided first by GlobalNetworkPolicy security.first "
        "ingress[0] and GlobalNetworkPolicy strict.locked ingress[0]",
        '    ingress[1] Allow: from selector app == "fe"; to anywhere',
        '    ingress[2] Allow: protocol TCP; from selector (app == "fe" && team == "a"); to ports 8080',
        "      shadowed: never reached, all its traffic is decided first by GlobalNetworkPolicy security.second "
        "ingress[1] and tier strict's default action (Deny)",
        '  GlobalNetworkPolicy security.third  order 30  ingress  selector: (has(locked) && app == "x")',
        "    ingress[0] Allow: from anywhere; to anywhere",
        "      shadowed: never reached, all its traffic is decided first by GlobalNetworkPolicy strict.locked "
        "ingress[0] and tier strict's default action (Deny)"]
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", ACROSS, "-o", "json"])
    second = json.loads(r.stdout)[1]["policies"][1]
    assert [(x["index"], x["shadowed_by"], x["shadowed_across"]) for x in second["rules"]] == [
        (0, None, "GlobalNetworkPolicy security.first ingress[0] and GlobalNetworkPolicy strict.locked ingress[0]"),
        (1, None, None),
        (2, None, "GlobalNetworkPolicy security.second ingress[1] and tier strict's default action (Deny)")]


EXACT = str(Path(__file__).resolve().parents[1] / "data" / "calico-explain" / "exact.yaml")


def test_shadowing_is_exact_for_every_possible_pod() -> None:
    """Several earlier rules together (union.ingress[2]: TCP 1-1000 denied, 1001-65535 allowed first); an earlier
    rule whose selector the later one's implies (has(app) before app == 'x'); a rule that no pod of the input
    reaches but a possible one does (a front end outside shop) is not marked."""
    r = runner.invoke(app, ["explain", "--cni", "calico", "-f", EXACT])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[3:] == [
        "tier t  order 100  default action Deny",
        '  GlobalNetworkPolicy t.union  order 10  ingress  selector: role == "db"',
        "    ingress[0] Deny: protocol TCP; from anywhere; to ports 1:1000",
        "    ingress[1] Allow: protocol TCP; from anywhere; to ports 1001:65535",
        "    ingress[2] Allow: protocol TCP; from anywhere; to anywhere",
        "      shadowed: never reached, all its traffic is decided first by GlobalNetworkPolicy t.union ingress[0] and "
        "GlobalNetworkPolicy t.union ingress[1]",
        '  GlobalNetworkPolicy t.implied  order 20  ingress  selector: role == "web"',
        "    ingress[0] Allow: from selector has(app); to anywhere",
        '    ingress[1] Deny: from selector app == "x"; to anywhere',
        "      shadowed: never reached, ingress[0] matches all its traffic first",
        '  GlobalNetworkPolicy t.open  order 30  ingress  selector: role == "api"',
        '    ingress[0] Deny: from namespaceSelector projectcalico.org/name == "shop"; to anywhere',
        '    ingress[1] Allow: from selector app == "fe"; to anywhere']


def test_only_the_possible_pods_keep_a_rule_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the input's pods alone (its one front end is in shop) open.ingress[1] would be shadowed: the possible
    pods are what keeps it unmarked; past the region limit no rule is marked at all."""
    from netpol.analyses import calico_explain
    from netpol.analyses.label_space import RegionLimitError

    loaded = apply(load_manifests([EXACT]), "calico").cluster
    refs = {(ref.policy, ref.index): by for ref, by in calico_explain.shadowing(loaded).items()}
    assert sorted(refs) == [("t.implied", 1), ("t.union", 2)]
    monkeypatch.setattr(calico_explain, "regions", lambda cluster: SimpleNamespace(cluster=cluster))
    refs = {(ref.policy, ref.index): by for ref, by in calico_explain.shadowing(loaded).items()}
    assert refs[("t.open", 1)] == ("GlobalNetworkPolicy t.open ingress[0]",)

    def refuse(cluster: object) -> None:
        raise RegionLimitError("too many")
    monkeypatch.setattr(calico_explain, "regions", refuse)
    assert calico_explain.shadowing(loaded) == {}


def test_a_possible_pod_may_have_any_address(tmp_path: Path) -> None:
    """ingress[0] denies every address in 10.0.0.0/8 but those of pods of app y (a GlobalNetworkPolicy's
    notSelector matches outside addresses too); no pod of app y is in the input, yet one may have an address there
    and reach ingress[1]: not shadowed (with the possible pods taken without an address it was). ingress[2]
    matches only what ingress[0] denies."""
    path = tmp_path / "nets.yaml"
    path.write_text("""apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: outside}
spec:
  selector: role == 'db'
  ingress:
  - {action: Deny, source: {nets: [10.0.0.0/8], notSelector: app == 'y'}}
  - {action: Allow, source: {nets: [10.0.0.0/8]}}
  - {action: Allow, source: {nets: [10.0.0.0/8], selector: app == 'z'}}
""")
    r = runner.invoke(app, ["explain", "-f", str(path)])
    assert r.stdout.splitlines()[-4:] == [
        '    ingress[0] Deny: from notSelector app == "y" nets 10.0.0.0/8; to anywhere',
        "    ingress[1] Allow: from nets 10.0.0.0/8; to anywhere",
        '    ingress[2] Allow: from selector app == "z" nets 10.0.0.0/8; to anywhere',
        "      shadowed: never reached, ingress[0] matches all its traffic first"]
