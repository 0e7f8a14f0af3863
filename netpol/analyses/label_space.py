"""The label space the regions cut: per key, the atoms a selector tells apart (the values it names, OTHER and
ABSENT), cubes of them, their splitting by selectors under a counted budget, and their names."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NoReturn

from netpol.errors import QueryError, name_list
from netpol.model import NamespaceName
from netpol.model.selectors import LabelSelector

OTHER = "~other"  # a label value no selector can name ("~" is not allowed in label values)
ABSENT: None = None
Atom = str | None
MAX_TERMS_PER_REGION = 16  # on average: the label terms that name the regions, counted with them
MAX_TERMS = 1_000_000  # and at most, whatever the limit of regions


class RegionLimitError(QueryError):
    """The policies tell apart more kinds of pod than netpol will enumerate."""


class Budget:
    """What building the regions may still take, counted before each cube is built, so that refusing
    costs no more than the limit: regions (every namespace region holds at least one) and the label
    terms of their cubes (a cube of 1,000 keys costs 1,000 times one of one key).

    `splitting` says what is being split, so that a refusal names what to narrow."""

    def __init__(self, limit: int, namespaces: int) -> None:
        """`namespaces`: how many the input names (the other namespaces are one more kind at least)."""
        self.limit = limit
        self.terms_limit = min(limit * MAX_TERMS_PER_REGION, MAX_TERMS)
        self.regions = namespaces + 1
        self.terms = 0
        self.where = ""
        self.keys: dict[str, None] = {}
        if self.regions > limit:
            self._refuse(f"the input names {namespaces:,} namespaces, each at least one kind of pod",
                         "fewer namespaces")

    def splitting(self, where: str) -> None:
        """The cubes split next are `where` ("of pods in namespace a"); the keys that split them start afresh."""
        self.where, self.keys = where, {}

    def charge(self, regions: int, terms: int, keys: Iterable[str]) -> None:
        """Account for cubes about to be built (`regions` more, `terms` more), split along `keys`."""
        self.regions += regions
        self.terms += terms
        self.keys.update(dict.fromkeys(keys))
        if self.regions > self.limit:
            self._refuse(f"the policies tell apart more than {self.limit:,} kinds of pod", self._narrow())
        if self.terms > self.terms_limit:
            self._refuse(f"the policies tell apart kinds of pod that take more than {self.terms_limit:,} label "
                         f"terms to name ({self.regions:,} kinds so far)", self._narrow())

    def release(self, regions: int, terms: int) -> None:
        """Give back what merging cubes freed (`regions` fewer, `terms` fewer)."""
        self.regions -= regions
        self.terms -= terms

    def _narrow(self) -> str:
        return f"fewer selectors on the keys that multiply the kinds {self.where}: {name_list(list(self.keys), 5)}"

    def _refuse(self, what: str, narrow: str) -> NoReturn:
        raise RegionLimitError(f"{what}; netpol does not sample: narrow the input to {narrow}")


@dataclass(frozen=True)
class Cube:
    """Per constrained key, the atoms a label may be (None in the set: the key is absent)."""

    keys: tuple[tuple[str, frozenset[Atom]], ...] = ()

    def get(self, key: str) -> frozenset[Atom] | None:
        return next((atoms for k, atoms in self.keys if k == key), None)

    @cached_property
    def order(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A sort key: outputs list cubes in one order whatever the input's."""
        return tuple((k, _sorted_atoms(v)) for k, v in self.keys)

    def with_key(self, key: str, atoms: frozenset[Atom], universe: frozenset[Atom]) -> Cube:
        rest = tuple(kv for kv in self.keys if kv[0] != key)
        if atoms == universe:
            return Cube(rest)
        at = bisect_left(rest, key, key=_first)  # keys stay sorted
        return Cube((*rest[:at], (key, atoms), *rest[at:]))

    def labels(self) -> tuple[tuple[str, str], ...]:
        """A label set in the cube: a named value where one is allowed, else OTHER, else the key absent."""
        out = []
        for key, atoms in self.keys:
            named = _first_named(atoms)
            if named is not None:
                out.append((key, named))
            elif OTHER in atoms:
                out.append((key, OTHER))
        return tuple(out)

    def contains(self, labels: dict[str, str], universe: dict[str, frozenset[Atom]]) -> bool:
        return all(_atom(labels, key, universe[key]) in atoms for key, atoms in self.keys)


def _first(kv: tuple[str, frozenset[Atom]]) -> str:
    return kv[0]


# the same atom sets recur in every namespace's cubes (`app notin (...)` of hundreds of values): ordered once each
@lru_cache(maxsize=1 << 16)
def _sorted_atoms(atoms: frozenset[Atom]) -> tuple[str, ...]:
    return tuple(sorted("" if a is None else a for a in atoms))


