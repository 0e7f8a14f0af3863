"""A lint finding, and how a check makes one from the object it is about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netpol.analyses.lint.catalogue import RULES, LintRule
from netpol.errors import Location
from netpol.model import Namespace, NetworkPolicy, Pod, TieredPolicy
from netpol.model.calico import CalicoPolicy
from netpol.model.cilium import CiliumPolicy

Subject = NetworkPolicy | TieredPolicy | Namespace | Pod | CiliumPolicy | CalicoPolicy
PEERS_KEY = {"ingress": "from", "egress": "to"}  # the field a rule's peers are under, for finding paths
Suppression = Literal["annotation", "option"]  # netpol.io/lint-ignore on the object, or --disable


@dataclass(frozen=True)
class Finding:
    rule: LintRule
    message: str  # one line, naming the object and rule
    object: str  # "NetworkPolicy default/api-allow"
    namespace: str | None  # None for cluster-scoped objects
    location: Location | None
    path: str | None = None  # the field inside the object, e.g. "spec.ingress[0].from[1]"
    suppressed: Suppression | None = None
    line: int | None = None  # of `path` in the file, when positions were resolved (else the object's)
    column: int | None = None

    @property
    def start_line(self) -> int | None:
        return self.line if self.line is not None else (self.location.line if self.location else None)


def describe(obj: Subject) -> tuple[str, str | None]:
    """How a finding names its object, and the object's namespace."""
    if isinstance(obj, NetworkPolicy):
        return f"NetworkPolicy {obj.key}", obj.namespace
    if isinstance(obj, TieredPolicy):
        return f"{obj.kind} {obj.name}", None
    if isinstance(obj, CiliumPolicy):
        return f"{obj.kind} {obj.key.partition('/')[2]}", obj.namespace
    if isinstance(obj, CalicoPolicy):
        return f"{obj.kind} {obj.namespace + '/' if obj.namespace else ''}{obj.name}", obj.namespace
    if isinstance(obj, Namespace):
        return f"Namespace {obj.name}", obj.name
    kind = obj.workload or "Pod"
    return f"{kind} {obj.namespace}/{obj.name.split('/', 1)[-1]}", obj.namespace


def finding(rule_id: str, obj: Subject, message: str, path: str | None = None) -> Finding:
    """A finding about `obj`, suppressed when the object's netpol.io/lint-ignore names the rule."""
    name, namespace = describe(obj)
    ids = {i.upper() for i in obj.lint_ignore}  # ids are case-insensitive, as NP001 reads them
    ignored = rule_id in ids or "ALL" in ids
    return Finding(RULES[rule_id], f"{name}: {message}", name, namespace, obj.location, path,
                   "annotation" if ignored else None)
