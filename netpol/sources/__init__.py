"""Sources turn manifests (or, later, a live cluster) into one validated Cluster.

Whatever the source, objects go through `assemble`, which checks kinds,
duplicates and implied namespaces in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netpol.bulk import paused_gc
from netpol.errors import Diagnostic, InputError, Location, name_list
from netpol.model import METADATA_NAME_LABEL, Cluster, Namespace, NamespaceName, NetworkPolicy, Pod
from netpol.sources.manifests import RawObject, expand_paths, located, raw_objects, read_text
from netpol.sources.parse import Field, parse_namespace, parse_network_policy, parse_pod, pod_has_finished

__all__ = ["IgnoredObject", "LoadResult", "assemble", "load_manifests", "load_objects"]

# Workloads stand for pods netpol cannot see yet; ignoring them silently would hide pods.
WORKLOAD_KINDS = frozenset(
    {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"}
)
_SUPPORTED = {"Namespace": "v1", "Pod": "v1", "NetworkPolicy": "networking.k8s.io/v1"}


@dataclass(frozen=True)
class IgnoredObject:
    """An object of a kind netpol does not analyse, kept so the user can see it."""

    kind: str
    api_version: str
    name: str
    location: Location


@dataclass(frozen=True)
class LoadResult:
    cluster: Cluster
    diagnostics: tuple[Diagnostic, ...] = ()
    ignored: tuple[IgnoredObject, ...] = field(default=())

    def ignored_summary(self) -> str:
        counts = Counter(f"{o.kind} ({o.api_version})" for o in self.ignored)
        return ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))


def _header(raw: RawObject) -> tuple[str, str]:
    top = Field(raw.data, "", raw.location)
    kind = top.child("kind").required().string()
    api_version = top.child("apiVersion").required().string()
    return kind, api_version


def assemble(objects: Iterable[RawObject]) -> LoadResult:
    """Validate raw objects and build the Cluster, adding namespaces that are used but not declared."""
    namespaces: dict[str, Namespace] = {}
    pods: dict[str, Pod] = {}
    policies: dict[str, NetworkPolicy] = {}
    ignored: list[IgnoredObject] = []
    diagnostics: list[Diagnostic] = []
    finished: list[str] = []

    def remember(store: dict[str, Any], key: str, kind: str, obj: Any, loc: Location) -> None:
        if key in store:
            first = store[key].location
            raise InputError(loc, None, f"duplicate {kind} {key} (first defined at {first})")
        store[key] = obj

    for raw in objects:
        kind, api_version = _header(raw)
        top = Field(raw.data, "", raw.location)
        if _SUPPORTED.get(kind) != api_version:
            meta = raw.data.get("metadata")
            name = str(meta.get("name", "?")) if isinstance(meta, dict) else "?"
            ignored.append(IgnoredObject(kind, api_version, name, raw.location))
            continue
        if kind == "Namespace":
            ns = parse_namespace(top)
            remember(namespaces, ns.name, kind, ns, raw.location)
        elif kind == "Pod":
            pod = parse_pod(top)
            if pod_has_finished(top):
                finished.append(pod.key)
            else:
                remember(pods, pod.key, kind, pod, raw.location)
        else:
            policy = parse_network_policy(top)
            remember(policies, policy.key, kind, policy, raw.location)

    used = sorted({p.namespace for p in pods.values()} | {p.namespace for p in policies.values()})
    for name in used:
        if name not in namespaces:
            namespaces[name] = Namespace(NamespaceName(name), ((METADATA_NAME_LABEL, name),), False)
            diagnostics.append(Diagnostic(
                "warning",
                f"namespace {name!r} is used but not declared; assuming it has only the label "
                f"{METADATA_NAME_LABEL}={name}",
            ))
    if finished:
        diagnostics.append(Diagnostic(
            "info", f"skipped {len(finished)} finished pod(s) (phase Succeeded or Failed): {name_list(finished)}"
        ))
    diagnostics.extend(_ignored_warnings(ignored))
    cluster = Cluster(
        tuple(namespaces[k] for k in sorted(namespaces)),
        tuple(pods[k] for k in sorted(pods)),
        tuple(policies[k] for k in sorted(policies)),
    )
    return LoadResult(cluster, tuple(diagnostics), tuple(ignored))


def _ignored_warnings(ignored: list[IgnoredObject]) -> list[Diagnostic]:
    out = []
    workloads = Counter(o.kind for o in ignored if o.kind in WORKLOAD_KINDS)
    if workloads:
        names = ", ".join(f"{k} x{n}" for k, n in sorted(workloads.items()))
        out.append(Diagnostic("warning", f"workloads are not analysed yet, their pods are missing: {names}"))
    for o in ignored:
        if o.kind == "NetworkPolicy":
            out.append(Diagnostic(
                "warning",
                f"NetworkPolicy {o.name} of apiVersion {o.api_version} is not analysed "
                "(only networking.k8s.io/v1 is)",
                o.location,
            ))
    return out


def load_manifests(paths: Iterable[str], stdin_text: str | None = None) -> LoadResult:
    """Load files, directories (recursive) and '-' (stdin_text) into a Cluster."""
    files = expand_paths(paths)
    with paused_gc():
        return assemble(obj for path in files for obj in raw_objects(path, read_text(path, stdin_text)))


def load_objects(objects: Iterable[Mapping[str, Any]], origin: str = "<memory>") -> LoadResult:
    """Build a Cluster from in-memory API objects (dicts in their JSON/YAML form)."""
    with paused_gc():
        return assemble(_in_memory(obj, Location(origin, item=i)) for i, obj in enumerate(objects))


def _in_memory(obj: object, loc: Location) -> RawObject:
    if not isinstance(obj, Mapping):
        raise InputError(loc, None, f"expected an object (a mapping), found {type(obj).__name__}")
    return located(dict(obj), loc)
