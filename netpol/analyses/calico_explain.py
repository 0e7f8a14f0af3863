"""`explain` under the calico profile: Calico's tiers in evaluation order, each one's policies in evaluation order
and each policy's rules, as the engine compiled them (netpol/policies/calico.py calico_tiers).

A rule is marked shadowed where the walk can never let it decide, for every possible pod, peer and port: every
packet it matches is matched first by one earlier rule with a first-match action (Allow, Deny, Pass) of its
tier (of its own policy, or of an earlier policy of the tier), or is decided in an earlier tier that applies to
every pod the rule governs and can only decide (no Pass rule, default action Deny). Coverage is read on the
compiled conditions, for all pods at once: the earlier rule's subject and peer are conjunctions of a subset of
the later rule's terms (a policy selector's `&&` split into its terms, `all()` dropped), its ports hold the later
rule's. That is exact (never a rule that can decide) but not complete: a rule covered only by several earlier
rules together, or by a selector that implies another without sharing its terms (`app == 'a'` and `has(app)`),
is not marked; deciding those needs the label regions of every possible pod under Calico's selectors."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.analyses import explain, tier_explain
from netpol.engine import Engine
from netpol.model import DIRECTIONS, Direction
from netpol.model.calico import CalicoRule, EntityRule, ICMPMatch, ServiceAccountMatch
from netpol.model.portsets import bounds
from netpol.policies.calico import CalicoRuleRef, CalicoTierEntries, calico_tiers
from netpol.policies.networkpolicy import CompiledRule
from netpol.model.calico_selectors import All, And
from netpol.policies.stages import (
    AllOf,
    AnyOf,
    Everything,
    Identified,
    Peer,
    PortExcept,
    PortMatch,
    PortRange,
    StageRule,
)
from netpol.policies.tiered import CompiledTierRule

_PROTOCOLS = {6: "TCP", 17: "UDP", 132: "SCTP", 1: "ICMP", 58: "ICMPv6"}
NEVER = " (never matches: netpol assumes the client's source port is outside `source.ports`)"


@dataclass(frozen=True)
class CalicoRuleSummary:
    """One rule: direction, index in its policy, written action, a short summary, the catch-all rule before it."""

    direction: Direction
    index: int
    action: str
    summary: str
    shadowed_by: int | None = None  # the index of the earlier rule of the same policy and direction covering it
    shadowed_across: str | None = None  # else an earlier policy's rule, or an earlier tier, that decides first


@dataclass(frozen=True)
class CalicoPolicySummary:
    kind: str
    policy: str  # namespace/name, or name for a cluster-wide policy
    order: float | None
    directions: tuple[Direction, ...]
    selector: str
    rules: tuple[CalicoRuleSummary, ...]


@dataclass(frozen=True)
class CalicoTierSummary:
    """A tier (name, order, default action) and its policies that explain shows."""

    tier: CalicoTierEntries
    policies: tuple[CalicoPolicySummary, ...]


def order_text(order: float | None) -> str:
    """An order as written (1000000, not 1e+06), or none: after every ordered one."""
    return "no order" if order is None else "order " + (f"{order:f}".rstrip("0").rstrip("."))


def summarize_calico(engine: Engine, wanted: set[str] | frozenset[str] = frozenset()) -> tuple[CalicoTierSummary, ...]:
    """The tiers that hold a policy, in evaluation order; with `wanted`, only the namespaced policies of those
    namespaces and every cluster-wide one."""
    cluster = engine.cluster
    written = {(p.kind, f"{p.namespace}/{p.name}" if p.namespace else p.name): p
               for p in (cluster.calico.policies if cluster.calico is not None else ()) if not p.staged}
    subjects = {(t.kind, t.name): tier_explain.describe_selector(t.subject) for t in cluster.tiered}
    out = []
    tiers = calico_tiers(cluster)
    for k, tier in enumerate(tiers):
        policies = []
        for e in tier.entries:
            if wanted and "/" in e.policy and e.policy.split("/", 1)[0] not in wanted:
                continue
            directions = tuple(d for d in DIRECTIONS if e.members[d] or e.rules[d])
            own = written.get((e.kind, e.policy))
            rules = tuple(r for d in DIRECTIONS for r in _rules(d, e.rules[d], own.rules(d)
                                                                if own is not None and own.applies(d) else (),
                                                                _Earlier(tiers[:k], tier, e, d)))
            policies.append(CalicoPolicySummary(e.kind, e.policy, e.order, directions,
                                                e.selector or subjects.get((e.kind, e.policy), ""), rules))
        if policies:
            out.append(CalicoTierSummary(tier, tuple(policies)))
    return tuple(out)


@dataclass(frozen=True)
class _Earlier:
    """What the walk reads before a policy's rules in one direction: the earlier tiers, and the tier's rules of
    the policies before it."""

    tiers: tuple[CalicoTierEntries, ...]
    tier: CalicoTierEntries
    entry: object
    direction: Direction

    def first(self, rule: StageRule) -> str | None:
        """An earlier policy's rule that matches all the rule's traffic first, or an earlier tier that decides it
        all (module docstring); None: neither."""
        d = self.direction
        for t in self.tiers:
            if t.default_action == "Deny" and not any(r.action == "Pass" for e in t.entries for r in e.rules[d]) \
                    and any(_covers(m.subject, rule.subject) for e in t.entries for m in e.members[d]):
                return f"tier {t.name} (it selects every pod the rule governs, has no Pass rule and ends in Deny)"
        for e in self.tier.entries:
            if e is self.entry:
                return None
            for r in e.rules[d]:
                if isinstance(r.ref, CalicoRuleRef) and _decides_first(r, rule):
                    return f"{r.ref.kind} {r.ref.policy} {d}[{r.ref.index}]"
        return None


def _rules(direction: Direction, compiled: tuple[StageRule, ...], written: tuple[CalicoRule, ...],
           earlier: _Earlier) -> list[CalicoRuleSummary]:
    """One summary per rule (a rule compiles to one stage rule per packet family and destination kind); a written
    Calico rule that compiles to none (`source.ports`) is listed as never matching. A rule is shadowed where each
    of its stage rules is matched first (module docstring)."""
    by_index: dict[int, list[tuple[CalicoRuleRef, StageRule]]] = {}
    for r in compiled:
        if isinstance(r.ref, CalicoRuleRef):  # every rule of a tier (calico.py names them so)
            by_index.setdefault(r.ref.index, []).append((r.ref, r))
    out: list[CalicoRuleSummary] = []
    for index in sorted(set(by_index) | set(range(len(written)))):
        parts = by_index.get(index, [])
        if parts:
            action, summary = parts[0][0].action, _summary(parts[0][1].written, direction)
        else:
            action, summary = written[index].action, calico_rule_text(written[index]) + NEVER
        before = [r for i in sorted(by_index) if i < index for _, r in by_index[i]]
        own = [next((r.ref.index for r in before if isinstance(r.ref, CalicoRuleRef) and _decides_first(r, p)),
                    None) for _, p in parts]
        across = [earlier.first(p) for _, p in parts]
        shadowed = bool(parts) and all(o is not None or a is not None for o, a in zip(own, across, strict=True))
        by = min((o for o in own if o is not None), default=None) if shadowed and all(
            o is not None for o in own) else None
        out.append(CalicoRuleSummary(direction, index, action, summary, by,
                                     next(a for a in across if a is not None) if shadowed and by is None else None))
    return out


def _decides_first(earlier: StageRule, rule: StageRule) -> bool:
    """An earlier rule of the same tier with a first-match action matches every packet the rule matches."""
    return earlier.action != "Log" and _covers(earlier.subject, rule.subject) and \
        _peers_cover(earlier.peers, rule.peers) and _ports_cover(earlier.ports, rule.ports)


def _terms(who: object) -> list[object]:
    """A conjunction as its terms (`all()` dropped); Everything has none."""
    if isinstance(who, Everything):
        return []
    if isinstance(who, AllOf):
        return [t for t in who.terms if not (isinstance(t, Identified) and isinstance(t.predicate, All))]
    return [who]


def _conjuncts(node: object) -> set[object]:
    """A Calico selector's `&&` terms (`all()` none)."""
    if isinstance(node, All):
        return set()
    if isinstance(node, And):
        return {c for o in node.operands for c in _conjuncts(o)}
    return {node}


