"""The port numbers a possible pod declares its named ports at: for each name, one number no rule names (for
every number a real pod could use that no rule names), and one per stretch of the numbers the rules name that
every rule treats alike, at a free number that the rules' port numbers match as they match that stretch
(ContainerPort.stands_for), so that a pod declaring `http` at 80 has its answer too
(netpol.analyses.regions.NAMED_PORT_NOTE)."""

from __future__ import annotations

from collections.abc import Iterator

from netpol.analyses.label_space import RegionLimitError
from netpol.model import DIRECTIONS, Cluster, ContainerPort
from netpol.model.calico import CalicoPort, CalicoRule
from netpol.model.portsets import MAX_PORT, MIN_PORT, PROTOCOLS, PortSet, Protocol
from netpol.policies.calico import calico_compiles
from netpol.sources.calico import PROTOCOL_NUMBERS


def _numbered_spans(cluster: Cluster) -> list[tuple[Protocol, int, int]]:
    """Every port number and range a rule names."""
    spans: list[tuple[Protocol, int, int]] = []
    for pol in cluster.policies:
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                spans.extend((p.protocol, p.port, p.end_port or p.port) for p in rule.ports if isinstance(p.port, int))
    for tp in cluster.tiered:
        for d in DIRECTIONS:
            for trule in tp.rules(d):
                spans.extend((p.protocol, p.first, p.last) for p in trule.ports or () if p.protocol is not None)
    spans.extend((proto, p.first, p.last) for rule, p in _calico_ports(cluster) if p.name is None
                 for proto in _calico_protocols(rule))
    return spans


def _calico_ports(cluster: Cluster) -> Iterator[tuple[CalicoRule, CalicoPort]]:
    """The destination ports and notPorts of Calico's rules (evaluated under the calico profile only)."""
    for pol in cluster.calico.policies if calico_compiles(cluster) and cluster.calico else ():
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                for p in (*rule.destination.ports, *rule.destination.not_ports):
                    yield rule, p


def _calico_protocols(rule: CalicoRule) -> tuple[Protocol, ...]:
    """The protocols a Calico rule's port resolves under: its own, else each port protocol."""
    return tuple(proto for proto in PROTOCOLS if rule.protocol is None or PROTOCOL_NUMBERS[proto] == rule.protocol)


def _free_ports(spans: list[tuple[Protocol, int, int]], protocol: Protocol) -> Iterator[int]:
    """Ports of `protocol` that no span names, highest first."""
    taken = PortSet.of(s for s in spans if s[0] == protocol)
    for lo, hi in reversed(PortSet.of([(protocol, MIN_PORT, MAX_PORT)]).difference(taken).intervals(protocol)):
        yield from range(hi, lo - 1, -1)


def placeholders(cluster: Cluster) -> tuple[ContainerPort, ...]:
    """Container ports for the named ports rules use, each at a number no rule names: one per protocol a
    rule can resolve the name to (a NetworkPolicy port resolves a name under its own protocol, a tiered
    one under any), so that a pod declaring the name under any protocol has its answer."""
    wanted: dict[str, set[Protocol]] = {}
    for pol in cluster.policies:
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                for p in rule.ports:
                    if isinstance(p.port, str):
                        wanted.setdefault(p.port, set()).add(p.protocol)
    for tp in cluster.tiered:
        for d in DIRECTIONS:
            for trule in tp.rules(d):
                for tport in trule.ports or ():
                    if tport.name is not None:
                        wanted.setdefault(tport.name, set()).update(PROTOCOLS)
    for rule, port in _calico_ports(cluster):
        if port.name is not None:
            wanted.setdefault(port.name, set()).update(_calico_protocols(rule))
    if not wanted:
        return ()
    spans = _numbered_spans(cluster)
    free = {proto: _free_ports(spans, proto) for proto in PROTOCOLS}
    out = []
    for name in sorted(wanted):
        for proto in sorted(wanted[name]):
            # first the number no rule names (Pod.port_named finds it), then one per stretch the rules name
            for stands_for in (None, *named_stretches(spans, proto)):
                number = next(free[proto], None)
                if number is None:
                    raise RegionLimitError(f"the rules name nearly every {proto} port, so named port {name} cannot "
                                           "be placed on a hypothetical pod")
                out.append(ContainerPort(number, proto, name, stands_for))
    return tuple(out)


def named_stretches(spans: list[tuple[Protocol, int, int]], protocol: Protocol) -> list[tuple[int, int]]:
    """The numbers of `protocol` that some rule names, cut where the rules that name them change: every
    rule treats the numbers of one stretch alike."""
    mine = [(lo, hi) for proto, lo, hi in spans if proto == protocol]
    cuts = sorted({lo for lo, _ in mine} | {hi + 1 for _, hi in mine})
    named = PortSet.of((protocol, lo, hi) for lo, hi in mine)
    return [(lo, nxt - 1) for lo, nxt in zip(cuts, cuts[1:], strict=False) if named.contains(protocol, lo)]


def spare_ports(cluster: Cluster, placeholders: tuple[ContainerPort, ...]) -> dict[Protocol, int]:
    spans = _numbered_spans(cluster)
    used = {(c.protocol, c.port) for c in placeholders}
    out: dict[Protocol, int] = {}
    for proto in PROTOCOLS:
        number = next((n for n in _free_ports(spans, proto) if (proto, n) not in used), None)
        if number is not None:
            out[proto] = number
    return out
