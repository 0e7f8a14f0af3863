"""The cluster checks whose meaning depends on the policy family (NP205, NP206, NP207, NP208, NP212), computed on
the compiled stages where other families than NetworkPolicy's and the tiers' compile (Calico's tiers with Pass and
their default actions, Cilium's deny-wins): each claim is what the engine's walk answers (netpol/analyses/lint/
walked.py), per class and peer cell, never what a NetworkPolicy says alone.

- NP205, NP206: a NetworkPolicy rule (or whole policy) is redundant when the walk without it (and, for a policy,
  without its selection) allows exactly what the walk with it allows, for every class it holds and every peer.
- NP207, NP208: a pod is unprotected for ingress when no stage can deny it anything (no stage with a Deny end
  selects it, no Deny rule holds it); a namespace has no default deny when a pod that could exist there
  (netpol.analyses.regions) would be unprotected.
- NP212: a NetworkPolicy rule's pod peer through which nothing the rule itself lets pass (the ports it takes in the
  walk) is accepted by the other end (the engine's verdict for the other direction)."""

from __future__ import annotations

from collections.abc import Iterator

from netpol.analyses.families import families
from netpol.analyses.lint.context import _Context
from netpol.analyses.lint.findings import PEERS_KEY, Finding, finding
from netpol.analyses.lint.walked import Cell, Taker, Walked, cells, possible_engine, walk
from netpol.engine import Engine
from netpol.engine.bits import bit_ids
from netpol.errors import name_list
from netpol.model import DIRECTIONS, Direction, NetworkPolicy, PodPeer
from netpol.model.portsets import NO_PORTS, PortSet
from netpol.policies.networkpolicy import CompiledRule, RuleRef
from netpol.policies.stages import Provenance

NP212_PAIRS = 200_000  # class pairs NP212 judges under another family before it stops (and says so)


def can_deny(engine: Engine, direction: Direction, cls: int) -> bool:
    """Some stage can deny class `cls` something in `direction`: one with a Deny end selects it, or a Deny rule
    holds it."""
    return engine.is_isolated(direction, cls) or any(
        rule.action == "Deny" for per_stage in engine.staged[direction][cls] for rule, _ in per_stage)


