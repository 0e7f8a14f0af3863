"""Reachability matrices as a rich table, CSV, Markdown or JSON.

The text formats are generators of lines, so a large matrix is written row
by row instead of being built in memory first. The table is for a person
at a terminal: it uses the pods' names as columns when they fit the width,
else short numbers with the names as row labels (a legend), else a list of
`A -> B: ports`; past TABLE_LIMIT pods no table is readable, and the CLI
points at the formats that are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netpol.model import Pod
from netpol.query import Matrix

SELF = "self"
TABLE_LIMIT = 40  # pods: beyond this a table is unreadable at any width (csv, json, -n or --by-workload instead)


def _cell(m: Matrix, src: Pod, dst: Pod, yes: str, no: str) -> str:
    if m.is_self(src, dst):
        return SELF
    if m.probe:
        return yes if m.allowed(src, dst) else no
    ports = m.ports(src, dst)
    return str(ports) if ports else no


def _title(m: Matrix) -> str:
    if m.probe:
        return f"can FROM (row) reach TO (column) on {m.protocol}/{m.port}?"
    only = f" ({m.protocol} only)" if m.protocol is not None else ""
    return f"ports FROM (row) may open to TO (column){only}"


def matrix_table(m: Matrix, width: int = 120) -> RenderableType:
    """The matrix as a table that fits `width` columns, or as a list of allowed pairs when none would."""
    names = [m.display(p) for p in m.pods]
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
    lines = [Text(f"pairs that may connect on {m.protocol}/{m.port}" if m.probe else
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


def matrix_notes(m: Matrix) -> Iterator[str]:
    for note in m.assumptions():
        yield f"assumption: {note}\n"


def matrix_markdown(m: Matrix) -> Iterator[str]:
    yield f"{_title(m)}\n\n"
    yield "| from \\ to | " + " | ".join(f"`{m.display(p)}`" for p in m.pods) + " |\n"
    yield "|---|" + "---|" * len(m.pods) + "\n"
    for src in m.pods:
        cells = (_cell(m, src, dst, "✓", "✗") for dst in m.pods)
        yield f"| `{m.display(src)}` | " + " | ".join(cells) + " |\n"
    yield "\n"
    for note in matrix_notes(m):
        yield f"- {note}"


def matrix_csv(m: Matrix) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def row(values: list[str]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(values)
        return buf.getvalue()

    yield row(["from"] + [m.ident(p) for p in m.pods])
    for src in m.pods:
        yield row([m.ident(src)] + [_cell(m, src, dst, "allow", "deny") for dst in m.pods])


def matrix_json(m: Matrix) -> Iterator[str]:
    """One JSON object; `allowed` lists [from, to] pairs of distinct pods (a public contract).

    With pods grouped by workload, `workloads` maps each workload id to its pod count, and
    [id, id] means its distinct pods may reach each other."""
    yield "{\n"
    yield f'  "port": {json.dumps(m.port)},\n'
    yield f'  "protocol": {json.dumps(m.protocol)},\n'
    yield f'  "pods": {json.dumps([m.ident(p) for p in m.pods])},\n'
    if m.grouped:
        yield f'  "workloads": {json.dumps(dict(sorted(m.grouped.values())))},\n'
    yield '  "allowed": ['
    first = True
    for src, dst in m.allowed_pairs():
        yield ("\n    " if first else ",\n    ") + json.dumps([m.ident(src), m.ident(dst)])
        first = False
    yield "\n  ]" if not first else "]"
    if not m.probe:
        yield ',\n  "ports": ['
        first = True
        for src, dst in m.allowed_pairs():
            ports = m.ports(src, dst)
            entry = {"from": m.ident(src), "to": m.ident(dst), "ports": str(ports),
                     "ranges": {proto: [list(iv) for iv in ivs] for proto, ivs in ports.ranges}}
            yield ("\n    " if first else ",\n    ") + json.dumps(entry)
            first = False
        yield "\n  ]" if not first else "]"
    yield f',\n  "assumptions": {json.dumps(list(m.assumptions()))}'
    yield "\n}\n"
