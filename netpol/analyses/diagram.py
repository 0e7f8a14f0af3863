"""The allow-graph as a diagram: pods grouped, edges collapsed, ready to draw.

Drawing one node per pod and one edge per allowed pair stops being readable
at a few dozen pods, so this module shrinks the graph without losing facts:

* Pods with identical connectivity (same ports to and from every other pod
  and external node, same isolation) and the same namespace become one group.
* Edges into one node on the same ports collapse by source: from every pod of
  the cluster into one edge from ANY_POD; else from every pod not isolated for
  egress (usually most of them) into one edge from ANY_UNRESTRICTED_POD, and
  from every group of a namespace into one edge from that namespace's
  "any pod in NS" node.

The world is open: when the engine holds the possible pods (regions, netpol.analyses.regions), they are not
drawn, but an anchor ("any pod", "any pod in NS", "any pod whose egress is not restricted") is used only
when every possible pod it stands for has the edge too, so that it means what it says
(`Diagram.possible`); an edge whose only sources are possible pods (the other pods of a lone pod's namespace)
is drawn from the anchor that stands for them. Without them, the anchors stand for the input's pods.

A single-pod group counts as one of the sources of an edge into itself when
its policies allow its own traffic on those ports (the self pair the graph
leaves out), so "every pod of the namespace" stays exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from netpol.analyses.families import families
from netpol.engine import Engine
from netpol.model import METADATA_NAME_LABEL, Cluster, IPBlock, Pod
from netpol.model.portsets import PortSet, Protocol
from netpol.sources.unmodelled import ignored

ANY_POD = "any-pod"
ANY_UNRESTRICTED_POD = "any-unrestricted-pod"  # every pod whose egress is not restricted

@dataclass(frozen=True)
class Group:
    """Pods of one namespace that every allowed connection treats alike."""

    id: str
    namespace: str
    pods: tuple[Pod, ...]
    labels: tuple[tuple[str, str], ...]  # labels all its pods share
    ingress_isolated: bool
    egress_isolated: bool  # restricted: isolated, and not only by policies that allow all egress
    host_network: bool
    tiered: bool = False  # an Admin or Baseline policy selects these pods (in either direction)

    @property
    def lone(self) -> bool:
        """One pod, whose traffic to itself is not drawn (a workload of several replicas is not lone)."""
        return len(self.pods) == 1 and self.pods[0].is_one_pod

    @property
    def title(self) -> str:
        if len(self.pods) == 1:
            return self.pods[0].name + self.pods[0].replica_note
        owners = {p.owner for p in self.pods}
        if len(owners) == 1 and None not in owners:  # a live cluster's pods of one workload
            return f"{owners.pop()} x{len(self.pods)}"
        if self.labels:
            return f"{','.join(f'{k}={v}' for k, v in self.labels[:2])} x{len(self.pods)}"
        if len(self.pods) <= 3:
            return ", ".join(p.name for p in self.pods)
        workloads = sum(p.workload is not None for p in self.pods)
        kind = "workloads" if workloads == len(self.pods) else "pods" if not workloads else "pods and workloads"
        return f"{len(self.pods)} {kind}"


@dataclass(frozen=True)
class External:
    """An address range outside the cluster that rules name, or any address."""

    id: str
    block: IPBlock | None  # None: any address
    within: tuple[IPBlock, ...] | None = None  # tiered inputs: the addresses in exactly these blocks
    family: int | None = None  # their IP version, where a rule tells the families apart (engine.address_sets)


@dataclass(frozen=True)
class NamespaceBox:
    name: str
    labels: tuple[tuple[str, str], ...]  # without the automatic metadata.name label
    groups: tuple[Group, ...]
    has_anchor: bool  # an "any pod in NS" node is drawn


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    ports: PortSet


@dataclass(frozen=True)
class Diagram:
    namespaces: tuple[NamespaceBox, ...]
    externals: tuple[External, ...]
    any_pod: bool  # the ANY_POD node is drawn
    any_unrestricted_pod: bool  # the ANY_UNRESTRICTED_POD node is drawn
    edges: tuple[Edge, ...]
    probe: tuple[Protocol, int] | None
    focus: str | None
    hidden_edges: int = 0  # with -n: edges between a drawn node and pods of other namespaces, left out
    possible: bool = False  # the anchors stand for every pod that could exist, not only the input's
    # What the picture cannot show: objects that allow or deny traffic and that netpol did not evaluate
    # (--ignore-unmodelled), as every verdict's assumptions name them; drawn in the legend.
    ignored: tuple[str, ...] = ()


def namespace_node(namespace: str) -> str:
    return f"ns:{namespace}"


def external_node(block: IPBlock | None) -> str:
    return "ext:any" if block is None else f"ext:{block}"


def _external_id(name: int | str, data: dict[str, Any]) -> str:
    """A block node's id is its block; a tiered graph's address set node keeps its name."""
    return f"ext:{name}" if "within" in data else external_node(data["block"])


def build_diagram(engine: Engine, *, probe: tuple[Protocol, int] | None = None,
                  namespaces: Iterable[str] | None = None, focus: Pod | None = None) -> Diagram:
    """Group, collapse and filter the engine's allow-graph; see the module docstring."""
    cluster = engine.cluster
    wanted = set(namespaces or ())
    if focus is not None:
        flow = _Flow(engine, probe, {engine.class_of[focus.key]})
    elif wanted:  # every class's outside edges too: "any pod" may reach an outside node
        flow = _Flow(engine, probe, {engine.class_of[p.key] for p in cluster.pods
                                     if p.namespace in wanted and not p.hypothetical},
                     outside=set(range(len(engine.classes))))
    else:
        flow = _Flow(engine, probe)
    groups = _group(engine, flow, focus)
    namespace_of = {g.id: g.namespace for g in groups}
    edges = flow.group_edges(groups)
    if focus is not None:
        focus_id = next(g.id for g in groups if focus in g.pods)
        edges = {k: v for k, v in edges.items() if focus_id in k}
    # The targets whose column is known for every class, into which possible pods alone may be the sources
    if focus is not None:
        seeded = {focus_id}
    else:
        seeded = {g.id for g in groups if not wanted or g.namespace in wanted} | set(flow.externals())
    collapsed = _collapse(edges, groups, flow, seeded)
    if focus is not None:
        touched = {n for e in collapsed for n in (e.source, e.target)} | {focus_id}
        # An "any pod in NS" end stands for every group of NS: each is a neighbour, drawn in its box.
        touched |= {g.id for g in groups if namespace_node(g.namespace) in touched}
        groups = [g for g in groups if g.id in touched]
    if wanted:
        groups = [g for g in groups if g.namespace in wanted]
    possible = any(p.hypothetical for p in cluster.pods)
    return replace(_assemble(cluster, groups, collapsed, flow.blocks, probe, focus, namespace_of), possible=possible,
                   ignored=ignored(cluster.assumptions))


