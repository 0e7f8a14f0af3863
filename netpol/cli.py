"""The `netpol` command: a thin typer layer over the library.

This is the only module that prints or exits. Exit codes: 0 success /
allowed, 1 denied / failed / changed, 2 usage, input or environment error
(an answer standard output cannot take), 3 internal error (see
docs/cli.md). A crash must never look like a verdict.
"""

from __future__ import annotations

import codecs
import errno
import io
import ipaddress
import json
import os
import re
import select
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

try:  # typer >= 0.29 vendors click; older releases use click itself
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import ClickException  # type: ignore[assignment,no-redef,import-not-found,unused-ignore]

from netpol.bulk import frozen_when_built
from netpol.errors import NetpolError, QueryError
from netpol.render.text import terminal_safe

# The library, rich, yaml, numpy, networkx and graphviz are imported by the commands that use them, so
# that `netpol --help` and a small `can-reach` start fast.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from netpol.connectivity import Units
    from netpol.diagram import Diagram
    from netpol.model import Cluster
    from netpol.portsets import Protocol
    from netpol.query import Analyzer
    from netpol.replay import Replayer
    from netpol.selectors import Scope
    from netpol.sources import LoadResult
    from netpol.sources.cluster import ClusterRead
    from netpol.sources.flows import Progress as FlowProgress
    from netpol.sources.render import Rendering

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
DEBUG_FLAG = "--debug"
LARGE_GRAPH_EDGES = 1000  # beyond this, dot's layout takes minutes (docs/cli.md#netpol-graph)

app = typer.Typer(
    name="netpol",
    help="Analyse Kubernetes NetworkPolicies: who can reach whom, on which ports, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no <bool>/<list[str]> type labels; every option has a metavar
)


class TextFormat(StrEnum):
    """For can-reach and check."""

    text = "text"
    json = "json"


class MatrixFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


class ExplainFormat(StrEnum):
    table = "table"
    json = "json"


class GraphFormat(StrEnum):
    dot = "dot"
    svg = "svg"
    png = "png"
    mermaid = "mermaid"
    md = "md"  # Markdown: the Mermaid flowchart in a ```mermaid block, as GitHub renders it


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"
    html = "html"


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


class RenderMode(StrEnum):
    auto = "auto"
    never = "never"


