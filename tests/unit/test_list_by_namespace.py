"""`netpol list` of every namespace, some namespaces at a time (connectivity.namespace_listings), where the regions
of every namespace together are more than netpol enumerates at once: each connection is in exactly one of the
listings, with the ports the whole enumeration gives it, with pods or without."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netpol import load_objects
from netpol.analyses import regions as regions_module
from netpol.analyses.connectivity import Listing, Units, namespace_listings
from netpol.cli import app
from netpol.model import Cluster
from tests.builders import labels, namespace, pod, policy

TEAM = {"namespaceSelector": labels(team="web")}
OBJECTS: list[dict[str, Any]] = [
    namespace("web", team="web"), namespace("db", team="data"),
    policy("deny", "db"),
    policy("in", "db", labels(app="db"), ingress=[{"from": [{**TEAM, "podSelector": labels(role="client")}],
                                                  "ports": [{"port": 5432}]}]),
    policy("out", "web", labels(app="front"), egress=[{"to": [{"namespaceSelector": labels(team="data")}]}],
           policyTypes=["Egress"]),
    policy("mine", "shop", labels(tier="api"), ingress=[{"from": [{"podSelector": labels(tier="web")}]}]),
]


def _links(listing: Listing) -> dict[tuple[str, str], str]:
    """Per (source key, destination key) of pods and regions, the link's port text."""
    return {(s, d): link.port_text for link in listing.links()
            for s in link.source.keys for d in link.destination.keys}


def _where(units: Units, key: str, whole: Units) -> str:
    """The key of the region of `units` that the region `key` of `whole` falls in (a pod's own key)."""
    assert units.regions is not None and whole.regions is not None
    region = whole.regions.by_key.get(key)
    if region is None:
        return key
    ns = region.namespace
    return units.regions.region_of(ns.name, dict(ns.labels), region.pod.label_map).key


@pytest.mark.parametrize("limit", [None, 11])
@pytest.mark.parametrize("with_pods", [False, True])
def test_every_connection_is_in_one_listing_with_the_whole_enumerations_ports(with_pods: bool, limit: int | None,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the batches: all namespaces in one, or, with a lower limit of regions, db alone (11 regions), then
    shop and web (11)."""
    objects = OBJECTS + (PODS if with_pods else [])
    cluster: Cluster = load_objects(objects).cluster
    whole = Units.of(cluster, True, limit=10_000)
    want = _links(Listing(whole, between_regions=not with_pods))
    assert whole.regions is not None and len(want) > 20
    if limit is not None:
        monkeypatch.setattr(regions_module, "MAX_REGIONS", limit)
    parts = list(namespace_listings(cluster))
    batches = [sorted({u.namespace for u in p.sources if u.namespace}) for p in parts]
    assert batches == ([["db", "shop", "web"], []] if limit is None else [["db"], ["shop", "web"], []])
    named = {name: i for i, batch in enumerate(batches) for name in batch}
    ends = [(r.key, r.namespace.name if r.namespace.named else None) for r in whole.regions.regions]
    ends += [(p.key, p.namespace) for p in cluster.pods]
    found: dict[tuple[str, str], str] = {}
    for src, src_ns in ends:
        for dst, dst_ns in ends:
            home = src_ns if src_ns is not None else dst_ns
            part = parts[named[home] if home is not None else -1]
            got = _links(part).get((_where(part.units, src, whole), _where(part.units, dst, whole)))
            if got is not None:
                found[(src, dst)] = got
    assert found == want


PODS = [pod("client", "web", {"role": "client"}), pod("db", "db", {"app": "db"})]


@pytest.mark.parametrize("with_pods", [False, True])
def test_list_without_a_focus_goes_some_namespaces_at_a_time_past_the_limit(
        with_pods: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Past the limit of regions `netpol list` answers some namespaces at a time, with pods or without, never
    refusing, and writes what the listings give (in JSON, every link of the listings, whose links the test above
    compares with the whole enumeration's)."""
    objects = OBJECTS + (PODS if with_pods else [])
    monkeypatch.setattr(regions_module, "MAX_REGIONS", 11)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    result = CliRunner().invoke(app, ["list", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert "so the list is made some namespaces at a time" in result.output
    cluster = load_objects(objects).cluster
    listings = list(namespace_listings(cluster))
    batches = [sorted({u.namespace for u in p.sources if u.namespace}) for p in listings]
    assert batches == [["db"], ["shop", "web"], []]
    lines = [f"{'; '.join(c.sources)} => {'; '.join(c.destinations)} : {c.ports}"
             for listing in listings for c in listing.connections()]
    assert [ln for ln in result.stdout.splitlines() if "=>" in ln] == lines
    data = json.loads(CliRunner().invoke(app, ["list", "-f", str(path), "-o", "json"]).stdout)
    assert [(row["source"], row["destination"], row["ports"]) for row in data["connections"]] == [
        (listing.units.name(link.source), listing.units.name(link.destination), link.port_text)
        for listing in listings for link in listing.links()]
