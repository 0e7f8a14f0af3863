"""Reading the input every command analyses: files, standard input, a live cluster, rendering."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, get_type_hints

from typer.core import TyperCommand
from typer.models import OptionInfo

from netpol.bulk import frozen_when_built
from netpol.cli.errors import _fail
from netpol.cli.options import (
    INPUT_PANEL,
    Cni,
    CniOption,
    Context,
    DefaultNamespace,
    Exclude,
    Files,
    HelmSet,
    HelmValues,
    IgnoreUnmodelled,
    Kubeconfig,
    Render,
    RenderMode,
    Staged,
    Verbose,
    app,
)
from netpol.cli.output import _note
from netpol.cli.progress_line import _phase
from netpol.errors import NetpolError, QueryError, name_list

if TYPE_CHECKING:
    from typer import _click  # typer's own click (typer 0.28 and later)

    from netpol.analyses.connectivity import Units
    from netpol.analyses.query import Analyzer
    from netpol.model import Cluster
    from netpol.sources import LoadResult
    from netpol.sources.cluster import ClusterRead
    from netpol.sources.render import Rendering


@dataclass(frozen=True)
class Source:
    """Where a command reads the cluster from (manifests with -f, else the live cluster) and how. Each field
    annotated with a typer option is an input option: `input_command` offers it on every command (in this
    order, under the help's Input heading), so that a new input option is one field here."""

    files: Files = None
    render: Render = RenderMode.auto  # Kustomize and Helm: render when the tool is on PATH
    helm_values: HelmValues = None
    helm_set: HelmSet = None
    exclude: Exclude = None  # globs of what directories hold that is not read
    default_namespace: DefaultNamespace = None  # for manifests that name none
    kubeconfig: Kubeconfig = None
    context: Context = None
    cni: Cni = None  # the dataplane profile (policies/profiles.py); None: recognised from the input
    cni_option: CniOption = None  # Cilium agent options, KEY=VALUE (policies/cilium.py parse_options)
    staged: Staged = False  # as if the staged Calico policies were applied
    # Objects that enforce traffic and that netpol does not evaluate: False to refuse to answer, True to answer
    # and say so, None for a command that states no reachability (they are named in a warning).
    ignore_unmodelled: IgnoreUnmodelled = False
    verbose: Verbose = False
    keep_texts: bool = False  # keep each input's text for field positions (lint, report): no input is read twice

    @property
    def rendering(self) -> Rendering:
        from netpol.sources.render import Rendering

        return Rendering(self.render is RenderMode.auto, tuple(self.helm_values or ()), tuple(self.helm_set or ()))


def _input_options() -> dict[str, Any]:
    """Source's fields that are options, each with its annotation (typer's option inside)."""
    hints = get_type_hints(Source, include_extras=True)
    return {f.name: hints[f.name] for f in fields(Source)
            if any(isinstance(m, OptionInfo) for m in getattr(hints[f.name], "__metadata__", ()))}


INPUT_OPTIONS = _input_options()
RENDERING = ("render", "helm_values", "helm_set")  # Kustomize and Helm, for commands that read charts under -f
LIVE = ("kubeconfig", "context")


class InputCommand(TyperCommand):
    """A command's help with its input options under their own heading, after its own options."""

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": [], f"{INPUT_PANEL} options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            heading = "Arguments" if param.param_type_name == "argument" else \
                f"{INPUT_PANEL} options" if getattr(param, "rich_help_panel", None) == INPUT_PANEL else "Options"
            sections[heading].append(record)
        for heading, records in sections.items():
            if records:
                with formatter.section(heading):
                    formatter.write_dl(records)


def input_command(name: str | None = None, *, omit: Collection[str] = (), only: Collection[str] | None = None,
                  **fixed: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a command that reads the input: it takes one `inputs: Source` parameter, and its command line
    offers Source's input options (all, those `only` names, or all but those it `omits` or sets in `fixed`)
    after its own. `fixed` sets fields that are no option of this command (keep_texts...)."""

    def register(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True)
        offered = [option for option in INPUT_OPTIONS
                   if option not in omit and option not in fixed and (only is None or option in only)]
        assert set(own.parameters) & set(offered) == set() and "inputs" in own.parameters, command.__name__
        defaults = {f.name: f.default for f in fields(Source)}
        parameters = [p for p in own.parameters.values() if p.name != "inputs"] + [
            inspect.Parameter(option, inspect.Parameter.KEYWORD_ONLY, default=defaults[option],
                              annotation=INPUT_OPTIONS[option]) for option in offered]

        @functools.wraps(command)
        def run(**values: Any) -> None:
            given = {option: values.pop(option) for option in offered}
            command(inputs=Source(**given, **fixed), **values)

        run.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        app.command(name, cls=InputCommand)(run)
        return command

    return register


KUBECONFIG_UNUSED = "--kubeconfig and --context choose the live cluster to read; with {other} they would be ignored"


def _load(source: Source, scope: list[str] | None = None) -> LoadResult:
    """Manifests when -f is given, else the live cluster (all namespaces, or `scope`)."""
    from netpol.policies import profiles
    from netpol.sources import load_manifests

    if source.files and (source.kubeconfig or source.context):
        _fail(KUBECONFIG_UNUSED.format(other="-f (manifests)"))
    with frozen_when_built():  # a short-lived process: the collector never re-walks millions of live objects
        if source.files:
            stdin_text = _stdin_text() if "-" in source.files else None
            with _phase("reading manifests"):
                result = load_manifests(source.files, stdin_text, source.keep_texts, source.default_namespace,
                                        source.rendering, source.exclude or ())
        else:
            if source.default_namespace is not None:
                raise QueryError("--default-namespace is for manifests that name no namespace: pass -f PATH")
            result = _read_live(source, scope).result
    result = profiles.apply(result, source.cni, tuple(source.cni_option or ()))
    if source.staged:
        result = _staged(result)
    _report(result, source.verbose)
    return _unmodelled(result, source.ignore_unmodelled)


def _staged(result: LoadResult) -> LoadResult:
    """--staged: the input as if its staged Calico policies were applied, said among the assumptions."""
    from netpol.policies.calico import calico_compiles, what_if_staged

    if not calico_compiles(result.cluster):
        raise QueryError("--staged answers as if Calico's staged policies were applied: it needs the calico "
                         "profile (--cni calico)")
    staged = sorted(p.key for p in result.calico.policies if p.staged)
    if not staged:
        _note("netpol: warning: --staged: the input holds no staged Calico policy")
    cluster = what_if_staged(result.cluster)
    note = f"what if: the staged Calico policies applied (--staged): {name_list(staged)}" if staged else \
        "what if: the staged Calico policies applied (--staged): there are none"
    return replace(result, cluster=replace(cluster, assumptions=(*cluster.assumptions, note)))


def _unmodelled(result: LoadResult, ignore: bool | None) -> LoadResult:
    """Refuse an answer that cannot see every enforcing object (UnmodelledError), or answer with them
    named as assumptions (docs/semantics.md §14)."""
    unmodelled = result.unmodelled
    if not unmodelled:
        return result
    if ignore is False:
        raise unmodelled.refusal(result.cluster.dataplane.profile)
    assumptions = unmodelled.assumptions()
    for line in assumptions if ignore else unmodelled.lines():
        _note(f"netpol: warning: {line}")
    if not ignore:
        return result
    return replace(result, cluster=replace(result.cluster, assumptions=(*result.cluster.assumptions, *assumptions)))


def _stdin_text() -> str:
    """Standard input for `-f -`, read once and decoded as UTF-8, like every file."""
    if sys.stdin is None:
        _fail("-f -: standard input is closed")
    try:
        data = sys.stdin.buffer.read()
    except OSError as exc:
        _fail(f"-f -: cannot read standard input: {exc.strerror or exc}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(f"<stdin>: not UTF-8 text (byte {exc.start})")


def _read_live(source: Source, scope: list[str] | None) -> ClusterRead:
    from netpol.progress import report
    from netpol.sources.cluster import read_cluster  # the kubernetes client costs 0.3 s to import: only when used

    counts: dict[str, int] = {}

    def seen(kind: str, count: int) -> None:
        counts[kind] = count
        report(f"{sum(counts.values()):,} objects, {count:,} {kind}")

    with _phase("reading the cluster"):
        return read_cluster(source.kubeconfig, source.context, scope, seen)


def _report(result: LoadResult, verbose: bool) -> None:
    for diag in result.diagnostics:
        if diag.severity != "note" or verbose:
            _note(f"netpol: {diag}")
    if result.others:
        _note(f"netpol: ignored {len(result.others)} object(s) of other kinds: {result.ignored_summary()}"
              + ("" if verbose else " (--verbose lists them)"))
        if verbose:
            for obj in result.others:
                _note(f"netpol:   {obj.location}: {obj.kind} ({obj.api_version}) {obj.name}")


NO_PODS_HINT = ("pass the manifests that create the pods too (Deployments, StatefulSets, ...; for a chart: "
                 "helm template ... | netpol ... -f -), or a snapshot of the cluster (netpol snapshot); or ask "
                 "about every possible pod: netpol list, exposure, diff")


def _analyze(source: Source, scope: list[str] | None = None, warn_no_pods: bool = False) -> Analyzer:
    return _compile(_load(source, scope), warn_no_pods)


def _compile(loaded: LoadResult, warn_no_pods: bool = False) -> Analyzer:
    from netpol.analyses.query import Analyzer

    cluster = loaded.cluster
    if warn_no_pods and (cluster.policies or cluster.tiered) and not cluster.pods:
        tiered = f" and {len(cluster.tiered)} Admin or Baseline policies" if cluster.tiered else ""
        _note(f"netpol: warning: the input has {len(cluster.policies)} NetworkPolicies{tiered} but no pods or "
              f"workloads, so there is no connection to show; {NO_PODS_HINT}")
    with _phase(f"compiling {len(cluster.pods):,} pods and {len(cluster.policies) + len(cluster.tiered):,} policies"), \
            frozen_when_built():
        analyzer = Analyzer(cluster)
    return analyzer


def _check_namespaces(cluster: Cluster, namespaces: Iterable[str] | None) -> None:
    """The one rule for -n NS, in every command: a namespace the input does not know is an error, never an
    empty answer. Known: declared, holding an object, or named by a selector (regions.named_namespaces)."""
    import difflib

    from netpol.analyses.regions import named_namespaces

    known = named_namespaces(cluster)
    unknown = sorted(set(namespaces or ()) - known)
    if not unknown:
        return
    guess = difflib.get_close_matches(unknown[0], known, 1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    where = f"the input knows {name_list(list(known), 5)}" if known else "the input names no namespace"
    _fail(f"unknown namespace(s) for -n: {name_list(unknown, 5)}{hint}; {where}")


def _with_input_only_hint(exc: NetpolError) -> str:
    """The error's message; for too many possible pods, with the way to answer for the input's pods alone."""
    from netpol.analyses.label_space import RegionLimitError

    if isinstance(exc, RegionLimitError):
        return f"{exc}; or answer for the input's pods alone with --input-only"
    return str(exc)


def _graph_world(analyzer: Analyzer, input_only: bool) -> Analyzer:
    """For the graph: the analyzer with every possible pod beside the input's, or as it is with
    `input_only`; the assumptions go to stderr either way. With too many possible pods the picture is of
    the input alone and says so, in a note and in its anchors' labels ("any pod of the input")."""
    from netpol.analyses.connectivity import INPUT_ONLY_NOTE
    from netpol.analyses.query import Analyzer
    from netpol.analyses.label_space import RegionLimitError

    if input_only:
        _note(f"netpol: note: {INPUT_ONLY_NOTE}")
        return analyzer
    with _phase("adding every possible pod"):
        try:
            grown = Analyzer.with_possible(analyzer.cluster)
        except RegionLimitError as exc:
            _note(f"netpol: note: {exc}; so the picture's 'any pod' nodes stand for the input's pods, and say so "
                  "('any pod of the input')")
            return analyzer
    assert grown.possible is not None
    for note in grown.possible.notes():
        _note(f"netpol: note: {note}")
    return grown


def _units(source: Source, input_only: bool, asked: Iterable[str], namespaces: list[str] | None,
           focus: Callable[[Cluster], Collection[str] | None] | None = None) -> Units:
    """The endpoints to answer about: the input's pods and every possible pod, or with `input_only` the
    input's pods alone. Too many possible pods is an error that says so, never a quiet fallback. `focus`:
    the namespaces whose pods' connections the answer is about (Units.of), from the cluster."""
    return _units_of(_load(source).cluster, input_only, asked, namespaces, focus)


def _units_of(cluster: Cluster, input_only: bool, asked: Iterable[str], namespaces: list[str] | None,
              focus: Callable[[Cluster], Collection[str] | None] | None = None, limited: bool = False) -> Units:
    """`_units` of a loaded cluster; with `limited`, too many possible pods raises RegionLimitError as it is,
    for a caller that answers a part at a time."""
    from netpol.analyses.connectivity import Units
    from netpol.analyses.label_space import RegionLimitError

    _check_namespaces(cluster, namespaces)
    if input_only and not cluster.pods:
        raise QueryError("the input has no pods or workloads, so --input-only leaves nothing to answer about; "
                         "without it, every possible pod is answered for")
    policies = len(cluster.policies) + len(cluster.tiered)
    with _phase(f"compiling {len(cluster.pods):,} pods and {policies:,} policies"
                + ("" if input_only else ", with every possible pod")):
        try:
            units = Units.of(cluster, not input_only, asked, focus(cluster) if focus is not None else None)
        except NetpolError as exc:
            if limited and isinstance(exc, RegionLimitError):
                raise
            raise QueryError(_with_input_only_hint(exc)) from None
    for note in units.notes:
        _note(f"netpol: note: {note}")
    return units