class _Flow:
    """Class-level ports between classes and external nodes, probed to one port if asked."""

    def __init__(self, engine: Engine, probe: tuple[Protocol, int] | None, only: set[int] | None = None,
                 outside: set[int] | None = None) -> None:
        """`only`: the classes whose rows and columns the picture needs (the focus pod's, or those of the
        namespaces drawn); the edges between other classes are never computed (netpol.engine.slices).
        `outside`: the classes whose edges with outside nodes are (default: `only`)."""
        self.engine = engine
        self.only = PortSet.of([(probe[0], probe[1], probe[1])]) if probe else None
        self.between: dict[tuple[int | str, int | str], PortSet] = {}
        nodes = engine.outside_nodes()
        key = {name: _external_id(name, data) for name, data in nodes}
        self.blocks: dict[str, External] = {
            key[name]: External(key[name], data["block"], data.get("within"),  # type: ignore[arg-type]
                                data.get("family"))  # type: ignore[arg-type]
            for name, data in nodes}
        if only is None:
            for src, dst, data in engine.graph.edges(data=True):
                self._put(key.get(src, src), key.get(dst, dst), data["ports"])  # type: ignore[arg-type]
        else:
            self._slices(only, key, only if outside is None else outside)
        # The graph leaves out a lone pod's self pair; collapsing needs it (for the edges' targets), and so
        # does grouping, except where only the rows and columns of `only` are known (and only those count).
        self.self_ports: dict[int, PortSet] = {}
        ends = engine.classes if only is None else [engine.classes[i] for i in {
            dst for _, dst in self.between if isinstance(dst, int)} | only]
        for c in ends:
            if c.lone:
                ports = engine.allowed_ports(c.id, c.id)
                self.self_ports[c.id] = self._probed(ports)
                if only is None or c.id in only:
                    self._put(c.id, c.id, ports)

    def _slices(self, only: set[int], key: dict[str, str], outside: set[int]) -> None:
        """The rows and columns of `only`, and the edges of `outside` with the outside nodes."""
        import numpy as np

        from netpol.engine.slices import PortCodes, Slices

        codes = PortCodes.common(self.engine)
        slices = Slices(self.engine, codes, only, only)
        for c in sorted(only):
            row, column = slices.row(c), slices.column(c)
            for d in np.flatnonzero(row.any(axis=1)).tolist():
                self._put(c, d, codes.decode(row[d]))
            for s in np.flatnonzero(column.any(axis=1)).tolist():
                self._put(s, c, codes.decode(column[s]))
        for c in sorted(outside):
            for direction, node, result in self.engine.outside_results(c):
                if direction == "egress":
                    self._put(c, key[node], result.ports)
                else:
                    self._put(key[node], c, result.ports)

    def _probed(self, ports: PortSet) -> PortSet:
        return ports.intersection(self.only) if self.only is not None else ports

    def _put(self, src: int | str, dst: int | str, ports: PortSet) -> None:
        ports = self._probed(ports)
        if ports:
            self.between[(src, dst)] = ports

    def externals(self) -> list[str]:
        return sorted({n for pair in self.between for n in pair if isinstance(n, str)})

    def group_edges(self, groups: list[Group]) -> dict[tuple[str, str], PortSet]:
        """Edges between groups (and external nodes), read off their representative classes."""
        nodes: dict[int | str, list[str]] = {n: [n] for n in self.externals()}
        for g in groups:
            nodes.setdefault(self.engine.class_of[g.pods[0].key], []).append(g.id)
        singles = {g.id for g in groups if g.lone}
        edges: dict[tuple[str, str], PortSet] = {}
        for (ka, kb), ports in self.between.items():
            for a in nodes.get(ka, ()):
                for b in nodes.get(kb, ()):
                    if a != b or a not in singles:
                        edges[(a, b)] = ports
        return edges


