"""The walk over the stages (netpol/policies/stages.py) for one subject, one peer and every port at once.

A walk takes the port space and hands each part to the first rule that covers it, stage after
stage, so one walk answers every port (`Walk.segments`). Segments come out in a fixed order: per
stage, each range it was handed (in the order handed) is decided rule by rule; the ranges a
stage hands on are its undecided rest first, then what its Pass rules handed on, in rule order;
a range handed on past the last stage is decided by the default (allowed) at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netpol.model.portsets import ALL_PORTS, NO_PORTS, PortSet, Protocol
from netpol.policies.stages import Provenance, Stage, StageRule

DEFAULT = "default"  # the decider after the last stage


@dataclass(frozen=True)
class Hit:
    """A rule whose subject holds the pod and whose peers match the peer, with the ports it covers towards
    the destination; `via_ip_block`: it matches the peer pod only through an address block."""

    rule: StageRule
    ports: PortSet
    first_match: bool  # its stage decides first-match (else: as a whole)
    via_ip_block: bool = False

    @property
    def ref(self) -> Provenance:
        return self.rule.ref


Decider = Provenance | str  # a rule; a stage that decided as a whole or by its end (its name); DEFAULT


@dataclass(frozen=True)
class Segment:
    """Ports that one step of the walk decided: by a rule, by a stage as a whole, or by default.

    `passed`: the Pass rule that handed these ports on, if one did.
    """

    ports: PortSet
    decider: Decider
    allowed: bool
    passed: Provenance | None = None


@dataclass(frozen=True)
class Walk:
    """One direction's decision for every port: the segments partition the whole port space."""

    segments: tuple[Segment, ...]

    @property
    def allowed(self) -> PortSet:
        out = NO_PORTS
        for s in self.segments:
            if s.allowed:
                out = out.union(s.ports)
        return out

    def at(self, protocol: Protocol, port: int) -> Segment:
        return next(s for s in self.segments if s.ports.contains(protocol, port))


@dataclass(frozen=True)
class Step:
    """One stage as a subject meets it: whether a policy of it selects the subject, and its hits."""

    stage: Stage
    selected: bool
    hits: Sequence[Hit]


def walk_stages(steps: Sequence[Step]) -> Walk:
    """The first-match walk over the port space (see the module docstring)."""
    segments: list[Segment] = []
    pieces: list[tuple[PortSet, Provenance | None]] = [(ALL_PORTS, None)]
    for k, step in enumerate(steps):
        last = k == len(steps) - 1
        onward: list[tuple[PortSet, Provenance | None]] = []
        for ports, by in pieces:
            rest, passes = _decide(step, ports, by, last, segments)
            if rest and step.selected and step.stage.end == "Deny":
                segments.append(Segment(rest, step.stage.name, False, by))
            elif rest:
                passes.insert(0, (rest, by))
            for part, who in passes:
                if last:
                    segments.append(Segment(part, DEFAULT, True, who))
                else:
                    onward.append((part, who))
        pieces = onward
    return Walk(tuple(segments))


def _decide(step: Step, ports: PortSet, by: Provenance | None, last: bool, segments: list[Segment]
            ) -> tuple[PortSet, list[tuple[PortSet, Provenance | None]]]:
    """One range through one stage's rules: the segments it decides, its rest, and what Pass hands on
    (past the last stage, at once)."""
    passes: list[tuple[PortSet, Provenance | None]] = []
    if not step.stage.first_match:
        allowed = NO_PORTS
        for hit in step.hits:
            allowed = allowed.union(hit.ports)
        part = ports.intersection(allowed)
        if part:
            segments.append(Segment(part, step.stage.name, True, by))
        return ports.difference(allowed), passes
    rest = ports
    for hit in step.hits:
        action = hit.rule.action
        take = rest.intersection(hit.ports) if action != "Log" else NO_PORTS
        if not take:
            continue
        rest = rest.difference(take)
        if action != "Pass":
            segments.append(Segment(take, hit.ref, action == "Allow", by))
        elif last:
            segments.append(Segment(take, DEFAULT, True, hit.ref))
        else:
            passes.append((take, hit.ref))
    return rest, passes
