"""A reachability diff as text, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring_ascii

from netpol.analyses.diff import Ambiguity, Change, ReachabilityDiff
from netpol.analyses.phrases import port_text
from netpol.model import IPAddress
from netpol.model.portsets import PortSet
from netpol.render.graph import MERMAID_CLASSES, _mermaid_id, _mermaid_text
from netpol.render.markdown import md_code, md_text

SIGN = {"gained": "+", "lost": "-", "changed": "~"}
SHOWN_SOURCES = 10  # in a Markdown cell before the list folds into a <details> block
# --diagram: a pull-request comment stays short and its picture readable; beyond these bounds the edges left
# out are listed under the diagram (the table lists every change either way)
DIAGRAM_EDGES = 40
DIAGRAM_NODES = 40
CHANGE_STYLES = {  # the edge of each kind of change: colour, and dashes for what is lost
    "gained": "stroke:#1e8449,stroke-width:2px",
    "lost": "stroke:#c0392b,stroke-width:2px,stroke-dasharray:5 4",
    "changed": "stroke:#d68910,stroke-width:2px",
}
DIAGRAM_LEGEND = {  # node class -> what its nodes are, for the diagram's legend
    "pod": "a pod or workload of the input",
    "anchor": "possible pods, in the policies' terms",
    "external": "addresses outside the cluster",
}
EDGE_LEGEND = ("+ gained: may connect now, on these ports", "- lost: was allowed on these ports (was ...)",
               "~ changed: the ports before => after")


def summary(d: ReachabilityDiff) -> str:
    """The counts: of (source, destination) pairs, or of changes (lines) when sources are possible pods."""
    if not d.changed:
        return "no reachability change"
    unit = "pair(s)" if d.pairs else "change(s)"
    parts = [f"{d.count('gained')} {unit} gained", f"{d.count('lost')} lost", f"{d.count('changed')} with "
             "changed ports"]
    if d.ambiguities:
        parts.append(f"{len(d.ambiguities)} ambiguity change(s)")
    if d.added_pods or d.removed_pods:
        parts.append(f"pods: {len(d.added_pods)} added, {len(d.removed_pods)} removed")
    return ", ".join(parts)


def ambiguity_text(t: Ambiguity) -> str:
    """`ambiguous: A -> B: TCP:80 (ANP a and ANP b share priority 10; ...)`: the ports a same-priority tie
    leaves to the network plugin, newly or no longer."""
    if not t.before:
        what = f"ambiguous: {', '.join(t.sources)} -> {t.destination}: {t.after}"
    elif not t.after:
        what = f"no longer ambiguous: {', '.join(t.sources)} -> {t.destination}: {t.before}"
    else:
        what = f"ambiguous ports changed: {', '.join(t.sources)} -> {t.destination}: {t.before} => {t.after}"
    return (f"{what} ({'; '.join(t.ties)}: the API leaves their order undefined and they decide these ports "
            "differently, so the network plugin may do either)")


def _ports(c: Change) -> str:
    before, after = port_text(c.before, c.named_before), port_text(c.after, c.named_after)
    if c.kind == "gained":
        return after
    if c.kind == "lost":
        return f"was {before}"
    return f"{before} => {after}"


def _because(c: Change) -> str:
    return f" ({'; '.join(c.because)})" if c.because else ""


def diff_text(d: ReachabilityDiff) -> Iterator[str]:
    """The summary, then a line per change: written as it goes, so a large diff starts at once."""
    yield summary(d) + "\n"
    for c in d.changes:
        yield f"{SIGN[c.kind]} {', '.join(c.sources)} -> {c.destination}: {_ports(c)}{_because(c)}\n"
    yield from (f"! {ambiguity_text(t)}\n" for t in d.ambiguities)
    yield from (f"pod added: {p}\n" for p in d.added_pods)
    yield from (f"pod removed: {p}\n" for p in d.removed_pods)


def _sources_md(sources: tuple[str, ...]) -> str:
    """Every source, folded into a <details> block beyond SHOWN_SOURCES: a review comment stays short."""
    text = ", ".join(map(md_code, sources))
    if len(sources) <= SHOWN_SOURCES:
        return text
    return f"<details><summary>{len(sources)} sources</summary>{text}</details>"


def diff_markdown(d: ReachabilityDiff, diagram: bool = False) -> Iterator[str]:
    """The summary, the table of changes, then ambiguities, pods and notes; with `diagram`, the changes drawn
    as a Mermaid flowchart under the summary (diff_mermaid), with the edges it leaves out listed."""
    yield f"### netpol: reachability changes\n\n**{summary(d)}**\n"
    if diagram and d.changes:
        drawn = diff_mermaid(d)
        yield f"\n```mermaid\n{drawn.text}```\n"
        if drawn.left_out:
            left = sum(len(sources) for _, sources in drawn.left_out)
            yield (f"\n<details><summary>{left} of {left + drawn.edges} changed connection(s) not drawn (the diagram "
                   f"stops at {DIAGRAM_EDGES} edges and {DIAGRAM_NODES} nodes)</summary>\n\n")
            yield from (f"- {c.kind}: {_sources_md(sources)} -> {md_code(c.destination)}: {md_text(_ports(c))}\n"
                        for c, sources in drawn.left_out)
            yield "\n</details>\n"
    if d.changes:
        any_because = any(c.because for c in d.changes)
        yield ("\n| change | from | to | before | after |" + (" rules |" if any_because else "")
               + "\n|---|---|---|---|---|" + ("---|" if any_because else "") + "\n")
        for c in d.changes:
            yield (f"| {SIGN[c.kind]} {c.kind} | {_sources_md(c.sources)} | {md_code(c.destination)} | "
                   f"{md_text(port_text(c.before, c.named_before))} | {md_text(port_text(c.after, c.named_after))} |"
                   + (f" {md_text('; '.join(c.because))} |" if any_because else "") + "\n")
    if d.ambiguities:
        yield "\n"
        yield from (f"- {md_text(ambiguity_text(t))}\n" for t in d.ambiguities)
    if d.added_pods or d.removed_pods:
        yield "\n"
        yield from (f"- pod added: {md_code(p)}\n" for p in d.added_pods)
        yield from (f"- pod removed: {md_code(p)}\n" for p in d.removed_pods)
    if d.assumptions:
        yield "\n"
        yield from (f"- note: {md_text(note)}\n" for note in d.assumptions)


@dataclass(frozen=True)
class DiffDiagram:
    """The changes as a Mermaid flowchart, within DIAGRAM_EDGES and DIAGRAM_NODES; what it leaves out."""

    text: str
    edges: int  # drawn, one per (source, destination) of a change
    left_out: tuple[tuple[Change, tuple[str, ...]], ...]  # each change's sources whose edge is not drawn


def endpoint_class(name: str) -> str:
    """What a diff endpoint is, for its shape: `external` for outside addresses (address_phrase's words, or
    CIDRs), `pod` for an input's pod or workload (`NS/NAME`), else `anchor`: possible pods, in the policies'
    terms (a merged destination, pods and addresses, is one too)."""
    def address(part: str) -> bool:
        if part in ("any address", "any IPv4 address", "any IPv6 address"):
            return True
        try:
            ipaddress.ip_network(part.split(" ", 1)[0].rstrip(","), strict=False)
        except ValueError:
            return False
        return True

    if all(address(part) for part in name.split("; ")):
        return "external"
    return "pod" if "/" in name and " " not in name else "anchor"


def diff_mermaid(d: ReachabilityDiff, max_edges: int = DIAGRAM_EDGES, max_nodes: int = DIAGRAM_NODES
                 ) -> DiffDiagram:
    """The changes as a flowchart with graph's Mermaid conventions (netpol.render.graph: its classes, label
    escaping and namespace boxes): an edge per source and destination of a change, labelled with the
    change's sign and ports, green when gained, dashed red when lost, orange when the ports changed. Edges are
    taken in the table's order while both bounds hold; the rest are returned, to be listed."""
    ids: dict[str, str] = {}
    edges: list[tuple[str, str, Change]] = []
    left_out: list[tuple[Change, tuple[str, ...]]] = []
    for c in d.changes:
        missing: list[str] = []
        for index, source in enumerate(c.sources):
            if len(edges) >= max_edges:
                missing.extend(c.sources[index:])  # a change can have very many sources
                break
            new = [e for e in dict.fromkeys((source, c.destination)) if e not in ids]
            if len(ids) + len(new) > max_nodes:
                missing.append(source)
                continue
            ids.update({e: f"n{len(ids) + i}" for i, e in enumerate(new)})
            edges.append((source, c.destination, c))
        if missing:
            left_out.append((c, tuple(missing)))
    title = summary(d) + (f"; {len(edges)} of {len(edges) + sum(len(s) for _, s in left_out)} connection(s) drawn"
                          if left_out else "")
    lines = ["---", f"title: {json.dumps('netpol diff: ' + title)}", "---", "flowchart LR"]
    classes: dict[str, list[str]] = {name: [] for name in ("pod", "anchor", "external", "namespace", "note")}
    boxes: dict[str, list[str]] = {}
    for name, node in ids.items():
        kind = endpoint_class(name)
        classes[kind].append(node)
        if kind == "pod":
            namespace, short = name.split("/", 1)
            boxes.setdefault(namespace, []).append(f"    {node}({_mermaid_text([short])})")
        elif kind == "external":
            lines.append(f"  {node}{{{{{_mermaid_text(name.split('; '))}}}}}")
        else:
            lines.append(f"  {node}({_mermaid_text(name.split('; '))})")
    for namespace in sorted(boxes):
        box = _mermaid_id("ns", namespace)
        classes["namespace"].append(box)
        lines.extend([f"  subgraph {box}[{_mermaid_text([f'namespace {namespace}'])}]", *boxes[namespace], "  end"])
    for source, destination, c in edges:
        arrow = "-.->" if c.kind == "lost" else "-->"
        lines.append(f"  {ids[source]} {arrow}|{_mermaid_text([f'{SIGN[c.kind]} {_ports(c)}'])}| {ids[destination]}")
    lines.extend(["  subgraph legend[legend]", "    direction TB"])
    shown = [kind for kind in DIAGRAM_LEGEND if classes[kind]]
    for index, kind in enumerate(shown):
        lines.append(f"    legend{index}({_mermaid_text([DIAGRAM_LEGEND[kind]])})")
        classes[kind].append(f"legend{index}")
    lines.append(f"    legend{len(shown)}({_mermaid_text(list(EDGE_LEGEND))})")
    lines.append("  end")
    classes["note"].append(f"legend{len(shown)}")
    classes["namespace"].append("legend")
    lines.extend(f"  classDef {name} {MERMAID_CLASSES[name]}" for name, members in classes.items() if members)
    lines.extend(f"  class {','.join(members)} {name}" for name, members in classes.items() if members)
    for kind, style in CHANGE_STYLES.items():
        drawn = [str(i) for i, (_, _, c) in enumerate(edges) if c.kind == kind]
        if drawn:
            lines.append(f"  linkStyle {','.join(drawn)} {style}")
    return DiffDiagram("\n".join(lines) + "\n", len(edges), tuple(left_out))


