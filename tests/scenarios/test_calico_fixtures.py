"""The Calico fixtures (fixtures/calico-*) and their full truth tables, under the engine (--cni calico, recognised
from the input) and the Calico reference evaluator alike: each row a source, each column a destination, in the
order given; Y allowed, . denied, - the same pod."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netpol import Analyzer, load_manifests
from netpol.engine import Engine
from netpol.model import ip_address
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from netpol.sources.intents import load_intent_file
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


INTENTS = Path(__file__).resolve().parents[1] / "data" / "calico-intents"


@pytest.mark.parametrize("path", sorted(INTENTS.glob("*.intent.yaml")), ids=lambda p: p.name)
def test_intent_holds_pair_by_pair(path: Path) -> None:
    """Each Calico fixture's intent file (tests/data/calico-intents: `netpol check` refuses Calico's kinds until it
    evaluates them) is valid, names its fixture, and each of its expectations holds for every pair and port it
    names, under can-reach."""
    intent = load_intent_file(str(path))
    name = path.name.removesuffix(".intent.yaml")
    assert intent.manifests == (str(FIXTURES / name),)
    analyzer = Analyzer(apply(load_manifests([str(FIXTURES / name)]), None).cluster)
    for e in yaml.safe_load(path.read_text())["expectations"]:
        ports = e.get("ports", [e.get("port")])
        for src in _listed(e["from"]):
            for dst in _listed(e["to"]):
                for port in ports:
                    number, protocol = (port["port"], port["protocol"]) if isinstance(port, dict) else (port, "TCP")
                    got = analyzer.can_reach(src, dst, number, protocol).allowed
                    assert got == (e["expect"] == "allow"), (e["name"], src, dst, port)


def _listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]
