"""`netpol list`: allowed connections as `SOURCE => DESTINATION : PORTS`, per workload (pods without one), with the
possible pods of every namespace and outside address ranges. Sources alike are folded into one line. With pods,
connections between two possible pods are listed only when --from or --to names possible pods.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from netpol.cli.errors import _user_errors
from netpol.cli.inputs import Source, _units, input_command
from netpol.cli.options import AnyPod, InputOnly, ListFormat, Namespaces, ProtocolName, ProtocolOpt
from netpol.cli.output import _note, _write
from netpol.cli.progress_line import _phase
from netpol.errors import QueryError

if TYPE_CHECKING:
    from netpol.model.portsets import Protocol


@input_command("list", omit=["staged"], calico=True)
def list_connections(
    inputs: Source,
    to: Annotated[str | None, typer.Option("--to", metavar="X", help="Only connections to X (an endpoint as "
                                           "for exposure, or an address or CIDR).")] = None,
    from_: Annotated[str | None, typer.Option("--from", metavar="X", help="Only connections from X.")] = None,
    namespace: Namespaces = None,
    port: Annotated[int | None, typer.Option("--port", "-p", metavar="PORT",
                                             help="Only connections allowed on this port.")] = None,
    protocol: ProtocolOpt = ProtocolName.TCP,
    output: Annotated[ListFormat, typer.Option("--output", "-o", metavar="text|json|csv|md",
                                               help="Output format.")] = ListFormat.text,
    max_lines: Annotated[int | None, typer.Option(
        "--max-lines", metavar="N", min=0, help="Refuse (exit 2) a list of more than N connections, before writing "
        "any; 0: no limit. Default: 1,000,000 on a terminal, no limit otherwise.")] = None,
    input_only: InputOnly = False,
    any_pod: AnyPod = False,
) -> None:
    """Allowed connections as `SOURCE => DESTINATION : PORTS`, per workload (pods without one), with
    the possible pods of every namespace and outside address ranges. Sources alike are folded into one
    line. With pods, connections between two possible pods are listed only when --from or --to names
    possible pods.

    \b
    Examples:
      netpol list -f k8s/
      netpol list -f k8s/ --to shop/deployment/db -o md
    """
    from netpol.analyses.connectivity import LARGE_LIST, Listing
    from netpol.analyses.exposure import list_focus
    from netpol.render.exposure import links_csv, links_json, list_markdown, list_text

    probe: tuple[Protocol, int] | None = None
    with _user_errors():
        if port is not None:
            from netpol.analyses.query import port_number

            probe = (protocol.value, port_number(port))
        units = _units(inputs, input_only, [x for x in (to, from_) if x], namespace,
                       lambda cluster: list_focus(cluster, [x for x in (to, from_) if x], namespace))
        sources = units.find(from_) if from_ else None
        destinations = units.find(to) if to else None
        asked_possible = any(u.kind == "region" for u in (*(sources or ()), *(destinations or ())))
        listing = Listing(units, sources, destinations, probe,
                          between_regions=asked_possible or units.subjects[0].kind == "region",
                          namespaces=namespace or ())
        folded = output in (ListFormat.text, ListFormat.md)  # one line per folded connection, else per link
        with _phase(f"listing the connections of {len(units.subjects):,} endpoints"):
            count = listing.line_count if folded else listing.link_count
        what = "lines (one per connection)" if folded else "connections" + (" (rows)" if output is ListFormat.csv
                                                                            else " (JSON objects)")
        limit = max_lines if max_lines is not None else LARGE_LIST if sys.stdout.isatty() else 0
        if limit and count > limit:
            raise QueryError(f"the list would write {count:,} {what}, more than --max-lines {limit:,}"
                             f"{' (the default on a terminal)' if max_lines is None else ''}: narrow it with "
                             "--from X, --to X or -n NS, or raise --max-lines (0: no limit)")
        if count > LARGE_LIST:
            _note(f"netpol: note: writing {count:,} {what}; --from X, --to X or -n NS narrow the list")
    if output is ListFormat.text:
        _write(list_text(listing.connections(), os.get_terminal_size().columns if sys.stdout.isatty() else None))
    elif output is ListFormat.md:
        _write(list_markdown(listing.connections(), units.notes))
    elif output is ListFormat.json:
        _write(links_json(units, listing.links()))
    else:
        _write(links_csv(units, listing.links()))
