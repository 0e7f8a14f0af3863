"""A Diagram as Graphviz DOT (and DOT as SVG or PNG through the `dot` program), or as a Mermaid flowchart.

Both are built in a fixed order (namespaces, then nodes and edges sorted
by id) so the same input gives byte-identical output that diffs in Git.
Mermaid draws the same picture where GitHub renders Markdown: the same
boxes per namespace, node texts, colours (as classDef) and edge labels.
"""

from __future__ import annotations

import html
import json
import signal
import subprocess
import textwrap

import graphviz

from netpol.analyses.diagram import (
    ANY_POD,
    ANY_UNRESTRICTED_POD,
    Diagram,
    External,
    Group,
    NamespaceBox,
    namespace_node,
)
from netpol.engine import address_set_node
from netpol.errors import NetpolError, name_list

INGRESS_BORDER = "#c0392b"
EGRESS_FILL = "#fdebd0"
ANCHOR_STYLE = {"shape": "box", "style": "rounded,dashed", "color": "#566573"}
EXTERNAL_STYLE = {"shape": "hexagon", "style": "filled", "fillcolor": "#eaf2f8", "color": "#2e86c1"}
LEGEND_ROWS = (  # (cell attributes, cell text, meaning)
    ('BORDER="1" COLOR="#2c3e50"', "pod", "not isolated in either direction"),
    (f'BORDER="3" COLOR="{INGRESS_BORDER}"', "pod", "ingress isolated: only the drawn edges come in"),
    (f'BORDER="1" COLOR="#2c3e50" BGCOLOR="{EGRESS_FILL}"', "pod", "egress isolated: only the drawn edges go out"
                                                                   "<BR ALIGN=\"LEFT\"/>(an allow-all egress "
                                                                   "policy is no restriction)"),
    ('BORDER="1" COLOR="#566573" STYLE="dashed"', "any pod", "every pod that could exist, or every pod of one"
                                                             "<BR ALIGN=\"LEFT\"/>namespace (new pods too)"),
    ('BORDER="1" COLOR="#2e86c1" BGCOLOR="#eaf2f8"', "address", "outside the cluster: an ipBlock, or any address"),
    ('BORDER="0"', "A &#8594; B", "A may connect to B on the labelled ports<BR ALIGN=\"LEFT\"/>"
                                  "(A's egress and B's ingress allow; all = every port)"),
    ('BORDER="0"', "x N", "N pods that every policy treats alike<BR ALIGN=\"LEFT\"/>"
                          "(a pod's traffic to itself is not drawn)"),
)
INPUT_ANCHOR_ROW = ('BORDER="1" COLOR="#566573" STYLE="dashed"', "any pod of the input",
                    "every pod of the input, or of one of its namespaces<BR ALIGN=\"LEFT\"/>(--input-only: "
                    "pods not in the input are left out)")
IGNORED_CELL = 'BORDER="2" COLOR="#c0392b" BGCOLOR="#fdedec"'  # a legend row per object kind not evaluated
IGNORED_TEXT = "not evaluated"
IGNORED_TITLE = ("not evaluated (--ignore-unmodelled): objects that may allow or deny the traffic drawn here, "
                 "named in the legend")
LEGEND_WRAP = 70  # characters per line of a legend row's meaning
TIERED_ROW = ('BORDER="1" COLOR="#6c3483" STYLE="dashed"', "pod",
              "[tiered]: an Admin or Baseline policy selects it<BR ALIGN=\"LEFT\"/>(drawn with a double border)")
# Mermaid: one class per mark of the DOT picture (a node may have several), and each legend row's class
MERMAID_CLASSES = {
    "pod": "fill:#ffffff,stroke:#2c3e50,color:#000000",
    "ingress": f"stroke:{INGRESS_BORDER},stroke-width:2.5px",
    "egress": f"fill:{EGRESS_FILL}",
    "tiered": "stroke-dasharray:8 3 2 3",  # DOT's double border: Mermaid has none for a box
    "anchor": "fill:#ffffff,stroke:#566573,stroke-dasharray:5 4,color:#000000",
    "external": "fill:#eaf2f8,stroke:#2e86c1,color:#000000",
    "namespace": "fill:none,stroke:#7f8c8d",
    "note": "fill:none,stroke:none,color:#000000",
    "ignored": "fill:#fdedec,stroke:#c0392b,stroke-width:2px,color:#000000",
}
LEGEND_CLASSES: tuple[tuple[str, ...], ...] = (  # LEGEND_ROWS' samples, in order
    ("pod",), ("pod", "ingress"), ("pod", "egress"), ("anchor",), ("external",), ("note",), ("note",))
