"""`netpol explain`: what each policy does, in evaluation order: Admin tier, NetworkPolicies, Baseline tier."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from netpol.cli.errors import _user_errors
from netpol.cli.inputs import Source, _analyze, _check_namespaces, input_command
from netpol.cli.options import Namespaces
from netpol.cli.output import _say, _stdout
from netpol.cli.progress_line import _phase


class ExplainFormat(StrEnum):
    table = "table"
    json = "json"


@input_command(omit=["staged"], ignore_unmodelled=None)  # explain states no reachability
def explain(
    inputs: Source,
    namespace: Namespaces = None,
    output: Annotated[ExplainFormat, typer.Option("--output", "-o", metavar="table|json",
                                                  help="Output format.")] = ExplainFormat.table,
) -> None:
    """What each policy does, in evaluation order: Admin tier, NetworkPolicies, Baseline tier.

    \b
    Example:
      netpol explain -f k8s/ -n payments
    """
    from netpol.render.calico_explain import calico_json, calico_text
    from netpol.render.explain import WIDE, explain_json, explain_text

    with _user_errors():
        analyzer = _analyze(inputs, namespace)
        _check_namespaces(analyzer.cluster, namespace)
        with _phase(f"explaining {len(analyzer.cluster.policies) + len(analyzer.cluster.tiered):,} policies"):
            calico = analyzer.explain_calico(namespace)  # Calico's tiers hold every kind it enforces: all of it
            if calico is None:
                summaries, tiers = analyzer.explain(namespace), analyzer.explain_tiers(namespace)
                cilium = analyzer.explain_cilium(namespace)
    if calico is not None:
        _say(calico_json(calico) + "\n" if output is ExplainFormat.json else calico_text(calico))
    elif output is ExplainFormat.json:
        _say(explain_json(summaries, tiers, cilium) + "\n")
    else:
        console = _stdout()
        console.print(explain_text(summaries, console.width if console.is_terminal else WIDE, tiers, cilium))
