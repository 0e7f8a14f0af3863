"""Connectivity between endpoints as a reviewer names them: workloads, pods, regions of possible pods,
and outside address ranges; with the rules that allow each connection.

Endpoints are *units*: a workload whose pods the policies treat alike, a pod, the regions of one engine
class (every possible pod the policies treat alike), or the outside addresses every rule treats alike.
Ports are computed between classes, so a unit pair costs one class pair however many pods it holds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from netpol.analyses.matrix import Matrix
from netpol.analyses.phrases import _collapse, address_phrase, allowing_rules, port_text
from netpol.analyses.query import Analyzer
from netpol.engine import PeerRef
from netpol.errors import QueryError, natural_key
from netpol.model import METADATA_NAME_LABEL, Cluster, IPAddress, IPNetwork, Namespace, NamespaceName, ip_network
from netpol.model.portsets import PortSet, Protocol
from netpol.model.selectors import parse_scope
from netpol.progress import report

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from netpol.engine.slices import Slices

UnitKind = Literal["workload", "pod", "region", "outside"]
INPUT_ONLY_NOTE = ("--input-only: answers cover the input's pods only; pods that are not in the input (new pods "
                   "of its namespaces, pods of other namespaces) are left out")
FEW = 16  # sources or destinations: below this, links are evaluated pair by pair
SLICED = 4  # a listing whose sources' classes are at most 1/SLICED of the classes reads their rows alone
LARGE_LIST = 1_000_000  # connections: `netpol list` says how many before writing more (and refuses on a terminal)


@dataclass(frozen=True)
class Unit:
    """One endpoint of a connectivity answer."""

    kind: UnitKind
    keys: tuple[str, ...]  # the pod keys it stands for (region keys for a region; none outside)
    peer: PeerRef  # its engine class, or a representative outside address
    namespace: str | None  # None outside, and for regions of unnamed namespaces
    networks: tuple[IPNetwork, ...] = ()  # outside: the addresses it stands for
    name: str = ""  # for pods and workloads; regions and addresses are named together, by `Units.names`


@dataclass(frozen=True)
class Link:
    """What `source` may open to `destination` (`Units.rules` says which rules allow it)."""

    source: Unit
    destination: Unit
    ports: PortSet
    named_ports: tuple[str, ...]  # a region destination's named ports, as PROTOCOL:name

    @property
    def port_text(self) -> str:
        return port_text(self.ports, self.named_ports)


class Units:
    """The endpoints of an engine's cluster (with its regions, if any) and the links between them."""

    def __init__(self, analyzer: Analyzer, outside: bool = True, by_namespace: bool = False) -> None:
        """`by_namespace`: a region endpoint holds the regions of one namespace the input names (or of the
        namespaces it does not name), even where the policies treat several namespaces' alike."""
        self.analyzer = analyzer
        self.engine = engine = analyzer.engine
        self.regions = possible = analyzer.possible
        region_keys = set(possible.by_key) if possible is not None else set()
        units: list[Unit] = []
        by_owner: dict[tuple[str, str], list[str]] = {}
        for pod in engine.cluster.pods:
            if pod.key in region_keys:
                continue
            if pod.owner is not None:
                by_owner.setdefault((pod.namespace, pod.owner), []).append(pod.key)
            else:
                units.append(Unit("workload" if pod.workload else "pod", (pod.key,), engine.class_of[pod.key],
                                  pod.namespace, name=pod.key))
        for (ns, owner), keys in by_owner.items():
            classes = {engine.class_of[k] for k in keys}
            if len(classes) == 1:  # policies treat its pods alike: one endpoint
                units.append(Unit("workload", tuple(keys), classes.pop(), ns, name=f"{ns}/{owner}"))
            else:
                units.extend(Unit("pod", (k,), engine.class_of[k], ns, name=k) for k in keys)
        if possible is not None:
            by_class: dict[tuple[int, str | None], list[str]] = {}
            for region in possible.regions:
                home = region.namespace.name if by_namespace and region.namespace.named else None
                by_class.setdefault((engine.class_of[region.key], home), []).append(region.key)
            for (cls, _), keys in by_class.items():
                home = possible.by_key[keys[0]].namespace  # names are unique: comparing them costs no hashing
                one = all(possible.by_key[k].namespace.name == home.name for k in keys)
                where: str | None = home.name if one and home.named else None
                units.append(Unit("region", tuple(keys), cls, where))
        if outside:
            sets: dict[tuple[object, ...], list[IPNetwork]] = {}
            first: dict[tuple[object, ...], IPAddress] = {}
            for r in engine.address_ranges():
                sets.setdefault(r.alike, []).extend(r.networks)
                first.setdefault(r.alike, r.first)
            units.extend(Unit("outside", (), first[b], None, _collapse(nets)) for b, nets in sets.items())
        self.all = tuple(sorted(units, key=self._order))
        self._address_names: dict[tuple[IPNetwork, ...], str] = {}  # `_addresses`, per set of ranges named

    @classmethod
    def of(cls, cluster: Cluster, possible: bool, asked: Iterable[str] = (),
           focus: Collection[str] | None = None, by_namespace: bool = False, limit: int | None = None) -> Units:
        """The units of `cluster`; with `possible`, every possible pod too, split along the `NS{labels}`
        endpoints in `asked` so that each is answered exactly. `focus`: the namespaces whose pods' links
        are asked about (netpol.analyses.regions' focus: other links are not exact); None: every link.
        `limit`: how many regions at most (netpol.analyses.regions' default when None)."""
        if not possible:
            return cls(Analyzer(cluster))
        try:
            scopes = [s for s in (parse_scope(t) for t in asked) if s is not None]
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        return cls(Analyzer.with_possible(cluster, scopes, focus=focus, limit=limit), by_namespace=by_namespace)

    @property
    def notes(self) -> list[str]:
        """The assumptions of every answer: about possible pods, or that they are left out."""
        return [*self.analyzer.cluster.assumptions,
                *(self.regions.notes() if self.regions is not None else [INPUT_ONLY_NOTE])]

    @cached_property
    def subjects(self) -> tuple[Unit, ...]:
        """What an answer is about when not told: the input's pods and workloads (their peers are every
        pod that could exist), or every region when the input has no pods."""
        real = tuple(u for u in self.all if u.kind in ("pod", "workload"))
        return real or tuple(u for u in self.all if u.kind == "region")

    def _order(self, u: Unit) -> tuple[int, tuple[object, ...]]:
        kind = ("workload", "pod", "region", "outside").index(u.kind) // 2  # pods and workloads together
        if u.kind == "outside":
            return kind, (u.networks[0].version, int(u.networks[0].network_address))
        if u.kind == "region":
            return kind, (u.namespace is None, u.namespace or "", natural_key(self.names([u])[0]))
        return kind, (u.namespace or "", natural_key(u.name))

    # -- naming ------------------------------------------------------------

    def names(self, units: Iterable[Unit]) -> list[str]:
        """The units as few phrases as it takes: regions merged (`pods with app=db in namespace
        payments`), address ranges as CIDRs (`any address except 10.0.0.0/8`), the others by name."""
        units = list(units)
        out = [u.name for u in units if u.kind in ("pod", "workload")]
        regions = [k for u in units if u.kind == "region" for k in u.keys]
        if regions:
            assert self.regions is not None
            out.extend(self.regions.describe(regions))
        nets = [n for u in units if u.kind == "outside" for n in u.networks]
        if nets:
            out.append(self._addresses(nets))
        return out

    @cached_property
    def _outside(self) -> tuple[IPNetwork, ...]:
        return tuple(n for u in self.all if u.kind == "outside" for n in u.networks)

    def _addresses(self, nets: list[IPNetwork]) -> str:
        """Address ranges as the fewest CIDRs, or as what they leave out; once per set of ranges (a
        listing names the same few sets for many lines)."""
        key = tuple(nets)
        found = self._address_names.get(key)
        if found is None:
            found = self._address_names[key] = self._name_addresses(nets)
        return found

    def _name_addresses(self, nets: list[IPNetwork]) -> str:
        return address_phrase(nets, self._outside)

    # -- finding -----------------------------------------------------------

    def find(self, text: str, namespace: str = "default") -> list[Unit]:
        """The units a user names: `ns/pod`, `ns/deployment/NAME`, `NS{labels}` (every possible such pod),
        an address or a CIDR (the outside ranges in it)."""
        try:
            scope = parse_scope(text)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if scope is not None:
            if self.regions is None:
                raise QueryError(f"{text} names possible pods, but --input-only answers for the input's pods alone")
            keys = {r.key for r in self.regions.matching(scope)}
            found = [u for u in self.all if u.kind == "region" and keys & set(u.keys)]
            if not found:
                raise QueryError(f"{text} matches no possible pod")
            return found
        try:
            net = ip_network(text)
        except ValueError:
            net = None
        if net is not None:
            return [u for u in self.all if u.kind == "outside" and any(n.overlaps(net) for n in u.networks)]
        key = text if "/" in text else f"{namespace}/{text}"
        found = [u for u in self.all if u.name == key or key in u.keys]
        if not found:
            raise QueryError(f"{text} names no pod, workload or possible pod of the input")
        return found

    # -- links -------------------------------------------------------------

    def link(self, src: Unit, dst: Unit, ports: PortSet | None = None, probe: tuple[Protocol, int] | None = None
             ) -> Link | None:
        """The connection from src to dst (on `ports` when already known), or None when nothing is allowed
        or it is one pod's traffic to itself."""
        if src.kind == "outside" and dst.kind == "outside":
            return None
        if src is dst and src.kind in ("pod", "workload") and len(src.keys) == 1 \
                and self.engine.cluster.pods_by_key[src.keys[0]].is_one_pod:
            return None  # one pod's traffic to itself is not a policy question
        if ports is None:
            ports = self.engine.allowed_ports(src.peer, dst.peer)
        if probe is not None and not ports.contains(*probe):
            return None
        named: tuple[str, ...] = ()
        if dst.kind == "region":
            ports, named = self._split(ports)
        if not ports and not named:
            return None
        return Link(src, dst, ports, named)

    def rules(self, link: Link) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The rules that allow some port of a link: (the source's egress side, the destination's ingress)."""
        egress, ingress = self.engine.connection(link.source.peer, link.destination.peer)
        return allowing_rules(egress), allowing_rules(ingress)

    def links(self, sources: Iterable[Unit] | None = None, destinations: Iterable[Unit] | None = None,
              probe: tuple[Protocol, int] | None = None, between_regions: bool = True) -> Iterator[Link]:
        """Every allowed link from `sources` to `destinations` (default: all units); without
        `between_regions`, none from a region to a region (see Listing)."""
        return Listing(self, sources, destinations, probe, between_regions).links()

    def _open(self, s: Unit, inside: dict[int, list[int]], admits: dict[int, int] | None, few_sources: bool,
              probe: tuple[Protocol, int] | None) -> list[int]:
        """The destination classes in `inside` that the source's egress and each destination's ingress
        both let through on some port (of the probe): every other pair is denied, so a row or a column
        evaluates only these pairs."""
        if not isinstance(s.peer, int):
            return list(inside)
        cls = s.peer
        sends = self.engine.one_side("egress", cls, probe) if few_sources else -1
        return [c for c in inside if (sends >> c) & 1 and (admits is None or (admits[c] >> cls) & 1)]

    def _split(self, ports: PortSet) -> tuple[PortSet, tuple[str, ...]]:
        return self.regions.split_ports(ports) if self.regions is not None else (ports, ())

    @cached_property
    def _matrix(self) -> Matrix:
        return self.analyzer.matrix()

    @cached_property
    def order(self) -> dict[int, int]:
        """Each unit's place in `all`, by id: outputs list units in that order."""
        return {id(u): i for i, u in enumerate(self.all)}

    def name(self, unit: Unit) -> str:
        """One unit's name, as `names` gives it, joined; once per unit (a listing row names both ends)."""
        found = self._names.get(id(unit))
        if found is None:
            found = self._names[id(unit)] = "; ".join(self.names([unit]))
        return found

    @cached_property
    def _names(self) -> dict[int, str]:
        return {}