TIERED_CLASSES: tuple[str, ...] = ("pod", "tiered")
MERMAID_MAX_EDGES = 500  # mermaid's default maxEdges: beyond it, it (and GitHub) draws nothing
MERMAID_ESCAPES = {ord(c): f"#{ord(c)};" for c in '"#&<>`|\\[]{}()*_~'}  # quotes, entities, HTML, markdown

class GraphvizMissingError(NetpolError):
    """The `dot` program is needed for SVG and PNG."""

    def __init__(self) -> None:
        super().__init__(
            "Graphviz's 'dot' program is not installed: install Graphviz (Debian/Ubuntu: apt-get install "
            "graphviz; macOS: brew install graphviz), or write DOT with --format dot, which needs no Graphviz"
        )


class RenderError(NetpolError):
    pass


def diagram_dot(diagram: Diagram) -> str:
    g = graphviz.Digraph(
        "netpol",
        graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "12", "labelloc": "t",
                    "label": _title(diagram), "nodesep": "0.25", "ranksep": "0.9", "newrank": "true"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "shape": "box", "style": "rounded,filled",
                   "fillcolor": "white", "color": "#2c3e50"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#34495e"},
    )
    anchor = "any pod" if diagram.possible else "any pod of the input"  # the anchors stand for exactly these
    for box in diagram.namespaces:
        _namespace(g, box, anchor)
    if diagram.any_pod:
        g.node(_id(ANY_POD), f"{anchor}\n(any namespace)", **ANCHOR_STYLE)
    if diagram.any_unrestricted_pod:
        g.node(_id(ANY_UNRESTRICTED_POD), f"{anchor} whose egress\nis not restricted", **ANCHOR_STYLE)
    for ext in diagram.externals:
        g.node(_id(ext.id), _external_label(ext), **EXTERNAL_STYLE)
    for edge in diagram.edges:
        g.edge(_id(edge.source), _id(edge.target), label=str(edge.ports))
    _legend(g, diagram)
    source: str = g.source
    return source


