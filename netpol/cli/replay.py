"""`netpol replay`: replay observed flows against the policies: which running traffic they would break, and where
the observed verdict disagrees with netpol's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from netpol.bulk import frozen_when_built
from netpol.cli.errors import EXIT_DENIED, _fail, _user_errors
from netpol.cli.inputs import RENDERING, Source, _load, input_command
from netpol.cli.options import ListFormat
from netpol.cli.output import _note, _write
from netpol.cli.progress_line import _phase

if TYPE_CHECKING:
    from netpol.analyses.replay import Replayer
    from netpol.sources.flows import Progress as FlowProgress


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


@input_command(omit=[*RENDERING])
def replay(
    inputs: Source,
    flows: Annotated[list[str], typer.Argument(
        metavar="FLOWS...", help="Flow files ('-' for standard input): hubble observe -o json, Calico flow logs "
        "(Goldmane, Whisker), kube-network-policies verdict logs, or CSV.")],
    flow_format: Annotated[ReplayFormat, typer.Option(
        "--format", metavar="auto|hubble|calico|kube-network-policies|csv",
        help="The flow files' format (auto: from each file's first line).")] = ReplayFormat.auto,
    output: Annotated[ListFormat, typer.Option("--output", "-o", metavar="text|json|csv|md",
                                               help="Output format.")] = ListFormat.text,
    fail_on: Annotated[ReplayFailOn, typer.Option(
        "--fail-on", metavar="break|mismatch|never", help="Exit 1 when observed traffic would break (break), also "
        "when an observed verdict (or the rule Calico's flow logs say decided) disagrees with netpol's (mismatch), "
        "or never.")] = ReplayFailOn.break_,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Count and report malformed flow lines instead of stopping at the first.")] = False,
    base: Annotated[list[str] | None, typer.Option(
        "--base", metavar="PATH", help="The version before the change (manifests, repeatable): also say which observed "
        "connections the change newly denies or allows. The change itself is -f (or --head).")] = None,
    head: Annotated[list[str] | None, typer.Option("--head", metavar="PATH", help="With --base: the version after "
                                                   "the change, as -f.")] = None,
) -> None:
    """Replay observed flows against the policies: which running traffic they would break, and where the
    observed verdict disagrees with netpol's.

    Endpoints the input does not hold are placed by namespace and labels as every possible such pod.

    \b
    Examples:
      hubble observe -o json --since 1h > flows.json
      netpol replay flows.json -f k8s/ -o md
    """
    from netpol.analyses.query import Analyzer
    from netpol.analyses.label_space import RegionLimitError
    from netpol.analyses.replay import Replayer
    from netpol.render.replay import replay_csv, replay_json, replay_markdown, replay_text
    from netpol.sources.flows import FlowStats, read_flows

    if head and inputs.files:
        _fail("--head and -f both name the version after the change: give one")
    inputs = replace(inputs, files=head or inputs.files)
    if head and not base:
        _fail("--head names the version after a change: give the version before it with --base")
    manifests = [*(inputs.files or ()), *(base or ())]
    if flows.count("-") + manifests.count("-") > 1:
        _fail("standard input ('-') can be read once: give it to one of FLOWS, -f or --base")
    stats = FlowStats()
    before: Analyzer | None = None
    with _user_errors():
        cluster = _load(inputs).cluster
        with _phase("compiling"), frozen_when_built():
            if base:
                from netpol.analyses.replay import versions

                before_inputs = replace(inputs, files=base, kubeconfig=None, context=None)
                analyzer, before = versions(cluster, _load(before_inputs).cluster)
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
    found = counts["break"] + (counts["mismatch"] + counts["policy_mismatch"] if fail_on is ReplayFailOn.mismatch
                               else 0)
    if found and fail_on is not ReplayFailOn.never:
        raise typer.Exit(EXIT_DENIED)