def _group(engine: Engine, flow: _Flow, focus: Pod | None) -> list[Group]:
    """Merge (namespace, class) units whose rows and columns of ports are equal."""
    units: dict[tuple[str, int, bool], list[Pod]] = {}
    for pod in engine.cluster.pods:
        if pod.hypothetical:  # possible pods are not drawn: they only vouch for the anchors (_collapse)
            continue
        is_focus = focus is not None and pod.key == focus.key
        units.setdefault((pod.namespace, engine.class_of[pod.key], is_focus), []).append(pod)
    outgoing: dict[int | str, set[tuple[int | str, PortSet]]] = {}
    incoming: dict[int | str, set[tuple[int | str, PortSet]]] = {}
    for (src, dst), ports in flow.between.items():  # sparse rows and columns: equal sets, equal dense rows
        outgoing.setdefault(src, set()).add((dst, ports))
        incoming.setdefault(dst, set()).add((src, ports))
    merged: dict[tuple[Any, ...], list[Pod]] = {}
    for (namespace, cls, is_focus), pods in units.items():
        signature = (
            namespace, is_focus,
            _ingress_isolated(engine, cls), _egress_restricted(engine, cls), engine.classes[cls].host_network,
            families(engine).has_tier_rules("ingress", cls) or families(engine).has_tier_rules("egress", cls),
            frozenset(outgoing.get(cls, ())),
            frozenset(incoming.get(cls, ())),
        )
        merged.setdefault(signature, []).extend(pods)
    groups = []
    for signature, pods in merged.items():
        pods.sort(key=lambda p: p.key)
        common = set(pods[0].labels).intersection(*(p.labels for p in pods[1:]))
        groups.append(Group(
            pods[0].key, pods[0].namespace, tuple(pods), tuple(sorted(common)),
            bool(signature[2]), bool(signature[3]), bool(signature[4]), bool(signature[5]),
        ))
    groups.sort(key=lambda g: g.id)
    return groups