@dataclass(frozen=True)
class Connection:
    """Sources that reach the same destinations on the same ports: one line of `netpol list`."""

    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    ports: str


@dataclass(frozen=True)
class Row:
    """What one source may open to a listing's destinations: per port set, the destinations' positions in
    `Listing.destinations` (a numpy array each), so that a row is grouped without a Python step per
    destination."""

    source: Unit
    groups: tuple[tuple[PortSet, tuple[str, ...], npt.NDArray[np.intp]], ...]  # ports, named ports, positions


NAMED_SETS = 4096  # destination sets whose names a listing keeps for the next lines that name them


class Listing:
    """The allowed links from some sources to some destinations, computed a source at a time from the port
    groups of its class's row (netpol.analyses.matrix), then read link by link (`links`: JSON, CSV, exposure) or
    folded into the lines of `netpol list` (`connections`). Memory holds one source's row and, for the
    fold, one bit per destination per distinct line, never the links themselves.

    Without `between_regions`, no link goes from a region to a region; with `namespaces`, only links with
    an end in one of them."""

    def __init__(self, units: Units, sources: Iterable[Unit] | None = None,
                 destinations: Iterable[Unit] | None = None, probe: tuple[Protocol, int] | None = None,
                 between_regions: bool = True, namespaces: Iterable[str] = ()) -> None:
        import numpy as np

        self.units = units
        self.probe = probe
        self.between_regions = between_regions
        order = units.order
        self.sources = tuple(sorted(units.all if sources is None else sources, key=lambda u: order[id(u)]))
        self.destinations = dsts = tuple(sorted(units.all if destinations is None else destinations,
                                                key=lambda u: order[id(u)]))
        self.namespaces = frozenset(namespaces)
        self._position = {id(u): i for i, u in enumerate(dsts)}
        self._classes = np.array([u.peer if u.kind != "outside" else -1 for u in dsts], dtype=np.int64)
        self._region = np.array([u.kind == "region" for u in dsts], dtype=bool)
        self._inside = np.flatnonzero(self._classes >= 0)
        self._inside_no_regions = np.flatnonzero((self._classes >= 0) & ~self._region)
        self._outside = [i for i, u in enumerate(dsts) if u.kind == "outside"]
        self._in_namespaces = np.array([u.namespace in self.namespaces for u in dsts], dtype=bool)
        self._few = min(len(self.sources), len(dsts)) <= FEW  # one row or column: pair by pair beats the matrix
        classes = set(self._classes[self._inside].tolist())
        self._admits = {c: units.engine.one_side("ingress", c, probe) for c in classes} if len(dsts) <= FEW else None
        self._named: dict[bytes, tuple[str, ...]] = {}
        self._last: tuple[tuple[int, bool], list[tuple[PortSet, npt.NDArray[np.intp]]],
                          list[tuple[PortSet, tuple[str, ...], list[int]]]] | None = None

    # -- rows ----------------------------------------------------------------

    def rows(self) -> Iterator[Row]:
        """One row per source, in the order of `Units.all`."""
        return self._rows(range(len(self.sources)))

    def _rows(self, indices: Iterable[int]) -> Iterator[Row]:
        import numpy as np

        for i in indices:
            s = self.sources[i]
            found = self._matrix_row(s) if s.kind != "outside" and not self._few else self._pairwise_row(s)
            groups = [(ports, named, np.asarray(at, dtype=np.intp)) for ports, named, at in found]
            if self.namespaces and s.namespace not in self.namespaces:  # only links into the namespaces
                groups = [(ports, named, at[self._in_namespaces[at]]) for ports, named, at in groups]
            yield Row(s, tuple((ports, named, at) for ports, named, at in groups if len(at)))

    def _columns(self, s: Unit) -> npt.NDArray[np.intp]:
        return self._inside_no_regions if s.kind == "region" and not self.between_regions else self._inside

    def _matrix_row(self, s: Unit) -> list[tuple[PortSet, tuple[str, ...], npt.NDArray[np.intp] | list[int]]]:
        """A source's row from its class's: per port set, split into the regions (whose named ports are
        listed apart) and the others; its own position is evaluated as Units.link does."""
        own = self._position.get(id(s))
        inside, outside = self._class_row(s)
        out: list[tuple[PortSet, tuple[str, ...], npt.NDArray[np.intp] | list[int]]] = []
        for ports, at in inside:
            if own is not None and own in at:
                at = at[at != own]
                out.extend(self._link_groups(s, [own], ports))
            regions = self._region[at]
            if regions.any():
                out.append((*self.units._split(ports), at[regions]))
            if not regions.all():
                out.append((ports, (), at[~regions]))
        out.extend(outside)
        return out

    def _class_row(self, s: Unit) -> tuple[list[tuple[PortSet, npt.NDArray[np.intp]]],
                                           list[tuple[PortSet, tuple[str, ...], list[int]]]]:
        """What the source's class may open to the destinations: groups of inside positions by their ports
        (netpol.analyses.matrix, on the probe), and the links to the outside ranges. The last class's is kept: the
        fold visits the sources a class at a time."""
        assert isinstance(s.peer, int)
        key = (s.peer, s.kind == "region" and not self.between_regions)
        if self._last is None or self._last[0] != key:
            columns = self._columns(s)
            groups = (self._sliced_ports(s.peer, self._classes[columns]) if self._slices is not None
                      else self.units._matrix.ports_from(s.peer, self._classes[columns]))
            inside = [(ports, columns[at]) for ports, at in groups if self.probe is None or ports.contains(*self.probe)]
            self._last = (key, inside, self._link_groups(s, self._outside))
        return self._last[1], self._last[2]

    @cached_property
    def _slices(self) -> Slices | None:
        """The rows of the sources' classes alone (netpol.engine.slices), when they are few among the classes (a
        listing of some namespaces, `namespace_listings`): the whole matrix of every port atom would cost the
        square of the classes for a few rows. None: the matrix (netpol.analyses.matrix). Both are exact."""
        from netpol.engine.slices import PortCodes, Slices, adds_up

        engine = self.units.engine
        rows = {u.peer for u in self.sources if isinstance(u.peer, int)}
        if self._few or SLICED * len(rows) > len(engine.classes) or not adds_up(engine):
            return None
        return Slices(engine, PortCodes.common(engine), rows, ())

    def _sliced_ports(self, cls: int, columns: npt.NDArray[np.int64]) -> list[tuple[PortSet, npt.NDArray[np.intp]]]:
        """As Matrix.ports_from, from the class's row of `_slices`: the destinations (indices into `columns`)
        grouped by the ports the class may reach them on."""
        assert self._slices is not None
        return self._slices.codes.groups(self._slices.row(cls)[columns])

    def _pairwise_row(self, s: Unit) -> list[tuple[PortSet, tuple[str, ...], list[int]]]:
        """A source's row pair by pair: for an outside source, or for few sources or destinations, where
        only the pairs that both sides let through (`Units._open`) are evaluated."""
        inside: dict[int, list[int]] = {}
        columns = self._columns(s)
        if self.namespaces and s.namespace not in self.namespaces:  # only links into the namespaces (`_rows`)
            columns = columns[self._in_namespaces[columns]]
        for p in columns.tolist():
            inside.setdefault(int(self._classes[p]), []).append(p)
        opened = self.units._open(s, inside, self._admits, len(self.sources) <= FEW, self.probe)
        out = self._link_groups(s, [p for c in opened for p in inside[c]])
        if s.kind != "outside":
            out.extend(self._link_groups(s, self._outside))
        return out

    def _link_groups(self, s: Unit, positions: Iterable[int], ports: PortSet | None = None
                     ) -> list[tuple[PortSet, tuple[str, ...], list[int]]]:
        """Units.link from `s` to each of these destinations, grouped by the link's ports."""
        groups: dict[tuple[PortSet, tuple[str, ...]], list[int]] = {}
        for p in positions:
            link = self.units.link(s, self.destinations[p], ports, self.probe)
            if link is not None:
                groups.setdefault((link.ports, link.named_ports), []).append(p)
        return [(ports, named, at) for (ports, named), at in groups.items()]

    # -- links ---------------------------------------------------------------

    def links(self) -> Iterator[Link]:
        """Every link, a source at a time, each source's in the order of its destinations."""
        for row in self.rows():
            found = sorted(((int(p), ports, named) for ports, named, at in row.groups for p in at.tolist()),
                           key=_first)
            yield from (Link(row.source, self.destinations[p], ports, named) for p, ports, named in found)

    @property
    def link_count(self) -> int:
        """How many links `links` gives (counted by the fold, before any is built)."""
        return self._folded[1]

    # -- lines ---------------------------------------------------------------

    @property
    def line_count(self) -> int:
        """How many lines `connections` gives: one per source's destinations on one port text, sources
        with the same destinations and port text together (fewer only if two destination sets read alike,
        which endpoints' distinct names rule out)."""
        return len(self._folded[0])

    @cached_property
    def _folded(self) -> tuple[dict[tuple[str, bytes], list[int]], int]:
        """Per port text and set of destinations (one bit per destination), the sources (by position)
        that reach exactly those destinations on it; and how many links that makes."""
        import numpy as np

        lines: dict[tuple[str, bytes], list[int]] = {}
        count = 0
        by_class = sorted(range(len(self.sources)), key=lambda i: self._class_order(self.sources[i]))
        for done, (i, row) in enumerate(zip(by_class, self._rows(by_class), strict=True)):
            if done % 1000 == 0:
                report(f"{done:,} of {len(by_class):,} sources, {len(lines):,} lines")
            by_text: dict[str, list[npt.NDArray[np.intp]]] = {}
            for ports, named, at in row.groups:
                by_text.setdefault(port_text(ports, named), []).append(at)
            for text, parts in by_text.items():
                chosen = np.zeros(len(self.destinations), dtype=bool)
                for at in parts:
                    chosen[at] = True
                    count += len(at)
                lines.setdefault((text, np.packbits(chosen).tobytes()), []).append(i)
        return lines, count

    def connections(self) -> Iterator[Connection]:
        """The lines of `netpol list`, in the order of their first source, then by destinations and ports;
        each destination set is named when its first source's lines are written."""
        lines = self._folded[0]
        by_first: dict[int, list[tuple[str, bytes]]] = {}
        for key, srcs in lines.items():
            by_first.setdefault(min(srcs), []).append(key)
        for first in sorted(by_first):
            alike: dict[tuple[tuple[str, ...], str], list[int]] = {}
            for text, chosen in by_first.pop(first):
                alike.setdefault((self._names_of(chosen), text), []).extend(lines[(text, chosen)])
            for dsts, text in sorted(alike):
                srcs = sorted(alike[(dsts, text)])
                yield Connection(tuple(self.units.names(self.sources[i] for i in srcs)), dsts, text)

    @staticmethod
    def _class_order(s: Unit) -> tuple[bool, int]:
        return (False, s.peer) if isinstance(s.peer, int) else (True, 0)

    def _names_of(self, chosen: bytes) -> tuple[str, ...]:
        """The destinations whose bits are set, named together (kept for the next NAMED_SETS sets)."""
        import numpy as np

        found = self._named.get(chosen)
        if found is None:
            bits = np.unpackbits(np.frombuffer(chosen, dtype=np.uint8), count=len(self.destinations))
            found = tuple(self.units.names(self.destinations[p] for p in np.flatnonzero(bits).tolist()))
            if len(self._named) >= NAMED_SETS:
                self._named.clear()
            self._named[chosen] = found
        return found


