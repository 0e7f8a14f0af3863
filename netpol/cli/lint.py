"""`netpol lint`: find policies that do not do what their author meant: exact findings with file and line."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Annotated

import typer

from netpol.cli.errors import EXIT_DENIED, EXIT_OK, _user_errors
from netpol.cli.inputs import Source, _check_namespaces, _load, input_command
from netpol.cli.options import Namespaces
from netpol.cli.output import _write
from netpol.cli.progress_line import _phase


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


@input_command(omit=["staged"], keep_texts=True)
def lint(
    inputs: Source,
    paths: Annotated[list[str] | None, typer.Argument(
        metavar="PATH", help="Manifest files or directories, as with -f (for pre-commit, which passes "
        "the changed files).", show_default=False)] = None,
    namespace: Namespaces = None,
    output: Annotated[LintFormat, typer.Option("--output", "-o", metavar="text|json|sarif",
                                               help="Output format; sarif is for code scanning.")] = LintFormat.text,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", metavar="error|warning|info|never",
                                            help="Exit 1 when a finding has this severity or a higher one.")
                       ] = FailOn.warning,
    disable: Annotated[list[str] | None, typer.Option(
        "--disable", metavar="ID", help="Count this rule's findings as suppressed ('all' for every rule). "
        "Repeatable, or comma-separated.")] = None,
    enable: Annotated[list[str] | None, typer.Option(
        "--enable", metavar="ID", help="Report this rule even if --disable names it (e.g. --disable all "
        "--enable NP204). Repeatable.")] = None,
) -> None:
    """Find policies that do not do what their author meant: exact findings with file and line.

    Policy checks (NP1xx) need no pods, so they run on a pull request that holds only policies; cluster
    checks (NP2xx) run when the input has pods or workloads. Exit codes: 0 no finding at or above
    --fail-on, 1 findings, 2 usage or input error. Rules: docs/lint.md.

    \b
    Examples:
      netpol lint -f k8s/
      netpol lint -f k8s/ -o sarif > netpol.sarif
    """
    from netpol import __version__
    from netpol.analyses.lint import lint as run_lint
    from netpol.analyses.lint import rule_ids
    from netpol.render.lint import lint_json, lint_sarif, lint_text
    from netpol.sources.positions import Positions

    with _user_errors():
        rule_ids([*(disable or []), *(enable or [])])  # a typo is an error before any reading
        loaded = _load(replace(inputs, files=[*(inputs.files or []), *(paths or [])] or None), namespace)
        _check_namespaces(loaded.cluster, namespace)
        with _phase("linting"):
            report = run_lint(loaded.cluster, namespace or (), disable or (), enable or (),
                              unmodelled=loaded.unmodelled)
    report = report.with_positions(Positions(loaded.texts).find)
    if output is LintFormat.sarif:
        _write([lint_sarif(report, __version__)])
    elif output is LintFormat.json:
        _write([lint_json(report)])
    else:
        _write(lint_text(report))
    raise typer.Exit(EXIT_DENIED if report.fails(fail_on.value) else EXIT_OK)