def render_image(dot: str, fmt: str) -> bytes:
    """Run Graphviz's `dot` on DOT source; fmt is one of its output formats (svg, png). `dot` runs as a child
    that ends with netpol: an interrupt or any error while it lays out kills and reaps it rather than
    leaving it running without a parent."""
    # SIGINT and SIGTERM wait until the child is in the block that ends it: one arriving between fork and
    # exec would otherwise leave it running; the child gets netpol's own mask back before it runs dot
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        child = subprocess.Popen(["dot", "-Kdot", f"-T{fmt}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, preexec_fn=lambda: _unmask(mask))
    except BaseException as exc:
        _unmask(mask)
        if isinstance(exc, FileNotFoundError):
            raise GraphvizMissingError() from exc
        raise
    with child:
        try:
            _unmask(mask)
            image, errors = child.communicate(dot.encode())
        except BaseException:  # an interrupt too: the child ends, and is reaped, before netpol goes on
            child.kill()
            child.wait()
            raise
    if child.returncode != 0:
        detail = errors.decode(errors="replace").strip().splitlines()
        raise RenderError(f"Graphviz 'dot' failed: {detail[-1] if detail else f'exit {child.returncode}'}")
    return image


def _unmask(mask: set[signal.Signals]) -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _id(node: str) -> str:
    """DOT ids as the diagram names them; ':' would read as a DOT port, so it is escaped."""
    return node.replace("%", "%25").replace(":", "%3A")


def _title(d: Diagram) -> str:
    what = f"probe {d.probe[0]}/{d.probe[1]}" if d.probe else "allowed ports"
    parts = [f"netpol allow-graph ({what})"]
    if d.focus:
        parts.append(f"neighbourhood of {d.focus}")
    if d.hidden_edges:
        parts.append(f"{d.hidden_edges} edge(s) to or from pods of other namespaces are not drawn "
                     "(without -n they are)")
    if d.ignored:
        parts.append(IGNORED_TITLE)
    return "\n".join(parts)


def _namespace(g: graphviz.Digraph, box: NamespaceBox, anchor: str) -> None:
    with g.subgraph(name=f"cluster_{_id(box.name)}") as c:
        labels = "".join(f"\n{k}={v}" for k, v in box.labels)
        c.attr(label=f"namespace {box.name}{labels}", style="rounded", color="#7f8c8d", fontsize="11")
        if box.has_anchor:
            c.node(_id(namespace_node(box.name)), f"{anchor} in {box.name}", **ANCHOR_STYLE)
        for group in box.groups:
            style = _isolation_style(group.ingress_isolated, group.egress_isolated)
            if group.tiered:
                style["peripheries"] = "2"
            c.node(_id(group.id), _group_label(group), **style)


def _group_label(group: Group) -> str:
    lines = [group.title]
    if len(group.pods) > 1 and not group.title.startswith(group.pods[0].name):
        lines.append(name_list([p.name for p in group.pods], 3))
    if len(group.pods) == 1:
        lines.extend(f"{k}={v}" for k, v in group.labels[:3])
    isolated = [d for d, on in (("ingress", group.ingress_isolated), ("egress", group.egress_isolated)) if on]
    if isolated:
        lines.append(f"[{' + '.join(isolated)} isolated]")
    if group.host_network:
        lines.append("[hostNetwork]")
    if group.tiered:
        lines.append("[tiered]")
    return "\n".join(lines)


def _isolation_style(ingress: bool, egress: bool) -> dict[str, str]:
    style: dict[str, str] = {}
    if ingress:
        style.update(color=INGRESS_BORDER, penwidth="2.5")
    if egress:
        style.update(fillcolor=EGRESS_FILL)
    return style


def _external_label(ext: External) -> str:
    if ext.within is not None:
        if not ext.within:
            return f"{address_set_node((), ext.family)}\n(outside the cluster)"
        return "addresses in\n" + "\nand ".join(str(b) for b in ext.within)
    if ext.block is None:
        return "any address\n(outside the cluster)"
    lines = [str(ext.block.cidr)]
    lines.extend(f"except {e}" for e in ext.block.excepts)
    return "\n".join(lines)


def _legend_rows(possible: bool) -> list[tuple[str, str, str]]:
    """The legend's rows; the anchors' row says whether they stand for every pod that could exist."""
    return [row if possible or row[1] != "any pod" else INPUT_ANCHOR_ROW for row in LEGEND_ROWS]


def _extra_rows(diagram: Diagram) -> list[tuple[tuple[str, str, str], tuple[str, ...]]]:
    """The legend's rows past the fixed ones, with their Mermaid classes: the tiered mark when a policy of a
    tier selects a drawn pod, and one row per kind of object netpol did not evaluate (what the picture
    cannot show)."""
    tiered = any(grp.tiered for box in diagram.namespaces for grp in box.groups)
    rows = [(TIERED_ROW, TIERED_CLASSES)] if tiered else []
    for line in diagram.ignored:
        meaning = '<BR ALIGN="LEFT"/>'.join(html.escape(part) for part in textwrap.wrap(line, LEGEND_WRAP))
        rows.append(((IGNORED_CELL, IGNORED_TEXT, meaning), ("ignored",)))
    return rows


def _legend(g: graphviz.Digraph, diagram: Diagram) -> None:
    rows = "".join(
        f'<TR><TD {cell} CELLPADDING="4">{text}</TD><TD ALIGN="LEFT">{meaning}</TD></TR>'
        for cell, text, meaning in (*_legend_rows(diagram.possible), *(row for row, _ in _extra_rows(diagram)))
    )
    table = f'<<TABLE BORDER="1" COLOR="#aab7b8" CELLBORDER="0" CELLSPACING="4">' \
            f'<TR><TD COLSPAN="2"><B>legend</B></TD></TR>{rows}</TABLE>>'
    g.node("legend", table, shape="plaintext", style="", fontsize="9")


def diagram_mermaid(diagram: Diagram) -> str:
    """The picture diagram_dot draws, as a Mermaid flowchart (left to right)."""
    lines = ["---", f"title: {json.dumps(_title(diagram).replace(chr(10), '; '))}", "---", "flowchart LR"]
    classes: dict[str, list[str]] = {name: [] for name in MERMAID_CLASSES}
    anchor = "any pod" if diagram.possible else "any pod of the input"  # as diagram_dot names them
    for box in diagram.namespaces:
        box_id = _mermaid_id("ns", box.name)
        title = [f"namespace {box.name}", *(f"{k}={v}" for k, v in box.labels)]
        lines.append(f"  subgraph {box_id}[{_mermaid_text(title)}]")
        classes["namespace"].append(box_id)
        if box.has_anchor:
            lines.append("  " + _mermaid_node(namespace_node(box.name), f"{anchor} in {box.name}", "(", ")"))
            classes["anchor"].append(_mermaid_id("n", namespace_node(box.name)))
        for group in box.groups:
            lines.append("  " + _mermaid_node(group.id, _group_label(group), "(", ")"))
            for name, on in (("pod", True), ("ingress", group.ingress_isolated), ("egress", group.egress_isolated),
                             ("tiered", group.tiered)):
                if on:
                    classes[name].append(_mermaid_id("n", group.id))
        lines.append("  end")
    anchors = ((diagram.any_pod, ANY_POD, f"{anchor}\n(any namespace)"),
               (diagram.any_unrestricted_pod, ANY_UNRESTRICTED_POD, f"{anchor} whose egress\nis not restricted"))
    for drawn, node, text in anchors:
        if drawn:
            lines.append(_mermaid_node(node, text, "(", ")"))
            classes["anchor"].append(_mermaid_id("n", node))
    for ext in diagram.externals:
        lines.append(_mermaid_node(ext.id, _external_label(ext), "{{", "}}"))
        classes["external"].append(_mermaid_id("n", ext.id))
    lines.extend(f"  {_mermaid_id('n', e.source)} -->|{_mermaid_text([str(e.ports)])}| {_mermaid_id('n', e.target)}"
                 for e in diagram.edges)
    lines.extend(_mermaid_legend(diagram, classes))
    lines.extend(f"  classDef {name} {style}" for name, style in MERMAID_CLASSES.items())
    lines.extend(f"  class {','.join(ids)} {name}" for name, ids in classes.items() if ids)
    lines.append("  linkStyle default stroke:#34495e")
    return "\n".join(lines) + "\n"


def _mermaid_legend(diagram: Diagram, classes: dict[str, list[str]]) -> list[str]:
    """DOT's legend table as a box of sample nodes, each in the classes of the mark it explains."""
    rows = [*zip(_legend_rows(diagram.possible), LEGEND_CLASSES, strict=True), *_extra_rows(diagram)]
    lines = ["  subgraph legend[legend]", "    direction TB"]
    for index, ((_cell, text, meaning), names) in enumerate(rows):
        node = f"legend{index}"
        first, *rest = html.unescape(meaning.replace('<BR ALIGN="LEFT"/>', "\n")).splitlines()
        lines.append(f"    {node}({_mermaid_text([f'{html.unescape(text)}: {first}', *rest])})")
        for name in names:
            classes[name].append(node)
    lines.append("  end")
    classes["namespace"].append("legend")
    return lines


def _mermaid_node(node: str, text: str, opening: str, closing: str) -> str:
    return f"  {_mermaid_id('n', node)}{opening}{_mermaid_text(text.split(chr(10)))}{closing}"


def _mermaid_id(prefix: str, node: str) -> str:
    """A Mermaid id from any node name, one to one: letters and digits kept, every other character as _XX
    (hex code point). The prefix keeps ids off Mermaid's keywords (`end`) and edge heads (`o`, `x`)."""
    return prefix + "_" + "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in node)


def _mermaid_text(lines: list[str]) -> str:
    """Lines as a quoted Mermaid label: every character Mermaid, markdown or HTML would read as markup becomes
    an entity code (#34; for a quote), so a label is always text; lines are joined with <br>."""
    return '"' + "<br>".join(line.translate(MERMAID_ESCAPES) for line in lines) + '"'
