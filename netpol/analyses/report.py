"""What `netpol report` shows, as plain data: summary, pods, the class matrix with explanations, and the
graph's groups with each class's panel (its connections, from the engine, not from the collapsed diagram).

The HTML page (render/report.py) embeds this as JSON and draws the matrix
and the side panels from it. Everything is per engine class: a cell of the
pod matrix is the cell of its two classes, and an explanation is shared by
every class pair whose two sides matched the same rules (the engine shares
those results), so the data grows with classes and rules, not pod pairs.
Above CLASS_LIMIT classes, only pairs within a namespace get cells: the
page then shows one namespace's matrix at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netpol.analyses.connectivity import Unit, Units
from netpol.analyses.diagram import Diagram
from netpol.analyses.diff import Change, both_versions
from netpol.analyses.families import families
from netpol.analyses.lint import LintReport
from netpol.engine import DirectionResult
from netpol.errors import NetpolError
from netpol.model import DIRECTIONS, Pod
from netpol.model.portsets import NO_PORTS, span_text
from netpol.policies.calico import calico_compiles
from netpol.policies.tiered import TierRuleRef

if TYPE_CHECKING:
    from netpol.analyses.query import Analyzer
    from netpol.analyses.verdicts import Verdict

CLASS_LIMIT = 200  # classes with a cell for every pair (40k); beyond, only pairs within a namespace
POD_TABLE_LIMIT = 1000  # rows of the static pod table (the matrix view has them all)
LINK_LIMIT = 5  # pods linked from one policy in the static policy table
TABLE_LIMIT = 500  # rows of a static policy or lint table; the CLI commands give the rest
REPORT_SCOPE = ("this page answers for the input's pods and for outside addresses: pods that could exist but are not "
                "in the input (new pods of its namespaces, pods of other namespaces) are not on it; netpol list, "
                "netpol exposure and netpol diff answer for them")
DIFF_SCOPE = ("this page compares the input's pods and outside addresses: pods that could exist but are in neither "
              "version are not compared; netpol diff BASE HEAD --any-pod (text, json or md) compares them too")


@dataclass(frozen=True)
class ReportData:
    """`data` is JSON-ready; the rest feeds the static (no-JavaScript) parts of the page."""

    data: dict[str, Any]  # "assumptions": every assumption the page's answers rest on, shown near its top
    pods: tuple[Pod, ...]
    namespace_level: bool  # the matrix holds only pairs within a namespace (too many classes for all pairs)


def side_text(result: DirectionResult | None) -> str:
    """One direction's decision over every port: who isolates, and which rule allows or denies what."""
    if result is None:
        return "outside the cluster: no policy applies"
    if result.from_local_node:
        return "allowed on every port: traffic with the pod's own node"
    if result.walk is not None:
        parts = []
        for seg in result.walk.segments:
            if isinstance(seg.decider, TierRuleRef):
                who = str(seg.decider)
            elif seg.decider == "NetworkPolicy":
                who = _v1(result)
            else:
                who = "no policy decides (default allow)"
            passed = f", handed on by {seg.passed}" if seg.passed is not None else ""
            parts.append(f"{seg.ports}: {'allowed' if seg.allowed else 'denied'} ({who}{passed})")
        return "; ".join(parts)
    if not result.isolated:
        return "not isolated: every port allowed"
    return _v1(result)


def _v1(result: DirectionResult) -> str:
    by = ", ".join(result.isolated_by)
    if not result.matches:
        return f"isolated by {by}; no rule matches"
    return f"isolated by {by}; " + "; ".join(f"{m.ref} allows {m.ports}" for m in result.matches)