class _Walks:
    """The walks of one engine, per direction and class, over its peer cells: computed once, shared by the checks."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self._done: dict[tuple[Direction, int], list[tuple[Cell, Walked]]] = {}
        stage_rules = [(d, r) for d in DIRECTIONS for s in engine.stages[d] for r in s.rules]
        self.provenances: dict[RuleRef, set[Provenance]] = {}  # a NetworkPolicy rule -> its stage rules' refs
        for _, rule in stage_rules:
            if isinstance(rule.written, CompiledRule):
                self.provenances.setdefault(rule.written.ref, set()).add(rule.ref)
        self.holding: dict[Provenance, int] = {}  # a stage rule's ref -> the classes it holds
        for d in DIRECTIONS:
            for cids, entries in engine.applying[d]:
                bits = sum(1 << c for c in cids)
                for rule, _ in entries:
                    self.holding[rule.ref] = self.holding.get(rule.ref, 0) | bits

    def of(self, direction: Direction, cls: int) -> list[tuple[Cell, Walked]]:
        key = (direction, cls)
        found = self._done.get(key)
        if found is None:
            found = self._done[key] = [(c, walk(self.e, direction, cls, c)) for c in cells(self.e, direction, cls)]
        return found

    def refs(self, policy: NetworkPolicy, direction: Direction, index: int) -> set[Provenance]:
        return self.provenances.get(RuleRef(policy.key, direction, index), set())

    def classes(self, refs: set[Provenance]) -> int:
        out = 0
        for ref in refs:
            out |= self.holding.get(ref, 0)
        return out


def _names(takers: set[Taker]) -> str:
    return name_list(sorted(f"the default action (Deny) of {t}" if isinstance(t, str) else str(t) for t in takers))


# -- NP205, NP206: redundancy, by the walk without the rule or policy ----------------------------

def redundant(ctx: _Context, certain: set[tuple[str, Direction, int]]) -> Iterator[Finding]:
    """`certain`: (policy key, direction, rule index) NP114 reports for every pod already."""
    e = ctx.engine
    walks = _Walks(e)
    for policy in e.cluster.policies:
        directions = [d for d in DIRECTIONS if policy.affects(d)]
        if not any(policy.rules(d) for d in directions):
            continue  # a deny-all is a safety net for pods to come; NP109 covers its overlap with allows
        own = {d: set().union(*(walks.refs(policy, d, i) for i in range(len(policy.rules(d))))) for d in directions}
        names = {policy.key, f"KubernetesNetworkPolicy {policy.key}"}
        selected = families(e).selected_by(policy.namespace, policy.pod_selector)
        if selected and all(_unchanged(e, walks, d, selected | walks.classes(own[d]), own[d], names) is not None
                            for d in directions):
            yield finding("NP206", policy, "changes no verdict for the pods in the input: without it (its rules "
                          f"and its selection), the walk over the compiled policies decides every connection of its "
                          f"{ctx.pods(selected)} the same way", "spec")
            continue
        for d in directions:
            for i in range(len(policy.rules(d))):
                refs = walks.refs(policy, d, i)
                by = _unchanged(e, walks, d, walks.classes(refs), refs, set())
                if by and (policy.key, d, i) not in certain:
                    yield finding("NP205", policy, f"{d}[{i}] changes no verdict for the pods in the input: without "
                                  f"it, {_names(by)} decide every port it matches the same way", f"spec.{d}[{i}]")


def _unchanged(e: Engine, walks: _Walks, direction: Direction, classes: int, refs: set[Provenance],
               unselected: set[str]) -> set[Taker] | None:
    """Who decides, without `refs` (and the selection by `unselected`), the ports they match, where the walk then
    allows the same for every class of `classes` and every peer; None where some verdict changes, or where the
    rules match nothing (an empty set: nothing to say)."""
    by: set[Taker] = set()
    for cls in bit_ids(classes):
        for cell, w in walks.of(direction, cls):
            if not unselected and not any(r in w.matched for r in refs):
                continue
            without = walk(e, direction, cls, cell, refs, unselected)
            if without.allowed != w.allowed:
                return None
            wanted = NO_PORTS
            for r in refs:
                wanted = wanted.union(w.matched.get(r, NO_PORTS))
            by.update(t for t, ports in without.taken.items() if ports.intersection(wanted))
    return by


# -- NP207, NP208: unprotected pods, namespaces where a new pod would be ----------------------------

def unprotected_namespaces(ctx: _Context, notes: list[str]) -> dict[str, list[str]]:
    """Per namespace with pods in the input, some pods that could exist there (their regions' names) that no stage
    could deny anything to for ingress; {} with a note where the possible pods cannot be built."""
    cluster = ctx.engine.cluster
    possible = possible_engine(cluster)
    if isinstance(possible, str):
        notes.append(f"NP208 (no default deny) was not checked: the possible pods could not be built ({possible})")
        return {}
    out: dict[str, list[str]] = {}
    for c in possible.classes:
        if c.host_network or can_deny(possible, "ingress", c.id):
            continue
        for pod in c.pods:
            if pod.namespace in ctx.pods_in and pod.hypothetical:
                out.setdefault(pod.namespace, []).append(pod.key)
    return out


# -- NP212: the other side denies -------------------------------------------------------------------

def one_sided(ctx: _Context, notes: list[str]) -> Iterator[Finding]:
    e = ctx.engine
    walks = _Walks(e)
    budget = [NP212_PAIRS]
    for policy in e.cluster.policies:
        for d in DIRECTIONS:
            if not policy.affects(d):
                continue
            for i, rule in enumerate(policy.rules(d)):
                refs = walks.refs(policy, d, i)
                subjects = walks.classes(refs) & ctx.usable
                for j, peer in enumerate(rule.peers):
                    if not isinstance(peer, PodPeer) or not subjects:
                        continue
                    peers = families(e).pod_peer_classes(peer, policy.namespace) & ctx.usable
                    found = _dead(e, walks, d, refs, subjects, peers, budget)
                    if found is None:
                        notes.append(f"NP212 (other side denies) stopped at {policy.key} {d}[{i}]: the input is too "
                                     f"large to judge every pair of pod classes in bounded time under the "
                                     f"{e.cluster.dataplane.profile} profile; the rules before it were checked")
                        return
                    dead, judged, isolating = found
                    if not dead:
                        continue
                    ports = ", ".join(str(p) for p in rule.ports) or "every port"
                    blame = f"isolated for {'ingress' if d == 'egress' else 'egress'} by {name_list(isolating)}" \
                        if isolating else "denied there by the compiled policies"
                    what = (f"lets {ctx.pods(dead)} send to {ctx.pods(judged)} on {ports}, but the ingress of none "
                            "of those pods accepts any of it from them" if d == "egress" else
                            f"admits {ctx.pods(dead)} to {ctx.pods(judged)} on {ports}, but the egress of none of "
                            "those sources sends any of it to them")
                    where = f"spec.{d}[{i}].{PEERS_KEY[d]}[{j}]"
                    yield finding("NP212", policy, f"{where.removeprefix('spec.')} {what} ({blame}); a connection "
                                  "needs both sides to allow it", where)


def _dead(e: Engine, walks: _Walks, direction: Direction, refs: set[Provenance], subjects: int, peers: int,
          budget: list[int]) -> tuple[int, int, list[str]] | None:
    """(the peer-side classes whose every judged pair is denied by the other end, the classes judged, the policies
    that isolate the other end); None past the budget. The rule's own side is `direction` at `subjects`."""
    lets: dict[tuple[int, int], PortSet] = {}  # (subject, peer) -> the ports the rule takes there
    for s in bit_ids(subjects):
        for cell, w in walks.of(direction, s):
            took = NO_PORTS
            for r in refs:
                took = took.union(w.taken.get(r, NO_PORTS))
            for p in bit_ids(cell.bits & peers) if took else ():
                if p != s or not e.classes[s].lone:
                    lets[(s, p)] = took
    budget[0] -= len(lets)
    if budget[0] < 0:
        return None
    other: Direction = "ingress" if direction == "egress" else "egress"
    alive = sides = seen = 0
    isolating: dict[int, set[str]] = {}  # per side, the policies that isolate the other end of its pairs
    for (s, p), took in lets.items():
        dst = p if direction == "egress" else s
        result = e.evaluate(other, p, s, e.classes[dst].named_ports)
        side = s if direction == "egress" else p  # the sources, of whom the message speaks
        sides |= 1 << side
        seen |= 1 << dst
        isolating.setdefault(side, set()).update(result.isolated_by)
        if result.ports.intersection(took):
            alive |= 1 << side
    dead = sides & ~alive
    names = sorted(set().union(*(isolating[c] for c in bit_ids(dead))))
    return dead, (seen if dead else 0), names
