"""`netpol matrix`: reachability of every ordered pair of pods."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from netpol.cli.errors import _fail, _user_errors
from netpol.cli.inputs import Source, _analyze, _check_namespaces, input_command
from netpol.cli.options import IcmpCode, IcmpType, Namespaces, ProbeProtocol, _icmp_probe
from netpol.cli.output import _stdout, _write
from netpol.cli.progress_line import _phase
from netpol.render.text import terminal_safe


class MatrixFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


@input_command()
def matrix(
    inputs: Source,
    port: Annotated[
        int | None, typer.Option("--port", "-p", metavar="PORT", help="Probe one port; without it, cells list ports.")
    ] = None,
    protocol: Annotated[ProbeProtocol | None, typer.Option(
        "--protocol", metavar="TCP|UDP|SCTP|ICMP|ICMPv6", case_sensitive=False,
        help="With --port (ICMP, ICMPv6: --icmp-type): the probe's protocol (default TCP). Without: show only this "
        "protocol's ports (ICMP: types and codes).")] = None,
    icmp_type: IcmpType = None,
    icmp_code: IcmpCode = None,
    namespace: Namespaces = None,
    output: Annotated[MatrixFormat, typer.Option("--output", "-o", metavar="table|json|csv|md",
                                                 help="Output format.")] = MatrixFormat.table,
    by_workload: Annotated[bool, typer.Option(
        "--by-workload", help="One row and column per workload whose pods policies treat alike (live clusters, "
        "snapshots).")] = False,
) -> None:
    """Reachability of every ordered pair of pods.

    A table is for a few dozen pods; for more, use -o csv or -o json (streamed), -n, or --by-workload.

    \b
    Examples:
      netpol matrix -f k8s/ --port 5432 -n payments
      netpol matrix -f k8s/ --protocol ICMP --icmp-type 8
    """
    from netpol.render.matrix import (
        TABLE_LIMIT,
        matrix_csv,
        matrix_json,
        matrix_markdown,
        matrix_notes,
        matrix_table,
    )

    icmp = _icmp_probe(protocol.value if protocol else "TCP", port is not None, icmp_type, icmp_code,
                       echo_default=False)
    with _user_errors():
        analyzer = _analyze(inputs, namespace, warn_no_pods=True)
        _check_namespaces(analyzer.cluster, namespace)
        with _phase(f"computing the matrix of {len(analyzer.engine.classes):,} classes"):
            m = analyzer.matrix(icmp if icmp is not None else port, protocol.value if protocol else None,
                                namespace, by_workload)
    if output is MatrixFormat.table:
        if len(m.pods) > TABLE_LIMIT:
            _fail(f"{len(m.pods)} pods are too many for a readable table (at most {TABLE_LIMIT}): use -o csv or "
                  "-o json (written as computed), -n NS for some namespaces, or --by-workload")
        console = _stdout()
        console.print(matrix_table(m, console.width if console.is_terminal else 120))
        _write(matrix_notes(m))
    elif output is MatrixFormat.json:
        _write(matrix_json(m))
    elif output is MatrixFormat.csv:
        _write(matrix_csv(m))
        for note in matrix_notes(m):
            sys.stderr.write(terminal_safe(f"netpol: {note}"))
    else:
        _write(matrix_markdown(m))