class ProtocolName(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class ProbeProtocol(StrEnum):
    """What can-reach and matrix probe: a port protocol, or ICMP and ICMPv6 (a type and code)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"
    ICMP = "ICMP"
    ICMPv6 = "ICMPv6"


Files = Annotated[
    list[str] | None,
    typer.Option("--filename", "-f", metavar="PATH", help="Manifest file, directory (recursive) or '-' for stdin. "
                 "Repeatable. Without it, the live cluster is read."),
]
Render = Annotated[RenderMode, typer.Option(
    "--render", metavar="auto|never", help="auto: render a Kustomize directory or Helm chart under -f with "
    "kustomize build, kubectl kustomize or helm template when on PATH; never: do not (a hint, or a warning).")]
HelmValues = Annotated[list[str] | None, typer.Option(
    "--helm-values", metavar="FILE", help="Values for helm template (its --values). Repeatable.")]
HelmSet = Annotated[list[str] | None, typer.Option(
    "--helm-set", metavar="K=V", help="A value for helm template (its --set). Repeatable.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="List objects of kinds netpol does not analyse.")]
Kubeconfig = Annotated[str | None, typer.Option(
    "--kubeconfig", metavar="FILE", help="The kube config file for reading a live cluster (without -f; check: with "
    "--live), instead of $KUBECONFIG's files (merged) or else ~/.kube/config. With none of them, inside a pod: its "
    "service account.")]
Context = Annotated[str | None, typer.Option("--context", metavar="NAME",
                                             help="The kube config's context to read (default: its current-context).")]
Exclude = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", help="Leave out what a directory under -f holds and GLOB matches: a name at any "
    "depth (*.test.yaml, charts), or with a '/' a path below that directory (legacy/*). Repeatable; named on stderr.")]
DefaultNamespace = Annotated[str | None, typer.Option(
    "--default-namespace", metavar="NS", help="Namespace for manifests that name none, as 'kubectl apply -n NS' "
    "gives it (default: default). Objects that name one keep it.")]
Namespaces = Annotated[
    list[str] | None, typer.Option("--namespace", "-n", metavar="NS", help="Only these namespaces. Repeatable.")
]
Force = Annotated[bool, typer.Option("--force", help="Write the output file even where its path is a symbolic "
                                     "link (to the file the link points to).")]
IgnoreUnmodelled = Annotated[bool, typer.Option(
    "--ignore-unmodelled", help="Answer even though the input holds objects that allow or deny traffic and "
    "that netpol does not evaluate (Cilium, Calico, Antrea, Istio... see docs/semantics.md), or a policy kind "
    "it could not read; every answer then names them among its assumptions.")]
Cni = Annotated[str | None, typer.Option(
    "--cni", metavar="NAME[:VERSION]", help="The network plugin that enforces the policies: generic (the API's "
    "answers), cilium or calico, at its newest release netpol knows or at VERSION (netpol --version lists them). "
    "Default: the plugin a live cluster runs, or whose kinds the files hold; else generic (docs/cli.md).")]
ProtocolOpt = Annotated[ProtocolName, typer.Option("--protocol", metavar="TCP|UDP|SCTP", case_sensitive=False,
                                                   help="The protocol.")]
IcmpType = Annotated[int | None, typer.Option(
    "--icmp-type", metavar="TYPE", help="With --protocol ICMP or ICMPv6: the message type, 0-255.")]
IcmpCode = Annotated[int | None, typer.Option(
    "--icmp-code", metavar="CODE", help="With --icmp-type: the message code, 0-255 (default 0).")]


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 100_000)


_VERDICT = re.compile(r"^( *)(ALLOWED|DENIED|PASS|FAIL|ERROR|ALL|SOME|NONE)\b", re.MULTILINE)
_COLOURS = {"ALLOWED": "32", "PASS": "32", "ALL": "32", "DENIED": "31", "FAIL": "31", "ERROR": "31", "NONE": "31",
            "SOME": "33"}


def _colour() -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _say(text: str) -> None:
    """Text for standard output: made safe, verdict words coloured on a terminal."""
    text = terminal_safe(text)
    if _colour():
        text = _VERDICT.sub(lambda m: f"{m.group(1)}\x1b[1;{_COLOURS[m.group(2)]}m{m.group(2)}\x1b[0m", text)
    sys.stdout.write(text)


def _note(message: str) -> None:
    """One line on standard error (above the progress line while one is shown)."""
    if _LIVE:
        from rich.text import Text

        _LIVE[0].display.console.print(Text(terminal_safe(message)), soft_wrap=True)
        return
    sys.stderr.write(terminal_safe(message) + "\n")


PROGRESS_VAR = "NETPOL_PROGRESS"  # 0: no progress line, even on a terminal
NO_PROGRESS_FLAG = "--no-progress"
PROGRESS_LINES = 1000  # lines of an answer between two reports of how much is written


@dataclass(frozen=True)
class _Line:
    """The progress line while a phase runs: a rich display with one task, whose text says what and how far."""

    display: Progress
    task: TaskID

    def show(self, text: str) -> None:
        self.display.update(self.task, description=terminal_safe(text))

    @property
    def text(self) -> str:
        return self.display.tasks[0].description


_LIVE: list[_Line] = []  # the line, while one is shown
_QUIET: list[bool] = []  # --no-progress was given


def _stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


def _progress_shown() -> bool:
    """The progress line is for a person at a terminal: standard error is one, and neither --no-progress nor
    NETPOL_PROGRESS=0 (nor TERM=dumb) turns it off. Piped or redirected, nothing is shown."""
    return (not _QUIET and os.environ.get(PROGRESS_VAR) != "0" and os.environ.get("TERM") != "dumb"
            and _stderr_is_terminal())


@contextmanager
def _phase(message: str) -> Iterator[None]:
    """While a phase runs (seconds on a large input), a transient line on standard error: a spinner, what netpol
    does and how far (the library's reports, netpol.progress), and the time taken. A phase inside another takes
    the line over and gives it back. rich is imported only here, when the line is shown."""
    from netpol.progress import listener

    if not _progress_shown():
        yield
        return
    if _LIVE:
        line, outer = _LIVE[0], _LIVE[0].text
        line.show(message)
        try:
            with listener(lambda how_far: line.show(f"{message}: {how_far}")):
                yield
        finally:
            line.show(outer)
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    console = Console(stderr=True, force_terminal=True, highlight=False)
    with Progress(SpinnerColumn(), TextColumn("netpol: {task.description}", markup=False,
                                              table_column=Column(no_wrap=True, overflow="ellipsis")),
                  TimeElapsedColumn(), console=console, transient=True, redirect_stdout=False,
                  redirect_stderr=False) as display:
        line = _Line(display, display.add_task(terminal_safe(message), total=None))
        _LIVE.append(line)
        try:
            with listener(lambda how_far: line.show(f"{message}: {how_far}")):
                yield
        finally:
            _LIVE.clear()


class OutputFailed(Exception):
    """Standard output cannot take the answer (a full disk, a closed descriptor, an encoding without one of its
    characters): an environment error, exit 2. A reader that stopped reading (`| head`) is not one."""


class _Stream(io.RawIOBase):
    """Standard output or error for the whole run, so that a failed write is never a verdict nor a crash.

    When the reader closes the pipe (EPIPE), the rest of the output is dropped and netpol ends with its
    verdict's exit code. Any other failure of standard output raises OutputFailed once. Diagnostics that
    standard error cannot take are dropped: they never change the exit code. After a failure every write is
    dropped, so Python's final flush cannot fail again (it would exit 120)."""

    def __init__(self, fd: int, name: str, fatal: bool) -> None:
        super().__init__()
        self.fd, self.name, self.fatal = fd, name, fatal
        self.reader_left = False
        self.failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data)
        while not (self.reader_left or self.failed):
            try:
                return os.write(self.fd, data)
            except BlockingIOError:  # a descriptor left non-blocking by the parent: wait until it takes more
                select.select([], [self.fd], [])
            except BrokenPipeError:
                self.reader_left = True
            except OSError as exc:
                self.failed = True
                if self.fatal:
                    reason = "it is closed" if exc.errno == errno.EBADF else exc.strerror or str(exc)
                    raise OutputFailed(f"cannot write to {self.name}: {reason}") from None
        return size


def _unencodable(exc: UnicodeError) -> tuple[str, int]:
    """The error handler of standard output: a character its encoding lacks is an environment error."""
    assert isinstance(exc, UnicodeEncodeError)
    char = exc.object[exc.start]
    raise OutputFailed(f"cannot write to standard output: its encoding ({exc.encoding}) has no character "
                       f"U+{ord(char):04X}; use a UTF-8 locale or PYTHONIOENCODING=utf-8")


codecs.register_error("netpol-stdout", _unencodable)


def _guard_streams() -> None:
    """Put _Stream under the process's standard output and error (not under a test's capture). A descriptor
    that was closed (`>&-`, `2>&-`, `<&-`) first gets /dev/null, so that no file netpol opens later takes its
    number; writes to a closed standard output still fail (it is opened read-only)."""
    for fd, name, mode in ((0, "stdin", os.O_WRONLY), (1, "stdout", os.O_RDONLY), (2, "stderr", os.O_WRONLY)):
        stream = getattr(sys, name)
        if stream is not getattr(sys, f"__{name}__"):
            continue
        if stream is None:
            null = os.open(os.devnull, mode)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if fd == 0:
            continue  # reading standard input checks it (_stdin_text)
        raw = _Stream(fd, "standard output" if fd == 1 else "standard error", fatal=fd == 1)
        setattr(sys, name, io.TextIOWrapper(
            io.BufferedWriter(raw, 1 << 16), encoding=stream.encoding if stream else "utf-8",
            errors="netpol-stdout" if fd == 1 else "backslashreplace",
            line_buffering=stream.line_buffering if stream else fd == 2))


def _reader_left() -> bool:
    """True once the reader of standard output has closed it: the rest of a long output need not be made."""
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", None)
    return isinstance(raw, _Stream) and raw.reader_left


def _fail(message: str) -> NoReturn:
    _note(f"netpol: error: {message}")
    raise typer.Exit(EXIT_ERROR)


@contextmanager
def _user_errors() -> Iterator[None]:
    """The one place where library errors become a message and exit code 2."""
    try:
        yield
    except NetpolError as exc:
        _fail(str(exc))


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
    cni: str | None = None  # --cni: the dataplane profile (netpol/profiles.py); None: recognised from the input


def _rendering(mode: RenderMode, helm_values: list[str] | None, helm_set: list[str] | None) -> Rendering:
    from netpol.sources.render import Rendering

    return Rendering(mode is RenderMode.auto, tuple(helm_values or ()), tuple(helm_set or ()))


KUBECONFIG_UNUSED = "--kubeconfig and --context choose the live cluster to read; with {other} they would be ignored"


def _load(source: Source, scope: list[str] | None = None) -> LoadResult:
    """Manifests when -f is given, else the live cluster (all namespaces, or `scope`)."""
    from netpol import profiles
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
    result = profiles.apply(result, source.cni)
    _report(result, source.verbose)
    return _unmodelled(result, source.ignore_unmodelled)


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


@contextmanager
def _replay_progress(name: str, replayer: Replayer) -> Iterator[FlowProgress]:
    """Replay's progress line: the file's lines read, the records (flows) and connections so far, and the
    rate."""
    import time

    from netpol.progress import report

    started = time.monotonic()

    def show(lines: int) -> None:
        rate = lines / max(time.monotonic() - started, 1e-3)
        report(f"{lines:,} lines, {replayer.records:,} records, {replayer.connections:,} connections, "
               f"{rate:,.0f} lines/s")

    with _phase(f"replaying {name}"):
        yield show


NO_PODS_HINT = ("pass the manifests that create the pods too (Deployments, StatefulSets, ...; for a chart: "
                 "helm template ... | netpol ... -f -), or a snapshot of the cluster (netpol snapshot); or ask "
                 "about every possible pod: netpol list, exposure, diff")


def _analyze(source: Source, scope: list[str] | None = None, warn_no_pods: bool = False) -> Analyzer:
    return _compile(_load(source, scope), warn_no_pods)


def _compile(loaded: LoadResult, warn_no_pods: bool = False) -> Analyzer:
    from netpol.query import Analyzer

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

    from netpol.errors import name_list
    from netpol.regions import named_namespaces

    known = named_namespaces(cluster)
    unknown = sorted(set(namespaces or ()) - known)
    if not unknown:
        return
    guess = difflib.get_close_matches(unknown[0], known, 1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    where = f"the input knows {name_list(list(known), 5)}" if known else "the input names no namespace"
    _fail(f"unknown namespace(s) for -n: {name_list(unknown, 5)}{hint}; {where}")


def _endpoint_namespaces(endpoints: Iterable[str], default: str) -> list[str] | None:
    """The namespaces a live read needs for a can-reach question; None (all) when an endpoint is an IP."""
    from netpol.model import SERVICE_REF
    from netpol.query import endpoint_key

    out = set()
    for text in endpoints:
        service = SERVICE_REF.match(text)
        if service is not None:
            out.add(service.group(1) or default)
            continue
        try:
            ipaddress.ip_address(text)
            return None
        except ValueError:
            pass
        out.add(endpoint_key(text, default).split("/", 1)[0])
    return sorted(out)


def _write(chunks: Iterable[str]) -> None:
    """The answer on standard output, as it is made (a large matrix is computed row by row while written). Into
    a file or a pipe, with a progress line counting what is written; on a terminal the answer shows itself."""
    from netpol.progress import report

    lines = 0
    with nullcontext() if sys.stdout.isatty() else _phase("writing the answer"):
        for chunk in chunks:
            if _reader_left():
                break
            sys.stdout.write(terminal_safe(chunk))
            counted = lines + chunk.count("\n")
            if counted // PROGRESS_LINES != lines // PROGRESS_LINES:
                report(f"{counted:,} lines")
            lines = counted


@app.command("can-reach")
def can_reach(
    source: Annotated[
        str, typer.Argument(metavar="SRC", help="ns/pod, pod (in -n), ns/deployment/NAME, or an IP address.")
    ],
    destination: Annotated[str, typer.Argument(
        metavar="DST", help="As SRC, or a Service: svc/NAME:PORT or NS/svc/NAME:PORT (PORT: number or name)."
    )],
    port: Annotated[
        str | None, typer.Option("--port", "-p", metavar="PORT",
                                 help="Port number, or a port name of DST. Not for a Service.")
    ] = None,
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
    protocol: Annotated[ProbeProtocol, typer.Option(
        "--protocol", metavar="TCP|UDP|SCTP|ICMP|ICMPv6", case_sensitive=False,
        help="The protocol. ICMP and ICMPv6 take --icmp-type (default: echo request, 8 or 128), not --port.")
    ] = ProbeProtocol.TCP,
    icmp_type: IcmpType = None,
    icmp_code: IcmpCode = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", metavar="NS",
                                           help="Namespace for bare pod names.")] = "default",
    output: Annotated[TextFormat, typer.Option("--output", "-o", metavar="text|json", help="Output format.")
                      ] = TextFormat.text,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
) -> None:
    """Can SRC open a connection to DST on PORT (or send it an ICMP message)? Exit 0 allowed, 1 denied, 2 error.

    For a Service, every backing pod is checked: exit 0 when all are reachable, 1 when some or none are.

    \b
    Examples:
      netpol can-reach default/test-2 default/apiserver --port 80 -f fixtures/limit
      netpol can-reach shop/deployment/web svc/db:5432 -f k8s/
      netpol can-reach shop/web shop/db --protocol ICMP --icmp-type 8 -f k8s/
    """
    from netpol.model import SERVICE_REF
    from netpol.render.verdict import service_json, service_text, verdict_json, verdict_text
    from netpol.selectors import parse_scope

    try:
        scopes = [s for s in (parse_scope(source), parse_scope(destination)) if s is not None]
    except ValueError as exc:
        _fail(str(exc))
    icmp = _icmp_probe(protocol.value, port is not None, icmp_type, icmp_code, echo_default=True)
    probe: int | str | None = icmp if icmp is not None else port
    if scopes:
        if probe is None:
            _fail("--port is required")
        _can_reach_possible(source, destination, probe, protocol.value, namespace, output,
                            Source(files, kubeconfig, context, verbose,
                                   default_namespace=default_namespace, exclude=exclude,
                                   ignore_unmodelled=ignore_unmodelled,
                                   rendering=_rendering(render, helm_values, helm_set), cni=cni),
                            scopes)
    service = SERVICE_REF.match(destination)
    if service is not None and icmp is not None:
        _fail(f"{protocol.value} has no ports, so a Service does not carry it: ask about its pods")
    if service is not None and port is not None:
        _fail("a Service destination takes its port as svc/NAME:PORT, not --port")
    if service is None and probe is None:
        _fail("--port is required (or DST is a Service: svc/NAME:PORT)")
    with _user_errors():
        inputs = Source(files, kubeconfig, context, verbose,
                        default_namespace=default_namespace, exclude=exclude, ignore_unmodelled=ignore_unmodelled,
                        rendering=_rendering(render, helm_values, helm_set), cni=cni)
        analyzer = _analyze(inputs, _endpoint_namespaces((source, destination), namespace))
        if service is not None:
            sv = analyzer.can_reach_service(source, destination, protocol.value, namespace)
            _say((service_json(sv) if output is TextFormat.json else service_text(sv)) + "\n")
            raise typer.Exit(EXIT_OK if sv.summary == "all" else EXIT_DENIED)
        assert probe is not None
        verdict = analyzer.can_reach(source, destination, probe, protocol.value, namespace)
    _say((verdict_json(verdict) if output is TextFormat.json else verdict_text(verdict)) + "\n")
    raise typer.Exit(EXIT_OK if verdict.allowed else EXIT_DENIED)


