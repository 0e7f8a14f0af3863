"""`netpol list` at scale: the fold works on each source class's port groups, never pair by pair, and its
lines are exactly those of a fold over every link (tests/property/test_list_fold.py holds it to that on
random clusters)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netpol import load_objects
from netpol.analyses import connectivity
from netpol.analyses.connectivity import Connection, Listing, Units
from netpol.engine import Engine
from netpol.render.exposure import links_csv, links_json
from tests.builders import FIXTURES


def namespace_keys(k: int) -> list[dict[str, Any]]:
    """k policies of namespace a, each admitting the namespaces with its own label key: 2^k kinds of other
    namespace (audit-3 H1 is k = 12: 4,096 regions, 16 million links, three lines)."""
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": f"p{i}", "namespace": "a"},
             "spec": {"podSelector": {}, "ingress": [
                 {"from": [{"namespaceSelector": {"matchLabels": {f"k{i:02d}": "v"}}}]}]}}
            for i in range(k)]


def test_the_fold_builds_links_and_asks_the_engine_only_at_the_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    units = Units.of(load_objects(namespace_keys(6)).cluster, True)
    asked = []
    pair = Engine.allowed_ports
    monkeypatch.setattr(Engine, "allowed_ports", lambda self, s, d: asked.append((s, d)) or pair(self, s, d))
    built = []
    link = connectivity.Link
    monkeypatch.setattr(connectivity, "Link", lambda *args: built.append(args) or link(*args))
    listing = Listing(units)
    lines = list(listing.connections())
    n, outside = len(units.all), sum(u.kind == "outside" for u in units.all)
    # every endpoint reaches the 64 other namespaces' regions and any address; namespace a admits the 63 with
    # a key set; any address reaches the other namespaces
    assert (n, outside, listing.line_count, listing.link_count) == (66, 1, 3, 65 * 64 + 63 + 65 + 64)
    # pair by pair only: each class to the outside ranges (and to itself), the outside ranges to each endpoint
    assert len(asked) <= 2 * n * outside and len(built) <= 3 * n
    assert lines == [
        Connection(("any pod in namespace a", "any pod in any other namespace with k00 notin (v) and k01 notin (v) and "
                    "k02 notin (v) and k03 notin (v) and k04 notin (v) and k05 notin (v)"),
                   ("any pod in any other namespace", "any address"), "all"),
        Connection(("any pod in any namespace except any pod in namespace a or any pod in any other namespace with "
                    "k00 notin (v) and k01 notin (v) and k02 notin (v) and k03 notin (v) and k04 notin (v) and "
                    "k05 notin (v)",), ("any pod in any namespace", "any address"), "all"),
        Connection(("any address",), ("any pod in any other namespace",), "all")]


@pytest.mark.parametrize("fixture", ["limit", "egress-allow-dns", "tiered-named-port-v1alpha2"])
def test_json_and_csv_are_written_a_connection_at_a_time_as_a_whole_dump_writes_them(fixture: str) -> None:
    units = Units.of(load_objects(_objects(fixture)).cluster, True)
    links = list(Listing(units).links())
    named = [(units, ln) for ln in links]
    rows = [json.loads(json.dumps(row)) for row in json.loads("".join(links_json(units.notes, named)))["connections"]]
    assert "".join(links_json(units.notes, named)) == json.dumps({"assumptions": units.notes, "connections": rows},
                                                                 indent=2) + "\n"
    assert "".join(links_json(units.notes, [])) == json.dumps({"assumptions": units.notes, "connections": []},
                                                              indent=2) + "\n"
    chunks = list(links_csv((units, ln) for ln in links))
    assert len(chunks) == len(links) + 1 and chunks[-1] == ""  # a row per chunk, the header with the first
    assert "".join(links_csv([])) == \
        "source,source_kind,destination,destination_kind,ports,egress_rules,ingress_rules\n"


def _objects(fixture: str) -> list[dict[str, Any]]:
    import yaml

    return [o for p in sorted((FIXTURES / fixture).glob("*.yaml")) for o in yaml.safe_load_all(p.read_text()) if o]


def test_the_fold_says_how_far_it_is() -> None:
    from netpol.progress import listener

    units = Units.of(load_objects(namespace_keys(10)).cluster, True)
    heard: list[str] = []
    with listener(heard.append):
        assert Listing(units).line_count == 3
    assert heard == ["0 of 1,026 sources, 0 lines", "1,000 of 1,026 sources, 2 lines"]
