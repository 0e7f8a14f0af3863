"""Exposure: for each endpoint, who could reach it and what it could reach, in the policies' terms.

Peers that reach a target the same way (same ports, same rules on both sides) are one line, named
together (`any pod in namespace web`, `0.0.0.0/0 except 10.0.0.0/8`), so the answer reads like the
policies rather than like a matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netpol.connectivity import Link, Unit, Units
from netpol.model import DIRECTIONS, Direction


@dataclass(frozen=True)
class Peers:
    """Peers that connect with a target on the same ports, allowed by the same rules."""

    names: tuple[str, ...]
    ports: str
    egress_rules: tuple[str, ...]  # the source side's
    ingress_rules: tuple[str, ...]  # the destination side's


@dataclass(frozen=True)
class Exposure:
    target: str
    kind: str
    isolated_by: tuple[tuple[Direction, tuple[str, ...]], ...]  # per direction, the policies that isolate it
    reached_by: tuple[Peers, ...]  # who may open connections to it
    reaches: tuple[Peers, ...]  # whom it may open connections to


def exposure(units: Units, targets: Iterable[Unit] | None = None) -> tuple[Exposure, ...]:
    """The exposure of every unit but outside addresses (or of `targets`)."""
    chosen = [u for u in (units.all if targets is None else targets) if u.kind != "outside"]
    out = []
    for target in chosen:
        assert isinstance(target.peer, int)
        isolated = tuple((d, tuple(sorted(set(units.engine.isolating[d][target.peer])))) for d in DIRECTIONS)
        inbound = list(units.links(destinations=[target]))
        outbound = list(units.links(sources=[target]))
        out.append(Exposure(units.names([target])[0] if target.kind != "region" else " or ".join(units.names([target])),
                            target.kind, isolated,
                            _group(units, inbound, lambda link: link.source),
                            _group(units, outbound, lambda link: link.destination)))
    return tuple(out)


def _group(units: Units, links: list[Link], peer_of: Callable[[Link], Unit]) -> tuple[Peers, ...]:
    by_way: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[Unit]] = {}
    for link in links:
        by_way.setdefault((link.port_text, *units.rules(link)), []).append(peer_of(link))
    groups = [Peers(tuple(units.names(peers)), ports, egress, ingress)
              for (ports, egress, ingress), peers in by_way.items()]
    return tuple(sorted(groups, key=lambda p: (p.names, p.ports)))