def _can_reach_possible(source: str, destination: str, port: int | str, protocol: str, namespace: str,
                        output: TextFormat, inputs: Source, scopes: list[Scope]) -> NoReturn:
    """can-reach where an endpoint is `NS{labels}`: every possible such pod, each region answered."""
    from netpol.portsets import probe_text
    from netpol.query import Analyzer
    from netpol.render.verdict import possible_json, possible_text

    with _user_errors():
        cluster = _load(inputs).cluster
        with _phase("adding every possible pod"):
            analyzer = Analyzer.with_possible(cluster, scopes)
        verdicts = [analyzer.can_reach(s, d, port, protocol)
                    for s in analyzer.endpoints(source, namespace) for d in analyzer.endpoints(destination, namespace)]
    assert analyzer.possible is not None
    for note in analyzer.possible.notes():
        _note(f"netpol: note: {note}")
    label = probe_text(protocol, port) if isinstance(port, int) else f"{protocol}/{port}"  # type: ignore[arg-type]
    text = possible_json(verdicts) if output is TextFormat.json else possible_text(verdicts, source, destination, label)
    _say(text + "\n")
    raise typer.Exit(EXIT_OK if all(v.allowed for v in verdicts) else EXIT_DENIED)


def _icmp_probe(protocol: str, has_port: bool, icmp_type: int | None, icmp_code: int | None,
                echo_default: bool) -> int | None:
    """The ICMP type and code asked about (portsets.icmp_value), None for a port protocol; without --icmp-type,
    the echo request when `echo_default` (what ping sends: 8 for ICMP, 128 for ICMPv6), else None."""
    from netpol.portsets import ECHO_REQUEST, MAX_ICMP, icmp_value, is_icmp

    if not is_icmp(protocol):
        if icmp_type is not None or icmp_code is not None:
            _fail("--icmp-type and --icmp-code are for --protocol ICMP or ICMPv6")
        return None
    if has_port:
        _fail(f"{protocol} has no ports: give --icmp-type (and --icmp-code) instead of --port")
    if icmp_type is None and icmp_code is not None:
        _fail("--icmp-code needs --icmp-type")
    for option, value in (("--icmp-type", icmp_type), ("--icmp-code", icmp_code)):
        if value is not None and not 0 <= value <= MAX_ICMP:
            _fail(f"{option} {value} is outside 0-{MAX_ICMP}")
    if icmp_type is None and not echo_default:
        return None
    return icmp_value(ECHO_REQUEST[protocol] if icmp_type is None else icmp_type, icmp_code or 0)  # type: ignore[index]


