"""`explain` under the calico profile: Calico's tiers in evaluation order, each one's policies in evaluation order
and each policy's rules, as the engine compiled them (netpol/policies/calico.py calico_tiers).

A rule is marked shadowed where the walk never reaches it for any pod that could exist: every connection it
matches (subject, peer, protocol and port or ICMP message) is decided before it, by the union of what comes
first: the earlier tiers that apply to the subject (an Allow or Deny rule, or a default action Deny at a tier's
end; a Pass hands on), the own node's allow, and the earlier rules of its tier (Allow, Deny and Pass all keep
the walk from it; Log does not). It is computed on the compiled stages over the possible pods
(netpol.analyses.regions; past the region limit no rule is marked): per subject class, the
peer classes split into regions that the same rules match, and each set of outside addresses every rule treats
alike, with the ports as intervals, never pod by pod. So several earlier rules may shadow a rule together, and a
selector that implies another's shadows it. Where a rule reads addresses (nets, notNets, network sets, the IP
family), each possible pod is also taken once with an address of each set of addresses every rule treats alike
(a pod's address may be any; one address at a time: a dual-stack pod's two addresses in two such sets are not
combined). A rule that matches nothing at all is not called shadowed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from netpol.analyses import explain, tier_explain
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.regions import regions
from netpol.engine import Engine, PeerMatch
from netpol.model import DIRECTIONS, Cluster, ContainerPort, Direction, IPAddress
from netpol.model.calico import CalicoRule, EntityRule, ICMPMatch, ServiceAccountMatch
from netpol.model.portsets import NO_PORTS
from netpol.policies.calico import CalicoRuleRef, CalicoTierEntries, calico_tiers
from netpol.policies.networkpolicy import CompiledRule
from netpol.policies.stages import NodeRule, StageRule
from netpol.policies.tiered import CompiledTierRule

_PROTOCOLS = {6: "TCP", 17: "UDP", 132: "SCTP", 1: "ICMP", 58: "ICMPv6"}
NEVER = " (never matches: netpol assumes the client's source port is outside `source.ports`)"


@dataclass(frozen=True)
class CalicoRuleSummary:
    """One rule: direction, index in its policy, written action, a short summary, and what decides all it matches
    first where nothing reaches it (module docstring)."""

    direction: Direction
    index: int
    action: str
    summary: str
    shadowed_by: int | None = None  # the one earlier rule of its policy and direction that decides all it matches
    shadowed_across: str | None = None  # else what decides all it matches first: rules, tiers' ends, the own node


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
    shadowed = shadowing(cluster)
    out = []
    for tier in calico_tiers(cluster):
        policies = []
        for e in tier.entries:
            if wanted and "/" in e.policy and e.policy.split("/", 1)[0] not in wanted:
                continue
            directions = tuple(d for d in DIRECTIONS if e.members[d] or e.rules[d])
            own = written.get((e.kind, e.policy))
            rules = tuple(r for d in DIRECTIONS for r in _rules(d, e.rules[d], own.rules(d)
                                                                if own is not None and own.applies(d) else (),
                                                                shadowed))
            policies.append(CalicoPolicySummary(e.kind, e.policy, e.order, directions,
                                                e.selector or subjects.get((e.kind, e.policy), ""), rules))
        if policies:
            out.append(CalicoTierSummary(tier, tuple(policies)))
    return tuple(out)


def _rules(direction: Direction, compiled: tuple[StageRule, ...], written: tuple[CalicoRule, ...],
           shadowed: dict[CalicoRuleRef, tuple[str, ...]]) -> list[CalicoRuleSummary]:
    """One summary per rule (a rule compiles to one stage rule per packet family and destination kind, all with its
    ref); a written Calico rule that compiles to none (`source.ports`) is listed as never matching."""
    refs: dict[int, CalicoRuleRef] = {}
    summaries: dict[int, str] = {}
    for r in compiled:
        if isinstance(r.ref, CalicoRuleRef) and r.ref.index not in refs:  # every rule of a tier (calico.py)
            refs[r.ref.index], summaries[r.ref.index] = r.ref, _summary(r.written, direction)
    out: list[CalicoRuleSummary] = []
    for index in sorted(set(refs) | set(range(len(written)))):
        ref = refs.get(index)
        if ref is None:
            out.append(CalicoRuleSummary(direction, index, written[index].action,
                                         calico_rule_text(written[index]) + NEVER))
            continue
        by = shadowed.get(ref, ())
        mine = f"{ref.kind} {ref.policy} {direction}["
        own = [int(b.removeprefix(mine).rstrip("]")) for b in by if b.startswith(mine)]
        single = own[0] if len(by) == 1 and own else None
        out.append(CalicoRuleSummary(direction, index, ref.action, summaries[index], single,
                                     " and ".join(by) if by and single is None else None))
    return out


def shadowing(cluster: Cluster) -> dict[CalicoRuleRef, tuple[str, ...]]:
    """Each shadowed rule (module docstring), with what decides all it matches first: earlier rules as
    `KIND POLICY DIRECTION[INDEX]`, tiers' ends as `tier NAME's default action (Deny)`, the own node's allow."""
    try:
        possible = regions(cluster).cluster
    except RegionLimitError:  # the possible pods cannot be enumerated: no rule is claimed shadowed
        return {}
    engine = Engine(possible)
    probes = list(engine.address_sets.values())
    if engine.blocks or engine.names_family:  # a rule reads addresses: a possible pod may have any of them
        engine = Engine(replace(possible, pods=(*possible.pods, *(
            replace(p, name=f"{p.name}@{ip}", ips=(ip,)) for p in possible.pods if p.hypothetical for ip in probes))))
    reached: set[CalicoRuleRef] = set()
    deciders: dict[CalicoRuleRef, set[str]] = {}
    for d in DIRECTIONS:
        stages = engine.stages[d]
        for cls in range(len(engine.classes)):
            staged = engine.staged[d][cls]
            ends = [bool(engine.selecting[d][cls][k]) and stage.end == "Deny" for k, stage in enumerate(stages)]
            for k, entries in enumerate(staged):
                for ref in dict.fromkeys(r.ref for r, _ in entries if isinstance(r.ref, CalicoRuleRef)):
                    if ref in reached:
                        continue
                    first = next(i for i, (r, _) in enumerate(entries) if r.ref == ref)
                    mine = [(r, pm) for r, pm in entries if r.ref == ref]
                    before = [*(e for stage in staged[:k] for e in stage), *entries[:first]]
                    walk = _Walk(engine, d, cls, [(staged[j], ends[j], stages[j].name) for j in range(k)],
                                 [e for e in entries[:first] if e[0].action != "Log" and e[0].ref != ref])
                    used = walk.decided(mine, before, probes)
                    if used is None:
                        reached.add(ref)
                        deciders.pop(ref, None)
                    else:
                        deciders.setdefault(ref, set()).update(used)
    return {ref: tuple(sorted(by)) for ref, by in deciders.items() if by and ref not in reached}


@dataclass(frozen=True)
class _Walk:
    """The walk of one subject class up to one rule: the earlier stages (their entries, whether their end denies
    what they leave undecided, their names) and the earlier first-match entries of the rule's own stage."""

    engine: Engine
    direction: Direction
    cls: int
    stages: list[tuple[list[tuple[StageRule, PeerMatch]], bool, str]]
    earlier: list[tuple[StageRule, PeerMatch]]

    def decided(self, mine: list[tuple[StageRule, PeerMatch]], before: list[tuple[StageRule, PeerMatch]],
                probes: Sequence[IPAddress]) -> set[str] | None:
        """What decides every port the rule matches towards every peer before the walk reaches it (empty: it
        matches nothing), or None where some connection reaches it."""
        engine, used = self.engine, set[str]()
        peers = 0
        for _, pm in mine:
            peers |= pm.classes
        for region, _ in engine.peer_regions(peers, [*before, *mine]):
            peer = (region & -region).bit_length() - 1
            table = engine.classes[self.cls if self.direction == "ingress" else peer].named_ports
            if not self._before(table, lambda pm: pm.matches_class(peer), mine, used):
                return None
        table = engine.classes[self.cls].named_ports if self.direction == "ingress" else None
        for ip in probes:
            if not self._before(table, lambda pm: pm.matches_ip(ip), mine, used):
                return None
        return used

    def _before(self, table: tuple[ContainerPort, ...] | None, test: Callable[[PeerMatch], bool],
                mine: list[tuple[StageRule, PeerMatch]], used: set[str]) -> bool:
        """Every port the rule matches towards this peer (those of `test`) is decided first (what decides it added
        to `used`)."""
        resolve = self.engine.resolve_ports
        remaining = NO_PORTS
        for rule, pm in mine:
            if test(pm):
                remaining = remaining.union(resolve(rule.ports, table))
        for entries, end, name in self.stages:
            left, passed = remaining, NO_PORTS
            for rule, pm in entries:
                if rule.action == "Log" or not left or not test(pm):
                    continue
                hit = resolve(rule.ports, table).intersection(left)
                if not hit:
                    continue
                left = left.difference(hit)
                if rule.action == "Pass":
                    passed = passed.union(hit)
                else:
                    used.add(_decider(rule, self.direction))
            if end and left:
                used.add(f"{name}'s default action (Deny)")
            remaining = passed if end else passed.union(left)
        for rule, pm in self.earlier:
            if remaining and test(pm):
                hit = resolve(rule.ports, table).intersection(remaining)
                if hit:
                    remaining = remaining.difference(hit)
                    used.add(_decider(rule, self.direction))
        return not remaining


def _decider(rule: StageRule, direction: Direction) -> str:
    ref = rule.ref
    if isinstance(ref, CalicoRuleRef):
        return f"{ref.kind} {ref.policy} {direction}[{ref.index}]"
    if isinstance(ref, NodeRule):
        return "the own node's allow (Calico does not police a node's traffic to its own pods)"
    return str(ref)


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
