"""Lint checks of Calico's own policies (projectcalico.org/v3 NetworkPolicy, GlobalNetworkPolicy), run under the
calico profile (shared/reference/calico-policies.md):

- NP117: a rule the walk never reaches, for every pod that could exist (the compiled tiers over the possible pods,
  netpol.analyses.regions; the input's pods where the possible pods cannot be built): whatever it matches is
  decided first, by earlier rules of its tier (an unconditional Allow, Deny or Pass before it) or by an earlier
  tier's rules or default action;
- NP118: a Pass rule whose every passed port falls past the last tier (no later tier selects the pods, or each
  passes it on): Calico's profile then allows it, so the Pass allows;
- NP119: rules of a direction the policy's `types` leave out, which Calico ignores (as NP101/NP102);
- NP201 and NP202 for Calico's selectors: a policy's selector that selects none of the input's pods, a rule's
  selector that matches none of the input's pods, namespaces or network sets.

Every reachability claim comes from the engine's compiled stages, walked per class and peer cell
(netpol/analyses/lint/walked.py), never from the policies as written."""

from __future__ import annotations

from collections.abc import Iterator

from netpol.analyses.lint.context import _Context
from netpol.analyses.lint.findings import Finding, finding
from netpol.analyses.lint.walked import cells, possible_engine, walk
from netpol.engine import Engine
from netpol.errors import name_list
from netpol.model import DIRECTIONS, Cluster
from netpol.model.calico import EntityRule
from netpol.model.portsets import NO_PORTS
from netpol.policies.calico import CalicoRuleRef, calico_compiles
from netpol.policies.stages import Provenance

CALICO_KINDS = ("NetworkPolicy", "GlobalNetworkPolicy")  # Calico's own (a KubernetesNetworkPolicy is a NetworkPolicy)


def check(cluster: Cluster) -> Iterator[Finding]:
    """NP117, NP118 and NP119 for every Calico policy of the input (nothing when Calico's kinds do not compile)."""
    if not calico_compiles(cluster):
        return
    yield from _types_unused(cluster)
    yield from _walked(cluster)


def check_engine(engine: Engine) -> Iterator[Finding]:
    """NP201 and NP202 for Calico's selectors, against the input's pods, namespaces and network sets."""
    if not calico_compiles(engine.cluster):
        return
    ctx = _Context(engine)
    e = engine
    subjects = {p.name: p.subject for d in DIRECTIONS for s in e.stages[d] for p in s.policies}
    for (kind, key), policy in sorted(ctx.calico.items()):
        if policy.staged or policy.host_only or kind not in CALICO_KINDS:
            continue
        where = f"namespace {policy.namespace}" if policy.namespace else "the input"
        present = ctx.pods_in.get(policy.namespace, 0) if policy.namespace else len(e.cluster.pods)
        subject = subjects.get(f"{kind} {key}")
        if present and subject is not None and not e.subject_bits(subject) & ctx.usable:
            yield finding("NP201", policy, f"selector [{policy.selector}] selects none of the {present:,} pods in "
                          f"{where}", "spec.selector")
    if not e.cluster.pods:
        return
    peers: dict[CalicoRuleRef, bool] = {}  # a rule that holds some pod -> some of its peers match a pod or address
    for d in DIRECTIONS:
        for _, entries in e.applying[d]:
            for rule, pm in entries:
                if isinstance(rule.ref, CalicoRuleRef) and rule.ref.kind in CALICO_KINDS and not peers.get(rule.ref):
                    peers[rule.ref] = bool(pm.classes & ctx.usable) or any(
                        pm.matches_ip(ip) for ip in e.address_sets.values())
    sets = len(e.cluster.calico.network_sets) if e.cluster.calico is not None else 0
    namespaces = e.cluster.namespaces
    for ref, matched in sorted(peers.items(), key=lambda kv: str(kv[0])):
        policy = ctx.calico[(ref.kind, ref.policy)]
        side_name = "source" if ref.direction == "ingress" else "destination"
        side = getattr(policy.rules(ref.direction)[ref.index], side_name)
        if matched or not _names_selector(side):
            continue
        where = f"{ref.direction}[{ref.index}].{side_name} ({_side_text(side)})"
        path = f"spec.{ref.direction}[{ref.index}].{side_name}"
        if side.namespace_selector is not None and not any(
                side.namespace_selector.evaluate(ns.label_map) for ns in namespaces if ns.declared):
            yield finding("NP211", policy, f"{where} matches none of the {len(namespaces):,} namespaces in the "
                          "input; it can only match namespaces the input does not declare, so their labels and pods "
                          "are unknown here", path)
        elif side.namespace_selector is not None or not policy.namespace or ctx.pods_in.get(policy.namespace):
            yield finding("NP202", policy, f"{where} matches none of the {len(e.cluster.pods):,} pods, "
                          f"{len(namespaces):,} namespaces and {sets:,} network sets in the input, so the rule matches "
                          "nothing here; it can match only pods, namespaces, service accounts or network sets with "
                          "the labels it names that the input does not show", path)


