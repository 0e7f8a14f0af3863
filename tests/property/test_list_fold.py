"""`netpol list` folds its links from the port groups of each source's class row (connectivity.Listing); here
the fold is held to the pair-by-pair answer: every ordered pair of endpoints asked of the engine alone
(`Units.link` with no ports given), folded as `netpol list` folded links before: per source, destinations on
the same port text; then sources with the same destinations and port text, ordered by their first source.

Every path of a row is checked: the class rows of netpol.analyses.matrix (FEW lowered), the rows of the sources'
classes alone from netpol.engine.slices (SLICED lowered too, as for a listing of some namespaces), and the pairs one
by one (FEW raised).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses import connectivity
from netpol.analyses.connectivity import Connection, Link, Listing, Unit, Units
from tests.property.strategies import PROBES, cluster, tiered_cluster

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pairwise(units: Units, probe: Any, between_regions: bool, namespaces: frozenset[str]) -> list[Link]:
    """Every link, pair by pair, a source at a time in the units' order."""
    out = []
    for s in units.all:
        for d in units.all:
            if s.kind == "region" and d.kind == "region" and not between_regions:
                continue
            if namespaces and s.namespace not in namespaces and d.namespace not in namespaces:
                continue
            link = units.link(s, d, probe=probe)
            if link is not None:
                out.append(link)
    return out


def folded(units: Units, links: list[Link]) -> list[Connection]:
    """Links folded for reading, as `netpol list` did it from a list of every link."""
    per_source: dict[Unit, dict[str, list[Unit]]] = {}
    for link in links:
        per_source.setdefault(link.source, {}).setdefault(link.port_text, []).append(link.destination)
    alike: dict[tuple[tuple[str, ...], str], list[Unit]] = {}
    for src, by_ports in per_source.items():
        for ports, dsts in by_ports.items():
            alike.setdefault((tuple(units.names(dsts)), ports), []).append(src)
    out = [Connection(tuple(units.names(srcs)), dsts, ports) for (dsts, ports), srcs in alike.items()]
    order = {u: i for i, u in enumerate(units.all)}
    first = {id(c): min(order[s] for s in alike[(c.destinations, c.ports)]) for c in out}
    return sorted(out, key=lambda c: (first[id(c)], c.destinations, c.ports))


@pytest.mark.parametrize(("few", "sliced"), [(10**9, 10**9), (-1, 10**9), (-1, 0)],
                         ids=["pairs", "class-rows", "sliced-rows"])
@pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])
@SETTINGS
@given(data=st.data())
def test_fold_is_the_pairwise_fold(clusters: Any, few: int, sliced: int, data: st.DataObject) -> None:
    objects = data.draw(clusters)
    c = load_objects(objects).cluster
    possible = data.draw(st.booleans()) or not c.pods
    units = Units.of(c, possible)
    probe = data.draw(st.sampled_from([None, *PROBES]))
    between_regions = data.draw(st.booleans())
    spaces = sorted({u.namespace for u in units.all if u.namespace is not None})
    namespaces = frozenset(data.draw(st.lists(st.sampled_from(spaces), max_size=2)) if spaces else ())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(connectivity, "FEW", few)
        mp.setattr(connectivity, "SLICED", sliced)
        listing = Listing(units, probe=probe, between_regions=between_regions, namespaces=namespaces)
        links = list(listing.links())
        lines = list(listing.connections())
    expected = pairwise(units, probe, between_regions, namespaces)
    assert [(ln.source, ln.destination, ln.ports, ln.named_ports) for ln in links] == \
        [(ln.source, ln.destination, ln.ports, ln.named_ports) for ln in expected]
    assert lines == folded(units, expected)
    assert (listing.link_count, listing.line_count) == (len(expected), len(lines))


@SETTINGS
@given(data=st.data())
def test_rows_of_some_sources_and_destinations(data: st.DataObject) -> None:
    """--from and --to: the rows of the chosen sources, towards the chosen destinations only."""
    c = load_objects(data.draw(cluster())).cluster
    units = Units.of(c, True)
    sources = data.draw(st.lists(st.sampled_from(units.all), min_size=1, unique_by=id))
    destinations = data.draw(st.lists(st.sampled_from(units.all), min_size=1, unique_by=id))
    probe = data.draw(st.sampled_from([None, *PROBES]))
    got = [(ln.source, ln.destination, ln.ports) for ln in Listing(units, sources, destinations, probe).links()]
    order = {id(u): i for i, u in enumerate(units.all)}
    expected = [(s, d, ln.ports) for s in sorted(sources, key=lambda u: order[id(u)])
                for d in sorted(destinations, key=lambda u: order[id(u)])
                if (ln := units.link(s, d, probe=probe)) is not None]
    assert got == expected
