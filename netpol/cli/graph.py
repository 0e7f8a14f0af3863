"""`netpol graph`: draw the allow-graph as DOT, SVG or PNG (SVG and PNG need Graphviz's `dot`), or as a Mermaid
flowchart.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netpol.cli.errors import _fail, _user_errors
from netpol.cli.files import _output_path, _suffix, _write_file
from netpol.cli.inputs import Source, _analyze, _check_namespaces, _graph_world, input_command
from netpol.cli.options import Force, GraphFormat, InputOnly, Namespaces, ProtocolName, ProtocolOpt
from netpol.cli.output import LARGE_GRAPH_EDGES, _note
from netpol.cli.progress_line import _phase


@input_command(omit=["staged"])
def graph(
    inputs: Source,
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
    force: Force = False,
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
        analyzer = _analyze(inputs, None if focus else namespace, warn_no_pods=True)
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
