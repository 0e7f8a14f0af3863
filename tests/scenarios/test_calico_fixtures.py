"""The Calico fixtures (fixtures/calico-*) and their full truth tables, under the engine (--cni calico, recognised
from the input) and the Calico reference evaluator alike: each row a source, each column a destination, in the
order given; Y allowed, . denied, - the same pod. Their intents (intents/) pass `netpol check`, and lint finds
exactly what is listed here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol import load_manifests
from netpol.cli import app
from netpol.engine import Engine
from netpol.model import ip_address
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from tests.builders import FIXTURES

PLATFORM = ["kube-system/coredns", "monitoring/prometheus", "payments/billing", "shop/api", "shop/web",
            "198.51.100.20", "203.0.113.9", "203.0.113.200"]  # a partner, a blocked address, the internet

# fixture: (endpoints, {(protocol, port): rows})
TABLES: dict[str, tuple[list[str], dict[tuple[str, int], list[str]]]] = {
    # kube-system is exempt from the default deny; web is public on http (the blocklist aside); web calls api;
    # only api's account reaches billing; prometheus scrapes metrics (9090 where the pod names it so); DNS for
    # everyone; billing alone reaches the partners' https; blocked addresses reach nothing and nothing reaches them,
# not even kube-system (the security tier selects every pod). Two addresses are not policed between them (Y).
    "calico-platform": (PLATFORM, {
        ("TCP", 8080): ["-...YY.Y",
                        ".-......",
                        "..-.....",
                        "...-....",
                        "...Y-...",
                        "Y...Y-YY",
                        ".....Y-Y",
                        "Y...YYY-"],
        ("TCP", 8443): ["-....Y.Y",
                        ".-......",
                        "..-.....",
                        "..Y-....",
                        "....-...",
                        "Y....-YY",
                        ".....Y-Y",
                        "Y....YY-"],
        ("TCP", 9090): ["-....Y.Y",
                        ".-YYY...",
                        "..-.....",
                        "...-....",
                        "....-...",
                        "Y....-YY",
                        ".....Y-Y",
                        "Y....YY-"],
        ("UDP", 53): ["-....Y.Y",
                      "Y-......",
                      "Y.-.....",
                      "Y..-....",
                      "Y...-...",
                      "Y....-YY",
                      ".....Y-Y",
                      "Y....YY-"],
        ("TCP", 443): ["-....Y.Y",
                       ".-......",
                       "..-..Y..",
                       "...-....",
                       "....-...",
                       "Y....-YY",
                       ".....Y-Y",
                       "Y....YY-"]}),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_engine_truth_table(name: str) -> None:
    """What `netpol matrix` computes (the calico profile is recognised from the input's Calico kinds)."""
    result = apply(load_manifests([str(FIXTURES / name)]), None)
    assert result.cluster.dataplane.profile == "calico"
    engine = Engine(result.cluster)
    names, tables = TABLES[name]
    ends = [engine.class_of[n] if n in result.cluster.pods_by_key else ip_address(n) for n in names]
    for (protocol, port), rows in tables.items():
        got = ["".join("-" if i == j else "Y" if engine.allowed_ports(s, d).contains(protocol, port) else "."
                       for j, d in enumerate(ends)) for i, s in enumerate(ends)]
        assert got == rows, (protocol, port)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_reference_truth_table(name: str) -> None:
    result = apply(load_manifests([str(FIXTURES / name)]), None)
    c = result.cluster
    names, tables = TABLES[name]
    ends = [c.pods_by_key.get(n) or ip_address(n) for n in names]
    for (protocol, port), rows in tables.items():
        got = ["".join("-" if s is d else "Y" if calico_allowed(c, result.calico, s, d, protocol, port) else "."
                       for d in ends) for s in ends]  # type: ignore[arg-type]
        assert got == rows, (protocol, port)


INTENT = Path(__file__).resolve().parents[2] / "intents" / "calico-platform.intent.yaml"


def test_check_passes_the_intent() -> None:
    """`netpol check` evaluates Calico's tiers (recognised from the input): every expectation passes, with the
    pairs it names."""
    r = CliRunner().invoke(app, ["check", str(INTENT)])
    assert r.exit_code == 0, r.stdout
    assert r.stdout.splitlines() == [
        "PASS calico-platform: web is public on http, but not to blocked addresses (3 pairs)",
        "PASS calico-platform: the blocklist reaches nothing (3 pairs)",
        "PASS calico-platform: web calls api on http (1 pair)",
        "PASS calico-platform: only api's account reaches billing's https (1 pair)",
        "PASS calico-platform: nobody else reaches billing's https (4 pairs)",
        "PASS calico-platform: prometheus scrapes metrics (3 pairs)",
        "PASS calico-platform: DNS for everyone (4 pairs)",
        "PASS calico-platform: billing alone reaches the partners' https (1 pair)",
        "PASS calico-platform: no other namespace but kube-system reaches out (6 pairs)",
        "9 passed, 0 failed"]


def test_lint_finds_nothing() -> None:
    """`netpol lint` under the calico profile (recognised): every check runs on the compiled tiers, Calico's own
    (NP117-NP119) included, and none finds anything; nothing is left unchecked, so there is no note."""
    r = CliRunner().invoke(app, ["lint", "-f", str(FIXTURES / "calico-platform"), "-o", "json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["findings"], out["summary"]) == ([], {"error": 0, "warning": 0, "info": 0, "suppressed": 0})
    assert out["notes"] == []
