"""What each Admin and Baseline policy does, in evaluation order, for `explain`.

A rule is *shadowed* when, for every pod it selects and every peer it matches in this cluster, the
ports it covers are already decided by earlier rules of its tier (the walk never reaches it). This is
computed over the engine's classes (peer classes are split by which earlier rules match them), so it
is exact for the pods in the input and says nothing about pods that do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from netpol.analyses.families import families
from netpol.engine import Engine, bit_ids
from netpol.model import DIRECTIONS, ContainerPort, Direction, Tier, TieredPolicy, TierPeer, TierSelector
from netpol.model.portsets import NO_PORTS
from netpol.policies.tiered import CompiledTierRule, TierRuleRef


@dataclass(frozen=True)
class TierRuleSummary:
    ref: TierRuleRef
    peers: tuple[str, ...]
    ports: str
    shadowed_by: tuple[TierRuleRef, ...]  # non-empty: never decides anything here


@dataclass(frozen=True)
class TierPolicySummary:
    policy: TieredPolicy
    subject: str
    targets: tuple[str, ...]
    rules: tuple[TierRuleSummary, ...]
    ties: tuple[str, ...]  # other policies of the tier with the same priority: their order is undefined

    @property
    def tier(self) -> Tier:
        return self.policy.tier


def describe_selector(sel: TierSelector) -> str:
    where = "all namespaces" if sel.namespace_selector.selects_all else f"namespaces [{sel.namespace_selector}]"
    if sel.pod_selector is None or sel.pod_selector.selects_all:
        return f"all pods in {where}"
    return f"pods [{sel.pod_selector}] in {where}"


def describe_peer(peer: TierPeer) -> str:
    if peer.pods is not None:
        return describe_selector(peer.pods)
    if peer.networks:
        return "networks " + ", ".join(str(n) for n in peer.networks)
    if peer.nodes is not None:
        return "all nodes" if peer.nodes.selects_all else f"nodes [{peer.nodes}]"
    if peer.domains:
        return "domain names " + ", ".join(peer.domains) + " (not resolved: matches no pod or address here)"
    return f"unknown peer field {peer.unknown!r} (fails closed)"


def summarize_tiers(engine: Engine) -> tuple[TierPolicySummary, ...]:
    """Every tiered policy in evaluation order (Admin by priority, then Baseline)."""
    policies = engine.cluster.tiered
    out = []
    for pol in policies:
        targets = _targets(engine, pol)
        rules = []
        for direction in DIRECTIONS:
            compiled = [r for r in families(engine).tier_rules.get((pol.tier, direction), ())
                        if r.ref.policy == pol.name and r.ref.kind == pol.kind]
            for rule, written in zip(compiled, pol.rules(direction), strict=True):
                ports = ", ".join(str(p) for p in written.ports) if written.ports is not None else "all ports and ICMP"
                rules.append(TierRuleSummary(rule.ref, tuple(describe_peer(p) for p in written.peers), ports,
                                             shadowed_by(engine, rule, direction)))
        ties = tuple(f"{o.short_kind} {o.name}" for o in policies
                     if o is not pol and o.tier == pol.tier and o.priority == pol.priority)
        out.append(TierPolicySummary(pol, describe_selector(pol.subject), targets, tuple(rules), ties))
    return tuple(out)


def _targets(engine: Engine, pol: TieredPolicy) -> tuple[str, ...]:
    bits = families(engine).tier_select(pol.subject)
    return tuple(sorted(p.key for cid in bit_ids(bits) for p in engine.classes[cid].pods))


def shadowed_by(engine: Engine, rule: CompiledTierRule, direction: Direction) -> tuple[TierRuleRef, ...]:
    """The earlier rules that decide everything `rule` would, for every subject and peer it has here;
    empty when some (subject, peer, port) reaches it, or when it matches nothing at all."""
    views = families(engine)
    lists = views.tiered.get((rule.ref.tier, direction))
    if lists is None:
        return ()
    subjects = views.tier_select(rule.subject)
    deciders: set[TierRuleRef] = set()
    reached = False
    for cid in bit_ids(subjects):
        c = engine.classes[cid]
        entries = lists[c.id]
        position = next(i for i, (r, _) in enumerate(entries) if r.ref == rule.ref)
        earlier, pm = entries[:position], entries[position][1]
        # Peers: classes split into regions whose classes share their earlier rules and named ports,
        # so one class decides for its region; and the outside address sets (egress peers).
        peers: list[tuple[tuple[ContainerPort, ...] | None, list[CompiledTierRule]]] = []
        for bits, region_rules in engine.peer_regions(pm.classes, earlier):
            first = engine.classes[(bits & -bits).bit_length() - 1]
            peers.append((c.named_ports if direction == "ingress" else first.named_ports,
                          [e for e, _ in region_rules]))
        for ip in engine.address_sets.values():
            if pm.matches_ip(ip):
                peers.append((c.named_ports if direction == "ingress" else None,
                              [e for e, m in earlier if m.matches_ip(ip)]))
        for destination, matching in peers:
            reached = True
            wanted = views.resolve(rule, destination)
            covered = NO_PORTS
            for e in matching:
                part = views.resolve(e, destination)
                if part.intersection(wanted):
                    deciders.add(e.ref)
                covered = covered.union(part)
            if wanted.difference(covered):
                return ()
    return tuple(sorted(deciders)) if reached else ()