@app.command()
def matrix(
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
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
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
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
        analyzer = _analyze(Source(files, kubeconfig, context, verbose,
                                   default_namespace=default_namespace, exclude=exclude,
                                   ignore_unmodelled=ignore_unmodelled,
                                   rendering=_rendering(render, helm_values, helm_set), cni=cni),
                            namespace, warn_no_pods=True)
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


@app.command()
def explain(
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
    namespace: Namespaces = None,
    output: Annotated[ExplainFormat, typer.Option("--output", "-o", metavar="table|json",
                                                  help="Output format.")] = ExplainFormat.table,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    cni: Cni = None,
) -> None:
    """What each policy does, in evaluation order: Admin tier, NetworkPolicies, Baseline tier.

    \b
    Example:
      netpol explain -f k8s/ -n payments
    """
    from netpol.render.explain import WIDE, explain_json, explain_text

    with _user_errors():
        analyzer = _analyze(Source(files, kubeconfig, context, verbose, default_namespace=default_namespace,
                                   exclude=exclude, rendering=_rendering(render, helm_values, helm_set), cni=cni),
                            namespace)
        _check_namespaces(analyzer.cluster, namespace)
        with _phase(f"explaining {len(analyzer.cluster.policies) + len(analyzer.cluster.tiered):,} policies"):
            summaries, tiers = analyzer.explain(namespace), analyzer.explain_tiers(namespace)
    if output is ExplainFormat.json:
        _say(explain_json(summaries, tiers) + "\n")
    else:
        console = _stdout()
        console.print(explain_text(summaries, console.width if console.is_terminal else WIDE, tiers))


@app.command()
def graph(
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
    out: Annotated[
        str | None, typer.Option("--output", "-o", metavar="FILE", help="Write here; the extension picks the format.")
    ] = None,
    fmt: Annotated[
        GraphFormat | None, typer.Option("--format", metavar="dot|svg|png|mermaid|md",
                                         help="The format (default: from -o, else dot).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", metavar="PORT", help="Draw one probe; without it, edges list ports.")
    ] = None,
    protocol: ProtocolOpt = ProtocolName.TCP,
    namespace: Namespaces = None,
    focus: Annotated[
        str | None, typer.Option("--focus", metavar="NS/POD", help="Only who can reach this pod and whom it reaches.")
    ] = None,
    input_only: InputOnly = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    force: Force = False,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
) -> None:
    """Draw the allow-graph as DOT, SVG or PNG (SVG and PNG need Graphviz's `dot`), or as a Mermaid flowchart.

    \b
    Example:
      netpol graph -f k8s/ -n payments -o payments.svg
      netpol graph -f k8s/ -n payments -o payments.mmd
    """
    from netpol.render.graph import MERMAID_MAX_EDGES, diagram_dot, diagram_mermaid, render_image

    chosen = fmt or _format_from_name(out)
    if chosen in (GraphFormat.svg, GraphFormat.png) and out is None and sys.stdout.isatty():
        _fail(f"{chosen.value} is binary or long; write it to a file with -o FILE")
    if out is not None:
        _output_path(out, force)
    with _user_errors():
        source = Source(files, kubeconfig, context, verbose,
                        default_namespace=default_namespace, exclude=exclude, ignore_unmodelled=ignore_unmodelled,
                        rendering=_rendering(render, helm_values, helm_set), cni=cni)
        analyzer = _analyze(source, None if focus else namespace, warn_no_pods=True)
        _check_namespaces(analyzer.cluster, namespace)
        if analyzer.cluster.pods:  # the anchors ("any pod ...") must hold for every pod that could exist
            analyzer = _graph_world(analyzer, input_only)
        with _phase(f"grouping the allow-graph of {len(analyzer.engine.classes):,} classes"):
            diagram = analyzer.diagram(port, protocol.value, namespace, focus)
        if chosen in (GraphFormat.mermaid, GraphFormat.md):
            if len(diagram.edges) > MERMAID_MAX_EDGES:
                _note(f"netpol: note: {len(diagram.edges)} edges; Mermaid (and GitHub) draw at most "
                      f"{MERMAID_MAX_EDGES} by default (-n NS or --focus NS/POD draws less)")
            text = diagram_mermaid(diagram)
            data = (f"```mermaid\n{text}```\n" if chosen is GraphFormat.md else text).encode()
        else:
            dot = diagram_dot(diagram)
            if chosen is not GraphFormat.dot and len(diagram.edges) > LARGE_GRAPH_EDGES:
                _note(f"netpol: note: {len(diagram.edges)} edges to lay out; Graphviz may take minutes "
                      "(-n NS or --focus NS/POD draws less)")
            with _phase(f"laying out {len(diagram.edges):,} edges with Graphviz"):
                data = dot.encode() if chosen is GraphFormat.dot else render_image(dot, chosen.value)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        _write_file(out, data, force)


def _format_from_name(out: str | None) -> GraphFormat:
    if out is None:
        return GraphFormat.dot
    suffix = _suffix(out)
    try:
        return GraphFormat.mermaid if suffix in ("mmd", "mermaid") else GraphFormat(suffix)
    except ValueError:
        _fail(f"cannot tell the format of {out!r} from its extension: use .dot, .svg, .png, .mmd or .md, "
              "or --format")


@app.command()
def check(
    intents: Annotated[list[str], typer.Argument(
        metavar="INTENT", help="Intent files (docs/intent.md), or directories of *.intent.yaml files.")],
    files: Annotated[
        list[str] | None,
        typer.Option("--filename", "-f", metavar="PATH", help="Manifests for every intent file, instead of each "
                     "file's own 'manifests'. Repeatable."),
    ] = None,
    output: Annotated[TextFormat, typer.Option("--output", "-o", metavar="text|json",
                                               help="Output format.")] = TextFormat.text,
    junit: Annotated[str | None, typer.Option("--junit", metavar="FILE", help="Also write JUnit XML here.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Check against the live cluster, not the manifests.")] = False,
    allow_outside_repo: Annotated[bool, typer.Option(
        "--allow-outside-repo", help="Let intent files name manifests outside their git repository.")] = False,
    input_only: InputOnly = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    force: Force = False,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
) -> None:
    """Check intent files against manifests or the live cluster. Exit 0 all pass, 1 any failure, 2 error.

    An invalid intent file (or one expectation that cannot be checked) is reported as an error and the
    others still run; any error makes the exit code 2.

    \b
    Example:
      netpol check intents/ --junit netpol-junit.xml
    """
    from netpol.check import FileError, check_prepared, prepare
    from netpol.connectivity import INPUT_ONLY_NOTE
    from netpol.render.check import check_json, check_junit, check_text, counts
    from netpol.sources.intents import intent_files, load_intent_file

    analyzers: dict[tuple[str, ...], Analyzer | NetpolError] = {}
    results = []
    errors: list[FileError] = []
    notes: dict[str, None] = dict.fromkeys([INPUT_ONLY_NOTE] if input_only else [])
    if junit is not None:
        _output_path(junit, force)
    if not live and (kubeconfig or context):
        _fail(KUBECONFIG_UNUSED.format(other="intent files' manifests (without --live)"))
    with _user_errors():
        paths = intent_files(intents)
        if live:  # one cluster for every file: failing to read it is fatal
            analyzers[()] = _analyze(Source(None, kubeconfig, context, verbose, ignore_unmodelled=ignore_unmodelled,
                                            cni=cni))
    for number, path in enumerate(paths, start=1):
        try:
            intent = load_intent_file(path, confine=not allow_outside_repo)
            manifests = () if live else tuple(files or intent.manifests)
            if not manifests and not live:
                raise QueryError(f"{path}: names no manifests; add 'manifests:' to it, pass -f PATH, or use --live")
            if manifests not in analyzers:
                try:
                    loaded = analyzers[manifests] = _analyze(
                        Source(list(manifests), verbose=verbose,
                               default_namespace=default_namespace, exclude=exclude,
                               ignore_unmodelled=ignore_unmodelled, cni=cni))
                    if not loaded.cluster.pods:
                        _note(f"netpol: note: {', '.join(manifests)}: no pods or workloads, so namespace and "
                              "podSelector endpoints stand for every possible such pod")
                except NetpolError as exc:
                    analyzers[manifests] = exc
            analyzer = analyzers[manifests]
            if isinstance(analyzer, NetpolError):
                raise analyzer
            notes.update(dict.fromkeys(analyzer.cluster.assumptions))  # the profile, what was ignored
            with _phase(f"checking {path} ({number:,} of {len(paths):,} intent files)"):
                prepared = prepare(analyzer, intent, input_only)
                checked = check_prepared(prepared)
            if prepared.analyzer.possible is not None:
                notes.update(dict.fromkeys(prepared.analyzer.possible.notes()))
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


@app.command()
def diff(
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
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
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

    from netpol.diff import INPUT_ONLY_NOTE, both_versions, possible_diff
    from netpol.diff import diff as reachability_diff
    from netpol.render.diff import diff_json, diff_markdown, diff_text

    if base == "-" and head == "-":
        _fail("only one of BASE and HEAD can be standard input")
    if diagram and output is not DiffFormat.md:
        _fail("--diagram draws the change in Markdown: use it with -o md")
    if any_pod:
        _note("netpol: note: --any-pod is deprecated: every possible pod is compared by default")
    with _user_errors():
        old, new = (_load(Source([side], verbose=verbose, default_namespace=default_namespace, exclude=exclude,
                                 ignore_unmodelled=ignore_unmodelled, cni=cni)).cluster
                    for side in (base, head))
        if old.dataplane != new.dataplane:  # a change of plugin is no change of policy: compare under one
            raise QueryError(f"BASE runs the {old.dataplane.profile} profile and HEAD the {new.dataplane.profile} "
                             "profile (recognised from their kinds); pass --cni NAME to compare both under one")
        pods = bool(old.pods or new.pods)
        if (input_only or output is DiffFormat.html) and not pods:
            _fail(f"{'--input-only' if input_only else '-o html'} compares the input's pods, and neither version "
                  "has any; leave it out to compare every possible pod (-o text, json or md)")
        with frozen_when_built():  # as _analyze does: the diff allocates without re-walking both versions
            if input_only or output is DiffFormat.html:
                from netpol.query import Analyzer

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
        from netpol.render.report import diff_html
        from netpol.report import diff_assumptions, diff_verdicts

        _write([diff_html(changes, diff_verdicts(before, after, changes.changes), f"netpol diff {base} {head}",
                          diff_assumptions(before, after))])
    else:
        _write(diff_markdown(changes, diagram) if output is DiffFormat.md
               else diff_text(changes) if output is DiffFormat.text else diff_json(changes))
    raise typer.Exit(EXIT_DENIED if changes.changed else EXIT_OK)


class ListFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"
    md = "md"


AnyPod = Annotated[bool, typer.Option(  # kept so that scripts written before the open world still run
    "--any-pod", hidden=True, help="No effect: every pod that could exist is answered for unless --input-only.")]
InputOnly = Annotated[bool, typer.Option(
    "--input-only", help="Answer for the input's pods alone, not for every pod that could exist (new pods of its "
    "namespaces, pods of other namespaces).")]


def _with_input_only_hint(exc: NetpolError) -> str:
    """The error's message; for too many possible pods, with the way to answer for the input's pods alone."""
    from netpol.regions import RegionLimitError

    if isinstance(exc, RegionLimitError):
        return f"{exc}; or answer for the input's pods alone with --input-only"
    return str(exc)


def _graph_world(analyzer: Analyzer, input_only: bool) -> Analyzer:
    """For the graph: the analyzer with every possible pod beside the input's, or as it is with
    `input_only`; the assumptions go to stderr either way. With too many possible pods the picture is of
    the input alone and says so, in a note and in its anchors' labels ("any pod of the input")."""
    from netpol.connectivity import INPUT_ONLY_NOTE
    from netpol.query import Analyzer
    from netpol.regions import RegionLimitError

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
    from netpol.connectivity import Units

    cluster = _load(source).cluster
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
            raise QueryError(_with_input_only_hint(exc)) from None
    for note in units.notes:
        _note(f"netpol: note: {note}")
    return units


@app.command()
def exposure(
    target: Annotated[str | None, typer.Argument(
        metavar="[TARGET]", help="ns/pod, ns/deployment/NAME, or NS{labels} (every possible such pod, e.g. "
        "'payments{app=db}'). Default: every workload and pod of the input (every region without pods).")] = None,
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
    namespace: Namespaces = None,
    output: Annotated[ListFormat, typer.Option("--output", "-o", metavar="text|json|csv|md",
                                               help="Output format.")] = ListFormat.text,
    input_only: InputOnly = False,
    any_pod: AnyPod = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
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
    from netpol.exposure import exposure as exposure_of
    from netpol.exposure import focus_of
    from netpol.render.exposure import exposure_csv, exposure_json, exposure_markdown, exposure_text

    with _user_errors():
        units = _units(Source(files, kubeconfig, context, verbose,
                              default_namespace=default_namespace, exclude=exclude, ignore_unmodelled=ignore_unmodelled,
                              rendering=_rendering(render, helm_values, helm_set), cni=cni), input_only,
                       [target] if target else [], namespace, lambda cluster: focus_of(cluster, target, namespace))
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


@app.command("list")
def list_connections(
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
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
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
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
    from netpol.connectivity import LARGE_LIST, Listing
    from netpol.render.exposure import links_csv, links_json, list_markdown, list_text

    probe: tuple[Protocol, int] | None = None
    with _user_errors():
        if port is not None:
            from netpol.query import port_number

            probe = (protocol.value, port_number(port))
        units = _units(Source(files, kubeconfig, context, verbose,
                              default_namespace=default_namespace, exclude=exclude, ignore_unmodelled=ignore_unmodelled,
                              rendering=_rendering(render, helm_values, helm_set), cni=cni), input_only,
                       [x for x in (to, from_) if x], namespace)
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


@app.command()
def report(
    out: Annotated[str, typer.Option("--output", "-o", metavar="FILE.html", help="The page to write.")],
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
    namespace: Namespaces = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    force: Force = False,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
) -> None:
    """Write one self-contained HTML page to explore the policies: graph, matrix, explanations, lint.

    The page loads nothing from anywhere (open it from disk or a CI artifact); its summary and tables work
    without JavaScript. See docs/report.md.

    \b
    Example:
      netpol report -f k8s/ -o report.html
    """
    from netpol.lint import lint as run_lint
    from netpol.render.report import report_html
    from netpol.report import build_report, input_title
    from netpol.sources.positions import Positions

    if _suffix(out) not in ("html", "htm"):
        _fail(f"the report is an HTML page: name it .html, not {out!r}")
    _output_path(out, force)
    with _user_errors():
        loaded = _load(Source(files, kubeconfig, context, verbose, keep_texts=True,
                              default_namespace=default_namespace, exclude=exclude, ignore_unmodelled=ignore_unmodelled,
                              rendering=_rendering(render, helm_values, helm_set), cni=cni), namespace)
        _check_namespaces(loaded.cluster, namespace)
        analyzer = _compile(loaded, warn_no_pods=True)
        with _phase("linting"):
            findings = run_lint(analyzer.cluster, namespace or (), engine=analyzer.engine,
                                unmodelled=loaded.unmodelled)
        findings = findings.with_positions(Positions(loaded.texts).find)
        diagram, svg, note = _report_graph(analyzer, namespace)
        with _phase("writing the report"):
            page = report_html(build_report(analyzer, findings, diagram), svg,
                               analyzer.explain(namespace), analyzer.explain_tiers(namespace), findings,
                               "netpol report: " + input_title(files), note)
    _write_file(out, page.encode(), force)
    _note(f"netpol: wrote {out} ({len(page) / 1024:,.0f} KiB)")


def _report_graph(analyzer: Analyzer, namespace: list[str] | None) -> tuple[Diagram | None, str | None, str | None]:
    """The report's allow-graph as inline SVG, or a note saying why there is none."""
    from netpol.render.graph import GraphvizMissingError, diagram_dot, render_image
    from netpol.report import CLASS_LIMIT

    if len(analyzer.engine.classes) > CLASS_LIMIT:  # grouping alone would take longer than the rest
        return None, None, (f"The cluster has {len(analyzer.engine.classes):,} equivalence classes, too many to "
                            "draw here; draw a namespace with netpol graph -n NS or a pod with --focus.")
    diagram = analyzer.diagram(namespaces=namespace)
    if len(diagram.edges) > LARGE_GRAPH_EDGES:
        return None, None, (f"The allow-graph has {len(diagram.edges):,} edges, too many to lay out here; draw a "
                            "namespace with netpol graph -n NS or a pod with --focus.")
    try:
        with _phase("drawing the allow-graph"):
            image = render_image(diagram_dot(diagram), "svg").decode()
    except GraphvizMissingError as exc:
        return None, None, f"No graph: {exc}"
    return diagram, image[image.index("<svg"):], None


@app.command()
def lint(
    paths: Annotated[list[str] | None, typer.Argument(
        metavar="PATH", help="Manifest files or directories, as with -f (for pre-commit, which passes "
        "the changed files).", show_default=False)] = None,
    files: Files = None,
    render: Render = RenderMode.auto,
    helm_values: HelmValues = None,
    helm_set: HelmSet = None,
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
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
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
    from netpol.lint import lint as run_lint
    from netpol.lint import rule_ids
    from netpol.render.lint import lint_json, lint_sarif, lint_text
    from netpol.sources.positions import Positions

    with _user_errors():
        rule_ids([*(disable or []), *(enable or [])])  # a typo is an error before any reading
        inputs = [*(files or []), *(paths or [])] or None
        loaded = _load(Source(inputs, kubeconfig, context, verbose, keep_texts=True,
                              default_namespace=default_namespace, exclude=exclude, ignore_unmodelled=ignore_unmodelled,
                              rendering=_rendering(render, helm_values, helm_set), cni=cni), namespace)
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


@app.command()
def snapshot(
    out: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="A .yaml/.yml or .json file.")],
    namespace: Namespaces = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    force: Force = False,
    verbose: Verbose = False,
    ignore_unmodelled: IgnoreUnmodelled = False,
) -> None:
    """Save what netpol reads from the live cluster as a v1 List, for -f: CI, offline use, bug reports.

    Only the fields netpol reads are written (labels, ports, IPs, selectors, policies...): no environment
    values, commands, images or last-applied-configuration, so the file is safe to attach to a bug report.

    \b
    Example:
      netpol snapshot -o cluster.yaml -n shop
    """
    suffix = _suffix(out)
    if suffix not in ("yaml", "yml", "json"):
        _fail(f"cannot tell the format of {out!r} from its extension: use .yaml, .yml or .json")
    _output_path(out, force)
    with _user_errors():
        read = _read_live(Source(None, kubeconfig, context, verbose), namespace)
        _report(read.result, verbose)
        # Objects netpol does not evaluate are written (by name), so the file's answers refuse alike; what
        # could not be read, the file could not say: refused here.
        _unmodelled(read.result, None if ignore_unmodelled or not read.result.unread else False)
    import yaml

    from netpol.sources.snapshot import shareable

    document = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [shareable(o) for o in read.objects]}
    if suffix == "json":
        data = json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"
    else:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        data = yaml.dump(document, Dumper=dumper, sort_keys=True, default_flow_style=False).encode()
    _write_file(out, data, force)
    c = read.result.cluster
    _note(f"netpol: wrote {len(read.objects)} object(s) from context {read.context} to {out}: "
          f"{len(c.namespaces)} namespaces, {len(c.pods)} pods and workloads, {len(c.policies)} "
          f"policies, {len(c.services)} services")


def _suffix(path: str) -> str:
    """The extension that picks an output format, lower-cased; "" without one."""
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""


def _output_path(path: str, force: bool) -> str:
    """The file to write for -o PATH: PATH, or with --force the file a symbolic link there points to. Checked
    before the work too, so that a refused link costs no analysis."""
    if not os.path.islink(path):
        return path
    if not force:
        _fail(f"{path} is a symbolic link (to {os.readlink(path)}): netpol does not write through a link; "
              "remove it, or pass --force to write the file it points to")
    return os.path.realpath(path)


def _write_file(path: str, data: bytes, force: bool) -> None:
    """Write all of `data` or nothing: a temporary file beside the target, renamed over it. A symbolic link is
    refused unless --force (then its target is written): a link planted in a shared folder would otherwise
    overwrite the file it points to, or create one outside the folder (a dangling link)."""
    import stat
    import tempfile

    path = _output_path(path, force)
    try:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):  # a device or a pipe: nothing to rename over
            with open(path, "wb") as fh:
                fh.write(data)
            return
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(temporary, stat.S_IMODE(mode))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")


class ReplayFormat(StrEnum):
    """Flow file formats (docs/replay.md)."""

    auto = "auto"
    hubble = "hubble"
    calico = "calico"
    kube_network_policies = "kube-network-policies"
    csv = "csv"


class ReplayFailOn(StrEnum):
    break_ = "break"
    mismatch = "mismatch"
    never = "never"


@app.command()
def replay(
    flows: Annotated[list[str], typer.Argument(
        metavar="FLOWS...", help="Flow files ('-' for standard input): hubble observe -o json, Calico flow logs "
        "(Goldmane, Whisker), kube-network-policies verdict logs, or CSV.")],
    files: Files = None,
    flow_format: Annotated[ReplayFormat, typer.Option(
        "--format", metavar="auto|hubble|calico|kube-network-policies|csv",
        help="The flow files' format (auto: from each file's first line).")] = ReplayFormat.auto,
    output: Annotated[ListFormat, typer.Option("--output", "-o", metavar="text|json|csv|md",
                                               help="Output format.")] = ListFormat.text,
    fail_on: Annotated[ReplayFailOn, typer.Option(
        "--fail-on", metavar="break|mismatch|never", help="Exit 1 when observed traffic would break (break), also "
        "when an observed verdict disagrees with netpol's (mismatch), or never.")] = ReplayFailOn.break_,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Count and report malformed flow lines instead of stopping at the first.")] = False,
    base: Annotated[list[str] | None, typer.Option(
        "--base", metavar="PATH", help="The version before the change (manifests, repeatable): also say which observed "
        "connections the change newly denies or allows. The change itself is -f (or --head).")] = None,
    head: Annotated[list[str] | None, typer.Option("--head", metavar="PATH", help="With --base: the version after "
                                                   "the change, as -f.")] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    verbose: Verbose = False,
    default_namespace: DefaultNamespace = None,
    exclude: Exclude = None,
    ignore_unmodelled: IgnoreUnmodelled = False,
    cni: Cni = None,
) -> None:
    """Replay observed flows against the policies: which running traffic they would break, and where the
    observed verdict disagrees with netpol's.

    Endpoints the input does not hold are placed by namespace and labels as every possible such pod.

    \b
    Examples:
      hubble observe -o json --since 1h > flows.json
      netpol replay flows.json -f k8s/ -o md
    """
    from netpol.query import Analyzer
    from netpol.regions import RegionLimitError
    from netpol.render.replay import replay_csv, replay_json, replay_markdown, replay_text
    from netpol.replay import Replayer
    from netpol.sources.flows import FlowStats, read_flows

    if head and files:
        _fail("--head and -f both name the version after the change: give one")
    files = head or files
    if head and not base:
        _fail("--head names the version after a change: give the version before it with --base")
    manifests = [*(files or ()), *(base or ())]
    if flows.count("-") + manifests.count("-") > 1:
        _fail("standard input ('-') can be read once: give it to one of FLOWS, -f or --base")
    stats = FlowStats()
    before: Analyzer | None = None
    with _user_errors():
        cluster = _load(Source(files, kubeconfig, context, verbose, default_namespace=default_namespace,
                               exclude=exclude, ignore_unmodelled=ignore_unmodelled, cni=cni)).cluster
        with _phase("compiling"), frozen_when_built():
            if base:
                from netpol.replay import versions

                analyzer, before = versions(cluster, _load(Source(
                    base, verbose=verbose, default_namespace=default_namespace, exclude=exclude,
                    ignore_unmodelled=ignore_unmodelled, cni=cni)).cluster)
            else:
                try:
                    analyzer = Analyzer.with_possible(cluster)
                except RegionLimitError as exc:
                    _note(f"netpol: note: {exc}; endpoints the input does not hold are reported unmatched")
                    analyzer = Analyzer(cluster)
        replayer = Replayer(analyzer)
        for name in flows:
            if name == "-" and sys.stdin is None:
                _fail("-: standard input is closed")
            try:
                stream = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                _fail(f"{name}: {(exc.strerror or str(exc)).lower()}")
            try:
                with _replay_progress(name, replayer) as progress:
                    replayer.add(read_flows(name, stream, flow_format.value, stats, skip_invalid, progress))
            except OSError as exc:
                _fail(f"{name}: cannot read: {(exc.strerror or str(exc)).lower()}")
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
        result = replayer.result(before)
    if output is ListFormat.text:
        _write(replay_text(result, stats))
    elif output is ListFormat.json:
        _write([replay_json(result, stats)])
    elif output is ListFormat.csv:
        _write([replay_csv(result)])
    else:
        _write(replay_markdown(result, stats))
    counts = result.summary()
    found = counts["break"] + (counts["mismatch"] if fail_on is ReplayFailOn.mismatch else 0)
    if found and fail_on is not ReplayFailOn.never:
        raise typer.Exit(EXIT_DENIED)


COMPLETE_VAR = "_NETPOL_COMPLETE"  # set by the completion scripts when the shell asks netpol for candidates


@app.command()
def completion(shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script: commands, options, the values of enumerated options, file paths.

    The script asks netpol itself for the candidates (click's completion, through typer), so it never goes
    stale. See docs/cli.md#netpol-completion for where to put it.

    \b
    Example:
      source <(netpol completion bash)
    """
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name="netpol", complete_var=COMPLETE_VAR, shell=shell.value))


def _version(value: bool) -> None:
    if value:
        from netpol import __version__, profiles

        print(f"netpol {__version__}")
        print(f"dataplane profiles (--cni): {profiles.known()}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option(
        DEBUG_FLAG, help="On an internal error (exit 3), print the traceback. Accepted anywhere on the line.",
    )] = False,
    no_progress: Annotated[bool, typer.Option(
        NO_PROGRESS_FLAG, help=f"No progress line on a terminal (also {PROGRESS_VAR}=0). Accepted anywhere on the "
        "line.")] = False,
) -> None:
    """Analyse Kubernetes NetworkPolicies: who can reach whom, on which ports, and why."""
    _QUIET[:] = [True] if no_progress else []


def _hoist(argv: list[str], flag: str) -> tuple[list[str], bool]:
    """`--debug` and `--no-progress` may be given after the command too; typer only knows them before, so move
    `flag` there."""
    head, rest = argv[:1], argv[1:]
    cut = rest.index("--") if "--" in rest else len(rest)
    present = flag in rest[:cut]
    if present:
        rest = [a for a in rest[:cut] if a != flag] + rest[cut:]
        rest.insert(0, flag)
    return head + rest, present


def _internal_error(exc: BaseException, debug: bool) -> int:
    """One line and exit 3 for anything that is netpol's fault, never 1 (a verdict) or 2 (the user's)."""
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, RecursionError):
        what = "recursion limit reached"
    else:
        what = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}"
    hint = "" if debug else f"; rerun with {DEBUG_FLAG} for the traceback"
    _note(f"netpol: error: internal error: {what}{hint}")
    return EXIT_INTERNAL


def _terminated(signum: int, _frame: object) -> NoReturn:
    """SIGTERM unwinds like an interrupt, so that children (Graphviz's dot) end with netpol; exit 128 + 15."""
    raise SystemExit(128 + signum)


def _prog_name(argv0: str) -> str:
    """Run as kubectl-netpol (kubectl's plugin mechanism), usage lines and hints say `kubectl netpol`."""
    return "kubectl netpol" if os.path.basename(argv0) == "kubectl-netpol" else "netpol"


def main() -> None:
    """Console entry point: usage errors become one line, like every other error; crashes exit 3."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    _guard_streams()
    if os.environ.get(COMPLETE_VAR):  # a shell asking for candidates: typer's completion classes, only then
        from typer._completion_classes import completion_init

        completion_init()
    argv, debug = _hoist(_hoist(sys.argv, NO_PROGRESS_FLAG)[0], DEBUG_FLAG)
    # no command: the help on stdout, and exit 2 (not a pass for a script)
    bare = not set(argv[1:]) - {DEBUG_FLAG, NO_PROGRESS_FLAG}
    sys.argv = [*argv, "--help"] if bare else argv
    try:
        code = app(standalone_mode=False, prog_name=_prog_name(sys.argv[0]), complete_var=COMPLETE_VAR)
        if bare:
            code = EXIT_ERROR
        sys.stdout.flush()
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _note(f"netpol: error: {exc.format_message()}{hint}")
        code = EXIT_ERROR
    except typer.Abort:
        _note("netpol: aborted")
        code = EXIT_ERROR
    except OutputFailed as exc:
        _note(f"netpol: error: {exc}")
        code = EXIT_ERROR
    except SystemExit as exc:
        if not isinstance(exc.__context__, BrokenPipeError):
            raise
        # click turns a broken pipe into exit 1, which would read as "denied"; standard output's own broken pipe
        # never gets here (_Stream), so this one is a pipe to a child process: netpol's fault
        code = _internal_error(exc.__context__, debug)
    except NetpolError as exc:  # a user error raised outside a command's _user_errors block
        _note(f"netpol: error: {exc}")
        code = EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the one place every unexpected error is turned into exit 3
        code = _internal_error(exc, debug)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