def _implies(term: object, other: object) -> bool:
    """Whatever `term` matches, `other` matches: the same condition; a selector with all of the other's `&&`
    terms; something one alternative of a union implies, or a union each of whose alternatives does."""
    if term == other:
        return True
    if isinstance(term, Identified) and isinstance(other, Identified):
        return term.identities == other.identities and _conjuncts(other.predicate) <= _conjuncts(term.predicate)
    if isinstance(other, AnyOf):
        return any(_implies(term, t) for t in other.terms) or (
            isinstance(term, AnyOf) and all(any(_implies(x, t) for t in other.terms) for x in term.terms))
    return False


def _covers(earlier: object, later: object) -> bool:
    """Whatever `later` matches, `earlier` matches: each of its terms is implied by one of `later`'s."""
    mine = _terms(earlier)
    theirs = _terms(later)
    return all(any(_implies(u, t) for u in theirs) for t in mine)


def _peers_cover(earlier: tuple[Peer, ...], later: tuple[Peer, ...]) -> bool:
    """Each peer of the later rule (a union) is covered by one of the earlier rule's."""
    return all(any(_covers(e, p) for e in earlier) for p in later)


def _ports_cover(earlier: PortMatch, later: PortMatch) -> bool:
    if earlier is None:
        return True
    if later is None:  # every port of every protocol: covered only by each protocol's whole range
        return {p.protocol for p in earlier if isinstance(p, PortRange) and (p.first, p.last) ==
                bounds(p.protocol)} == set(_PROTOCOLS.values())
    return all(any(_port_covers(e, p) for e in earlier) for p in later)


