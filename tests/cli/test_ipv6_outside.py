"""Outside addresses cover both families: when every ipBlock is IPv4, list, exposure, diff and graph still
answer for the IPv6 addresses that can-reach answers for (reviewer's F1)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import analyzer, labels, namespace, pod, policy

runner = CliRunner()
EVERY_V4 = ["0.0.0.0", "255.255.255.255"]
EVERY_V6 = ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]


def _db(path: Path, *ingress: dict) -> str:  # type: ignore[type-arg]
    """shop/db, isolated for ingress, admitting `ingress`."""
    path.write_text(yaml.safe_dump_all([namespace("shop"), pod("db", "shop", {"app": "db"}), policy(
        "db", "shop", labels(app="db"), policyTypes=["Ingress"], ingress=list(ingress))]))
    return str(path)


def _out(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout


def test_diff_reports_the_ipv6_addresses_an_ipv4_block_shuts_out(tmp_path: Path) -> None:
    """Base: every address reaches db; head: only 0.0.0.0/0. The only change is IPv6's, and can-reach agrees."""
    base = _db(tmp_path / "base.yaml", {})
    head = _db(tmp_path / "head.yaml", {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})
    assert _out("diff", base, head, "--input-only") == (1, "0 pair(s) gained, 1 lost, 0 with changed ports\n"
                                                           "- any IPv6 address -> shop/db: was all\n")
    code, md = _out("diff", base, head, "--input-only", "-o", "md")
    assert code == 1 and "| - lost | `any IPv6 address` | `shop/db` | all | none |" in md.splitlines()
    change, = json.loads(_out("diff", base, head, "--input-only", "-o", "json")[1])["changes"]
    assert (change["kind"], change["sources"], change["source_addresses"]) == ("lost", ["any IPv6 address"],
                                                                              [EVERY_V6])
    assert _out("can-reach", "2001:db8::1", "shop/db", "-p", "80", "-f", base)[0] == 0
    assert _out("can-reach", "2001:db8::1", "shop/db", "-p", "80", "-f", head)[0] == 1


def test_list_and_exposure_carry_the_ipv6_range(tmp_path: Path) -> None:
    head = _db(tmp_path / "head.yaml", {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})
    assert _out("list", "-f", head, "--input-only") == (0, "shop/db => any address : all\n"
                                                           "any IPv4 address => shop/db : all\n")
    rows = json.loads(_out("list", "-f", head, "--input-only", "-o", "json")[1])["connections"]
    assert [(r["source"], r["source_addresses"], r["destination"], r["destination_addresses"]) for r in rows] == [
        ("shop/db", [], "any IPv4 address", [EVERY_V4]), ("shop/db", [], "any IPv6 address", [EVERY_V6]),
        ("any IPv4 address", [EVERY_V4], "shop/db", [])]
    assert _out("list", "-f", head, "--input-only", "-o", "csv")[1].splitlines()[1:] == [
        "shop/db,pod,any IPv4 address,outside,all,not isolated,",
        "shop/db,pod,any IPv6 address,outside,all,not isolated,",
        "any IPv4 address,outside,shop/db,pod,all,,shop/db ingress[0]"]
    assert _out("exposure", "shop/db", "-f", head, "--input-only")[1].splitlines()[2:] == [
        "  reached by:", "    any IPv4 address : all  (ingress: shop/db ingress[0])",
        "  reaches:", "    any address : all  (egress: not isolated)"]


def _tiered(path: Path) -> str:
    """An Admin policy denies 10.0.0.0/8 and allows the rest of IPv4; IPv6 is left to the default (allowed)."""
    anp = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
           "metadata": {"name": "v4"},
           "spec": {"priority": 1, "subject": {"namespaces": {}},
                    "egress": [{"name": "private", "action": "Deny", "to": [{"networks": ["10.0.0.0/8"]}]},
                               {"name": "rest", "action": "Allow", "to": [{"networks": ["0.0.0.0/0"]}]}]}}
    path.write_text(yaml.safe_dump_all([namespace("shop"), pod("web", "shop", {"app": "web"}), anp]))
    return str(path)


def test_tiered_exposure_and_graph_name_the_ipv6_addresses(tmp_path: Path) -> None:
    manifests = _tiered(tmp_path / "anp.yaml")
    assert _out("exposure", "shop/web", "-f", manifests, "--input-only")[1].splitlines()[2:] == [
        "  reached by:", "    any address : all  (ingress: not isolated)", "  reaches:",
        "    0.0.0.0/0 except 10.0.0.0/8 : all  (egress: ANP v4 priority 1 egress[1] 'rest' (Allow))",
        "    any IPv6 address : all  (egress: no rule of any tier matches)"]
    assert _out("can-reach", "shop/web", "2001:db8::1", "-p", "443", "-f", manifests)[0] == 0
    d = analyzer(*yaml.safe_load_all(Path(manifests).read_text())).diagram()
    # the addresses in no block (every IPv6 address here) are a node of their own, reached on every port
    assert {(e.source, e.target, str(e.ports)) for e in d.edges if e.target.startswith("ext:")} == {
        ("shop/web", "ext:addresses in 0.0.0.0/0 only", "all"), ("shop/web", "ext:any other address", "all")}