def _ingress_isolated(engine: Engine, cls: int) -> bool:
    """By any tier: a NetworkPolicy, or an Admin or Baseline Deny."""
    return engine.is_isolated("ingress", cls) or bool(families(engine).tier_isolating("ingress", cls))


def _egress_restricted(engine: Engine, cls: int) -> bool:
    """An allow-all egress policy restricts nothing (it is there to keep egress open): not marked."""
    return families(engine).is_restricted("egress", cls) or bool(families(engine).tier_isolating("egress", cls))


def _collapse(edges: dict[tuple[str, str], PortSet], groups: list[Group], flow: _Flow, seeded: set[str]) -> list[Edge]:
    """Edges into one node on the same ports: from ANY_POD, a namespace, or each group; an anchor only
    where every possible pod it stands for has the edge too. Into the `seeded` nodes, the ports possible pods
    open are candidates too, so that an edge whose only sources are possible pods (the other pods of a lone
    pod's namespace) is drawn from its anchor rather than lost."""
    everyone = frozenset(g.id for g in groups)
    by_namespace: dict[str, set[str]] = {}
    namespace_of: dict[str, str] = {}
    for g in groups:
        by_namespace.setdefault(g.namespace, set()).add(g.id)
        namespace_of[g.id] = g.namespace
    class_of = flow.engine.class_of
    self_ports = {g.id: flow.between.get((c, c)) or flow.self_ports.get(c) or None
                  for g in groups if g.lone for c in (class_of[g.pods[0].key],)}

    unrestricted = frozenset(g.id for g in groups if not g.egress_isolated)
    engine = flow.engine
    possible: dict[str | None, set[int]] = {None: set()}  # per namespace (None: all), the possible pods' classes
    for pod in engine.cluster.pods:
        if pod.hypothetical:
            possible[None].add(class_of[pod.key])
            possible.setdefault(pod.namespace, set()).add(class_of[pod.key])
    free = {c for c in possible[None] if not _egress_restricted(engine, c)}
    node = {g.id: class_of[g.pods[0].key] for g in groups}

    def vouched(classes: set[int], target: str, ports: PortSet) -> bool:
        """Every possible pod of these classes may open `ports` to the target, and no other port."""
        end = node.get(target, target)
        return all(flow.between.get((c, end)) == ports for c in classes)

    def cover(target: str, ports: PortSet, members: set[str]) -> list[str]:
        """An anchor stands for more than one node: several drawn ones, or possible pods besides them."""
        have = members | {target} if self_ports.get(target) == ports else members
        if have >= everyone and (len(everyone) > 1 or possible[None]) and vouched(possible[None], target, ports):
            return [ANY_POD]
        items, rest, unseen = [], set(members), dict(possible)
        if (len(unrestricted) > 1 or free) and have >= unrestricted and vouched(free, target, ports):
            items.append(ANY_UNRESTRICTED_POD)
            rest -= unrestricted
            unseen = {ns: classes - free for ns, classes in possible.items()}
        # where every drawn pod is a source (or the lone target), and a drawn one or a possible one is not yet
        for ns in sorted({namespace_of[m] for m in members | {target} if m in namespace_of}):
            ids = by_namespace[ns]
            if (len(ids) > 1 or possible.get(ns)) and have >= ids and (ids & rest or unseen.get(ns)) \
                    and vouched(possible.get(ns, set()), target, ports):
                items.append(namespace_node(ns))
                rest -= ids
        return items + sorted(rest)

    sources: dict[tuple[str, PortSet], set[str]] = {}
    ids_of: dict[int | str, list[str]] = {}  # the seeded targets, by the class (or outside node) they are
    for t in seeded:
        ids_of.setdefault(node.get(t, t), []).append(t)
    for (src, dst), ports in flow.between.items():
        if src in possible[None]:
            for t in ids_of.get(dst, ()):
                sources.setdefault((t, ports), set())
    out = []
    for (src, dst), ports in edges.items():
        if src in everyone:
            sources.setdefault((dst, ports), set()).add(src)
        else:
            out.append(Edge(src, dst, ports))
    for (dst, ports), members in sources.items():
        out.extend(Edge(src, dst, ports) for src in cover(dst, ports, members))
    return sorted(out, key=lambda e: (e.source, e.target))


