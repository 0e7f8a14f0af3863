"""A pod-by-pod reachability matrix, answered per engine class pair and expanded to pods with numpy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from netpol.analyses.families import families
from netpol.analyses.verdicts import (
    ASSUME_DOMAINS,
    ASSUME_HOST_NETWORK,
    ASSUME_NO_IP,
    egress_domains,
    pod_names,
    tie_notes,
)
from netpol.engine import ClassMatrix
from netpol.errors import name_list
from netpol.model import Pod
from netpol.model.portsets import PortSet, Protocol

ATOM_MATRIX_BUDGET = 1 << 30  # bytes of per-atom class matrices an all-port matrix may hold

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from netpol.analyses.query import Analyzer
    from netpol.engine.slices import Codes, PortCodes


@dataclass(frozen=True)
class Matrix:
    """Reachability between every ordered pair of pods, computed per class pair on demand."""

    analyzer: Analyzer
    pods: tuple[Pod, ...]
    protocol: Protocol | None = None
    port: int | None = None
    # Pods that stand for all pods of their workload (matrix by_workload): key -> (workload id, pod count).
    grouped: dict[str, tuple[str, int]] = field(default_factory=dict)
    _cache: dict[tuple[int, int], PortSet] = field(default_factory=dict, compare=False, repr=False)
    _class_rows: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)
    _codes: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)  # class -> atom codes

    def ident(self, pod: Pod) -> str:
        """The row/column id: the pod's key, or its workload's for a grouped pod."""
        return self.grouped[pod.key][0] if pod.key in self.grouped else pod.key

    def is_self(self, src: Pod, dst: Pod) -> bool:
        """One pod and itself; a workload's diagonal (of several replicas, or grouped pods) is between
        its distinct pods instead."""
        if src.key != dst.key:
            return False
        return self.grouped[src.key][1] == 1 if src.key in self.grouped else src.is_one_pod

    def display(self, pod: Pod) -> str:
        if pod.key in self.grouped:
            ident, count = self.grouped[pod.key]
            return f"{ident} (x{count})"
        return pod.display

    @property
    def probe(self) -> bool:
        return self.port is not None

    def ports(self, src: Pod, dst: Pod) -> PortSet:
        """Ports on which src may open connections to dst (egress and ingress both allow); only
        `protocol`'s in an all-port matrix filtered to one protocol."""
        class_of = self.analyzer.engine.class_of
        return self.class_ports(class_of[src.key], class_of[dst.key])

    @cached_property
    def _rows(self) -> ClassMatrix:
        assert self.protocol is not None and self.port is not None
        return self.analyzer.engine.reachability(self.protocol, self.port)

    def allowed(self, src: Pod, dst: Pod) -> bool:
        if self.is_self(src, dst):
            return True
        if self.port is None or self.protocol is None:
            return bool(self.ports(src, dst))
        class_of = self.analyzer.engine.class_of
        return self._rows.allowed(class_of[src.key], class_of[dst.key])

    def notes(self) -> tuple[str, ...]:
        """How to read the diagonal where a row stands for several pods (not an assumption about plugins)."""
        several = [self.display(p) for p in self.pods if not self.is_self(p, p)]
        if not several:
            return ()
        shows = "whether one may reach another" if self.probe else "the ports one may open to another"
        return (f"a row that stands for several pods ({name_list(several)}) has on its diagonal the traffic "
                f"between two of them (replica to replica), not a pod's traffic to itself: the cell shows {shows}",)

    def assumptions(self) -> tuple[str, ...]:
        """The plugin-dependent choices this matrix relies on, for its pods."""
        notes = [*self.analyzer.cluster.assumptions, "a pod's traffic to itself ('self') is assumed allowed"]
        notes.extend(tie_notes(self.analyzer.cluster.tiered))
        host = [p for p in self.pods if p.host_network]
        if host:
            notes.append(ASSUME_HOST_NETWORK.format(pod=pod_names(host)))
        engine = self.analyzer.engine
        domains = {c: egress_domains(engine, c) for c in {engine.class_of[p.key] for p in self.pods}}
        by_names: dict[str, list[Pod]] = {}
        for p in self.pods:
            if domains[engine.class_of[p.key]]:
                by_names.setdefault(name_list(domains[engine.class_of[p.key]]), []).append(p)
        notes.extend(ASSUME_DOMAINS.format(pod=pod_names(pods), names=names) for names, pods in by_names.items())
        blocks = self.analyzer.engine.blocks
        if blocks:
            no_ip = [p for p in self.pods if not p.ips]
            if no_ip:
                notes.append(ASSUME_NO_IP.format(pod=pod_names(no_ip)))
            v1_blocks = families(self.analyzer.engine).ip_blocks  # tiered `networks` match pod IPs by definition
            inside = [p for p in self.pods if any(b.contains(ip) for b in v1_blocks for ip in p.ips)]
            if inside:
                notes.append(f"ipBlock rules are assumed to match pods whose IP they contain ({pod_names(inside)}); "
                             "plugins differ on this")
        return tuple(notes)

    def allowed_pairs(self) -> Iterator[tuple[Pod, Pod]]:
        """Ordered pairs of distinct pods that may connect, row by row."""
        for i, src in enumerate(self.pods):
            for j in self.allowed_from(i):
                yield src, self.pods[j]

    @cached_property
    def pod_classes(self) -> npt.NDArray[np.int64]:
        """The engine class of each row/column, in order: expands class results to pods in bulk."""
        import numpy as np

        class_of = self.analyzer.engine.class_of
        return np.fromiter((class_of[p.key] for p in self.pods), dtype=np.int64, count=len(self.pods))

    def class_row(self, cls: int) -> npt.NDArray[np.bool_]:
        """Which destination classes class `cls` may reach (on the probe, else on some port)."""
        import numpy as np

        cached = self._class_rows.get(cls)
        if cached is None:
            engine = self.analyzer.engine
            n = len(engine.classes)
            if self.probe:
                cached = np.unpackbits(self._rows.packed[cls], bitorder="little")[:n].astype(bool)
            elif self._atoms is not None:
                cached = self.atom_codes(cls).any(axis=1)
            else:  # the any-port candidates, kept where the exact port set is not empty
                cached = np.unpackbits(engine.candidates.packed[cls], bitorder="little")[:n].astype(bool)
                for d in np.flatnonzero(cached).tolist():
                    if not self.class_ports(cls, d):
                        cached[d] = False
            self._class_rows[cls] = cached
        return cached

    @cached_property
    def _atoms(self) -> tuple[tuple[Protocol, int, int], ...] | None:
        """The port atoms an all-port answer is built from, when they fit: one class-level reachability matrix
        each within the memory budget (a code has one bit per atom, in as many 64-bit words as it takes).
        None: pair by pair."""
        if self.probe:
            return None
        engine = self.analyzer.engine
        atoms = tuple(a for a in engine.port_atoms if self.protocol is None or a[0] == self.protocol)
        n = len(engine.classes)
        if len(atoms) * n * n / 8 > ATOM_MATRIX_BUDGET:
            return None
        return atoms

    @cached_property
    def _atom_matrices(self) -> list[ClassMatrix]:
        engine = self.analyzer.engine
        return [engine.reachability(proto, first) for proto, first, _ in self._atoms or ()]

    def atom_codes(self, cls: int, columns: npt.NDArray[np.int64] | None = None) -> Codes:
        """Per destination class (of `columns`, default every class), which atoms class `cls` may reach it
        on, as the bits of a code (slices.PortCodes: atom k is bit k % 64 of word k // 64): the reachability
        of one probe per atom is exact for the whole atom, so these bits are the port set. Only the classes
        some atom reaches are unpacked (a row is mostly empty: a listing's rows are millions of cells)."""
        import numpy as np

        n = len(self.analyzer.engine.classes)
        codes = self._port_codes.zeros(n)
        if self._atom_matrices:
            rows = np.stack([matrix.packed[cls] for matrix in self._atom_matrices])  # an atom's row per row
            found = np.flatnonzero(np.unpackbits(np.bitwise_or.reduce(rows, axis=0), count=n, bitorder="little"))
            bits = ((rows[:, found >> 3] >> (found & 7).astype(np.uint8)) & 1).astype(np.uint64)
            shifted = bits << (np.arange(len(rows), dtype=np.uint64) % np.uint64(64))[:, None]
            for word in range(codes.shape[1]):
                codes[found, word] = np.bitwise_or.reduce(shifted[64 * word:64 * (word + 1)], axis=0)
        return codes if columns is None else codes[columns]

    @cached_property
    def _port_codes(self) -> PortCodes:
        from netpol.engine.slices import PortCodes

        return PortCodes(self._atoms or ())

    def ports_from(self, cls: int, columns: npt.NDArray[np.int64] | None = None
                   ) -> list[tuple[PortSet, npt.NDArray[np.intp]]]:
        """The destinations class `cls` may reach, grouped by the ports it may reach them on, as indices
        into `columns` (destination classes, repeats allowed: one per endpoint of a listing; default every
        class): one array operation per source class when the port atoms fit, one port set per distinct
        class otherwise."""
        import numpy as np

        if columns is None:
            columns = np.arange(len(self.analyzer.engine.classes), dtype=np.int64)
        if self._atoms is not None:
            return self._port_codes.groups(self.atom_codes(cls, columns))
        found = np.flatnonzero(self.class_row(cls)[columns])
        classes, inverse = np.unique(columns[found], return_inverse=True)
        groups: dict[PortSet, list[int]] = {}
        for k, d in enumerate(classes.tolist()):
            groups.setdefault(self.class_ports(cls, d), []).append(k)
        return [(ports, found[np.isin(inverse, ks)]) for ports, ks in groups.items()]

    def allowed_from(self, i: int) -> list[int]:
        """Indices of the pods that pod i may reach, itself left out unless it stands for several pods."""
        import numpy as np

        src = self.pods[i]
        mask = self.class_row(int(self.pod_classes[i]))[self.pod_classes]
        if self.is_self(src, src):
            mask[i] = False
        return np.flatnonzero(mask).tolist()

    def class_ports(self, src: int, dst: int) -> PortSet:
        # Past one word of atoms, building every atom's class matrix for a few cells costs more than the per-class
        # path (hundreds of atoms: minutes), unless a listing has built them already.
        if self._atoms is not None and (len(self._atoms) <= 64 or "_atom_matrices" in self.__dict__):
            # no cache per pair: the codes are one array per source class
            codes = self._codes.get(src)
            if codes is None:
                codes = self._codes[src] = self.atom_codes(src)
            return self._port_codes.ports_at(codes, dst)
        key = (src, dst)
        if key not in self._cache:
            ports = self.analyzer.engine.allowed_ports(src, dst)
            if self.protocol is not None and self.port is None:
                ports = ports.intersection(PortSet.whole(self.protocol))
            self._cache[key] = ports
        return self._cache[key]

