"""NP212: one side allows, the other denies (a lint check that uses the pods in the input, on the engine's
classes and port sets, as netpol/analyses/lint/cluster.py's do)."""

from __future__ import annotations

from collections.abc import Iterator

from netpol.analyses.families import families
from netpol.analyses.lint.context import _Context
from netpol.analyses.lint.findings import PEERS_KEY, Finding, finding
from netpol.engine import Engine
from netpol.engine.bits import bit_ids, or_bits
from netpol.errors import name_list
from netpol.model import DIRECTIONS, ContainerPort, Direction, PodPeer, Rule
from netpol.model.portsets import PortSet
from netpol.policies.networkpolicy import CompiledRule

NP212_WORK = 1_000_000_000  # signature steps times classes (the bits each step touches): the 10k-pod benchmark
# takes about a quarter of it, in about 4 s


def one_sided(engine: Engine, notes: list[str], possible: bool = False, budget: int = NP212_WORK
              ) -> Iterator[Finding]:
    """Pod peers of a NetworkPolicy rule through which nothing the rule allows can pass, because the other
    end denies all of it: an egress peer whose pods' ingress accepts none of it from the policy's pods, or
    an ingress peer whose pods' egress sends none of it to them. `possible`: the engine runs on possible
    pods (netpol.analyses.regions), whose IPs are unknown, so a rule with an ipBlock that allows those ports might
    match them and the peer is not judged. The work grows with policies times policies: past `budget` steps
    it stops, and says so in `notes`."""
    ctx = _Context(engine)
    e = engine
    sides = _Sides(e, possible)
    for policy in e.cluster.policies:
        selected = families(e).selected_by(policy.namespace, policy.pod_selector)
        for direction in DIRECTIONS:
            if not selected or not policy.affects(direction):
                continue
            for i, rule in enumerate(policy.rules(direction)):
                compiled = next(r for r, _ in families(e).rules[direction][(selected & -selected).bit_length() - 1]
                                if r.ref.policy == policy.key and r.ref.index == i)
                for j, peer in enumerate(rule.peers):
                    peers = families(e).pod_peer_classes(peer, policy.namespace) if isinstance(peer, PodPeer) else 0
                    if not peers:
                        continue
                    if sides.steps * len(e.classes) > budget:
                        notes.append(f"NP212 (other side denies) stopped at {policy.key} {direction}[{i}]: the "
                                     "input is too large to check every rule in bounded time (its cost grows "
                                     "with policies times pod classes); the policies before it were checked")
                        return
                    if direction == "egress":
                        dead, judged, blame = sides.unanswered(compiled, selected, peers)
                    else:
                        dead, judged, blame = sides.unsent(compiled, peers, selected)
                    if dead:
                        what = (f"lets {_who(ctx, dead, possible)} send to {_who(ctx, judged, possible)} on "
                                f"{_ports(rule)}, but the ingress of none of those pods accepts any of it from them"
                                if direction == "egress" else
                                f"admits {_who(ctx, dead, possible)} to {_who(ctx, judged, possible)} on "
                                f"{_ports(rule)}, but the egress of none of those sources sends any of it to them")
                        where = f"spec.{direction}[{i}].{PEERS_KEY[direction]}[{j}]"
                        yield finding("NP212", policy, f"{where.removeprefix('spec.')} {what} ({blame}); a "
                                      "connection needs both sides to allow it", where)


def _who(ctx: _Context, bits: int, possible: bool) -> str:
    """The input's pods, counted and named; or possible pods, by their regions (each stands for every pod
    with those labels)."""
    if not possible:
        return ctx.pods(bits)
    names = [p.key for cid in bit_ids(bits) for p in ctx.engine.classes[cid].pods]
    return f"every possible pod of {name_list(names)}"


def _ports(rule: Rule) -> str:
    return ", ".join(str(p) for p in rule.ports) or "every port"