def diff_json(d: ReachabilityDiff) -> Iterator[str]:
    """One JSON object, byte for byte as json.dumps with indent 2 writes it, the counts first, then a
    change at a time; source lists skip json's indent mode, which is pure Python (a large diff lists
    millions of sources). Beside each display text: ports as ranges per protocol (as `matrix -o json`
    writes them) and named ports, and an outside endpoint's addresses as [first, last] ranges."""
    head = {"changed": d.changed, "gained": d.count("gained"), "lost": d.count("lost"),
            "ports_changed": d.count("changed"), "counts": "pairs" if d.pairs else "changes"}
    yield json.dumps(head, indent=2)[:-2] + ',\n  "changes": ['
    last: tuple[tuple[str, ...], str] = ((), "[]")  # pods of one group come in a row with one same list
    for i, c in enumerate(d.changes):
        if c.sources is not last[0]:
            last = (c.sources, _json_list(c.sources))
        fields = [f'"kind": {json.dumps(c.kind)}', f'"sources": {last[1]}',
                  f'"destination": {json.dumps(c.destination)}',
                  f'"before": {json.dumps(port_text(c.before, c.named_before))}',
                  f'"after": {json.dumps(port_text(c.after, c.named_after))}',
                  f'"before_ranges": {_ranges(c.before)}', f'"after_ranges": {_ranges(c.after)}']
        fields.extend(f'"{key}": {_json_list(named)}' for key, named in (("before_named", c.named_before),
                                                                          ("after_named", c.named_after)) if named)
        fields.extend(f'"{key}": {_addresses(addresses)}' for key, addresses in (
            ("source_addresses", c.source_addresses), ("destination_addresses", c.destination_addresses)) if addresses)
        if c.because:
            fields.append(f'"rules": {_json_list(c.because)}')
        yield ("," if i else "") + "\n    {\n      " + ",\n      ".join(fields) + "\n    }"
    yield ("\n  ]" if d.changes else "]") + ",\n"
    ambiguities = [{"sources": list(t.sources), "destination": t.destination, "before": str(t.before),
                    "after": str(t.after), "before_ranges": t.before.to_json(), "after_ranges": t.after.to_json(),
                    "ties": list(t.ties)} for t in d.ambiguities]
    tail = json.dumps({"ambiguities": ambiguities, "added_pods": list(d.added_pods),
                       "removed_pods": list(d.removed_pods), "assumptions": list(d.assumptions)}, indent=2)
    yield tail[2:] + "\n"


@lru_cache(maxsize=4096)  # a large diff writes the same few port sets for many destinations
def _ranges(ports: PortSet) -> str:
    """Ports as [first, last] ranges per protocol, laid out as indent 2 lays them out inside a change."""
    return json.dumps(ports.to_json(), indent=2).replace("\n", "\n      ")




def _addresses(ranges: tuple[tuple[IPAddress, IPAddress], ...]) -> str:
    return json.dumps([[str(first), str(last)] for first, last in ranges], indent=2).replace("\n", "\n      ")


def _json_list(values: tuple[str, ...]) -> str:
    """A list of strings inside a change, laid out as indent 2 lays it out; each string through the
    encoder json.dumps uses for a str."""
    if not values:
        return "[]"
    if _ESCAPED.search("".join(values)) is None:  # pod names need no escape: quotes around each, at C speed
        return '[\n        "' + '",\n        "'.join(values) + '"\n      ]'
    return "[\n        " + ",\n        ".join(map(encode_basestring_ascii, values)) + "\n      ]"


_ESCAPED = re.compile(r'[^ !#-\[\]-~]')  # what json's ASCII encoder escapes: quote, backslash, and beyond printable
