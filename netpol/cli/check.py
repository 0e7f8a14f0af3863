"""`netpol check`: check intent files against manifests or the live cluster. Exit 0 all pass, 1 any failure, 2
error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from netpol.cli.errors import EXIT_DENIED, EXIT_ERROR, EXIT_OK, _fail, _user_errors
from netpol.cli.files import _output_path, _write_file
from netpol.cli.inputs import KUBECONFIG_UNUSED, RENDERING, Source, _load, _with_input_only_hint, input_command
from netpol.cli.options import INPUT_PANEL, Force, InputOnly, TextFormat
from netpol.cli.output import _note, _say
from netpol.cli.progress_line import _phase
from netpol.errors import NetpolError, QueryError

if TYPE_CHECKING:
    from netpol.analyses.query import Analyzer
    from netpol.model import Cluster


@input_command(omit=["files", *RENDERING, "staged"])  # -f: its own help; the intent files name what they read
def check(
    inputs: Source,
    intents: Annotated[list[str], typer.Argument(
        metavar="INTENT", help="Intent files (docs/intent.md), or directories of *.intent.yaml files.")],
    files: Annotated[
        list[str] | None,
        typer.Option("--filename", "-f", metavar="PATH", help="Manifests for every intent file, instead of each "
                     "file's own 'manifests'. Repeatable.", rich_help_panel=INPUT_PANEL),
    ] = None,
    output: Annotated[TextFormat, typer.Option("--output", "-o", metavar="text|json",
                                               help="Output format.")] = TextFormat.text,
    junit: Annotated[str | None, typer.Option("--junit", metavar="FILE", help="Also write JUnit XML here.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Check against the live cluster, not the manifests.")] = False,
    allow_outside_repo: Annotated[bool, typer.Option(
        "--allow-outside-repo", help="Let intent files name manifests outside their git repository.")] = False,
    input_only: InputOnly = False,
    force: Force = False,
) -> None:
    """Check intent files against manifests or the live cluster. Exit 0 all pass, 1 any failure, 2 error.

    An invalid intent file (or one expectation that cannot be checked) is reported as an error and the
    others still run; any error makes the exit code 2.

    \b
    Example:
      netpol check intents/ --junit netpol-junit.xml
    """
    from netpol.analyses.check import FileError, check_prepared, prepare
    from netpol.analyses.connectivity import INPUT_ONLY_NOTE
    from netpol.render.check import check_json, check_junit, check_text, counts
    from netpol.sources.intents import intent_files, load_intent_file

    clusters: dict[tuple[str, ...], Cluster | NetpolError] = {}  # compiled when first checked (check.prepare)
    compiled: dict[tuple[str, ...], Analyzer] = {}  # the input alone, once compiled
    results = []
    errors: list[FileError] = []
    notes: dict[str, None] = dict.fromkeys([INPUT_ONLY_NOTE] if input_only else [])
    if junit is not None:
        _output_path(junit, force)
    if not live and (inputs.kubeconfig or inputs.context):
        _fail(KUBECONFIG_UNUSED.format(other="intent files' manifests (without --live)"))
    with _user_errors():
        paths = intent_files(intents)
        if live:  # one cluster for every file: failing to read it is fatal
            clusters[()] = _load(replace(inputs, default_namespace=None, exclude=None)).cluster
    for number, path in enumerate(paths, start=1):
        try:
            intent = load_intent_file(path, confine=not allow_outside_repo)
            manifests = () if live else tuple(files or intent.manifests)
            if not manifests and not live:
                raise QueryError(f"{path}: names no manifests; add 'manifests:' to it, pass -f PATH, or use --live")
            if manifests not in clusters:
                try:
                    loaded = clusters[manifests] = _load(replace(inputs, files=list(manifests))).cluster
                    if not loaded.pods:
                        _note(f"netpol: note: {', '.join(manifests)}: no pods or workloads, so namespace and "
                              "podSelector endpoints stand for every possible such pod")
                except NetpolError as exc:
                    clusters[manifests] = exc
            cluster = clusters[manifests]
            if isinstance(cluster, NetpolError):
                raise cluster
            notes.update(dict.fromkeys(cluster.assumptions))  # the profile, what was ignored
            with _phase(f"checking {path} ({number:,} of {len(paths):,} intent files)"):
                prepared = prepare(compiled.get(manifests, cluster), intent, input_only)
                checked = check_prepared(prepared)
            if prepared.analyzer.possible is not None:
                notes.update(dict.fromkeys(prepared.analyzer.possible.notes()))
            else:
                compiled[manifests] = prepared.analyzer
            results.append((prepared.intent, checked))
        except NetpolError as exc:
            errors.append(FileError(path, _with_input_only_hint(exc)))
    for note in notes:
        _note(f"netpol: note: {note}")
    if junit is not None:
        _write_file(junit, check_junit(results, errors).encode(), force)
    _say(check_json(results, errors, list(notes)) if output is TextFormat.json
         else "".join(check_text(results, errors)))
    _, failed, errored = counts(results, errors)
    raise typer.Exit(EXIT_ERROR if errored else EXIT_DENIED if failed else EXIT_OK)