def _first(item: tuple[int, PortSet, tuple[str, ...]]) -> int:
    return item[0]


def namespace_listings(cluster: Cluster, probe: tuple[Protocol, int] | None = None) -> Iterator[Listing]:
    """Every connection of `cluster` and its possible pods, some namespaces at a time, for when the regions of
    every namespace together are more than netpol enumerates at once (`netpol list` without a focus): for each
    batch of the namespaces the input names, in order, its regions cut for it alone (regions' focus), with the
    links from its pods and possible pods to every endpoint, and the links into them from outside addresses and
    from possible pods of the namespaces the input does not name; last, the links between those possible pods
    and outside addresses, on regions cut without the NetworkPolicies (which select no pod there). Each link is
    in one listing; memory holds one. Links between two possible pods are listed only when the input has no
    pods, as in one listing.

    A batch holds as many namespaces as fit in MAX_REGIONS regions (`_batches`), so that with pods, which every
    batch compiles again, the whole input is compiled a few dozen times, not once per namespace."""
    from netpol.analyses.regions import named_namespaces

    between = not cluster.pods
    names = sorted(named_namespaces(cluster) | {o.namespace for o in (*cluster.policies, *cluster.pods)},
                   key=natural_key)
    for batch, units in _batches(cluster, names):
        sources = [u for u in units.all if u.namespace is None or u.namespace in batch]
        yield Listing(units, sources, None, probe, between, namespaces=batch)
    declared = {n.name for n in cluster.namespaces}  # the others stay named (only their name label), not "other"
    named = tuple(Namespace(NamespaceName(n), ((METADATA_NAME_LABEL, n),), declared=False)
                  for n in names if n not in declared)
    kept = tuple(sorted((*cluster.namespaces, *named), key=lambda n: n.name))
    units = Units.of(replace(cluster, namespaces=kept, policies=()), True, by_namespace=True)
    rest = [u for u in units.all if u.namespace is None]
    yield Listing(units, rest, rest, probe, between)


def _batches(cluster: Cluster, names: list[str]) -> Iterator[tuple[list[str], Units]]:
    """The namespaces in order, in batches whose regions (cut for the batch: regions' focus) stay within
    MAX_REGIONS, each with its units: a batch past the limit is halved and tried again, and the next batch
    tries twice the size that fitted (a failed try costs at most the limit's regions, never a compile). One
    namespace alone takes the focused limit without pods (its regions are all there is to compile) and
    MAX_REGIONS with them; past that, RegionLimitError."""
    from netpol.analyses.label_space import RegionLimitError
    from netpol.analyses.regions import MAX_REGIONS

    start, size = 0, len(names)
    while start < len(names):
        batch = names[start:start + size]
        alone = len(batch) == 1 and not cluster.pods
        try:
            units = Units.of(cluster, True, focus=frozenset(batch), by_namespace=True,
                             limit=None if alone else MAX_REGIONS)
        except RegionLimitError:
            if len(batch) == 1:
                raise
            size = len(batch) // 2
            continue
        yield batch, units
        start, size = start + len(batch), 2 * len(batch)
