"""`netpol list` of every namespace, a namespace at a time (connectivity.namespace_listings), where the regions of
every namespace together are more than netpol enumerates at once: each connection between possible pods is in
exactly one of the listings, with the ports the whole enumeration gives it."""

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


@pytest.mark.parametrize("with_pods", [False, True])
def test_every_connection_is_in_one_listing_with_the_whole_enumerations_ports(with_pods: bool) -> None:
    objects = OBJECTS + ([pod("client", "web", {"role": "client"}), pod("db", "db", {"app": "db"})] if with_pods
                         else [])
    cluster: Cluster = load_objects(objects).cluster
    whole = Units.of(cluster, True)
    want = _links(Listing(whole, between_regions=not with_pods))
    assert whole.regions is not None and len(want) > 20
    parts = list(namespace_listings(cluster))
    assert [sorted({u.namespace for u in p.sources if u.namespace}) for p in parts] == [["db"], ["shop"], ["web"], []]
    named = {"db": 0, "shop": 1, "web": 2}
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


def test_list_without_a_focus_goes_a_namespace_at_a_time_past_the_limit(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    """Past the limit of regions `netpol list` answers a namespace at a time, never refusing, and writes what the
    listings give."""
    monkeypatch.setattr(regions_module, "MAX_REGIONS", 8)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": OBJECTS}))
    result = CliRunner().invoke(app, ["list", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert "so the list is made a namespace at a time" in result.output
    cluster = load_objects(OBJECTS).cluster
    lines = [f"{'; '.join(c.sources)} => {'; '.join(c.destinations)} : {c.ports}"
             for listing in namespace_listings(cluster) for c in listing.connections()]
    assert [ln for ln in result.stdout.splitlines() if "=>" in ln] == lines
