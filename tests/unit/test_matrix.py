"""All-port matrices from port atoms agree with the pair-by-pair path they replace, on every fixture."""

from __future__ import annotations

import pytest

import netpol.analyses.matrix
from netpol.model.portsets import MAX_PORT, MIN_PORT
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
    monkeypatch.setattr(netpol.analyses.matrix, "ATOM_MATRIX_BUDGET", 0)
    slow = a.matrix(protocol=protocol)
    assert slow._atoms is None
    assert got == {(s, d): slow.class_ports(s, d) for s in range(n) for d in range(n)}
    assert rows == {s: slow.class_row(s).tolist() for s in range(n)}


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("budget", [netpol.analyses.matrix.ATOM_MATRIX_BUDGET, 0], ids=["atoms", "pairs"])
def test_ports_from_groups_columns_by_their_pair_by_pair_ports(name: str, budget: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns are destination classes with repeats and gaps (a listing's endpoints): each group holds the
    indices of the columns reached on exactly its ports, and the columns reached on none are in no group."""
    import numpy as np

    a = fixture(name)
    monkeypatch.setattr(netpol.analyses.matrix, "ATOM_MATRIX_BUDGET", budget)
    m = a.matrix()
    n = len(a.engine.classes)
    columns = np.array([*range(n), *range(0, n, 2)], dtype=np.int64)
    for s in range(n):
        groups = m.ports_from(s, columns)
        got = {int(i): ports for ports, at in groups for i in at}
        assert got == {i: ports for i, d in enumerate(columns.tolist())
                       if (ports := a.engine.allowed_ports(s, d))}
        assert sum(len(at) for _, at in groups) == len(got) and len({p for p, _ in groups}) == len(groups)


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


HOSTILE = ["a|b", "x`y", "<img src=x>", "[x](http://e)", "line\nbreak"]


def _hostile_matrix(port: int | None) -> netpol.analyses.matrix.Matrix:
    """Pods whose names the loader would refuse (a live or future source may not), and an assumption
    with markup in it: the renderers must show them as text."""
    import dataclasses

    from netpol import Analyzer, load_objects
    from tests.builders import namespace, pod

    c = load_objects([namespace("default"), *(pod(f"p{i}") for i in range(len(HOSTILE)))]).cluster
    pods = tuple(dataclasses.replace(p, name=HOSTILE[i]) for i, p in enumerate(c.pods))
    c = dataclasses.replace(c, pods=pods, assumptions=("see | `x` <b>[y](z)</b>\nnext",))
    return Analyzer(c).matrix(port)


def _cells(row: str) -> list[str]:
    """A GitHub table row's cells: split at bars not escaped by a backslash."""
    import re

    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


@pytest.mark.parametrize("port", [None, 80])
def test_markdown_matrix_shows_hostile_names_as_text(port: int | None) -> None:
    from netpol.render.matrix import matrix_markdown

    lines = "".join(matrix_markdown(_hostile_matrix(port))).split("\n")
    header, rule, *rows = lines[2:4 + len(HOSTILE)]
    assert len(_cells(header)) == len(HOSTILE) + 1 and rule == "|---|" + "---|" * len(HOSTILE)
    assert all(len(_cells(r)) == len(HOSTILE) + 1 for r in rows)
    assert _cells(header)[1:] == [r"`default/a\|b`", r"default/x\`y", r"`default/<img src=x>`",
                                  r"`default/[x](http://e)`", r"default/line break"]
    assert [_cells(r)[0] for r in rows] == _cells(header)[1:]
    assert r"- assumption: see \| \`x\` \<b\>\[y\]\(z\)\</b\> next" in lines


def test_text_matrix_keeps_hostile_names_on_one_line() -> None:
    import io

    from rich.console import Console

    from netpol.render.matrix import matrix_notes, matrix_table

    m = _hostile_matrix(80)
    out = io.StringIO()
    Console(file=out, width=200).print(matrix_table(m))
    text = out.getvalue()
    shown = ["default/a|b", "default/x`y", "default/<img src=x>", "default/[x](http://e)", r"default/line\nbreak"]
    rows = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert rows == [f"{i + 1} {name}" for i, name in enumerate(shown)]  # one row each, read back literally
    assert list(matrix_notes(m))[0] == "assumption: see | `x` <b>[y](z)</b>\\nnext\n"


def _many_atoms() -> list[dict[str, object]]:
    """Five servers, each open on its own 20 TCP ports and one range (some UDP too) to one of two clients,
    and a client whose egress allows every other of those ports: over 200 port atoms, so a code takes
    four 64-bit words, and the pairs' port sets differ in every word."""
    from tests.builders import labels, pod, policy

    objects: list[dict[str, object]] = [pod(f"c{k}", labels={"role": f"c{k}"}) for k in range(2)]
    allowed = []
    for i in range(5):
        objects.append(pod(f"a{i}", labels={"app": f"a{i}"}))
        ports: list[dict[str, object]] = [{"port": 100 + 10 * (5 * j + i)} for j in range(20)]
        ports.append({"port": 5000 + 40 * i, "endPort": 5010 + 41 * i})
        if i % 2:
            ports.append({"protocol": "UDP", "port": 53 + i})
        allowed.extend(p for p in ports[::2])
        objects.append(policy(f"a{i}", selector=labels(app=f"a{i}"),
                              ingress=[{"from": [{"podSelector": labels(role=f"c{i % 2}")}], "ports": ports},
                                       {"from": [{"podSelector": labels(app=f"a{(i + 1) % 5}")}],
                                        "ports": ports[i::3]}]))
    objects.append(policy("c1", selector=labels(role="c1"), policyTypes=["Egress"], egress=[{"ports": allowed}]))
    return objects


@pytest.mark.parametrize("protocol", [None, "TCP"])
def test_atoms_past_one_word_give_the_per_class_answer(protocol: str | None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """More than 64 port atoms: the codes take several words, and every cell, row and group of destinations
    is the per-class path's, exactly; so is a listing (possible pods included) built on either."""
    import numpy as np

    from netpol import load_objects
    from netpol.analyses import connectivity
    from netpol.analyses.connectivity import Listing, Units
    from tests.builders import analyzer

    budget = netpol.analyses.matrix.ATOM_MATRIX_BUDGET
    a = analyzer(*_many_atoms())
    fast = a.matrix(protocol=protocol)
    assert fast._atoms is not None and len(fast._atoms) > 192 and fast._port_codes.width == 4
    n = len(a.engine.classes)
    columns = np.array([*range(n), *range(0, n, 2)], dtype=np.int64)
    got = ({(s, d): fast.class_ports(s, d) for s in range(n) for d in range(n)},
           {s: fast.class_row(s).tolist() for s in range(n)},
           {s: {int(i): ports for ports, at in fast.ports_from(s, columns) for i in at} for s in range(n)})
    assert len({p for p in got[0].values() if p}) > 10
    monkeypatch.setattr(netpol.analyses.matrix, "ATOM_MATRIX_BUDGET", 0)
    slow = a.matrix(protocol=protocol)
    assert slow._atoms is None
    assert got == ({(s, d): slow.class_ports(s, d) for s in range(n) for d in range(n)},
                   {s: slow.class_row(s).tolist() for s in range(n)},
                   {s: {int(i): ports for ports, at in slow.ports_from(s, columns) for i in at} for s in range(n)})

    def listing(budget: int) -> tuple[bool, list[object], list[object]]:
        monkeypatch.setattr(netpol.analyses.matrix, "ATOM_MATRIX_BUDGET", budget)
        units = Units.of(load_objects(_many_atoms()).cluster, True)
        found = Listing(units, probe=None, between_regions=True, namespaces=frozenset())
        links = [(ln.source, ln.destination, ln.ports, ln.named_ports) for ln in found.links()]
        return units._matrix._atoms is not None, links, list(found.connections())

    monkeypatch.setattr(connectivity, "FEW", -1)
    monkeypatch.setattr(connectivity, "SLICED", 10**9)  # the matrix's rows, not the sliced rows
    used, *fast_lines = listing(budget)
    unused, *slow_lines = listing(0)
    assert (used, unused) == (True, False)
    assert fast_lines == slow_lines
    assert len(fast_lines[1]) > 10