@lru_cache(maxsize=1 << 16)
def _first_named(atoms: frozenset[Atom]) -> str | None:
    return min((a for a in atoms if a is not None and a != OTHER), default=None)


def _atom(labels: dict[str, str], key: str, universe: frozenset[Atom]) -> Atom:
    if key not in labels:
        return ABSENT
    return labels[key] if labels[key] in universe else OTHER


class Atoms:
    """The values the selectors name, per key: a selector's meaning as atom sets, and cube splitting."""

    def __init__(self, selectors: Iterable[LabelSelector]) -> None:
        named: dict[str, set[str]] = {}
        for sel in selectors:
            for r in sel.requirements:
                named.setdefault(r.key, set()).update(r.values)
        self.universe: dict[str, frozenset[Atom]] = {
            k: frozenset({*v, OTHER, ABSENT}) for k, v in named.items()}

    def allowed(self, selector: LabelSelector) -> dict[str, frozenset[Atom]]:
        """Per key the selector constrains, the atoms it accepts."""
        out: dict[str, frozenset[Atom]] = {}
        for r in selector.requirements:
            every = self.universe[r.key]
            if r.operator == "In":
                ok: frozenset[Atom] = frozenset(r.values)
            elif r.operator == "NotIn":
                ok = every - frozenset(r.values)
            elif r.operator == "Exists":
                ok = every - {ABSENT}
            else:
                ok = frozenset({ABSENT})
            out[r.key] = out.get(r.key, every) & ok
        return out

    def inside(self, cube: Cube, selector: LabelSelector) -> bool:
        """Whether every label set of `cube` matches `selector`."""
        return all((cube.get(k) or self.universe[k]) <= ok for k, ok in self.allowed(selector).items())

    def cut(self, cube: Cube, wanted: dict[str, frozenset[Atom]], budget: Budget | None = None
            ) -> list[Cube] | None:
        """`cube` cut into the part inside `wanted` (Atoms.allowed) and the parts outside; None when the cube
        is wholly inside or outside. The parts are charged to `budget` before they are built."""
        current = {k: cube.get(k) or self.universe[k] for k in wanted}
        if any(not (current[k] & wanted[k]) for k in wanted) or all(current[k] <= wanted[k] for k in wanted):
            return None
        if budget is not None:
            budget.charge(*_split_size(cube, current, wanted), wanted)
        out = []
        inside = cube
        for key, ok in wanted.items():  # outside: fails this key, after matching the ones before
            miss = current[key] - ok
            if miss:
                out.append(inside.with_key(key, miss, self.universe[key]))
            inside = inside.with_key(key, current[key] & ok, self.universe[key])
        out.append(inside)
        return out

    def merge(self, cubes: Iterable[Cube]) -> list[Cube]:
        """Fewer cubes for the same union: cubes alike on every key but one become one, key by key,
        until nothing changes (bucketed by the other keys, so a pass is linear in the cubes)."""
        work = set(cubes)
        changed = True
        while changed and len(work) > 1:
            changed = False
            for key in sorted({k for c in work for k, _ in c.keys}):
                universe = self.universe[key]
                groups: dict[tuple[tuple[str, frozenset[Atom]], ...], list[Cube]] = {}
                for c in work:
                    groups.setdefault(tuple(kv for kv in c.keys if kv[0] != key), []).append(c)
                if len(groups) == len(work):
                    continue
                changed = True
                work = set()
                for rest, members in groups.items():
                    if len(members) == 1:
                        work.add(members[0])
                        continue
                    atoms: frozenset[Atom] = frozenset().union(*(m.get(key) or universe for m in members))
                    work.add(Cube(rest).with_key(key, atoms, universe))
        return sorted(work, key=cube_order)

    def describe(self, cube: Cube) -> str:
        """`app=db and tier notin (web)`; "" for the cube of every label set."""
        return " and ".join(self._key_text(k, atoms) for k, atoms in cube.keys)

    def _key_text(self, key: str, atoms: frozenset[Atom]) -> str:
        found = self._texts.get((key, atoms))
        if found is None:
            found = self._texts[(key, atoms)] = self._new_key_text(key, atoms)
        return found

    @cached_property
    def _texts(self) -> dict[tuple[str, frozenset[Atom]], str]:
        return {}

    def _new_key_text(self, key: str, atoms: frozenset[Atom]) -> str:
        absent, other = ABSENT in atoms, OTHER in atoms
        if atoms == {ABSENT}:
            return f"no {key}"
        if not other:
            named = sorted(a for a in atoms if a is not None)
            values = named[0] if len(named) == 1 else f"in ({','.join(named)})"
            text = f"{key}={values}" if len(named) == 1 else f"{key} {values}"
            return f"{text} or no {key}" if absent else text
        missing = sorted(v for v in self.universe[key] - atoms if v is not None and v != OTHER)
        if not missing:
            return f"{key} set" if not absent else key
        notin = f"{key} notin ({','.join(missing)})"
        return notin if absent else f"{notin} and {key} set"