def build_report(analyzer: Analyzer, lint: LintReport | None, diagram: Diagram | None) -> ReportData:
    engine = analyzer.engine
    cluster = analyzer.cluster
    pods = tuple(cluster.pods)
    n = len(engine.classes)
    kinds = Counter(p.kind for p in cluster.tiered)
    calico = calico_compiles(cluster)
    if calico and cluster.calico is not None:  # Calico's enforced kinds, as its tiers hold them
        kinds.update(f"{p.kind} (projectcalico.org)" for p in cluster.calico.policies if not p.staged)
    pod_rows = [{"key": pod.key, "ns": pod.namespace, "labels": dict(pod.labels), "cls": engine.class_of[pod.key],
                 "one": pod.is_one_pod} for pod in pods]
    views = families(engine)
    classes = [{"ingress": list(views.isolating["ingress"][c.id]), "egress": list(views.isolating["egress"][c.id]),
                "tiered": [d for d in DIRECTIONS if views.has_tier_rules(d, c.id)]} for c in engine.classes]
    isolated = {d: [p for c in engine.classes if engine.is_isolated(d, c.id) for p in c.pods] for d in DIRECTIONS}
    data: dict[str, Any] = {
        "summary": {
            "namespaces": len(cluster.namespaces), "pods": sum(p.workload is None for p in pods),
            "workloads": sum(p.workload is not None for p in pods), "policies": len(cluster.policies),
            "tiered": dict(sorted(kinds.items())), "classes": n,
            "isolated": {d: {"pods": sum(p.workload is None for p in isolated[d]),
                             "workloads": sum(p.workload is not None for p in isolated[d])} for d in DIRECTIONS},
            "lint": lint.counts() if lint is not None else None,
            "isolating": "a Calico tier" if calico else "a NetworkPolicy",  # what isolates a pod (engine.is_isolated)
        },
        "pods": pod_rows,
        "classes": classes,
        "intervals": port_intervals(analyzer),
        "assumptions": [*page_assumptions(analyzer), REPORT_SCOPE],
    }
    namespace_level = n > CLASS_LIMIT
    texts = _Texts()
    data.update(_class_matrix(analyzer, namespace_level, texts))
    if diagram is not None:
        data["groups"] = _groups(analyzer, diagram)
        data["panels"] = _panels(analyzer, texts, data["cells"])
    data["portsets"], data["explanations"] = list(texts.portsets), list(texts.texts)
    return ReportData(data, pods, namespace_level)


def page_assumptions(analyzer: Analyzer) -> tuple[str, ...]:
    """What every answer about the input's pods rests on: the matrix's assumptions, which start with the
    cluster's own (ignored enforcing objects, kinds that could not be read, whatever a source adds), so a
    page names them all without knowing where each came from."""
    return analyzer.matrix().assumptions()


def diff_assumptions(base: Analyzer, head: Analyzer) -> tuple[str, ...]:
    """Both versions' assumptions, each once; one that only one version makes says which."""
    return (*both_versions(page_assumptions(base), page_assumptions(head)), DIFF_SCOPE)


def input_title(paths: Sequence[str] | None) -> str:
    """The input as the user named it, for the page's title; a folder named only by dots (`.`, `../`) also
    by its own name, which says more than "." in a browser tab or a CI artifact list."""
    if not paths:
        return "live cluster"
    out = []
    for path in paths:
        if path == "-":
            out.append("standard input")
        elif Path(path).name in ("", ".."):  # ".", "./", "..", "a/..": the name of the folder it resolves to
            out.append(f"{Path(path).resolve().name or path} ({path})")
        else:
            out.append(path)
    return ", ".join(out)


def port_intervals(analyzer: Analyzer) -> list[str]:
    """The port intervals the policies tell apart (the engine's port atoms); the matrix filters on them."""
    return [span_text(proto, first, last) for proto, first, last in analyzer.engine.port_atoms]


class _Texts:
    """Port sets and explanations, each stored once and referred to by index (the page's JSON stays the
    size of the distinct answers, not of the pairs)."""

    def __init__(self) -> None:
        self.portsets: dict[str, int] = {}
        self.texts: dict[str, int] = {}
        self.by_results: dict[tuple[int, int], int] = {}  # the engine shares results between peers alike

    def ports(self, text: str) -> int:
        return self.portsets.setdefault(text, len(self.portsets))

    def why(self, egress: DirectionResult | None, ingress: DirectionResult | None) -> int:
        key = (id(egress), id(ingress))
        if key not in self.by_results:
            text = (f"egress of the source: {side_text(egress)}\ningress of the destination: "
                    f"{side_text(ingress)}")
            self.by_results[key] = self.texts.setdefault(text, len(self.texts))
        return self.by_results[key]