def _assemble(cluster: Cluster, groups: list[Group], edges: list[Edge], blocks: dict[str, External],
              probe: tuple[Protocol, int] | None, focus: Pod | None, namespace_of: dict[str, str]) -> Diagram:
    shown_ns = {g.namespace for g in groups}
    pods_and_anchors = {g.id for g in groups} | {namespace_node(ns) for ns in shown_ns}

    def shown(node: str) -> bool:
        return node in pods_and_anchors or node in (ANY_POD, ANY_UNRESTRICTED_POD) or node.startswith("ext:")

    kept = tuple(e for e in edges if shown(e.source) and shown(e.target))

    def elsewhere(node: str) -> bool:  # a pod group or namespace anchor that is not drawn
        return not shown(node) and not node.startswith("ext:")

    def namespace(node: str) -> str:  # of a group, or of a namespace's "any pod in NS" node
        return node.removeprefix("ns:") if node.startswith("ns:") else namespace_of[node]

    unrestricted_drawn = any(not g.egress_isolated for g in groups)

    def of_drawn(node: str) -> bool:  # a drawn node that stands for some drawn pod
        return node in pods_and_anchors or node == ANY_POD or (node == ANY_UNRESTRICTED_POD and unrestricted_drawn)

    # Per drawn node and direction, the other namespaces it has edges with: a count that does not depend
    # on how the pods of those namespaces are grouped (with -n, by how they treat the drawn ones).
    hidden = len({(e.source, "to", namespace(e.target)) for e in edges if of_drawn(e.source) and elsewhere(e.target)}
                 | {(e.target, "from", namespace(e.source)) for e in edges
                    if of_drawn(e.target) and elsewhere(e.source)})
    touched = {n for e in kept for n in (e.source, e.target)}
    in_namespace: dict[str, list[Group]] = {}
    for g in groups:
        in_namespace.setdefault(g.namespace, []).append(g)
    boxes = tuple(
        NamespaceBox(
            ns.name,
            tuple(kv for kv in ns.labels if kv[0] != METADATA_NAME_LABEL),
            tuple(in_namespace[ns.name]),
            namespace_node(ns.name) in touched,
        )
        for ns in sorted(cluster.namespaces, key=lambda n: n.name) if ns.name in shown_ns
    )
    externals = tuple(blocks[n] for n in sorted(touched) if n.startswith("ext:"))
    return Diagram(boxes, externals, ANY_POD in touched, ANY_UNRESTRICTED_POD in touched, kept, probe,
                   focus.key if focus else None, hidden)
