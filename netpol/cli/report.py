"""`netpol report`: write one self-contained HTML page to explore the policies: graph, matrix, explanations, lint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from netpol.cli.errors import _fail, _user_errors
from netpol.cli.files import _output_path, _suffix, _write_file
from netpol.cli.inputs import Source, _check_namespaces, _compile, _load, input_command
from netpol.cli.options import Force, Namespaces
from netpol.cli.output import LARGE_GRAPH_EDGES, _note
from netpol.cli.progress_line import _phase

if TYPE_CHECKING:
    from netpol.analyses.diagram import Diagram
    from netpol.analyses.query import Analyzer


@input_command(omit=["staged"], keep_texts=True)
def report(
    inputs: Source,
    out: Annotated[str, typer.Option("--output", "-o", metavar="FILE.html", help="The page to write.")],
    namespace: Namespaces = None,
    force: Force = False,
) -> None:
    """Write one self-contained HTML page to explore the policies: graph, matrix, explanations, lint.

    The page loads nothing from anywhere (open it from disk or a CI artifact); its summary and tables work
    without JavaScript. See docs/report.md.

    \b
    Example:
      netpol report -f k8s/ -o report.html
    """
    from netpol.analyses.lint import lint as run_lint
    from netpol.analyses.report import build_report, input_title
    from netpol.render.report import report_html
    from netpol.sources.positions import Positions

    if _suffix(out) not in ("html", "htm"):
        _fail(f"the report is an HTML page: name it .html, not {out!r}")
    _output_path(out, force)
    with _user_errors():
        loaded = _load(inputs, namespace)
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
                               "netpol report: " + input_title(inputs.files), note)
    _write_file(out, page.encode(), force)
    _note(f"netpol: wrote {out} ({len(page) / 1024:,.0f} KiB)")


def _report_graph(analyzer: Analyzer, namespace: list[str] | None) -> tuple[Diagram | None, str | None, str | None]:
    """The report's allow-graph as inline SVG, or a note saying why there is none."""
    from netpol.analyses.report import CLASS_LIMIT
    from netpol.render.graph import GraphvizMissingError, diagram_dot, render_image

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
