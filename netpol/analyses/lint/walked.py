"""What each rule does in the engine's walk over the compiled stages, for the lint checks that must hold for every
policy family (Calico's tiers and Pass, Cilium's deny-wins, NetworkPolicy's union): per class of subject pods and
per peer cell (the peer classes the class's rules treat alike, and the outside address sets), the ports each rule
takes (decides, or hands on with Pass), the ports each stage's end denies, and the ports allowed.

It is the walk of netpol/policies/walk.py read from the other side: instead of who decided each port, what each
rule took. The ports it allows are the engine's answer (`Engine.evaluate(...).ports`); a property test compares
the two (tests/property/test_lint_walked.py). A rule or policy can be left out (`without`, `unselected`) to ask
what the verdict would be without it, which is how redundancy is decided for any family."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.regions import regions
from netpol.engine import Engine, PeerRef
from netpol.errors import QueryError
from netpol.model import Cluster, ContainerPort, Direction
from netpol.model.portsets import ALL_PORTS, NO_PORTS, PortSet
from netpol.policies.stages import Provenance, StageRule

Taker = Provenance | str  # a rule, or a stage (by name) whose end denied what reached it undecided


@dataclass(frozen=True)
class Cell:
    """Peers one class's rules treat alike: peer classes (`bits`, answered by class `peer`) or one outside address
    set (`bits` 0, `peer` one of its addresses); `destination`: the named-port table ports resolve against."""

    bits: int
    peer: PeerRef
    destination: tuple[ContainerPort, ...] | None


@dataclass
class Walked:
    """One walk: per rule or stage end, the ports it took and the stage it took them in (and per rule whose peers
    match, the ports it covers); the ports allowed; per Pass rule, the ports it handed past the last stage (the
    default, allowed: Calico's profile)."""

    taken: dict[Taker, PortSet] = field(default_factory=dict)
    stage_of: dict[Taker, int] = field(default_factory=dict)
    matched: dict[Provenance, PortSet] = field(default_factory=dict)  # per rule whose peers match: its ports
    allowed: PortSet = NO_PORTS
    to_default: dict[Provenance, PortSet] = field(default_factory=dict)

    def take(self, who: Taker, stage: int, ports: PortSet) -> None:
        if ports:
            self.taken[who] = self.taken.get(who, NO_PORTS).union(ports)
            self.stage_of.setdefault(who, stage)

    def before(self, ref: Provenance) -> set[Taker]:
        """The rules and stage ends that took ports `ref` matches, in its stage or an earlier one."""
        wanted, stage = self.matched.get(ref, NO_PORTS), self.stage_of.get(ref, -1)
        return {t for t, ports in self.taken.items() if t != ref and self.stage_of[t] <= stage
                and ports.intersection(wanted)}


def cells(engine: Engine, direction: Direction, cls: int) -> Iterator[Cell]:
    """The peer cells of class `cls` in `direction`: its rules' peer classes by partition refinement (and by
    named-port table for egress), then the outside address sets."""
    e = engine
    entries = [x for per_stage in e.staged[direction][cls] for x in per_stage]
    own = e.classes[cls].named_ports
    for bits, _ in e.peer_regions(e.all_bits, entries, split_named_ports=direction == "egress"):
        rep = (bits & -bits).bit_length() - 1
        yield Cell(bits, rep, own if direction == "ingress" else e.classes[rep].named_ports)
    for ip in e.address_sets.values():
        yield Cell(0, ip, own if direction == "ingress" else None)


def walk(engine: Engine, direction: Direction, cls: int, cell: Cell, without: Collection[Provenance] = (),
         unselected: Collection[str] = ()) -> Walked:
    """The walk for class `cls` towards `cell` over every port at once; rules of `without` and the selection by the
    stage policies named in `unselected` left out."""
    e = engine
    out = Walked()
    peer = cell.peer
    pieces: list[tuple[PortSet, Provenance | None]] = [(ALL_PORTS, None)]
    for k, stage in enumerate(e.stages[direction]):
        matching: list[tuple[StageRule, PortSet]] = [
            (rule, e.resolve_ports(rule.ports, cell.destination)) for rule, pm in e.staged[direction][cls][k]
            if rule.action != "Log" and rule.ref not in without
            and (pm.matches_class(peer) if isinstance(peer, int) else pm.matches_ip(peer))]
        for rule, covered in matching:
            if covered:
                out.matched[rule.ref] = out.matched.get(rule.ref, NO_PORTS).union(covered)
                out.stage_of.setdefault(rule.ref, k)
        ends = stage.end == "Deny" and any(n not in unselected for n in e.selecting[direction][cls][k])
        onward: list[tuple[PortSet, Provenance | None]] = []
        for ports, by in pieces:
            rest = ports
            for rule, covered in matching:
                took = (ports if not stage.first_match else rest).intersection(covered)
                if not took:
                    continue
                out.take(rule.ref, k, took)
                if stage.first_match:
                    rest = rest.difference(took)
                if rule.action == "Allow":
                    out.allowed = out.allowed.union(took)
                elif rule.action == "Pass":
                    onward.append((took, rule.ref))
            if not stage.first_match:
                for _, covered in matching:
                    rest = rest.difference(covered)
            if rest and ends:
                out.take(stage.name, k, rest)
            elif rest:
                onward.append((rest, by))
        pieces = onward
    for ports, by in pieces:
        out.allowed = out.allowed.union(ports)
        if by is not None:
            out.to_default[by] = out.to_default.get(by, NO_PORTS).union(ports)
    return out


_POSSIBLE: list[tuple[Cluster, Engine | str]] = []  # the last input's possible-pods engine (or why there is none)


def possible_engine(cluster: Cluster) -> Engine | str:
    """The engine over every pod that could exist (netpol.analyses.regions), or why it cannot be built (the region
    limit, a selector the possible pods cannot cut exactly); built once per input, as several checks read it."""
    if _POSSIBLE and _POSSIBLE[0][0] is cluster:
        return _POSSIBLE[0][1]
    try:
        found: Engine | str = Engine(regions(cluster).cluster)
    except (RegionLimitError, QueryError) as exc:
        found = str(exc)
    _POSSIBLE[:] = [(cluster, found)]
    return found
