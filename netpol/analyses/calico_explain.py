"""`explain` under the calico profile: Calico's tiers in evaluation order, each one's policies in evaluation order
and each policy's rules, as the engine compiled them (netpol/policies/calico.py calico_tiers). A rule is marked
shadowed where an earlier rule of the same policy and direction with a first-match action (Allow, Deny, Pass)
matches all the traffic of the policy's pods in that direction (no condition on peers, ports or protocol): the
walk never reaches it. Other shadowing (a partial overlap that happens to cover it, or a rule of an earlier
policy) is not detected."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.analyses import explain, tier_explain
from netpol.engine import Engine
from netpol.model import DIRECTIONS, Direction
from netpol.model.calico import CalicoRule, EntityRule, ICMPMatch, ServiceAccountMatch
from netpol.model.portsets import bounds
from netpol.policies.calico import CalicoRuleRef, CalicoTierEntries, calico_tiers
from netpol.policies.networkpolicy import CompiledRule
from netpol.policies.stages import Everything, PortRange, StagePolicy, StageRule
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
    shadowed_by: int | None = None  # the index of the earlier catch-all rule of the same policy and direction


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
    for tier in calico_tiers(cluster):
        policies = []
        for e in tier.entries:
            if wanted and "/" in e.policy and e.policy.split("/", 1)[0] not in wanted:
                continue
            directions = tuple(d for d in DIRECTIONS if e.members[d] or e.rules[d])
            own = written.get((e.kind, e.policy))
            rules = tuple(r for d in DIRECTIONS for r in _rules(d, e.rules[d], e.members[d], own.rules(d)
                                                                if own is not None and own.applies(d) else ()))
            policies.append(CalicoPolicySummary(e.kind, e.policy, e.order, directions,
                                                e.selector or subjects.get((e.kind, e.policy), ""), rules))
        if policies:
            out.append(CalicoTierSummary(tier, tuple(policies)))
    return tuple(out)


def _rules(direction: Direction, compiled: tuple[StageRule, ...], members: tuple[StagePolicy, ...],
           written: tuple[CalicoRule, ...]) -> list[CalicoRuleSummary]:
    """One summary per rule (a rule compiles to one stage rule per packet family and destination kind); a written
    Calico rule that compiles to none (`source.ports`) is listed as never matching."""
    by_index: dict[int, list[tuple[CalicoRuleRef, StageRule]]] = {}
    for r in compiled:
        if isinstance(r.ref, CalicoRuleRef):  # every rule of a tier (calico.py names them so)
            by_index.setdefault(r.ref.index, []).append((r.ref, r))
    out: list[CalicoRuleSummary] = []
    catch_all: int | None = None
    for index in sorted(set(by_index) | set(range(len(written)))):
        parts = by_index.get(index, [])
        if parts:
            action, summary = parts[0][0].action, _summary(parts[0][1].written, direction)
        else:
            action, summary = written[index].action, calico_rule_text(written[index]) + NEVER
        out.append(CalicoRuleSummary(direction, index, action, summary, catch_all))
        if catch_all is None and action != "Log" and any(_everything(r, members) for _, r in parts):
            catch_all = index
    return out


def _everything(rule: StageRule, members: tuple[StagePolicy, ...]) -> bool:
    """The stage rule matches every packet of the policy's own pods: its subject is the policy's, any peer,
    every port of every protocol."""
    if not members or rule.subject != members[0].subject or rule.peers != (Everything(),):
        return False
    if rule.ports is None:
        return True
    return {p.protocol for p in rule.ports if isinstance(p, PortRange)
            and (p.first, p.last) == bounds(p.protocol)} == set(_PROTOCOLS.values())


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
    return f"{'from' if direction == 'ingress' else 'to'} {', '.join(peers)}; on {on}"


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
