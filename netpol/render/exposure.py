"""Exposure and connectivity lists as text, JSON, CSV and Markdown."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from collections.abc import Iterable, Iterator
from functools import lru_cache

from netpol.analyses.connectivity import Connection, Link, Units
from netpol.analyses.exposure import Exposure, Peers
from netpol.model import IPNetwork
from netpol.model.portsets import PortSet
from netpol.render.markdown import md_text
from netpol.render.text import one_line, wrap_at

HEADINGS = {"reached_by": "reached by", "reaches": "reaches"}


def _rules(p: Peers) -> str:
    parts = []
    if p.egress_rules:
        parts.append("egress: " + ", ".join(p.egress_rules))
    if p.ingress_rules:
        parts.append("ingress: " + ", ".join(p.ingress_rules))
    return "; ".join(parts)


def _isolation(e: Exposure) -> str:
    return "; ".join(f"{d} isolated by {', '.join(pols)}" if pols else f"{d} not isolated"
                     for d, pols in e.isolated_by)


def exposure_text(items: Iterable[Exposure]) -> Iterator[str]:
    """The assumptions are not here: the CLI prints them as notes on stderr."""
    for e in items:
        yield f"{one_line(e.target)}\n  {one_line(_isolation(e))}\n"
        for field in ("reached_by", "reaches"):
            groups: tuple[Peers, ...] = getattr(e, field)
            yield f"  {HEADINGS[field]}:" + (" nothing\n" if not groups else "\n")
            for p in groups:
                yield f"    {one_line('; '.join(p.names))} : {p.ports}  ({one_line(_rules(p))})\n"


@lru_cache(maxsize=4096)  # a listing writes the same few port sets and address sets for many rows
def _ports_json(ports: PortSet, named: tuple[str, ...]) -> dict[str, object]:
    """Ports as `matrix -o json` gives them: per protocol, [first, last] ranges; a region's named ports
    (allowed wherever a pod declares them) as PROTOCOL:name."""
    return {"ranges": ports.to_json(), "named_ports": list(named)}


@lru_cache(maxsize=4096)
def address_ranges(networks: tuple[IPNetwork, ...]) -> list[list[str]]:
    """Outside addresses as [first, last] ranges, in address order, adjacent networks joined."""
    out: list[list[ipaddress.IPv4Address | ipaddress.IPv6Address]] = []
    for net in sorted(networks, key=lambda n: (n.version, int(n.network_address))):
        first, last = net.network_address, net.broadcast_address
        if out and out[-1][1].version == first.version and int(out[-1][1]) + 1 == int(first):
            out[-1][1] = last
        else:
            out.append([first, last])
    return [[str(a), str(b)] for a, b in out]


def _peers_json(p: Peers) -> dict[str, object]:
    return {"peers": list(p.names), "ports": p.ports, **_ports_json(p.port_set, p.named_ports),
            "addresses": address_ranges(p.addresses), "egress_rules": list(p.egress_rules),
            "ingress_rules": list(p.ingress_rules)}


def exposure_json(items: Iterable[Exposure], notes: Iterable[str] = ()) -> str:
    return json.dumps({"assumptions": list(notes), "exposure": [
        {"target": e.target, "kind": e.kind, "isolated_by": {d: list(p) for d, p in e.isolated_by},
         "reached_by": [_peers_json(p) for p in e.reached_by], "reaches": [_peers_json(p) for p in e.reaches]}
        for e in items]}, indent=2) + "\n"


def exposure_csv(items: Iterable[Exposure]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["target", "direction", "peer", "ports", "egress_rules", "ingress_rules"])
    for e in items:
        for field in ("reached_by", "reaches"):
            for p in getattr(e, field):
                for name in p.names:
                    w.writerow([e.target, HEADINGS[field], name, p.ports, " ".join(p.egress_rules),
                                " ".join(p.ingress_rules)])
    return buf.getvalue()


def exposure_markdown(items: Iterable[Exposure], notes: Iterable[str] = ()) -> Iterator[str]:
    yield "### netpol: exposure\n"
    for note in notes:
        yield f"\n> {md_text(note)}\n"
    for e in items:
        yield (f"\n#### {md_text(e.target)}\n\n{md_text(_isolation(e))}\n\n"
               "| | peers | ports | rules |\n|---|---|---|---|\n")
        for field in ("reached_by", "reaches"):
            for p in getattr(e, field):
                yield (f"| {HEADINGS[field]} | {'<br>'.join(md_text(n) for n in p.names)} | {md_text(p.ports)} | "
                       f"{md_text(_rules(p))} |\n")


def list_text(items: Iterable[Connection], width: int | None = None) -> Iterator[str]:
    """One line per connection; `width` (a terminal's): lines break at '; ' to fit, continuations indented."""
    count = 0
    for c in items:
        count += 1
        line = f"{one_line('; '.join(c.sources))} => {one_line('; '.join(c.destinations))} : {c.ports}"
        yield (wrap_at(line, "; ", width) if width else line) + "\n"
    if not count:
        yield "no allowed connection\n"


def list_markdown(items: Iterable[Connection], notes: Iterable[str] = ()) -> Iterator[str]:
    yield "### netpol: connections\n"
    for note in notes:
        yield f"\n> {md_text(note)}\n"
    yield "\n| from | to | ports |\n|---|---|---|\n"
    for c in items:
        yield (f"| {'<br>'.join(md_text(s) for s in c.sources)} | {'<br>'.join(md_text(d) for d in c.destinations)} | "
               f"{md_text(c.ports)} |\n")


def _link_row(units: Units, link: Link) -> dict[str, object]:
    egress, ingress = units.rules(link)
    return {"source": units.name(link.source), "source_kind": link.source.kind,
            "source_addresses": address_ranges(link.source.networks),
            "destination": units.name(link.destination), "destination_kind": link.destination.kind,
            "destination_addresses": address_ranges(link.destination.networks),
            "ports": link.port_text, **_ports_json(link.ports, link.named_ports),
            "egress_rules": list(egress), "ingress_rules": list(ingress)}


def links_json(notes: list[str], links: Iterable[tuple[Units, Link]]) -> Iterator[str]:
    """One JSON object, written as json.dumps(indent=2) writes it, a connection at a time (a listing can
    hold millions); each link with the units that name it."""
    yield '{\n  "assumptions": ' + json.dumps(notes, indent=2).replace("\n", "\n  ") + ',\n  "connections": ['
    first = True
    for units, ln in links:
        yield ("\n    " if first else ",\n    ") + json.dumps(_link_row(units, ln), indent=2).replace("\n", "\n    ")
        first = False
    yield ("]" if first else "\n  ]") + "\n}\n"


def links_csv(links: Iterable[tuple[Units, Link]]) -> Iterator[str]:
    """A header row, then a row per connection, written a row at a time; each link with the units that name it."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source", "source_kind", "destination", "destination_kind", "ports", "egress_rules", "ingress_rules"])
    for units, ln in links:
        egress, ingress = units.rules(ln)
        w.writerow([units.name(ln.source), ln.source.kind, units.name(ln.destination), ln.destination.kind,
                    ln.port_text, " ".join(egress), " ".join(ingress)])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()
