"""`netpol lint`: findings about policies that do not do what their author meant.

Each check is exact: it fires only when what it says is certainly true of the
input, and where the judgement rests on something the input does not show
(pods of another namespace, undeclared namespace labels) the message says so.
Policy-only checks (NP1xx) need no pods and hold for every pod that could
exist; cluster checks (NP2xx) run when the input has pods or workloads, on
the engine's classes, never on pod pairs. Without pods, NP212 runs on the
possible pods (netpol.analyses.regions), where it is exact.
Suppressed findings (an annotation on the object, or `--disable`) are kept
and counted, not dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netpol.analyses.lint.catalogue import RULES, SEVERITIES, LintRule
from netpol.analyses.lint.findings import Finding
from netpol.errors import Location, QueryError
from netpol.model import Cluster
from netpol.sources.unmodelled import Unmodelled, enforcing

if TYPE_CHECKING:
    from netpol.engine import Engine

__all__ = ["RULES", "Finding", "LintReport", "LintRule", "lint", "rule_ids"]


@dataclass(frozen=True)
class LintReport:
    findings: tuple[Finding, ...]  # sorted by file, line, rule id; suppressed ones included
    cluster_checks: bool  # False when the input had no pods: only the policy checks ran
    notes: tuple[str, ...] = ()  # what could not be checked, and why

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed is None)

    def counts(self) -> dict[str, int]:
        """Unsuppressed findings per severity, and how many were suppressed."""
        counted = Counter(f.rule.severity for f in self.active)
        out: dict[str, int] = {s: counted.get(s, 0) for s in SEVERITIES}
        out["suppressed"] = len(self.findings) - len(self.active)
        return out

    def with_positions(self, position: Callable[[Location, str | None], tuple[int, int] | None]) -> LintReport:
        """The findings with the line and column of their field (found by `position`), re-sorted."""
        out = []
        for f in self.findings:
            where = position(f.location, f.path) if f.location is not None else None
            out.append(replace(f, line=where[0], column=where[1]) if where else f)
        out.sort(key=_order)
        return LintReport(tuple(out), self.cluster_checks, self.notes)

    def fails(self, fail_on: str) -> bool:
        """`fail_on`: error, warning, info, or never."""
        if fail_on == "never":
            return False
        limit = SEVERITIES.index(fail_on)
        return any(SEVERITIES.index(f.rule.severity) <= limit for f in self.active)


def rule_ids(ids: Iterable[str]) -> set[str]:
    """Ids from --disable/--enable (comma-separated too; 'all' for every rule), checked."""
    out: set[str] = set()
    for item in ids:
        for part in item.replace(",", " ").split():
            ident = part.upper()
            if ident == "ALL":
                out.update(RULES)
            elif ident in RULES:
                out.add(ident)
            else:
                raise QueryError(f"unknown lint rule {part!r}; the rules are {', '.join(RULES)} (docs/lint.md)")
    return out


def lint(cluster: Cluster, namespaces: Iterable[str] = (), disabled: Iterable[str] = (),
         enabled: Iterable[str] = (), engine: Engine | None = None, unmodelled: Unmodelled = Unmodelled(),
         ) -> LintReport:
    """Run every check. `namespaces`: report only namespaced objects of these (cluster-scoped ones always);
    `disabled` rules still run but their findings count as suppressed, unless `enabled` names them again;
    `engine`: the cluster already compiled, if the caller has it; `unmodelled`: what the input holds that
    enforces traffic and that netpol does not evaluate (--ignore-unmodelled), one NP115 finding each."""
    from netpol.analyses.lint import cluster as cluster_checks
    from netpol.analyses.lint import calico, cilium, policies, tiered
    from netpol.engine import Engine
    from netpol.policies.profiles import CILIUM

    off = rule_ids(disabled) - rule_ids(enabled)
    found: list[Finding] = [*policies.check(cluster), *tiered.check(cluster), *_not_evaluated(unmodelled),
                            *calico.check(cluster)]
    if cluster.dataplane.profile == CILIUM.name:  # Cilium's own policies, evaluated only under its profile
        found.extend(cilium.check(cluster))
    has_pods = bool(cluster.pods)
    notes: list[str] = []
    if has_pods:
        engine = engine or Engine(cluster)
        found.extend(cluster_checks.check(engine, notes))
        found.extend(tiered.check_engine(engine))
        found.extend(calico.check_engine(engine))
    else:
        found.extend(_possible_checks(cluster, notes))
    wanted = set(namespaces)
    # a rule never reached for every pod (NP117) is not also redundant for the input's (NP205); a tiered rule NP110
    # reports shadowed is not also never reached (NP117)
    said = {(f.rule.id, f.object, f.path) for f in found if f.rule.id in ("NP110", "NP117")}
    out = []
    for f in found:
        if (f.rule.id == "NP205" and ("NP117", f.object, f.path) in said) or (
                f.rule.id == "NP117" and ("NP110", f.object, f.path) in said):
            continue
        if wanted and f.namespace is not None and f.namespace not in wanted:
            continue
        if f.suppressed is None and f.rule.id in off:
            f = replace(f, suppressed="option")
        out.append(f)
    out.sort(key=_order)
    return LintReport(tuple(out), has_pods, tuple(notes))


def _not_evaluated(unmodelled: Unmodelled) -> Iterator[Finding]:
    """NP115: each object that enforces traffic and that netpol did not evaluate, where the input has it, and
    each policy resource a live read could not list."""
    rule = RULES["NP115"]
    for o in unmodelled.objects:
        entry = enforcing(o.kind, o.api_version)
        product = f" ({entry.product})" if entry else ""
        name = f"{o.kind} {o.title}"
        yield Finding(rule, f"{name} ({o.api_version}): not evaluated by netpol{product}; it may allow or deny "
                      "traffic that these findings do not see", name, o.namespace, o.location)
    for resource in unmodelled.unread:
        yield Finding(rule, f"{resource}: not evaluated by netpol; it may allow or deny traffic that these "
                      "findings do not see", resource, None, None)


def _possible_checks(cluster: Cluster, notes: list[str]) -> list[Finding]:
    """NP212 for every pod that could exist (netpol.analyses.regions), where that is exact: not when a rule names a
    port (a possible pod may give the name any number), nor past the region limit (noted)."""
    from netpol.analyses.lint.one_sided import one_sided
    from netpol.analyses.label_space import RegionLimitError
    from netpol.analyses.regions import regions
    from netpol.engine import Engine
    from netpol.policies.calico import calico_compiles
    from netpol.policies.profiles import CILIUM

    if not cluster.policies:
        return []
    if calico_compiles(cluster) or cluster.dataplane.profile == CILIUM.name:
        notes.append(f"NP212 (other side denies) was not checked for possible pods: under the "
                     f"{cluster.dataplane.profile} profile it is judged on the compiled stages for the input's pods "
                     "only; pass the workloads to check it for them")
        return []
    named = any(isinstance(p.port, str) for pol in cluster.policies for d in ("ingress", "egress")
                for r in pol.rules(d) for p in r.ports) or any(  # type: ignore[arg-type]
        p.name is not None for pol in cluster.tiered for d in ("ingress", "egress")
        for r in pol.rules(d) for p in r.ports or ())  # type: ignore[arg-type]
    if named:
        notes.append("NP212 (other side denies) was not checked for possible pods: a rule names a port, and a "
                     "pod may give that name any number; pass the workloads to check it for them")
        return []
    try:
        possible = regions(cluster)
    except RegionLimitError as exc:
        notes.append(f"NP212 (other side denies) was not checked for possible pods: {exc}")
        return []
    return list(one_sided(Engine(possible.cluster), notes, possible=True))


def _order(f: Finding) -> tuple[str, int, int, int, str, str]:
    loc = f.location or Location("")
    return (loc.file, loc.document or 0, loc.item or 0, f.start_line or 0, f.rule.id, f.message)

