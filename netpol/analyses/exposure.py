"""Exposure: for each endpoint, who could reach it and what it could reach, in the policies' terms.

Peers that reach a target the same way (same ports, same rules on both sides) are one line, named
together (`any pod in namespace web`, `0.0.0.0/0 except 10.0.0.0/8`), so the answer reads like the
policies rather than like a matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netpol.analyses.connectivity import FEW, Link, Unit, Units
from netpol.analyses.families import families
from netpol.model import DIRECTIONS, Cluster, Direction, IPNetwork, ip_network
from netpol.model.portsets import PortSet
from netpol.model.selectors import parse_scope

if TYPE_CHECKING:
    from netpol.engine.slices import Slices


@dataclass(frozen=True)
class Peers:
    """Peers that connect with a target on the same ports, allowed by the same rules."""

    names: tuple[str, ...]
    ports: str
    egress_rules: tuple[str, ...]  # the source side's
    ingress_rules: tuple[str, ...]  # the destination side's
    port_set: PortSet = PortSet()  # `ports` as numbers (a region's named ports are in `named_ports`)
    named_ports: tuple[str, ...] = ()
    addresses: tuple[IPNetwork, ...] = ()  # the outside addresses among the peers


@dataclass(frozen=True)
class Exposure:
    target: str
    kind: str
    isolated_by: tuple[tuple[Direction, tuple[str, ...]], ...]  # per direction, the policies of any tier isolating it
    reached_by: tuple[Peers, ...]  # who may open connections to it
    reaches: tuple[Peers, ...]  # whom it may open connections to


def exposure(units: Units, targets: Iterable[Unit] | None = None) -> tuple[Exposure, ...]:
    """The exposure of `units.subjects` (or of `targets`); their peers are every unit. For many targets
    every link is computed once, in bulk; for a few, only their rows and columns."""
    chosen = [u for u in (units.subjects if targets is None else targets) if u.kind != "outside"]
    inbound: dict[int, list[Link]] = {id(t): [] for t in chosen}
    outbound: dict[int, list[Link]] = {id(t): [] for t in chosen}
    if len(chosen) > FEW and targets is not None:  # many targets, not every unit: their rows and columns
        from netpol.engine.slices import PortCodes, Slices

        classes = sorted({t.peer for t in chosen if isinstance(t.peer, int)})
        slices = Slices(units.engine, PortCodes.common(units.engine), classes, classes)
        for t in chosen:
            inbound[id(t)], outbound[id(t)] = _lines(units, slices, t)
    elif len(chosen) > FEW:  # links between two regions only matter when a region is a target
        for link in units.links(between_regions=any(t.kind == "region" for t in chosen)):
            inbound.get(id(link.destination), []).append(link)
            outbound.get(id(link.source), []).append(link)
    else:
        for t in chosen:
            inbound[id(t)] = list(units.links(destinations=[t]))
            outbound[id(t)] = list(units.links(sources=[t]))
    out = []
    for target in chosen:
        assert isinstance(target.peer, int)
        engine = units.engine  # isolated by a NetworkPolicy, or by an Admin or Baseline Deny
        views = families(engine)
        isolated = tuple((d, (*sorted(set(views.isolating[d][target.peer])), *views.tier_isolating(d, target.peer)))
                         for d in DIRECTIONS)
        out.append(Exposure(" or ".join(units.names([target])), target.kind, isolated,
                            _group(units, inbound[id(target)], lambda link: link.source),
                            _group(units, outbound[id(target)], lambda link: link.destination)))
    return tuple(out)


def _lines(units: Units, slices: Slices, target: Unit) -> tuple[list[Link], list[Link]]:
    """The links into and out of one target, in the units' order, from its class's column and row
    (netpol.engine.slices: array work over every class, where a pair at a time costs an evaluation per class)."""
    cls = target.peer
    assert isinstance(cls, int)
    codes = slices.codes
    column, row = slices.column(cls), slices.row(cls)
    inbound: list[Link | None] = []
    outbound: list[Link | None] = []
    for u in units.all:
        if u.kind == "outside" or u.peer == cls:  # addresses, and the target's own class, pair by pair
            inbound.append(units.link(u, target))
            if u.kind != "outside":
                outbound.append(units.link(target, u))
            continue
        assert isinstance(u.peer, int)
        if column[u.peer].any():
            inbound.append(units.link(u, target, codes.decode(column[u.peer])))
        if row[u.peer].any():
            outbound.append(units.link(target, u, codes.decode(row[u.peer])))
    outbound.extend(units.link(target, u) for u in units.all if u.kind == "outside")
    return [ln for ln in inbound if ln is not None], [ln for ln in outbound if ln is not None]


def focus_of(cluster: Cluster, target: str | None, namespaces: list[str] | None) -> frozenset[str] | None:
    """The namespaces whose pods' exposure is asked (netpol.analyses.regions' focus: their connections are exact, the
    other namespaces are cut only as far as those connections tell apart): TARGET's, else those of -n, else
    the namespaces of the input's pods; None (every namespace) for `*{labels}` or an input without pods,
    whose every region is a target. A TARGET that is not well formed is left to Units.find to refuse."""
    if target is None:
        if namespaces:
            return frozenset(namespaces)
        return frozenset(p.namespace for p in cluster.pods) if cluster.pods else None
    try:
        scope = parse_scope(target)
    except ValueError:
        return None
    if scope is not None:
        return None if scope.namespace is None else frozenset({scope.namespace})
    try:
        ip_network(target)
    except ValueError:
        return frozenset({target.split("/", 1)[0] if "/" in target else "default"})
    return frozenset()  # outside addresses are no target of exposure


def list_focus(cluster: Cluster, ends: list[str], namespaces: list[str] | None) -> frozenset[str] | None:
    """The namespaces a list's every link has an end in (netpol.analyses.regions' focus): those of -n, else the
    namespace of the --to or --from endpoint that names one; None (every namespace) otherwise, and for an
    address, whose links come from every namespace."""
    if namespaces:
        return frozenset(namespaces)
    for end in ends:
        try:
            ip_network(end)
        except ValueError:
            found = focus_of(cluster, end, None)
            if found:
                return found
    return None


def _group(units: Units, links: list[Link], peer_of: Callable[[Link], Unit]) -> tuple[Peers, ...]:
    by_way: dict[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], list[Unit]] = {}
    first: dict[tuple[str, tuple[str, ...]], Link] = {}  # per port text and named ports, a link with those ports
    for link in links:
        # the named ports too: "all" to a region whose named ports are open reads as "all" to a pod
        by_way.setdefault((link.port_text, link.named_ports, *units.rules(link)), []).append(peer_of(link))
        first.setdefault((link.port_text, link.named_ports), link)
    groups = [Peers(tuple(units.names(peers)), ports, egress, ingress, first[(ports, named)].ports,
                    named, tuple(n for u in peers for n in u.networks))
              for (ports, named, egress, ingress), peers in by_way.items()]
    return tuple(sorted(groups, key=lambda p: (p.names, p.ports)))