def _class_matrix(analyzer: Analyzer, within_namespaces: bool, texts: _Texts) -> dict[str, Any]:
    """Per class pair "s,d": its ports (an index into `portsets`) and its explanation (into
    `explanations`). `within_namespaces`: only pairs of classes that share a namespace (large clusters,
    where the page shows one namespace's matrix at a time)."""
    engine = analyzer.engine
    matrix = analyzer.matrix()
    if within_namespaces:
        by_ns: dict[str, set[int]] = {}
        for c in engine.classes:
            for p in c.pods:
                by_ns.setdefault(p.namespace, set()).add(c.id)
        pairs = sorted({(s, d) for ids in by_ns.values() for s in ids for d in ids})
    else:
        pairs = [(s.id, d.id) for s in engine.classes for d in engine.classes]
    cells: dict[str, list[int]] = {}
    for s, d in pairs:
        ports = "self" if s == d and engine.classes[s].lone else str(matrix.class_ports(s, d))
        cells[f"{s},{d}"] = [texts.ports(ports), texts.why(*engine.connection(s, d))]
    return {"cells": cells, "within_namespaces": within_namespaces}


def _panels(analyzer: Analyzer, texts: _Texts, cells: dict[str, list[int]]) -> list[dict[str, list[dict[str, Any]]]]:
    """Per class, the graph panel's facts, straight from the engine: who may open connections to its pods
    ("in") and whom they may open connections to ("out"). An entry is the peer classes (or one set of
    outside addresses, as `netpol list` names them) that connect on the same ports for the same reasons.
    One pod's traffic to itself is left out, as in the matrix. `cells`: every class pair's (see
    _class_matrix)."""
    engine = analyzer.engine
    none = texts.ports(str(NO_PORTS))
    units = Units(analyzer)
    outside = [u for u in units.all if u.kind == "outside"]
    out: list[dict[str, list[dict[str, Any]]]] = []
    for c in engine.classes:
        panel: dict[str, list[dict[str, Any]]] = {"in": [], "out": []}
        for direction in ("in", "out"):
            merged: dict[tuple[int, int], list[int]] = {}
            for peer in engine.classes:
                if peer.id == c.id and c.lone:
                    continue
                ports, why = cells[f"{peer.id},{c.id}" if direction == "in" else f"{c.id},{peer.id}"]
                if ports != none:
                    merged.setdefault((ports, why), []).append(peer.id)
            panel[direction] = [{"classes": ids, "address": None, "ports": p, "why": w}
                                for (p, w), ids in merged.items()]
            addresses: dict[tuple[int, int], list[Unit]] = {}
            for u in outside:
                src_ref, dst_ref = (u.peer, c.id) if direction == "in" else (c.id, u.peer)
                ports = engine.allowed_ports(src_ref, dst_ref)
                if ports:
                    addresses.setdefault((texts.ports(str(ports)), texts.why(*engine.connection(src_ref, dst_ref))),
                                         []).append(u)
            panel[direction] += [{"classes": [], "address": units.names(us)[0], "ports": p, "why": w}
                                 for (p, w), us in addresses.items()]
        out.append(panel)
    return out


def _groups(analyzer: Analyzer, diagram: Diagram) -> dict[str, Any]:
    """Each drawn group of pods: its title, pods, shared labels and classes (whose panels say the rest)."""
    engine = analyzer.engine
    return {g.id: {"title": f"{box.name}/{g.title}", "pods": [p.key for p in g.pods],
                   "labels": dict(g.labels), "classes": sorted({engine.class_of[p.key] for p in g.pods})}
            for box in diagram.namespaces for g in box.groups}


def diff_verdicts(base: Analyzer, head: Analyzer, changes: Iterable[Change]
                  ) -> dict[Change, tuple[Verdict | str, Verdict | str]]:
    """Per change, both versions' can-reach verdict for its first pair, on the first port that changed
    (or a sentence where a side cannot answer: the pod does not exist there, an outside address set)."""
    out: dict[Change, tuple[Verdict | str, Verdict | str]] = {}
    for c in changes:
        moved = c.after.difference(c.before) or c.before.difference(c.after)
        protocol, port = moved.first()
        both = [k for k in c.sources if k in base.cluster.pods_by_key and k in head.cluster.pods_by_key]
        src = both[0] if both else c.sources[0]  # a pod on both sides explains best
        sides: list[Verdict | str] = []
        for analyzer in (base, head):
            if not all(k in analyzer.cluster.pods_by_key for k in (src, c.destination)):
                sides.append("not a pod pair on this side (a pod added or removed, or an outside address set)")
                continue
            try:
                sides.append(analyzer.can_reach(src, c.destination, port, protocol))
            except NetpolError as exc:
                sides.append(str(exc))
        out[c] = (sides[0], sides[1])
    return out
