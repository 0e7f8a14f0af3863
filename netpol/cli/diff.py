"""`netpol diff`: connections gained, lost or changed between two versions. Exit 0 no change, 1 changed, 2 error."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from netpol.bulk import frozen_when_built
from netpol.cli.errors import EXIT_DENIED, EXIT_OK, _fail, _user_errors
from netpol.cli.inputs import LIVE, RENDERING, Source, _load, input_command
from netpol.cli.output import _note, _write
from netpol.cli.progress_line import _phase
from netpol.errors import QueryError


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"
    html = "html"


@input_command(omit=["files", *RENDERING, *LIVE, "staged"])  # BASE and HEAD are the manifests
def diff(
    inputs: Source,
    base: Annotated[str, typer.Argument(metavar="BASE", help="Manifests before: a file, a directory, or -.")],
    head: Annotated[str, typer.Argument(metavar="HEAD", help="Manifests after: a file, a directory, or -.")],
    output: Annotated[DiffFormat, typer.Option("--output", "-o", metavar="text|json|md|html",
                                               help="Output format; html is a self-contained page.")
                      ] = DiffFormat.text,
    input_only: Annotated[bool, typer.Option(  # defined here, not shared: the diff's own wording
        "--input-only", help="Compare the input's pods alone, not every pod that could exist (new pods of its "
        "namespaces, pods of other namespaces).")] = False,
    any_pod: Annotated[bool, typer.Option(
        "--any-pod", hidden=True, help="Deprecated: every possible pod is compared by default.")] = False,
    diagram: Annotated[bool, typer.Option(
        "--diagram", help="With -o md: draw the changes as a Mermaid diagram under the summary (at most 40 edges "
        "and 40 nodes; the edges left out are listed).")] = False,
) -> None:
    """Connections gained, lost or changed between two versions. Exit 0 no change, 1 changed, 2 error.

    Every pod that could exist is compared: the input's pods and, beside them, the possible pods (every
    region of labels either version tells apart) of the namespaces a change reaches, named in the
    policies' terms. --input-only compares the input's pods alone; -o html does too.

    \b
    Example:
      netpol diff base/k8s k8s -o md > netpol-diff.md
    """
    from dataclasses import replace

    from netpol.analyses.diff import INPUT_ONLY_NOTE, both_versions
    from netpol.analyses.diff import diff as reachability_diff
    from netpol.analyses.diff import possible_diff
    from netpol.render.diff import diff_json, diff_markdown, diff_text

    if base == "-" and head == "-":
        _fail("only one of BASE and HEAD can be standard input")
    if diagram and output is not DiffFormat.md:
        _fail("--diagram draws the change in Markdown: use it with -o md")
    if any_pod:
        _note("netpol: note: --any-pod is deprecated: every possible pod is compared by default")
    with _user_errors():
        old, new = (_load(replace(inputs, files=[side])).cluster for side in (base, head))
        if old.dataplane != new.dataplane:  # a change of plugin is no change of policy: compare under one
            raise QueryError(f"BASE runs the {old.dataplane.profile} profile and HEAD the {new.dataplane.profile} "
                             "profile (recognised from their kinds); pass --cni NAME to compare both under one")
        pods = bool(old.pods or new.pods)
        if (input_only or output is DiffFormat.html) and not pods:
            _fail(f"{'--input-only' if input_only else '-o html'} compares the input's pods, and neither version "
                  "has any; leave it out to compare every possible pod (-o text, json or md)")
        with frozen_when_built():  # as _analyze does: the diff allocates without re-walking both versions
            if input_only or output is DiffFormat.html:
                from netpol.analyses.query import Analyzer

                with _phase("comparing the input's pods"):
                    before, after = Analyzer(old), Analyzer(new)
                    changes = replace(reachability_diff(before, after), assumptions=(INPUT_ONLY_NOTE,))
            else:
                with _phase("comparing every possible pod"):
                    changes = possible_diff(old, new)
    # what each version's answer rests on (its profile, what it ignored), once; one-sided ones say so
    versions = both_versions(old.assumptions, new.assumptions)
    changes = replace(changes, assumptions=tuple(dict.fromkeys((*versions, *changes.assumptions))))
    for note in changes.assumptions:
        _note(f"netpol: note: {note}")
    if output is DiffFormat.html:
        from netpol.analyses.report import diff_assumptions, diff_verdicts
        from netpol.render.report import diff_html

        _write([diff_html(changes, diff_verdicts(before, after, changes.changes), f"netpol diff {base} {head}",
                          diff_assumptions(before, after))])
    else:
        _write(diff_markdown(changes, diagram) if output is DiffFormat.md
               else diff_text(changes) if output is DiffFormat.text else diff_json(changes))
    raise typer.Exit(EXIT_DENIED if changes.changed else EXIT_OK)
