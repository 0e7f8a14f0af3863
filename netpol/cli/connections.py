"""`netpol list`: allowed connections as `SOURCE => DESTINATION : PORTS`, per workload (pods without one), with the
possible pods of every namespace and outside address ranges. Sources alike are folded into one line. With pods,
connections between two possible pods are listed only when --from or --to names possible pods.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from netpol.cli.errors import _user_errors
from netpol.cli.inputs import Source, _load, _units_of, _with_input_only_hint, input_command
from netpol.cli.options import AnyPod, InputOnly, ListFormat, Namespaces, ProtocolName, ProtocolOpt
from netpol.cli.output import _note, _write
from netpol.cli.progress_line import _phase
from netpol.errors import QueryError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from netpol.analyses.connectivity import Listing
    from netpol.model.portsets import Protocol


@input_command("list", omit=["staged"])
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
    from netpol.analyses.connectivity import LARGE_LIST, Listing, namespace_listings
    from netpol.analyses.exposure import list_focus
    from netpol.analyses.label_space import RegionLimitError

    probe: tuple[Protocol, int] | None = None
    asked = [x for x in (to, from_) if x]
    folded = output in (ListFormat.text, ListFormat.md)  # one line per folded connection, else per link
    limit = max_lines if max_lines is not None else LARGE_LIST if sys.stdout.isatty() else 0
    with _user_errors():
        if port is not None:
            from netpol.analyses.query import port_number

            probe = (protocol.value, port_number(port))
        cluster = _load(inputs).cluster
        # every namespace: some namespaces at a time if need be (namespace_listings)
        whole = not (asked or namespace or input_only)
        try:
            units = _units_of(cluster, input_only, asked, namespace,
                              lambda cluster: list_focus(cluster, asked, namespace), limited=whole)
        except RegionLimitError:
            _note("netpol: note: the possible pods of every namespace together are more than netpol enumerates at "
                  "once, so the list is made some namespaces at a time: the connections of their pods, then "
                  "those between the namespaces the input does not name and outside addresses")
            listings: Callable[[], Iterator[Listing]] = partial(_hinted, partial(namespace_listings, cluster, probe))
            notes: dict[str, None] = {}
            count = 0
            if limit or output is not ListFormat.text:  # counted (each namespace twice) to refuse before writing,
                with _phase("counting the connections, some namespaces at a time"):  # and for the assumptions up front
                    for listing in listings():
                        count += listing.line_count if folded else listing.link_count
                        notes.update(dict.fromkeys(listing.units.notes))
                for note in notes:
                    _note(f"netpol: note: {note}")
            else:  # each namespace's assumptions as it comes
                listings = partial(_noting, listings, notes)
        else:
            sources = units.find(from_) if from_ else None
            destinations = units.find(to) if to else None
            asked_possible = any(u.kind == "region" for u in (*(sources or ()), *(destinations or ())))
            one = Listing(units, sources, destinations, probe,
                          between_regions=asked_possible or units.subjects[0].kind == "region",
                          namespaces=namespace or ())
            listings = partial(iter, [one])
            notes = dict.fromkeys(units.notes)
            with _phase(f"listing the connections of {len(units.subjects):,} endpoints"):
                count = one.line_count if folded else one.link_count
        what = "lines (one per connection)" if folded else "connections" + (" (rows)" if output is ListFormat.csv
                                                                            else " (JSON objects)")
        if limit and count > limit:
            raise QueryError(f"the list would write {count:,} {what}, more than --max-lines {limit:,}"
                             f"{' (the default on a terminal)' if max_lines is None else ''}: narrow it with "
                             "--from X, --to X or -n NS, or raise --max-lines (0: no limit)")
        if count > LARGE_LIST:
            _note(f"netpol: note: writing {count:,} {what}; --from X, --to X or -n NS narrow the list")
    with _user_errors():  # some namespaces at a time, one whose regions are too many is said when it comes
        _write_listings(output, listings, list(notes))


def _write_listings(output: ListFormat, listings: Callable[[], Iterator[Listing]], notes: list[str]) -> None:
    from netpol.render.exposure import links_csv, links_json, list_markdown, list_text

    if output is ListFormat.text:
        _write(list_text((c for listing in listings() for c in listing.connections()),
                         os.get_terminal_size().columns if sys.stdout.isatty() else None))
    elif output is ListFormat.md:
        _write(list_markdown((c for listing in listings() for c in listing.connections()), notes))
    elif output is ListFormat.json:
        _write(links_json(notes, ((listing.units, link) for listing in listings() for link in listing.links())))
    else:
        _write(links_csv((listing.units, link) for listing in listings() for link in listing.links()))


def _noting(listings: Callable[[], Iterator[Listing]], said: dict[str, None]) -> Iterator[Listing]:
    """The listings, each one's assumptions noted (once each) before its lines are written."""
    for listing in listings():
        for note in listing.units.notes:
            if note not in said:
                said[note] = None
                _note(f"netpol: note: {note}")
        yield listing


def _hinted(listings: Callable[[], Iterator[Listing]]) -> Iterator[Listing]:
    """The listings; one namespace's regions too many is said as for every namespace's, with --input-only."""
    from netpol.analyses.label_space import RegionLimitError

    try:
        yield from listings()
    except RegionLimitError as exc:
        raise QueryError(_with_input_only_hint(exc)) from None
