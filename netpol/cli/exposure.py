"""`netpol exposure`: who could reach each endpoint, and what it could reach, on which ports and by which rules."""

from __future__ import annotations

from typing import Annotated

import typer

from netpol.cli.errors import _user_errors
from netpol.cli.inputs import Source, _units, input_command
from netpol.cli.options import AnyPod, InputOnly, ListFormat, Namespaces
from netpol.cli.output import _write
from netpol.cli.progress_line import _phase


@input_command(omit=["staged"])
def exposure(
    inputs: Source,
    target: Annotated[str | None, typer.Argument(
        metavar="[TARGET]", help="ns/pod, ns/deployment/NAME, or NS{labels} (every possible such pod, e.g. "
        "'payments{app=db}'). Default: every workload and pod of the input (every region without pods).")] = None,
    namespace: Namespaces = None,
    output: Annotated[ListFormat, typer.Option("--output", "-o", metavar="text|json|csv|md",
                                               help="Output format.")] = ListFormat.text,
    input_only: InputOnly = False,
    any_pod: AnyPod = False,
) -> None:
    """Who could reach each endpoint, and what it could reach, on which ports and by which rules.

    Peers are every pod that could exist, named in the policies' terms: `any pod in namespace web`, `pods
    with app=api in namespace payments`, `0.0.0.0/0 except 10.0.0.0/8`. On policies without pods, the
    endpoints are every possible pod.

    \b
    Examples:
      netpol exposure -f policies/
      netpol exposure 'payments{app=db}' -f policies/ -o md
    """
    from netpol.analyses.exposure import exposure as exposure_of
    from netpol.analyses.exposure import focus_of
    from netpol.render.exposure import exposure_csv, exposure_json, exposure_markdown, exposure_text

    with _user_errors():
        units = _units(inputs, input_only, [target] if target else [], namespace,
                       lambda cluster: focus_of(cluster, target, namespace))
        targets = units.find(target) if target else [u for u in units.subjects
                                                     if not namespace or u.namespace in namespace]
        with _phase(f"answering for {len(targets):,} endpoints"):
            items = exposure_of(units, targets)
    if output is ListFormat.text:
        _write(exposure_text(items))
    elif output is ListFormat.json:
        _write([exposure_json(items, units.notes)])
    elif output is ListFormat.csv:
        _write([exposure_csv(items)])
    else:
        _write(exposure_markdown(items, units.notes))
