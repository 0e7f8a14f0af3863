"""Reading the input every command analyses: files, standard input, a live cluster, rendering."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netpol.bulk import frozen_when_built
from netpol.cli.errors import _fail
from netpol.cli.options import RenderMode
from netpol.cli.output import _note
from netpol.cli.progress_line import _phase
from netpol.errors import NetpolError, QueryError, name_list

if TYPE_CHECKING:
    from netpol.analyses.connectivity import Units
    from netpol.analyses.query import Analyzer
    from netpol.model import Cluster
    from netpol.sources import LoadResult
    from netpol.sources.cluster import ClusterRead
    from netpol.sources.render import Rendering


@dataclass(frozen=True)
class Source:
    """Where a command reads the cluster from: manifests (-f), else the live cluster."""

    files: list[str] | None = None
    kubeconfig: str | None = None
    context: str | None = None
    verbose: bool = False
    keep_texts: bool = False  # keep each input's text for field positions (lint, report): no input is read twice
    default_namespace: str | None = None  # for manifests that name none (--default-namespace)
    # Objects that enforce traffic and that netpol does not evaluate: None for a command that states no
    # reachability (they are named in a warning), False to refuse to answer, True to answer and say so.
    ignore_unmodelled: bool | None = None
    rendering: Rendering | None = None  # Kustomize and Helm (default: render when the tool is on PATH)
    exclude: list[str] | None = None  # --exclude: globs of what directories hold that is not read
    cni: str | None = None  # --cni: the dataplane profile (policies/profiles.py); None: recognised from the input
    calico: bool = False  # the command evaluates Calico's own kinds under the calico profile (else: unmodelled)
    staged: bool = False  # --staged: as if the staged Calico policies were applied


def _rendering(mode: RenderMode, helm_values: list[str] | None, helm_set: list[str] | None) -> Rendering:
    from netpol.sources.render import Rendering

    return Rendering(mode is RenderMode.auto, tuple(helm_values or ()), tuple(helm_set or ()))


KUBECONFIG_UNUSED = "--kubeconfig and --context choose the live cluster to read; with {other} they would be ignored"


def _load(source: Source, scope: list[str] | None = None) -> LoadResult:
    """Manifests when -f is given, else the live cluster (all namespaces, or `scope`)."""
    from netpol.policies import profiles
    from netpol.sources import load_manifests
    from netpol.sources.render import AUTO

    if source.files and (source.kubeconfig or source.context):
        _fail(KUBECONFIG_UNUSED.format(other="-f (manifests)"))
    with frozen_when_built():  # a short-lived process: the collector never re-walks millions of live objects
        if source.files:
            stdin_text = _stdin_text() if "-" in source.files else None
            with _phase("reading manifests"):
                result = load_manifests(source.files, stdin_text, source.keep_texts, source.default_namespace,
                                        source.rendering or AUTO, source.exclude or ())
        else:
            if source.default_namespace is not None:
                raise QueryError("--default-namespace is for manifests that name no namespace: pass -f PATH")
            result = _read_live(source, scope).result
    result = profiles.apply(result, source.cni, source.calico)
    if source.staged:
        result = _staged(result)
    _report(result, source.verbose)
    return _unmodelled(result, source.ignore_unmodelled)


def _staged(result: LoadResult) -> LoadResult:
    """--staged: the input as if its staged Calico policies were applied, said among the assumptions."""
    from netpol.policies.calico import calico_compiles, what_if_staged

    if not calico_compiles(result.cluster):
        raise QueryError("--staged answers as if Calico's staged policies were applied: it needs Calico objects "
                         "under the calico profile (--cni calico)")
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
