"""Ties in a diff: the connections whose ports are ambiguous (same-priority Admin policies that decide them
differently) on other ports in one version than in the other (netpol.analyses.diff)."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.analyses.diff_addresses import AddressSets
from netpol.analyses.families import families
from netpol.analyses.query import Analyzer
from netpol.engine import DirectionResult, PeerRef
from netpol.engine.bits import bit_ids
from netpol.errors import natural_key
from netpol.model import DIRECTIONS
from netpol.model.portsets import NO_PORTS, PortSet
from netpol.policies.tiered import TierHit, TierRuleRef


@dataclass(frozen=True)
class Ambiguity:
    """Sources whose connection to one destination is ambiguous on other ports than before: Admin
    policies of one priority that decide it differently, whose order the API leaves undefined
    (`before`, `after`: the ports each version leaves to the plugin; `ties`: which policies tie)."""

    sources: tuple[str, ...]
    destination: str
    before: PortSet
    after: PortSet
    ties: tuple[str, ...]


def ambiguities(base: Analyzer, head: Analyzer, pairs: list[tuple[int | None, int | None]],
                members: list[list[str]], addresses: AddressSets, replicated: set[str]) -> tuple[Ambiguity, ...]:
    """Pod pairs whose ambiguous ports (a tie of same-priority Admin policies that decide them differently,
    as can-reach says) differ between the versions. Only inputs with such ties pay: the subjects of the
    tied policies are evaluated against every class and outside address set, once per version."""
    per_version = [_tied_pairs(a, addresses) for a in (base, head)]
    if not any(per_version):
        return ()
    groups: list[dict[int, list[int | str]]] = [{}, {}]  # per version, class -> its groups
    for g, pair in enumerate(pairs):
        for side, cls in enumerate(pair):
            if cls is not None:
                groups[side].setdefault(cls, []).append(g)
    candidates: set[tuple[int | str, int | str]] = set()
    for side, found in enumerate(per_version):
        for src, dst in found:
            ends = [groups[side].get(end, []) if isinstance(end, int) else [end] for end in (src, dst)]
            candidates.update((g, h) for g in ends[0] for h in ends[1])
    out: dict[tuple[str, PortSet, PortSet, tuple[str, ...]], set[str]] = {}
    for src_end, dst_end in candidates:
        (b, tb), (a, ta) = (per_version[side].get((_end(pairs, src_end, side), _end(pairs, dst_end, side)),
                                                  (NO_PORTS, ())) for side in (0, 1))
        if b == a:
            continue
        sources = members[src_end] if isinstance(src_end, int) else [src_end]
        for dst in members[dst_end] if isinstance(dst_end, int) else [dst_end]:
            picked = {s for s in sources if s != dst or dst in replicated}
            if picked:
                out.setdefault((dst, b, a, tuple(sorted({*tb, *ta}))), set()).update(picked)
    return tuple(sorted((Ambiguity(tuple(sorted(srcs, key=natural_key)), dst, b, a, ties)
                         for (dst, b, a, ties), srcs in out.items()), key=lambda x: (x.destination, x.sources)))


def _end(pairs: list[tuple[int | None, int | None]], end: int | str, side: int) -> int | str:
    """A group's class in one version (-1: none there), or an outside address set's name."""
    if isinstance(end, str):
        return end
    cls = pairs[end][side]
    return -1 if cls is None else cls


def _tied_pairs(analyzer: Analyzer, addresses: AddressSets
                ) -> dict[tuple[int | str, int | str], tuple[PortSet, tuple[str, ...]]]:
    """(source, destination) -> (ambiguous ports, the ties behind them), for class pairs and outside
    address sets (by name), in one version."""
    engine, cluster = analyzer.engine, analyzer.cluster
    tiers: dict[tuple[str, int | None], list[str]] = {}
    for t in cluster.tiered:
        tiers.setdefault((t.tier, t.priority), []).append(t.name)
    tied = {name for names in tiers.values() if len(names) > 1 for name in names}
    if not tied:
        return {}
    outside = {addresses.name_of(ranges): ranges[0].first for ranges in addresses.sets.values()}
    out: dict[tuple[int | str, int | str], tuple[PortSet, tuple[str, ...]]] = {}
    for direction in DIRECTIONS:
        subjects = 0
        for t in cluster.tiered:
            if t.name in tied and t.rules(direction):
                subjects |= families(engine).tier_select(t.subject)
        for s in bit_ids(subjects):
            peers: list[tuple[int | str, PeerRef]] = [*((c, c) for c in range(len(engine.classes))),
                                                      *outside.items()]
            for name, peer in peers:
                egress, ingress = engine.connection(s, peer) if direction == "egress" else engine.connection(peer, s)
                mine, other = (egress, ingress) if direction == "egress" else (ingress, egress)
                assert mine is not None
                ports, ties = _ambiguous(mine)
                if other is not None:
                    other_ports, other_ties = _ambiguous(other)
                    ports = ports.intersection(other.ports.union(other_ports))
                    ties = (*ties, *other_ties)
                if ports:
                    key = (s, name) if direction == "egress" else (name, s)
                    had, had_ties = out.get(key, (NO_PORTS, ()))
                    out[key] = (had.union(ports), tuple(sorted({*had_ties, *ties})))
    return out


def _ambiguous(result: DirectionResult) -> tuple[PortSet, tuple[str, ...]]:
    """The ports a tiered rule decides while a rule of another policy of its tier and priority would decide
    them otherwise (as verdicts.tie_note says for one port), and the ties, as "ANP a and ANP b share
    priority 10"."""
    if result.walk is None:
        return NO_PORTS, ()
    out, ties = NO_PORTS, set()
    for seg in result.walk.segments:
        d = seg.decider
        if not isinstance(d, TierRuleRef):
            continue
        rivals: dict[str, list[TierHit]] = {}
        for found in result.first_match_hits:
            r = found.ref
            if isinstance(r, TierRuleRef) and (r.tier, r.priority) == (d.tier, d.priority) and r.policy != d.policy:
                rivals.setdefault(r.policy, []).append(TierHit(r, found.ports))
        for hits in rivals.values():
            left = seg.ports  # each rival policy decides a port by its first rule that covers it
            for hit in hits:
                part = left.intersection(hit.ports)
                if part and hit.ref.action != d.action:
                    out = out.union(part)
                    ties.add(f"{d.short_kind} {d.policy} and {hit.ref.short_kind} {hit.ref.policy} share priority "
                             f"{d.priority}")
                left = left.difference(hit.ports)
    return out, tuple(sorted(ties))
