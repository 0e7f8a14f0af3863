"""All-port matrices from port atoms agree with the pair-by-pair path they replace, on every fixture."""

from __future__ import annotations

import pytest

import netpol.matrix
from netpol.portsets import MAX_PORT, MIN_PORT
from tests.builders import fixture, scenario_dirs

SCENARIOS = [p.name for p in scenario_dirs()]


@pytest.mark.parametrize("name", SCENARIOS)
def test_atoms_partition_the_port_space(name: str) -> None:
    atoms = fixture(name).engine.port_atoms
    for proto in ("TCP", "UDP", "SCTP"):
        spans = [(first, last) for p, first, last in atoms if p == proto]
        assert spans[0][0] == MIN_PORT and spans[-1][1] == MAX_PORT
        assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("protocol", [None, "UDP"])
def test_atom_codes_give_the_pair_by_pair_ports(name: str, protocol: str | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    a = fixture(name)
    fast = a.matrix(protocol=protocol)
    assert fast._atoms is not None
    n = len(a.engine.classes)
    got = {(s, d): fast.class_ports(s, d) for s in range(n) for d in range(n)}
    rows = {s: fast.class_row(s).tolist() for s in range(n)}
    monkeypatch.setattr(netpol.matrix, "ATOM_MATRIX_BUDGET", 0)
    slow = a.matrix(protocol=protocol)
    assert slow._atoms is None
    assert got == {(s, d): slow.class_ports(s, d) for s in range(n) for d in range(n)}
    assert rows == {s: slow.class_row(s).tolist() for s in range(n)}


def test_a_replicated_workload_has_a_note_for_its_diagonal() -> None:
    """Its diagonal cell is replica to replica, not 'self': the note says so, in text and JSON."""
    import json

    from netpol.render.matrix import matrix_json, matrix_notes
    from tests.builders import analyzer, pod, workload

    a = analyzer(workload("web", replicas=3, labels={"app": "web"}), pod("client", labels={"app": "client"}),
                 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                           "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]}})
    m = a.matrix(80)
    note = ("a row that stands for several pods (default/deployment/web (x3)) has on its diagonal the traffic "
            "between two of them (replica to replica), not a pod's traffic to itself: the cell shows whether one "
            "may reach another")
    assert list(matrix_notes(m))[0] == f"note: {note}\n"
    assert json.loads("".join(matrix_json(m)))["notes"] == [note]
    assert a.matrix().notes()[0].endswith("the cell shows the ports one may open to another")
    assert analyzer(pod("a"), pod("b")).matrix(80).notes() == ()