def _names_selector(side: EntityRule) -> bool:
    return side.selector is not None or side.namespace_selector is not None or side.service_accounts is not None \
        or side.services is not None


def _side_text(side: EntityRule) -> str:
    parts = [f"{name} [{value}]" for name, value in (
        ("selector", side.selector), ("namespaceSelector", side.namespace_selector),
        ("serviceAccounts", side.service_accounts), ("services", side.services)) if value is not None]
    return ", ".join(parts)


# -- NP119: rules of a direction `types` leaves out --------------------------------------------------

def _types_unused(cluster: Cluster) -> Iterator[Finding]:
    for policy in cluster.calico.policies if cluster.calico is not None else ():
        if policy.staged:
            continue
        for d in DIRECTIONS:
            count = len(policy.rules(d))
            if count and not policy.applies(d):
                yield finding("NP119", policy, f"types is [{', '.join(policy.types)}], so its {count} {d} "
                              f"rule{'s are' if count > 1 else ' is'} ignored", "spec.types")


# -- NP117, NP118: rules the walk never reaches, Passes that reach the profile -----------------------

def _walked(cluster: Cluster) -> Iterator[Finding]:
    found = possible_engine(cluster)
    if isinstance(found, str):
        engine, scope = Engine(cluster), "every pod of the input (the possible pods could not be built)"
    else:
        engine, scope = found, "every pod that could exist"
    ctx = _Context(engine)
    for d in DIRECTIONS:
        matched: dict[Provenance, set[str]] = {}  # a rule whose peers match -> who took its ports first
        reached: set[Provenance] = set()
        passes: dict[Provenance, bool] = {}  # a Pass rule that took ports -> all of them fell past the last tier
        for cls in range(len(engine.classes)):
            if engine.classes[cls].host_network:
                continue
            for cell in cells(engine, d, cls):
                w = walk(engine, d, cls, cell)
                for ref in w.matched:
                    if ref in w.taken:
                        reached.add(ref)
                    elif ref not in reached:
                        matched.setdefault(ref, set()).update(_name(t) for t in w.before(ref))
                for ref, ports in w.taken.items():
                    if isinstance(ref, CalicoRuleRef) and ref.action == "Pass":
                        fell = w.to_default.get(ref, NO_PORTS)
                        passes[ref] = passes.get(ref, True) and not ports.difference(fell)
        for ref, by in sorted(matched.items(), key=lambda kv: str(kv[0])):
            if ref in reached or not isinstance(ref, CalicoRuleRef):
                continue
            owner = ctx.owner(ref)
            assert owner is not None
            yield finding("NP117", owner, f"{d}[{ref.index}] ({ref.action}) is never reached: for {scope} it "
                          f"selects, every peer and port it matches is taken first by {name_list(sorted(by))}",
                          f"spec.{d}[{ref.index}]")
        for ref, fell in sorted(passes.items(), key=lambda kv: str(kv[0])):
            if fell and isinstance(ref, CalicoRuleRef):
                owner = ctx.owner(ref)
                assert owner is not None
                yield finding("NP118", owner, f"{d}[{ref.index}] (Pass) hands everything it matches past the last "
                              f"tier, for {scope} it selects: no later tier selects those pods or decides it, so "
                              "Calico's namespace profile allows it and this Pass allows",
                              f"spec.{d}[{ref.index}]")


def _name(taker: object) -> str:
    if isinstance(taker, str):
        return f"the default action (Deny) of {taker}"
    return str(taker)