def _port_covers(earlier: object, later: object) -> bool:
    if isinstance(later, PortExcept):  # notPorts only narrow it
        return earlier == later or (later.ports is not None and all(_port_covers(earlier, p) for p in later.ports))
    if isinstance(earlier, PortRange) and isinstance(later, PortRange):
        return earlier.protocol == later.protocol and earlier.first <= later.first and later.last <= earlier.last
    return earlier == later


def _summary(written: object, direction: Direction) -> str:
    if isinstance(written, CalicoRule):
        return calico_rule_text(written)
    if isinstance(written, CompiledRule):
        namespace = written.ref.policy.split("/", 1)[0]
        peers = [explain.describe_peer(p, namespace) for p in written.peers] or ["anywhere"]
        ports = written.ports or None
    elif isinstance(written, CompiledTierRule):
        peers, ports = [tier_explain.describe_peer(p) for p in written.peers] or ["nothing"], written.ports
    else:
        return str(written)
    on = ", ".join(str(p) for p in ports) if ports is not None else "all ports and ICMP"
    text = f"{'from' if direction == 'ingress' else 'to'} {', '.join(peers)}; on {on}"
    if isinstance(written, CompiledTierRule) and any(p.nodes is not None or p.domains or p.unknown is not None
                                                     for p in written.peers):
        return text + " (as Calico converts a rule with a nodes or domainNames peer: it matches everything)"
    return text


def _words(fields: tuple[tuple[str, object], ...]) -> list[str]:
    """`name value` for each field that is set (not None)."""
    return [f"{name} {value}" for name, value in fields if value is not None]


def _joined(values: tuple[object, ...]) -> str | None:
    return ", ".join(str(v) for v in values) if values else None


def calico_rule_text(rule: CalicoRule) -> str:
    """A Calico rule in one line: protocol and ICMP match, then its source and destination as written."""
    def protocol(number: int | None) -> str | None:
        return None if number is None else _PROTOCOLS.get(number, str(number))

    def icmp(match: ICMPMatch | None) -> str | None:
        return None if match is None else f"type {match.type}" + (f" code {match.code}" if match.code is not None
                                                                  else "")

    parts = _words((("protocol", protocol(rule.protocol)), ("not protocol", protocol(rule.not_protocol)),
                    ("icmp", icmp(rule.icmp)), ("notICMP", icmp(rule.not_icmp)), ("ipVersion", rule.ip_version),
                    ("http", "(not checked: matched at L4)" if rule.http else None)))
    return "; ".join((*parts, "from " + _side(rule.source), "to " + _side(rule.destination)))


def _side(side: EntityRule) -> str:
    accounts = side.service_accounts or ServiceAccountMatch()
    service = side.services
    parts = _words((("selector", side.selector), ("notSelector", side.not_selector),
                    ("namespaceSelector", side.namespace_selector), ("serviceAccounts", _joined(accounts.names)),
                    ("serviceAccounts selector", accounts.selector),
                    ("service", None if service is None else
                     f"{service.namespace + '/' if service.namespace else ''}{service.name}"),
                    ("nets", _joined(side.nets)), ("notNets", _joined(side.not_nets)), ("ports", _joined(side.ports)),
                    ("notPorts", _joined(side.not_ports))))
    return " ".join(parts) if parts else "anywhere"
