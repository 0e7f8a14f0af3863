"""Reachability matrices as a rich table, CSV, Markdown or JSON.

The text formats are generators of lines, so a large matrix is written row
by row instead of being built in memory first. The table is for a person
at a terminal: it uses the pods' names as columns when they fit the width,
else short numbers with the names as row labels (a legend), else a list of
`A -> B: ports`; past TABLE_LIMIT pods no table is readable, and the CLI
points at the formats that are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netpol.analyses.matrix import Matrix
from netpol.model import Pod
from netpol.model.portsets import PortSet, probe_json, probe_text
from netpol.render.markdown import md_code, md_text
from netpol.render.text import one_line

SELF = "self"
TABLE_LIMIT = 40  # pods: beyond this a table is unreadable at any width (csv, json, -n or --by-workload instead)


def _cell(m: Matrix, src: Pod, dst: Pod, yes: str, no: str) -> str:
    if m.is_self(src, dst):
        return SELF
    if m.probe:
        return yes if m.allowed(src, dst) else no
    ports = m.ports(src, dst)
    return str(ports) if ports else no


def _probe(m: Matrix) -> str:
    assert m.protocol is not None and m.port is not None
    return probe_text(m.protocol, m.port)


def _title(m: Matrix) -> str:
    if m.probe:
        return f"can FROM (row) reach TO (column) on {_probe(m)}?"
    only = f" ({m.protocol} only)" if m.protocol is not None else ""
    return f"ports FROM (row) may open to TO (column){only}"


def matrix_table(m: Matrix, width: int = 120) -> RenderableType:
    """The matrix as a table that fits `width` columns, or as a list of allowed pairs when none would."""
    names = [one_line(m.display(p)) for p in m.pods]
    cells = [[_cell(m, src, dst, "✓", "✗") for dst in m.pods] for src in m.pods]
    for headers, rows in ((names, names), ([str(i + 1) for i in range(len(names))],
                                            [f"{i + 1:>{len(str(len(names)))}} {n}" for i, n in enumerate(names)])):
        if _table_width(headers, rows, cells) <= width:
            table = Table(title=Text(_title(m)), show_lines=False)
            table.add_column("FROM \\ TO", no_wrap=True)
            for header in headers:
                table.add_column(header, justify="center", no_wrap=True)
            for label, row in zip(rows, cells, strict=True):
                table.add_row(Text(label), *(Text(c) for c in row))
            return table
    lines = [Text(f"pairs that may connect on {_probe(m)}" if m.probe else
                  "ports each source may open to each destination" + (f" ({m.protocol} only)" if m.protocol else ""))]
    for i, row in enumerate(cells):
        lines.extend(Text(f"  {names[i]} -> {names[j]}: {c if not m.probe else 'allowed'}")
                     for j, c in enumerate(row) if c not in ("✗", SELF))
    lines.append(Text("  every other pair: denied" + ("" if m.probe else " on every port")))
    return Group(*lines)


def _table_width(headers: list[str], rows: list[str], cells: list[list[str]]) -> int:
    """Characters a rich table of these cells takes: each column its widest cell plus 3 for borders."""
    first = max([len("FROM \\ TO"), *map(len, rows)]) + 3
    return first + 1 + sum(max([len(h), *(len(r[j]) for r in cells)]) + 3 for j, h in enumerate(headers))


def _notes(m: Matrix) -> Iterator[tuple[str, str]]:
    yield from (("note", note) for note in m.notes())
    yield from (("assumption", note) for note in m.assumptions())


def matrix_notes(m: Matrix) -> Iterator[str]:
    yield from (f"{kind}: {one_line(note)}\n" for kind, note in _notes(m))


def matrix_markdown(m: Matrix) -> Iterator[str]:
    yield f"{_title(m)}\n\n"
    yield "| from \\ to | " + " | ".join(md_code(m.display(p)) for p in m.pods) + " |\n"
    yield "|---|" + "---|" * len(m.pods) + "\n"
    for src in m.pods:
        cells = (_cell(m, src, dst, "✓", "✗") for dst in m.pods)
        yield f"| {md_code(m.display(src))} | " + " | ".join(cells) + " |\n"
    yield "\n"
    yield from (f"- {kind}: {md_text(note)}\n" for kind, note in _notes(m))


def _csv_field(text: str) -> str:
    """One CSV field as csv.writer writes it (minimal quoting), for rows joined in bulk."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


_VERDICTS = ("deny", "allow")
_BYTE = 8  # cells per packed code: 256 texts of 8 cells, so a probe row is joined from n/8 pieces