class CubeSet:
    """The cubes of one namespace while selectors split them, indexed by the atoms they allow per key, so
    that a selector visits the cubes it can split, not every cube (a pass over every cube per selector
    made 3,000 single-key policies of one namespace take 9 s)."""

    def __init__(self, atoms: Atoms, cube: Cube) -> None:
        self.atoms = atoms
        self.cubes: dict[int, Cube] = {}
        self.constraining: dict[str, set[int]] = {}  # per key: the cubes that constrain it
        self.allowing: dict[tuple[str, Atom], set[int]] = {}  # per key and atom: the cubes that allow it
        self.ids = 0
        self.settled: set[int] = set()  # cubes no selector splits any more (CubeSet.settle)
        self._add(cube)

    def _narrow(self, cube: Cube) -> Iterator[tuple[str, frozenset[Atom]]]:
        """The keys a cube constrains to at most half their atoms: only those are indexed (a cube that
        allows most atoms of a key is visited by every selector on it, so that indexing it costs little)."""
        return ((key, atoms) for key, atoms in cube.keys if 2 * len(atoms) <= len(self.atoms.universe[key]))

    def _add(self, cube: Cube) -> None:
        self.ids += 1
        self.cubes[self.ids] = cube
        for key, atoms in self._narrow(cube):
            self.constraining.setdefault(key, set()).add(self.ids)
            for atom in atoms:
                self.allowing.setdefault((key, atom), set()).add(self.ids)

    def _remove(self, cube_id: int) -> None:
        for key, atoms in self._narrow(self.cubes.pop(cube_id)):
            self.constraining[key].discard(cube_id)
            for atom in atoms:
                self.allowing[(key, atom)].discard(cube_id)

    def only(self, cube_ids: Collection[int]) -> None:
        """From now on, split only these cubes (and their parts)."""
        self.settled = set(self.cubes).difference(cube_ids)

    def split(self, selector: LabelSelector, budget: Budget | None = None) -> None:
        """Atoms.cut on every cube that can hold pods `selector` matches: those that do not narrow its
        narrowest key or allow one of that key's wanted atoms (any other cube is wholly outside), unless
        settled."""
        wanted = self.atoms.allowed(selector)
        if not wanted:
            return
        key = min(wanted, key=lambda k: (len(wanted[k]), k))
        candidates = set(self.cubes).difference(self.constraining.get(key, ())).union(
            *(self.allowing.get((key, atom), ()) for atom in wanted[key])).difference(self.settled)
        for cube_id in sorted(candidates):
            parts = self.atoms.cut(self.cubes[cube_id], wanted, budget)
            if parts is not None:
                self._remove(cube_id)
                for part in parts:
                    self._add(part)


def cube_order(c: Cube) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return c.order


def widened(cube: Cube, atoms: Atoms, impossible: Mapping[str, frozenset[Atom]]) -> Cube:
    """The same pods, said as simply as it goes: per key, the atoms no pod can take there (`impossible`) added
    where that is said in fewer words ("team notin (ops)" where every pod has a team, not "... and team set")."""
    for key, held in cube.keys:
        wide = held | impossible.get(key, frozenset())
        if wide != held and len(atoms.describe(Cube(((key, wide),)))) < len(atoms.describe(Cube(((key, held),)))):
            cube = cube.with_key(key, wide, atoms.universe[key])
    return cube


def _split_size(cube: Cube, current: dict[str, frozenset[Atom]], wanted: dict[str, frozenset[Atom]]
                ) -> tuple[int, int]:
    """How many cubes splitting `cube` adds, and how many label terms (Atoms.cut's parts, counted
    without building them): a part per key with atoms outside `wanted`, each holding the keys before it."""
    size = len(cube.keys)
    inside, parts, terms = size, 0, 0
    have = {k for k, _ in cube.keys}
    for key, ok in wanted.items():
        if current[key] - ok:
            inside += key not in have
            parts += 1
            terms += inside
    return parts, terms + inside - size


@dataclass(frozen=True)
class NamespaceRegion:
    """A namespace the input names (`name`), or a cube of the other namespaces' labels."""

    name: NamespaceName  # the engine's namespace: the real name, or "(any other namespace with ...)"
    named: bool
    labels: tuple[tuple[str, str], ...]
    cube: Cube = Cube()
