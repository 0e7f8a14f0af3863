"""--cni calico on an input without Calico's own objects (tests/data/calico/np-only.yaml: a NetworkPolicy, a
ClusterNetworkPolicy, pods with their status.hostIP): every command answers with Calico's semantics, through
typer's runner. Before, such an input was walked as the API defines it: web reached api (Calico makes the Deny
with a nodes peer deny everything), and api's own node was denied (Calico does not police it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()
NP_ONLY = str(Path(__file__).resolve().parents[1] / "data" / "calico" / "np-only.yaml")


def run(*args: str) -> tuple[int, list[str]]:
    r = runner.invoke(app, [*args, "-f", NP_ONLY, "--cni", "calico"])
    return r.exit_code, [line for line in r.stdout.splitlines() if "assumption" not in line]


@pytest.mark.parametrize(("args", "code", "lines"), [
    (["shop/web", "shop/api"], 1, [
        "DENIED: shop/web -> shop/api TCP/8080",
        "  egress  of shop/web: tier kube-admin: ClusterNetworkPolicy no-nodes (order 10) egress[0]: Deny",
        "  ingress of shop/api: tier default: KubernetesNetworkPolicy shop/api (order 1000) ingress[0]: Allow"]),
    (["192.168.0.2", "shop/api"], 0, [
        "ALLOWED: 192.168.0.2 -> shop/api TCP/8080",
        "  egress  of 192.168.0.2: not governed: 192.168.0.2 is outside the cluster",
        "  ingress of shop/api: the node rule (n2): Allow (Calico does not police a node's traffic to its own pods)"]),
    (["192.168.0.1", "shop/api"], 1, [
        "DENIED: 192.168.0.1 -> shop/api TCP/8080",
        "  egress  of 192.168.0.1: not governed: 192.168.0.1 is outside the cluster",
        "  ingress of shop/api: tier default: no rule matched, the tier's default action: Deny"]),
    (["shop/api", "shop/web"], 0, [
        "ALLOWED: shop/api -> shop/web TCP/8080",
        "  egress  of shop/api: no tier decided: the namespace's profile allows",
        "  ingress of shop/web: no tier decided: the namespace's profile allows"]),
])
def test_can_reach_walks_calico_s_tiers(args: list[str], code: int, lines: list[str]) -> None:
    assert run("can-reach", *args, "--port", "8080") == (code, lines)


def test_can_reach_json_names_the_tier_and_the_rule() -> None:
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/api", "--port", "8080", "-f", NP_ONLY, "--cni", "calico",
                            "-o", "json"])
    out = json.loads(r.stdout)
    assert (r.exit_code, out["allowed"], out["egress"]["walk"]) == (1, False, [
        {"tier": "kube-admin", "kind": "ClusterNetworkPolicy", "policy": "no-nodes", "order": 10.0,
         "direction": "egress", "rule": 0, "action": "Deny"}])


def test_matrix_list_exposure_graph(tmp_path: Path) -> None:
    code, lines = run("matrix", "--port", "8080", "-o", "md")
    assert (code, lines[:5]) == (0, [
        "can FROM (row) reach TO (column) on TCP/8080?", "",
        "| from \\ to | `shop/api` | `shop/web` |", "|---|---|---|", "| `shop/api` | self | ✓ |"])
    assert lines[5] == "| `shop/web` | ✗ | self |"
    assert run("list") == (0, [
        "shop/api => shop/web; any pod in any namespace except pods with app=api in namespace shop; any address : all",
        "pods with app notin (web) in any namespace => shop/web; any address : all",
        "0.0.0.0/0 except 192.168.0.2/32; any IPv6 address => shop/web; any pod in any namespace except pods with "
        "app=api in namespace shop : all",
        "192.168.0.2/32 => shop/api; shop/web; any pod in any namespace except pods with app=api in namespace shop : "
        "all"])
    assert run("exposure", "shop/api") == (0, [
        "shop/api",
        "  ingress isolated by KubernetesNetworkPolicy shop/api; egress not isolated",
        "  reached by:",
        "    192.168.0.2/32 : all  (ingress: the node rule (n2))",
        "  reaches:",
        "    any address : all  (egress: not isolated)",
        "    any pod in any namespace except pods with app=api in namespace shop : all  (egress: not isolated; "
        "ingress: not isolated)",
        "    shop/web : all  (egress: not isolated; ingress: no rule of any tier matches)"])
    assert run("graph", "-o", str(tmp_path / "g.mmd"))[0] == 0
    assert [line for line in (tmp_path / "g.mmd").read_text().splitlines() if "-->" in line] == [
        '  n_ext_3a_addresses_20_in_20_192_2e_168_2e_0_2e_1_2f_32_20_only -->|"all"| n_shop_2f_web',
        '  n_ext_3a_addresses_20_in_20_192_2e_168_2e_0_2e_2_2f_32_20_only -->|"all"| n_shop_2f_api',
        '  n_ext_3a_addresses_20_in_20_192_2e_168_2e_0_2e_2_2f_32_20_only -->|"all"| n_shop_2f_web',
        '  n_ext_3a_any_20_other_20_address -->|"all"| n_shop_2f_web',
        '  n_shop_2f_api -->|"all"| n_ext_3a_addresses_20_in_20_192_2e_168_2e_0_2e_1_2f_32_20_only',
        '  n_shop_2f_api -->|"all"| n_ext_3a_addresses_20_in_20_192_2e_168_2e_0_2e_2_2f_32_20_only',
        '  n_shop_2f_api -->|"all"| n_ext_3a_any_20_other_20_address',
        '  n_shop_2f_api -->|"all"| n_shop_2f_web']  # web sends nothing; api's node reaches it


def test_explain_lists_the_kinds_in_calico_s_tiers() -> None:
    assert run("explain") == (0, [
        "Calico tiers in evaluation order: in each tier the first matching rule decides (Pass: the next tier);",
        "a pod some policy of the tier selects that no rule matched gets the tier's default action; a pod no",
        "policy of the tier selects goes on to the next tier; after the last tier, the namespace's profile allows",
        "tier kube-admin  order 1000  default action Pass",
        "  ClusterNetworkPolicy no-nodes  order 10  egress  selector: pods [app=web] in all namespaces",
        "    egress[0] Deny: to nodes [role=infra]; on all ports and ICMP (as Calico converts a rule with a nodes or "
        "domainNames peer: it matches everything)",
        "tier default  order 1000000  default action Deny",
        "  KubernetesNetworkPolicy shop/api  order 1000  ingress  selector: app=api",
        "    ingress[0] Allow: from pods [app=web] in namespace shop; on TCP:http"])


def test_check_diff_lint_report(tmp_path: Path) -> None:
    intent = tmp_path / "np.intent.yaml"
    intent.write_text(f"apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [{NP_ONLY}]\nexpectations:\n"
                      "- {name: web is denied, from: shop/web, to: shop/api, port: 8080, expect: deny}\n"
                      "- {name: the own node, from: 192.168.0.2, to: shop/api, port: 8080, expect: allow}\n")
    r = runner.invoke(app, ["check", str(intent), "--cni", "calico"])
    assert (r.exit_code, r.stdout.splitlines()) == (0, [
        "PASS np.intent.yaml: web is denied (1 pair)", "PASS np.intent.yaml: the own node (1 pair)",
        "2 passed, 0 failed"])
    head = tmp_path / "head.yaml"
    head.write_text(Path(NP_ONLY).read_text().replace("    ports: [{port: http}]", "    ports: [{port: 9090}]"))
    r = runner.invoke(app, ["diff", NP_ONLY, str(head), "--cni", "calico"])  # web's egress denies it all anyway
    assert (r.exit_code, r.stdout) == (0, "no reachability change\n")
    head.write_text(Path(NP_ONLY).read_text().replace("from: [{podSelector: {matchLabels: {app: web}}}]",
                                                      "from: [{podSelector: {}}]"))
    r = runner.invoke(app, ["diff", NP_ONLY, str(head), "--cni", "calico"])
    assert (r.exit_code, r.stdout.splitlines()) == (1, [
        "2 change(s) gained, 0 lost, 0 with changed ports",
        "+ pods with app notin (web) in namespace shop, shop/api -> pods with app=api in namespace shop: TCP:http "
        "(ingress: KubernetesNetworkPolicy shop/api (tier default, order 1000) ingress[0] (Allow))",
        "+ pods with app notin (web) in namespace shop -> shop/api: TCP:8080 (ingress: KubernetesNetworkPolicy "
        "shop/api (tier default, order 1000) ingress[0] (Allow))"])
    r = runner.invoke(app, ["lint", "-f", NP_ONLY, "--cni", "calico", "-o", "json"])
    # NP212: api's ingress admits web, whose egress denies it all (lint runs NP212 under calico)
    assert (r.exit_code, [f["id"] for f in json.loads(r.stdout)["findings"]]) == (1, ["NP207", "NP212"])
    r = runner.invoke(app, ["report", "-f", NP_ONLY, "--cni", "calico", "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 0 and (tmp_path / "r.html").stat().st_size > 0
