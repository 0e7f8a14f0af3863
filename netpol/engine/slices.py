"""One class's row or column of the class matrix, with exact ports, built without the rest of the matrix.

A diff of two versions that differ in a few policies needs only the rows and columns of the classes
whose rules changed (netpol.analyses.diff); `graph -n` and `--focus` need those of the classes they draw. A row
is the class's own egress against every destination's ingress towards it:

- its own side: its rules cut the destinations into regions that they treat alike, and the engine
  evaluates one destination per region;
- everyone else's side: an index says which rules' peers hold the class, so only the classes those
  rules belong to are looked at; every other class answers by its isolation alone (not isolated: every
  port; isolated: none). The allows of the stage that decides as a whole are a union, so they are added
  up with array operations; the classes that rules of first-match stages holding the class select walk
  the stages (walk.walk_stages, as a point query does), once per kind of class rather than once per class.
  Stages this arithmetic does not read (more than one stage that decides as a whole, or a first-match stage
  that denies what it leaves before it) are asked per pair (`adds_up`).

A column is the same with the directions swapped. Ports are bit codes over port atoms (PortCodes) that
every rule of both versions treats alike, so a row is one array and two rows compare in one operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

import numpy as np
import numpy.typing as npt

from netpol.engine import Engine, PeerMatch
from netpol.engine.bits import bit_ids, bit_mask, id_bits, low_bits
from netpol.model import ContainerPort, Direction
from netpol.model.portsets import ALL_PORTS, PortSet, Protocol, atoms
from netpol.policies.stages import NodePods, NodeRule, PortMatch, StageRule, names_ports
from netpol.policies.walk import Hit, Step, walk_stages

Codes = npt.NDArray[np.uint64]  # (classes, words): per class, bit k of the code is port atom k


@dataclass(frozen=True)
class PortCodes:
    """Port sets as bit codes over atoms that every rule treats alike: each atom is allowed whole or
    not at all, so a set of atoms is exactly a port set."""

    atoms: tuple[tuple[Protocol, int, int], ...]
    _encoded: dict[PortSet, Codes] = field(default_factory=dict, compare=False, repr=False)
    _decoded: dict[int, PortSet] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def common(cls, *engines: Engine) -> PortCodes:
        """Atoms that cut at every port any of the engines' rules (and named ports) distinguish."""
        return cls(tuple(atoms([a for e in engines for a in e.port_atoms])))

    @cached_property
    def width(self) -> int:
        return max(1, (len(self.atoms) + 63) // 64)

    def zeros(self, n: int) -> Codes:
        return np.zeros((n, self.width), dtype=np.uint64)

    def encode(self, ports: PortSet) -> Codes:
        code = self._encoded.get(ports)
        if code is None:
            value = sum(1 << k for k, (proto, first, _) in enumerate(self.atoms) if ports.contains(proto, first))
            code = np.array([(value >> (64 * w)) & (2**64 - 1) for w in range(self.width)], dtype=np.uint64)
            self._encoded[ports] = code
        return code

    def decode(self, code: Codes) -> PortSet:
        return self.ports_of(sum(int(word) << (64 * w) for w, word in enumerate(code.tolist())))

    def ports_at(self, codes: Codes, row: int) -> PortSet:
        """decode(codes[row]), without an array per call where a code is one word (a matrix asks per cell)."""
        return self.ports_of(int(codes[row, 0])) if self.width == 1 else self.decode(codes[row])

    def groups(self, codes: Codes) -> list[tuple[PortSet, npt.NDArray[np.intp]]]:
        """The rows of `codes` that hold some port, grouped by their code: each group's port set and its row
        indices, ascending. One word: grouped as integers; more: as rows (np.unique(axis=0))."""
        found = np.flatnonzero(codes.any(axis=1))
        if self.width == 1:
            values, inverse = np.unique(codes[found, 0], return_inverse=True)
            decoded = [self.ports_of(int(v)) for v in values.tolist()]
        else:
            values, inverse = np.unique(codes[found], axis=0, return_inverse=True)
            decoded = [self.decode(v) for v in values]
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")  # indices of one code together, in row order
        bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
        return [(ports, found[order[bounds[k]:bounds[k + 1]]]) for k, ports in enumerate(decoded)]

    def ports_of(self, value: int) -> PortSet:
        """The port set of a code as one integer (bit k: atom k)."""
        ports = self._decoded.get(value)
        if ports is None:
            ports = self._decoded[value] = PortSet.of(a for k, a in enumerate(self.atoms) if (value >> k) & 1)
        return ports


@dataclass(frozen=True)
class _Peers:
    """The rules in one direction whose peers are one same set of classes, each with the classes it
    belongs to (its subjects, ascending ids): those of the stage that decides as a whole, whose allows add
    up, and those of first-match stages (`ordered`)."""

    match: PeerMatch
    adding: tuple[tuple[StageRule, list[int]], ...]
    ordered: tuple[tuple[StageRule, list[int]], ...]

    @cached_property
    def _entries(self) -> list[tuple[StageRule, list[int]]]:
        return [(rule, subjects) for rule, subjects in self.adding if subjects]

    @cached_property
    def allows(self) -> tuple[StageRule, ...]:
        return tuple(rule for rule, _ in self._entries)

    @cached_property
    def subjects(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The adding rules' subjects, concatenated, and how many each rule has (in `allows`' order)."""
        lists = [subjects for _, subjects in self._entries]
        counts = np.fromiter((len(x) for x in lists), np.int64, len(lists))
        return np.fromiter(chain.from_iterable(lists), np.int64, int(counts.sum())), counts


_ADDED_UP = StageRule(NodeRule("", "ingress"), NodePods(""), (), None, "Allow")  # the union's answer as one allow


class Slices:
    """Rows and columns of one engine's class matrix, as port codes over `codes`' atoms."""

    def __init__(self, engine: Engine, codes: PortCodes, rows: Iterable[int], columns: Iterable[int]) -> None:
        """`rows` and `columns`: the classes whose rows and columns will be asked for; who holds them is
        looked up for those only, one bitset operation per peer set."""
        self.engine = engine
        self.codes = codes
        self.size = len(engine.classes)
        self._wanted: dict[Direction, int] = {"ingress": id_bits(list(rows), self.size),
                                              "egress": id_bits(list(columns), self.size)}
        self._all = codes.encode(ALL_PORTS)
        self._held: dict[Direction, dict[int, list[_Peers]]] = {}
        self._combined: dict[tuple[int, int | None], tuple[npt.NDArray[np.int64], Codes]] = {}
        self._specs: dict[PortMatch, int] = {}  # a rule's ports -> their number
        self._spec_ports: list[PortMatch] = []  # per number, those ports
        self._spec_of: dict[int, int] = {}  # id(rule) -> its ports' number (rules live as long as the engine)
        self._spec_named: list[bool] = []  # per number, whether one of those ports is named
        self._spec_code_cache: dict[tuple[int, int], Codes] = {}
        self._owns: dict[tuple[object, ...], list[tuple[int, PortSet]]] = {}  # see _own_parts

    def row(self, src: int) -> Codes:
        """What class `src` may send to each class: its egress and their ingress both allow."""
        self._check("ingress", src)
        if not self._adds_up:
            return self._without_self(self._pairs(src, True), src)
        out = self._own("egress", src) & self._toward("ingress", src)
        return self._without_self(out, src)

    def column(self, dst: int) -> Codes:
        """What each class may send to class `dst`."""
        self._check("egress", dst)
        if not self._adds_up:
            return self._without_self(self._pairs(dst, False), dst)
        out = self._toward("egress", dst) & self._own("ingress", dst)
        return self._without_self(out, dst)

    @cached_property
    def _adds_up(self) -> bool:
        return adds_up(self.engine)

    def _pairs(self, cls: int, row: bool) -> Codes:
        """A row (or column) as the engine answers each pair: for stages the arithmetic here does not read."""
        out = self.codes.zeros(self.size)
        for other in range(self.size):
            pair = (cls, other) if row else (other, cls)
            out[other] = self.codes.encode(self.engine.allowed_ports(*pair))
        return out

    def _check(self, direction: Direction, cls: int) -> None:
        if not (self._wanted[direction] >> cls) & 1:
            raise ValueError(f"class {cls} was not asked for when these slices were made")

    def _without_self(self, out: Codes, cls: int) -> Codes:
        if self.engine.classes[cls].lone:  # one pod and itself: not a policy question (as in Engine.graph)
            out[cls] = 0
        return out

    def _own(self, direction: Direction, subject: int) -> Codes:
        """Class `subject`'s result in `direction` towards every class: one evaluation per region of peers
        that its rules (and its node, for hostNetwork peers) treat alike."""
        out = self.codes.zeros(self.size)
        for part, ports in self._own_parts(direction, subject):
            out[self._ids(part)] = self.codes.encode(ports)
        return out

    def _own_parts(self, direction: Direction, subject: int) -> list[tuple[int, PortSet]]:
        """The peer classes (a bitset per part) that class `subject`'s side allows some port in `direction`,
        with those ports; computed once per kind of subject (`_own_kind`), kept as bitsets (a few per kind)
        rather than rows."""
        kind = self._own_kind(direction, subject)
        parts = self._owns.get(kind)
        if parts is not None:
            return parts
        e = self.engine
        entries = [entry for held in e.staged[direction][subject] for entry in held
                   if not isinstance(entry[0].ref, NodeRule)]
        parts = self._owns[kind] = []
        if not entries and not e.is_isolated(direction, subject):
            parts.append((e.all_bits, ALL_PORTS))
            return parts
        local = e.local_node_bits(subject, direction)
        for region, _ in e.peer_regions(e.all_bits, entries, split_named_ports=direction == "egress"):
            for part in (region & local, region & ~local):
                if not part:
                    continue
                peer = (part & -part).bit_length() - 1
                named = e.classes[peer if direction == "egress" else subject].named_ports
                ports = e.evaluate(direction, subject, peer, named).ports
                if ports:
                    parts.append((part, ports))
        return parts

    def _own_kind(self, direction: Direction, subject: int) -> tuple[object, ...]:
        """What `_own_parts` reads of class `subject`: the rules that hold it in each stage, the policies that
        select it there, its node's hostNetwork classes, and (ingress) its named ports. Classes that differ
        only as peers of other rules (a diff's possible pods, cut by every peer selector) are one kind."""
        e = self.engine
        return (direction, tuple(tuple((id(rule), id(pm)) for rule, pm in entries)
                                 for entries in e.staged[direction][subject]),
                tuple(tuple(names) for names in e.selecting[direction][subject]), e.local_node_bits(subject, direction),
                e.classes[subject].named_ports if direction == "ingress" else None)

    def _ids(self, part: int) -> list[int] | npt.NDArray[np.bool_]:
        """An index for the classes of a bitset: their ids when few (most regions), else a mask."""
        return list(low_bits(part)) if part.bit_count() <= 64 else bit_mask(part, self.size)

    def _toward(self, direction: Direction, peer: int) -> Codes:
        """Every class's result in `direction` with class `peer` as the other end."""
        held = self._holding(direction, peer)
        added = self.codes.zeros(self.size)  # what the adding rules holding `peer` allow, per subject
        for peers in held:
            subjects, codes = self._allows(direction, peers, peer)
            added[subjects] |= codes
        # a stage that denies what it leaves selects the subject: the adding stage's allows (else every port),
        # unless first-match rules decide first
        out: Codes = np.where(self._selected[direction].any(axis=1)[:, None], added, self._all)
        ordered = [entry for peers in held for entry in peers.ordered]
        if ordered:
            self._walk(direction, peer, ordered, added, out)
        return out

    def _walk(self, direction: Direction, peer: int, ordered: list[tuple[StageRule, list[int]]], added: Codes,
              out: Codes) -> None:
        """The classes that rules of first-match stages holding `peer` select: the walk over the stages
        (walk.walk_stages, as Engine.evaluate does), once per kind of subject: the same rules hit, the same
        added ports, the same stages selecting it, the same named-port table. A subject that no such rule selects walks
        through no hit, which leaves the adding stage or the default to decide, as above."""
        e = self.engine
        place = self._place[direction]
        ordered.sort(key=lambda entry: place[id(entry[0])])
        words = (len(ordered) + 63) // 64
        hits = np.zeros((self.size, words), dtype=np.uint64)
        for j, (_, subjects) in enumerate(ordered):
            hits[np.array(subjects, dtype=np.int64), j // 64] |= np.uint64(1 << (j % 64))
        subject = np.flatnonzero(hits.any(axis=1))
        table = self._named_ids[subject] if direction == "ingress" else np.full(subject.size, self._named_ids[peer])
        selected = self._selected[direction]
        kinds = np.concatenate([hits[subject], added[subject], selected[subject].astype(np.uint64),
                                table[:, None].astype(np.uint64)], axis=1)
        at = words + self.codes.width  # where the stages' selection starts in a kind
        values, inverse = np.unique(kinds, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k, value in enumerate(values.tolist()):
            named = self._named_tables[value[-1]]
            matched = [rule for j, (rule, _) in enumerate(ordered) if (value[j // 64] >> (j % 64)) & 1]
            union = self.codes.decode(np.array(value[words:words + self.codes.width], dtype=np.uint64))
            steps = [Step(stage, bool(value[at + i]), [Hit(_ADDED_UP, union, False)]) if not stage.first_match else
                     Step(stage, bool(value[at + i]), [Hit(rule, e.resolve_ports(rule.ports, named), True)
                                                       for rule in matched if place[id(rule)][0] == i])
                     for i, stage in enumerate(e.stages[direction])]
            out[subject[inverse == k]] = self.codes.encode(walk_stages(steps).allowed)

    @cached_property
    def _place(self) -> dict[Direction, dict[int, tuple[int, int]]]:
        """Per direction, each rule's place in walking order: (its stage, its index there)."""
        return {d: {id(rule): (k, i) for k, stage in enumerate(self.engine.stages[d])
                    for i, rule in enumerate(stage.rules)} for d in ("ingress", "egress")}

    def _allows(self, direction: Direction, peers: _Peers, peer: int) -> tuple[npt.NDArray[np.int64], Codes]:
        """What the adding rules of one peer set allow their subjects, combined per subject: egress
        ports resolve on the destination (`peer`), ingress ports on each subject. Rules are looked at by
        their ports (a few kinds for thousands of rules), so the work per rule is array work."""
        towards = int(self._named_ids[peer]) if direction == "egress" else None
        key = (id(peers), towards)
        cached = self._combined.get(key)
        if cached is None:
            if not peers.allows:
                cached = (np.zeros(0, dtype=np.int64), self.codes.zeros(0))
            else:
                every, counts = peers.subjects
                specs = np.repeat(np.fromiter((self._spec(rule) for rule in peers.allows), np.int64,
                                              len(peers.allows)), counts)
                tables = len(self._named_tables)
                table = self._named_ids[every] if towards is None else np.full(every.size, towards, dtype=np.int64)
                named = np.array(self._spec_named, dtype=bool)  # one flag per kind of ports: a few
                table[~named[specs]] = 0  # numbered ports resolve alike on every table
                keys, inverse = np.unique(specs * tables + table, return_inverse=True)
                per_key = np.stack([self._spec_code(k // tables, k % tables) for k in keys.tolist()])
                codes = per_key[inverse.reshape(-1)]
                order = np.argsort(every, kind="stable")
                ordered = every[order]
                starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
                cached = (ordered[starts], np.bitwise_or.reduceat(codes[order], starts, axis=0))
            self._combined[key] = cached
        return cached

    @cached_property
    def _selected(self) -> dict[Direction, npt.NDArray[np.bool_]]:
        """Per direction, class and stage: a policy of the stage selects the class, and the stage denies what it
        leaves (Engine.selecting holds those only)."""
        e = self.engine
        return {d: np.array([[bool(names) for names in per_class] for per_class in e.selecting[d]],
                            dtype=bool).reshape(self.size, len(e.stages[d])) for d in ("ingress", "egress")}

    def _spec(self, rule: StageRule) -> int:
        """The number of a rule's ports: rules with equal ports resolve alike."""
        spec = self._spec_of.get(id(rule))
        if spec is None:
            spec = self._specs.setdefault(rule.ports, len(self._specs))
            if spec == len(self._spec_ports):
                self._spec_ports.append(rule.ports)
                self._spec_named.append(names_ports(rule.ports) or self.engine.stand_ins)  # resolved per table
            self._spec_of[id(rule)] = spec
        return spec

    def _spec_code(self, spec: int, table: int) -> Codes:
        key = (spec, table)
        code = self._spec_code_cache.get(key)
        if code is None:
            ports = self.engine.resolve_ports(self._spec_ports[spec], self._named_tables[table])
            code = self._spec_code_cache[key] = self.codes.encode(ports)
        return code

    @cached_property
    def _named_tables(self) -> list[tuple[ContainerPort, ...]]:
        return list(self.engine.by_named_ports)

    @cached_property
    def _named_ids(self) -> npt.NDArray[np.int64]:
        """Per class, the index of its named-port table in `_named_tables`."""
        out = np.zeros(self.size, dtype=np.int64)
        for i, classes in enumerate(self.engine.by_named_ports.values()):
            out[bit_mask(classes, self.size)] = i
        return out

    def _holding(self, direction: Direction, peer: int) -> list[_Peers]:
        """The peer sets in `direction` that hold class `peer`."""
        held = self._held.get(direction)
        if held is None:
            held = self._held[direction] = self._holders(direction)
        return held.get(peer, [])

    def _holders(self, direction: Direction) -> dict[int, list[_Peers]]:
        """For each wanted class, the peer sets in `direction` that hold it: one AND per peer set."""
        by_match: dict[int, tuple[PeerMatch, list[tuple[StageRule, list[int]]]]] = {}
        for selected, entries in self.engine.applying[direction]:
            for rule, pm in entries:
                by_match.setdefault(id(pm), (pm, []))[1].append((rule, selected))  # equal peers share one
        stages, place = self.engine.stages[direction], self._place[direction]
        wanted = self._wanted[direction]
        out: dict[int, list[_Peers]] = {}
        for pm, rules in by_match.values():
            hit = wanted if pm.everything else pm.classes & wanted
            if hit:
                first = [stages[place[id(rule)][0]].first_match for rule, _ in rules]
                peers = _Peers(pm, tuple(r for r, f in zip(rules, first, strict=True) if not f),
                               tuple(r for r, f in zip(rules, first, strict=True) if f))
                for cls in bit_ids(hit):
                    out.setdefault(cls, []).append(peers)
        return out


def adds_up(engine: Engine) -> bool:
    """Per direction, at most one stage decides as a whole, and no first-match stage that denies what it leaves
    comes before it: the stages the slices' arithmetic reads (a class that no first-match rule holding the peer
    selects gets the adding stage's allows where a stage denies what it leaves, else every port). Else each
    pair is asked of the engine."""
    for stages in engine.stages.values():
        whole = [k for k, s in enumerate(stages) if not s.first_match]
        if len(whole) > 1 or (whole and any(s.end == "Deny" for s in stages[:whole[0]])):
            return False
    return True
