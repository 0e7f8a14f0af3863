"""IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) that a user gives (endpoints, intent endpoints) are their IPv4
address (issue 23 L5); in the input the API server (1.36+) refuses that form, and so does the loader."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.analyses.check import check_intent
from netpol.cli import app
from netpol.model import ip_address, ip_network
from netpol.sources.intents import load_intent_file
from tests.builders import analyzer, labels, pod, policy

DB = policy("db", "shop", labels(app="db"), policyTypes=["Ingress"], ingress=[
    {"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": 5432}]}])
OBJECTS = (DB, pod("db", "shop", {"app": "db"}, ip="10.0.9.9"), pod("web", "shop", {"app": "web"}, ip="10.0.0.7"))


@pytest.mark.parametrize(("text", "want"), [
    ("::ffff:10.244.2.10", "10.244.2.10"), ("::ffff:af4:20a", "10.244.2.10"), ("10.0.0.1", "10.0.0.1"),
    ("fe80::1", "fe80::1"), ("::1", "::1"),
])
def test_addresses(text: str, want: str) -> None:
    assert str(ip_address(text)) == want


@pytest.mark.parametrize(("text", "want"), [
    ("::ffff:10.0.0.0/104", "10.0.0.0/8"), ("::ffff:10.0.0.5/128", "10.0.0.5/32"), ("::ffff:10.0.0.5", "10.0.0.5/32"),
    ("::ffff:0:0/96", "0.0.0.0/0"), ("::/0", "::/0"), ("::ffff:10.0.0.0/80", "::/80"), ("10.1.2.3/8", "10.0.0.0/8"),
])
def test_networks(text: str, want: str) -> None:
    assert str(ip_network(text)) == want


def test_endpoints_given_mapped_compare_as_ipv4() -> None:
    """An endpoint written mapped is found by its IPv4 address and matched by IPv4 ipBlocks: the same truth
    table as with plain IPv4."""
    a = analyzer(*OBJECTS)
    assert a.endpoint("::ffff:10.0.9.9").pod.key == "shop/db"  # type: ignore[union-attr]
    got = {(src, port): a.can_reach(src, "shop/db", port).allowed
           for src in ("shop/web", "::ffff:10.0.0.200", "10.0.0.200", "10.0.1.1", "::ffff:10.0.1.1") for port in (5432, 80)}
    assert got == {("shop/web", 5432): True, ("shop/web", 80): False, ("::ffff:10.0.0.200", 5432): True,
                   ("::ffff:10.0.0.200", 80): False, ("10.0.0.200", 5432): True, ("10.0.0.200", 80): False,
                   ("10.0.1.1", 5432): False, ("10.0.1.1", 80): False, ("::ffff:10.0.1.1", 5432): False,
                   ("::ffff:10.0.1.1", 80): False}


def test_intent_and_cli_endpoints(tmp_path: Path) -> None:
    path = tmp_path / "t.intent.yaml"
    path.write_text("apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [x]\nexpectations:\n"
                    "- {from: '::ffff:10.0.0.7', to: shop/db, port: 5432, expect: allow}\n"
                    "- {from: '::ffff:10.0.0.0/120', to: shop/db, port: 5432, expect: allow}\n")
    outcomes = check_intent(analyzer(*OBJECTS), load_intent_file(str(path), confine=False))
    assert [(o.passed, o.pairs, [s.name for s in o.failures]) for o in outcomes] == [(True, 1, []), (True, 1, [])]
    r = CliRunner().invoke(app, ["can-reach", "default/test-1", "::ffff:10.244.2.10", "-p", "80", "-f",
                                 str(Path(__file__).parents[2] / "fixtures" / "limit")])
    assert (r.exit_code, r.stdout.splitlines()[0]) == (1, "DENIED: default/test-1 -> default/apiserver TCP/80")


def test_list_to_a_mapped_address_is_its_ipv4_range() -> None:
    repo = str(Path(__file__).parents[2] / "fixtures" / "policy-only" / "repo")
    plain = CliRunner().invoke(app, ["list", "-f", repo, "--to", "203.0.113.7"])
    mapped = CliRunner().invoke(app, ["list", "-f", repo, "--to", "::ffff:203.0.113.7"])
    assert (mapped.exit_code, mapped.stdout) == (0, plain.stdout) and plain.stdout