@cache
def _byte_texts() -> Any:
    """The text of 8 adjacent probe cells, each followed by a comma, indexed by their packbits code."""
    import numpy as np

    return np.array(["".join(_VERDICTS[(code >> (_BYTE - 1 - k)) & 1] + "," for k in range(_BYTE))
                     for code in range(1 << _BYTE)], dtype=object)


def _probe_cells(allowed: Any, self_at: int | None) -> str:
    """A probe row's cells from its yes/no array, joined 8 cells at a time; `self_at`'s cell reads self."""
    import numpy as np

    whole = len(allowed) - len(allowed) % _BYTE
    pieces = _byte_texts()[np.packbits(allowed[:whole])].tolist()
    pieces.extend(_VERDICTS[v] + "," for v in allowed[whole:].tolist())  # the last cells, fewer than 8
    if self_at is not None and self_at < whole:
        start = self_at - self_at % _BYTE
        cells = [_VERDICTS[v] for v in allowed[start:start + _BYTE].tolist()]
        cells[self_at - start] = SELF
        pieces[self_at // _BYTE] = ",".join(cells) + ","
    elif self_at is not None:
        pieces[whole // _BYTE + self_at - whole] = SELF + ","
    pieces[-1] = pieces[-1][:-1]
    return "".join(pieces)


def matrix_csv(m: Matrix) -> Iterator[str]:
    """A header row, then one row per source: its cells come from its class's row, expanded to the
    destination pods with numpy, and are joined once per row (no per-cell Python work per pod pair)."""
    import numpy as np

    idents = [_csv_field(m.ident(p)) for p in m.pods]
    yield ",".join(["from", *idents]) + "\n"
    by_class: dict[int, Any] = {}  # every-port matrices: the cell text per destination class
    classes = m.pod_classes
    for i, src in enumerate(m.pods):
        cls = int(classes[i])
        allowed = m.class_row(cls)
        self_at = i if m.is_self(src, src) else None
        if m.probe:  # yes/no cells: joined from packed bytes, no per-class table to keep
            yield idents[i] + "," + _probe_cells(allowed[classes], self_at) + "\n"
            continue
        table = by_class.get(cls)
        if table is None:
            table = np.array(["deny"] * len(allowed), dtype=object)
            for d in np.flatnonzero(allowed).tolist():
                table[d] = _csv_field(str(m.class_ports(cls, d)))
            by_class[cls] = table
        row = table[classes]
        if self_at is not None:
            row[i] = SELF
        yield idents[i] + "," + ",".join(row.tolist()) + "\n"


def matrix_json(m: Matrix) -> Iterator[str]:
    """One JSON object; `allowed` lists [from, to] pairs of distinct pods (a public contract).

    With pods grouped by workload, `workloads` maps each workload id to its pod count, and
    [id, id] means its distinct pods may reach each other. Written a source row at a time."""
    yield "{\n"
    for key, value in probe_json(m.protocol or "TCP", m.port).items():  # ICMP: its type and code, no port
        yield f'  "{key}": {json.dumps(value)},\n'
    yield f'  "protocol": {json.dumps(m.protocol)},\n'
    idents = [json.dumps(m.ident(p)) for p in m.pods]
    yield f'  "pods": [{", ".join(idents)}],\n'
    if m.grouped:
        yield f'  "workloads": {json.dumps(dict(sorted(m.grouped.values())))},\n'
    yield '  "allowed": ['
    first = True
    closed = [ident + "]" for ident in idents]
    for i in range(len(m.pods)):
        targets = m.allowed_from(i)
        if targets:  # a row of pairs with maps over str methods, not a Python loop per pair
            pairs = map(("[" + idents[i] + ", ").__add__, map(closed.__getitem__, targets))
            yield ("\n    " if first else ",\n    ") + ",\n    ".join(pairs)
            first = False
    yield "\n  ]" if not first else "]"
    if not m.probe:
        yield ',\n  "ports": ['
        first = True
        ranges: dict[PortSet, str] = {}
        classes = m.pod_classes.tolist()
        for i in range(len(m.pods)):
            cls = classes[i]
            lines = []
            head = '{"from": ' + idents[i] + ', "to": '
            for j in m.allowed_from(i):
                ports = m.class_ports(cls, classes[j])
                text = ranges.get(ports)
                if text is None:
                    text = ranges[ports] = json.dumps(str(ports)) + ", \"ranges\": " + json.dumps(ports.to_json())
                lines.append(head + idents[j] + ', "ports": ' + text + "}")
            if lines:  # one write per source row
                yield ("\n    " if first else ",\n    ") + ",\n    ".join(lines)
                first = False
        yield "\n  ]" if not first else "]"
    yield f',\n  "notes": {json.dumps(list(m.notes()))}'
    yield f',\n  "assumptions": {json.dumps(list(m.assumptions()))}'
    yield "\n}\n"