class _Sides:
    """NP212's judgements for one engine. Classes isolated by the same policies in a direction have the same
    rules there, so each judgement is made once per such signature, not per class: the cost follows the
    policies, not the pods."""

    def __init__(self, engine: Engine, possible: bool) -> None:
        e = self.e = engine
        self.possible = possible
        self.lone = or_bits(1 << c.id for c in e.classes if c.lone)
        views = self.views = families(e)
        self.tiered = {d: or_bits(1 << c.id for c in e.classes if views.has_tier_rules(d, c.id)) for d in DIRECTIONS}
        self.signature: dict[Direction, list[int]] = {}  # per class, its signature's index
        self.members: dict[Direction, list[int]] = {}  # per signature, its classes
        for direction in DIRECTIONS:
            index: dict[tuple[str, ...], int] = {}
            self.signature[direction] = [index.setdefault(tuple(views.isolating[direction][c.id]), len(index))
                                         for c in e.classes]
            members = [0] * len(index)
            for c in e.classes:
                members[self.signature[direction][c.id]] |= 1 << c.id
            self.members[direction] = members
        self._allowing: dict[tuple[Direction, tuple[ContainerPort, ...], PortSet], dict[int, int]] = {}
        self.steps = 0  # signatures visited, and pairs the tiers make judge one by one

    def _signatures(self, direction: Direction, bits: int) -> Iterator[int]:
        """The classes of `bits` by signature: one bitset per signature, a step per signature (not class)."""
        while bits:
            members = self.members[direction][self.signature[direction][(bits & -bits).bit_length() - 1]] & bits
            bits &= ~members
            self.steps += 1
            yield members

    def _groups(self, rule: CompiledRule, dests: int) -> dict[tuple[tuple[ContainerPort, ...], PortSet], int]:
        """The destinations by named-port table, with the ports the rule allows them (none: left out)."""
        out: dict[tuple[tuple[ContainerPort, ...], PortSet], int] = {}
        for table, group in self.e.by_named_ports.items():
            if group & dests:
                wanted = self.views.resolve(rule, table)
                if wanted:
                    out[(table, wanted)] = out.get((table, wanted), 0) | (group & dests)
        return out

    def _peers(self, direction: Direction, cls: int, table: tuple[ContainerPort, ...], wanted: PortSet) -> int:
        """Classes that class `cls`'s NetworkPolicy rules in `direction` allow on some port of `wanted` (the
        destination's named-port table `table`): every class when it is not isolated, or, for possible pods,
        when an ipBlock rule might match their unknown IPs. Cached per signature (see the class)."""
        cache = self._allowing.setdefault((direction, table, wanted), {})
        sig = self.signature[direction][cls]
        cached = cache.get(sig)
        if cached is not None:
            return cached
        e, bits = self.e, 0
        if not e.is_isolated(direction, cls):
            bits = e.all_bits
        for r, pm in self.views.rules[direction][cls] if bits == 0 else ():
            if self.views.resolve(r, table).intersection(wanted):
                if self.possible and pm.blocks:
                    bits = e.all_bits
                    break
                bits |= pm.classes
        cache[sig] = bits
        return bits

    def _only_self(self, dead: int, judged: int) -> int:
        """Lone sources whose only judged destination is themselves: their own traffic, no evidence."""
        return dead & ~(judged & self.lone if judged & (judged - 1) == 0 else 0)

    def unanswered(self, rule: CompiledRule, sources: int, dests: int) -> tuple[int, int, str]:
        """(sources whose egress `rule` allows to the destinations, and every destination's ingress denies
        all of it; the destinations judged; who denies). Sources whose egress the tiers also govern are not
        judged: an Admin rule may deny what the NetworkPolicy allows."""
        e = self.e
        dead, judged = sources & ~self.tiered["egress"], 0
        for (table, wanted), group in self._groups(rule, dests).items():
            tiered = group & self.tiered["ingress"]
            for d in bit_ids(tiered):
                if self.possible or not dead:
                    break  # possible pods: networks and nodes peers may match their IPs, not judged
                self.steps += dead.bit_count()
                dead &= or_bits(1 << s for s in bit_ids(dead) if (s == d and (self.lone >> d) & 1) or not
                                e.connection(s, d)[1].ports.intersection(wanted))  # type: ignore[union-attr]
                judged |= 1 << d
            for members in self._signatures("ingress", group & ~tiered):
                if not dead:
                    break
                admitted = self._peers("ingress", (members & -members).bit_length() - 1, table, wanted)
                dead &= ~admitted | (members & self.lone if members & (members - 1) == 0 else 0)
                judged |= members
        dead = self._only_self(dead, judged)
        return (dead, judged, _deniers(e, "ingress", judged)) if dead else (0, 0, "")

    def unsent(self, rule: CompiledRule, sources: int, dests: int) -> tuple[int, int, str]:
        """(sources that ingress `rule` admits to the destinations, and whose egress sends none of it to any
        of them; the destinations judged; who denies). Destinations whose ingress the tiers also govern are
        not judged: an Admin rule may deny what the NetworkPolicy admits."""
        e = self.e
        dead, judged = sources, 0
        for (table, wanted), group in self._groups(rule, dests & ~self.tiered["ingress"]).items():
            if not dead:
                break
            refused = 0
            self.steps += (dead & self.tiered["egress"]).bit_count() * group.bit_count()
            for s in bit_ids(dead & self.tiered["egress"]):
                others = group & ~(self.lone & (1 << s))
                if not self.possible and not any(e.connection(s, d)[0].ports.intersection(wanted)  # type: ignore[union-attr]
                                                 for d in bit_ids(others)):
                    refused |= 1 << s
            for members in self._signatures("egress", dead & ~self.tiered["egress"]):
                hit = group & self._peers("egress", (members & -members).bit_length() - 1, table, wanted)
                if not hit:
                    refused |= members
                elif hit & (hit - 1) == 0 and hit & self.lone & members:
                    refused |= hit  # a lone source whose only destination is itself
            dead &= refused
            judged |= group
        dead = self._only_self(dead, judged)
        return (dead, judged, _deniers(e, "egress", dead)) if dead else (0, 0, "")


def _deniers(e: Engine, direction: Direction, classes: int) -> str:
    policies = sorted({k for c in bit_ids(classes) for k in families(e).isolating[direction][c]})
    tiered = any(families(e).has_tier_rules(direction, c) for c in bit_ids(classes))
    parts = ([f"isolated for {direction} by {name_list(policies)}"] if policies else []) + (
        ["Admin or Baseline rules"] if tiered else [])
    return " and ".join(parts)
