"""Identity predicates that are no LabelSelector, evaluated once each as bitsets over groups of pods.

A cluster's pods have nearly as many distinct identities as pods (a pod-template-hash label makes every
ReplicaSet's pods distinct), and a family may name a predicate per policy and rule, so evaluating each
predicate on each identity costs pods x predicates. A predicate reads only the label keys it names
(`Predicate.keys`): pods are grouped by their identity projected onto the keys the predicates of its kind
read (values kept whole, as string operators read them), each label (key, value) becomes a bitset of groups,
and each predicate is evaluated once on all groups (`Predicate.select`). What the class partition keeps of a
pod is its `signature`: per kind, the distinct predicate results that hold for its group, as the bits of
one int.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

from netpol.engine.bits import bit_ids, id_bits
from netpol.model import Pod
from netpol.policies.stages import Identities, Identity, Predicate


class PredicateTable:
    """Per pod, which predicates hold (`signatures`), and per predicate, its bit in its kind's signatures."""

    def __init__(self, predicates: Sequence[tuple[Identities, Predicate]], pods: Sequence[Pod]) -> None:
        self.kinds: tuple[Identities, ...] = tuple(dict.fromkeys(kind for kind, _ in predicates))
        self.bit: dict[tuple[Identities, Predicate], int] = {}
        per_pod: list[list[int]] = [[] for _ in pods]
        for kind in self.kinds:
            own = tuple(dict.fromkeys(p for k, p in predicates if k == kind))
            groups = _Groups(kind, frozenset().union(*(p.keys() for p in own)), pods)
            results: dict[int, int] = {}  # a distinct bitset of groups -> its bit
            for p in own:
                self.bit[(kind, p)] = results.setdefault(p.select(groups.bits, groups.keys, groups.every),
                                                         len(results))
            signatures = [0] * groups.size
            for bits, j in results.items():
                for g in bit_ids(bits):
                    signatures[g] |= 1 << j
            for row, g in zip(per_pod, groups.of_pod, strict=True):
                row.append(signatures[g])
        self.signatures: list[tuple[int, ...]] = [tuple(row) for row in per_pod]


class _Groups:
    """The pods grouped by their identity's labels on the keys read; per label and per key, a bitset of groups."""

    def __init__(self, kind: Identities, read: frozenset[str], pods: Sequence[Pod]) -> None:
        ids: dict[Identity, int] = {}
        projected: dict[Identity, int] = {}
        self.of_pod: list[int] = []
        for pod in pods:
            identity = kind.of(pod)
            g = ids.get(identity)
            if g is None:
                projection = tuple(kv for kv in identity if kv[0] in read)
                g = ids[identity] = projected.setdefault(projection, len(projected))
            self.of_pod.append(g)
        self.size = len(projected)
        self.every = (1 << self.size) - 1
        holders: dict[str, dict[str, list[int]]] = {}
        for projection, g in projected.items():
            for k, v in projection:
                holders.setdefault(k, {}).setdefault(v, []).append(g)
        self.bits = {k: {v: group_bits(gs, self.size) for v, gs in vs.items()} for k, vs in holders.items()}
        self.keys = {k: functools.reduce(operator.or_, vs.values(), 0) for k, vs in self.bits.items()}


def group_bits(ids: list[int], size: int) -> int:
    """The bitset of distinct ids: a few one at a time, many at once (bits.id_bits allocates `size` bytes)."""
    return sum(1 << i for i in ids) if len(ids) < 64 else id_bits(ids, size)
