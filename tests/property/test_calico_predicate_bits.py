"""Calico selectors evaluated once for every pod (netpol/engine/predicates.py) mean what they mean on each pod.

The engine groups pods by the labels the selectors read and evaluates each selector once, as bitsets over those
groups; on random selectors (tests/property/test_calico_reference.py) and random pods, which selectors hold for
each pod must be what Calico's meaning (`truth`) says, and pods whose only difference is a label no selector
reads (a pod-template-hash) must fall in one group.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from netpol.engine.predicates import PredicateTable
from netpol.model import Cluster, NamespaceName, Pod
from netpol.model.calico_selectors import parse
from netpol.policies.stages import Identities
from tests.property.test_calico_reference import KEYS, VALUES, Tree, _trees, rendered, truth


class _Own(Identities):
    """A pod's own labels as its identity."""

    def labels(self, pod: Pod) -> Mapping[str, str]:
        return pod.label_map


def _pods(label_maps: list[dict[str, str]]) -> list[Pod]:
    return [Pod(NamespaceName("ns"), f"p{i}", tuple(sorted({**labels, "pod-template-hash": f"h{i}"}.items())))
            for i, labels in enumerate(label_maps)]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), trees=st.lists(_trees(), min_size=1, max_size=4),
       labels=st.lists(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4), min_size=1,
                       max_size=6))
def test_each_pod_satisfies_what_calico_says(data: st.DataObject, trees: list[Tree],
                                             labels: list[dict[str, str]]) -> None:
    ids = _Own(Cluster())
    nodes = [parse(data.draw(rendered(t))) for t in trees]
    pods = _pods(labels)
    table = PredicateTable([(ids, n) for n in nodes], pods)
    for pod, signature, label_map in zip(pods, table.signatures, labels, strict=True):
        found = [bool(signature[0] >> table.bit[(ids, n)] & 1) for n in nodes]
        assert found == [truth(t, label_map) for t in trees], (label_map, [str(n) for n in nodes])


def test_a_label_no_selector_reads_does_not_multiply_the_work() -> None:
    """1,000 pods that differ only by their pod-template-hash: one group each selector is evaluated on once."""
    calls: list[str] = []

    class Spy:
        def __init__(self, text: str) -> None:
            self.node = parse(text)

        def evaluate(self, labels: Mapping[str, str]) -> bool:
            calls.append("evaluate")
            return self.node.evaluate(labels)

        def keys(self) -> frozenset[str]:
            return self.node.keys()

        def select(self, bits: Mapping[str, Mapping[str, int]], keys: Mapping[str, int], every: int) -> int:
            calls.append("select")
            assert every == 1  # one group
            return self.node.select(bits, keys, every)

    ids = _Own(Cluster())
    spies = [Spy("app == 'web'"), Spy("has(tier) || app starts with 'w'")]
    table = PredicateTable([(ids, s) for s in spies], _pods([{"app": "web"}] * 1000))
    assert calls == ["select", "select"]
    assert set(table.signatures) == {(1 << table.bit[(ids, spies[0])] | 1 << table.bit[(ids, spies[1])],)}
