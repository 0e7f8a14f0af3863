"""Sources turn manifests and live clusters (sources/cluster.py) into one validated Cluster.

Whatever the source, objects go through `assemble`, which checks kinds,
duplicates and implied namespaces in one place.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from netpol.bulk import paused_gc
from netpol.errors import Diagnostic, InputError, Location, clipped, name_list
from netpol.model import (
    DIRECTIONS,
    METADATA_NAME_LABEL,
    Cluster,
    IPAddress,
    IPBlockPeer,
    Namespace,
    NamespaceName,
    NetworkPolicy,
    Node,
    Pod,
    Service,
    TieredKind,
    TieredPolicy,
)
from netpol.model.cilium import CIDRGroup, CiliumKind, CiliumPolicy
from netpol.progress import report
from netpol.sources.calico import CalicoObjects, CalicoReader
from netpol.sources.cilium import (
    API_SERVER_KINDS,
    CILIUM_KINDS,
    api_server_addresses,
    parse_cidr_group,
    parse_cilium_policy,
)
from netpol.sources.helm import without_passing_hooks
from netpol.sources.manifests import (
    Inputs,
    RawObject,
    RenderSource,
    display_name,
    expand_paths,
    located,
    raw_objects,
    read_text,
)
from netpol.sources.parse import Field, namespace_name, parse_namespace, parse_network_policy
from netpol.sources.render import AUTO, Rendering, included, render, render_command
from netpol.sources.tiered import V1ALPHA1, V1ALPHA2, evaluation_key, parse_node, parse_tiered
from netpol.sources.unmodelled import Unmodelled, UnmodelledObject, enforcing
from netpol.sources.workloads import parse_pod, parse_service, parse_workload, pod_has_finished, workload_owner

__all__ = ["IgnoredObject", "LoadResult", "assemble", "load_manifests", "load_objects"]

# Workloads stand for the pods they create (netpol.model.Pod with `workload` set).
WORKLOAD_KINDS = {
    "Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
    "Job": "batch/v1", "CronJob": "batch/v1", "ReplicationController": "v1",
}
TIERED_KINDS: dict[str, str] = {
    "AdminNetworkPolicy": V1ALPHA1, "BaselineAdminNetworkPolicy": V1ALPHA1, "ClusterNetworkPolicy": V1ALPHA2,
}
NAMESPACED_KINDS = frozenset({"Pod", "NetworkPolicy", "Service", "CiliumNetworkPolicy", *WORKLOAD_KINDS})
_SUPPORTED = {"Namespace": "v1", "Pod": "v1", "NetworkPolicy": "networking.k8s.io/v1", "Service": "v1",
              "Node": "v1", **WORKLOAD_KINDS, **TIERED_KINDS}


@dataclass(frozen=True)
class IgnoredObject:
    """An object of a kind netpol does not analyse, kept so the user can see it."""

    kind: str
    api_version: str
    name: str
    location: Location
    namespace: str | None = None


@dataclass(frozen=True)
class LoadResult:
    cluster: Cluster
    diagnostics: tuple[Diagnostic, ...] = ()
    ignored: tuple[IgnoredObject, ...] = field(default=())
    # The text of each input as it was read (by the name locations use), when the caller asked to keep it:
    # finding a field's line must not read an input again (a FIFO or standard input cannot be).
    texts: Mapping[str, str] = field(default_factory=dict)
    unread: tuple[str, ...] = ()  # policy resources a live read was not allowed to list (sources/unmodelled.py)
    served_groups: tuple[str, ...] | None = None  # a live read: the catalogue's API groups the server serves
    calico: CalicoObjects = CalicoObjects()  # Calico's kinds, validated (sources/calico.py); not yet evaluated

    @property
    def unmodelled(self) -> Unmodelled:
        """Objects that enforce traffic and that netpol does not evaluate, and what it could not read."""
        objects = tuple(UnmodelledObject(o.kind, o.api_version, o.namespace, o.name, o.location) for o in self.ignored
                        if enforcing(o.kind, o.api_version))
        return Unmodelled(objects, self.unread)

    @property
    def others(self) -> tuple[IgnoredObject, ...]:
        """Ignored objects of kinds that do not enforce traffic (ConfigMaps, Ingresses, ...)."""
        return tuple(o for o in self.ignored if not enforcing(o.kind, o.api_version))

    def ignored_summary(self) -> str:
        counts = Counter(f"{o.kind} ({o.api_version})" for o in self.others)
        return clipped(", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items())))


def _header(raw: RawObject) -> tuple[str, str]:
    kind, api_version = raw.data.get("kind"), raw.data.get("apiVersion")
    if isinstance(kind, str) and isinstance(api_version, str):  # the usual case, without building fields
        return kind, api_version
    top = Field(raw.data, "", raw.location)
    kind = top.child("kind").required().string()
    api_version = top.child("apiVersion").required().string()
    return kind, api_version


def assemble(objects: Iterable[RawObject]) -> LoadResult:
    """Validate raw objects and build the Cluster, adding namespaces that are used but not declared."""
    namespaces: dict[str, Namespace] = {}
    pods: dict[str, Pod] = {}
    policies: dict[str, NetworkPolicy] = {}
    services: dict[str, Service] = {}
    workloads: dict[str, Pod] = {}
    tiered: dict[str, TieredPolicy] = {}
    nodes: dict[str, Node] = {}
    cilium: dict[str, CiliumPolicy] = {}
    cidr_groups: dict[str, CIDRGroup] = {}
    api_server: list[IPAddress] = []
    owned: dict[str, tuple[Pod, str]] = {}  # a controlled workload's key -> it, and its controller's key
    ignored: list[IgnoredObject] = []
    diagnostics: list[Diagnostic] = []
    finished: list[str] = []
    merged: list[tuple[str, str]] = []  # (object, where it was seen twice)
    calico = CalicoReader()

    def remember(store: dict[str, Any], key: str, kind: str, obj: Any, loc: Location) -> None:
        """The same object twice (one file given twice, a Namespace in two files) is one; a conflict is an error."""
        if key in store:
            first = store[key].location
            if store[key] != obj:
                raise InputError(loc, None, f"{kind} {key} is defined twice, differently (first at {first})")
            merged.append((f"{kind} {key}", f"{first} and {loc}"))
            return
        store[key] = obj

    for raw in objects:
        kind, api_version = _header(raw)
        top = Field(raw.data, "", raw.location)
        if (kind, api_version) in CILIUM_KINDS:
            if kind == "CiliumCIDRGroup":
                group = parse_cidr_group(top)
                remember(cidr_groups, group.name, kind, group, raw.location)
                continue
            cnp = parse_cilium_policy(top, cast(CiliumKind, kind), diagnostics.append)
            remember(cilium, cnp.key, kind, cnp, raw.location)
            # Validated and kept; still unmodelled (named, refused) until the engine evaluates it.
        if (kind, api_version) in API_SERVER_KINDS:  # default/kubernetes: the kube-apiserver entity's addresses
            found = api_server_addresses(top, kind)
            if found is not None:
                api_server.extend(ip for ip in found if ip not in api_server)
                continue
        if _SUPPORTED.get(kind) != api_version:
            calico.read(kind, api_version, top, diagnostics.append)  # validated; still named as not evaluated
            meta = raw.data.get("metadata")
            name = str(meta.get("name", "?")) if isinstance(meta, dict) else "?"
            ns = meta.get("namespace") if isinstance(meta, dict) else None
            ignored.append(IgnoredObject(clipped(kind), clipped(api_version), clipped(name), raw.location,
                                         clipped(ns) if isinstance(ns, str) else None))
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
        elif kind == "Service":
            service = parse_service(top)
            remember(services, service.key, kind, service, raw.location)
        elif kind in TIERED_KINDS:
            tp = parse_tiered(top, cast(TieredKind, kind), diagnostics.append)
            remember(tiered, tp.key, kind, tp, raw.location)
        elif kind == "Node":
            node = parse_node(top)
            remember(nodes, node.name, kind, node, raw.location)
        elif kind in WORKLOAD_KINDS:
            workload = parse_workload(top, kind)
            owner = workload_owner(top)
            if owner is None:
                remember(workloads, workload.key, kind, workload, raw.location)
            else:  # a Deployment's ReplicaSet, a CronJob's Job: the owner stands for it, when it is in the input
                owned[workload.key] = (workload, f"{workload.namespace}/{owner}")
        else:
            policy = parse_network_policy(top)
            remember(policies, policy.key, kind, policy, raw.location)

    diagnostics.extend(_add_workloads(pods, workloads, owned))
    diagnostics.extend(_host_bits(policies.values()))

    used = sorted({p.namespace for p in pods.values()} | {p.namespace for p in policies.values()}
                  | {s.namespace for s in services.values()}
                  | {p.namespace for p in cilium.values() if p.namespace is not None})
    for name in used:
        if name not in namespaces:
            namespaces[name] = Namespace(NamespaceName(name), ((METADATA_NAME_LABEL, name),), False)
            diagnostics.append(Diagnostic(
                "warning",
                f"namespace {name!r} is used but not declared; assuming it has only the label "
                f"{METADATA_NAME_LABEL}={name}",
            ))
    if merged:
        diagnostics.append(Diagnostic("info", f"merged {len(merged)} identical duplicate object(s): "
                                              f"{name_list(sorted({obj for obj, _ in merged}))}"))
        diagnostics.extend(Diagnostic("note", f"{obj} is defined identically at {where}") for obj, where in merged)
    if finished:
        diagnostics.append(Diagnostic(
            "info", f"skipped {len(finished)} finished pod(s) (phase Succeeded or Failed): {name_list(finished)}"
        ))
    diagnostics.extend(_ignored_warnings(ignored))
    diagnostics.extend(_tier_order_warnings(tiered.values()))
    calico_objects = calico.objects()
    cluster = Cluster(
        tuple(namespaces[k] for k in sorted(namespaces)),
        tuple(pods[k] for k in sorted(pods)),
        tuple(policies[k] for k in sorted(policies)),
        tuple(services[k] for k in sorted(services)),
        tuple(sorted(tiered.values(), key=evaluation_key)),
        tuple(nodes[k] for k in sorted(nodes)),
        cilium=tuple(cilium[k] for k in sorted(cilium)),
        cidr_groups=tuple(cidr_groups[k] for k in sorted(cidr_groups)),
        api_server=tuple(api_server),
        calico=calico_objects or None,
    )
    return LoadResult(cluster, tuple(diagnostics), tuple(ignored), calico=calico_objects)


def _tier_order_warnings(tiered: Iterable[TieredPolicy]) -> Iterator[Diagnostic]:
    """v1alpha1 and v1alpha2 objects have no defined joint order: say so, and which order netpol used."""
    versions = {p.api_version for p in tiered}
    if len(versions) > 1:
        yield Diagnostic("warning", "the input mixes v1alpha1 (AdminNetworkPolicy, BaselineAdminNetworkPolicy) and "
                                    "v1alpha2 (ClusterNetworkPolicy) objects, whose joint order the API does not "
                                    "define; netpol orders each tier by priority, v1alpha1 first at equal "
                                    "priority, and the BaselineAdminNetworkPolicy before Baseline "
                                    "ClusterNetworkPolicies")


def _host_bits(policies: Iterable[NetworkPolicy]) -> Iterator[Diagnostic]:
    """A CIDR with host bits set loads, as API servers before Kubernetes 1.36 take it (and 1.36+ keep it on
    objects stored before), but it rarely means what it says, and 1.36+ refuse it in a new object."""
    for pol in policies:
        for direction in DIRECTIONS:
            for index, rule in enumerate(pol.rules(direction)):
                for peer in rule.peers:
                    if isinstance(peer, IPBlockPeer) and peer.block.written is not None:
                        yield Diagnostic(
                            "warning", f"{direction}[{index}]: ipBlock cidr {peer.block.written} has host bits set; "
                            f"it means the network {peer.block.cidr} (Kubernetes 1.36 and later refuse it in a new "
                            f"object: write {peer.block.cidr})", pol.location)


def _add_workloads(pods: dict[str, Pod], workloads: dict[str, Pod],
                   owned: dict[str, tuple[Pod, str]]) -> list[Diagnostic]:
    """A workload becomes one endpoint for its pods, unless its pods are in the input already
    (directly, or through a workload it controls: a CronJob's running Job). A controlled workload whose
    controller is not in the input (an operator's Deployment, a ReplicaSet without its Deployment)
    stands for its pods itself."""
    owned_by = {key: owner for key, (_, owner) in owned.items()}
    orphans = {key: w for key, (w, owner) in owned.items() if owner not in workloads and owner not in owned}
    running = set()
    for p in pods.values():
        for key in (f"{p.namespace}/{p.owner}" if p.owner else None,
                    f"{p.namespace}/{p.controller[0].lower()}/{p.controller[1]}" if p.controller else None):
            while key is not None and key not in running:
                running.add(key)
                key = owned_by.get(key)
    covered, idle = [], []
    for key, w in {**workloads, **orphans}.items():
        if key in running:
            covered.append(key)
        elif w.replicas == 0:
            idle.append(key)
        else:
            pods[key] = w
    out = []
    if orphans:
        named = [f"{key} (controlled by {owned_by[key].split('/', 1)[1]})" for key in orphans]
        out.append(Diagnostic("info", f"{len(orphans)} workload(s) whose controller is not in the input stand for "
                                      f"their pods: {name_list(named)}"))
    if covered:
        out.append(Diagnostic("info", f"{len(covered)} workload(s) have their pods in the input, which are used "
                                      f"instead: {name_list(covered)}"))
    if idle:
        out.append(Diagnostic("info", f"{len(idle)} workload(s) scaled to 0 have no pods: {name_list(idle)}"))
    return out


def _ignored_warnings(ignored: list[IgnoredObject]) -> list[Diagnostic]:
    """A kind netpol analyses, under an API version it does not, is probably a mistake worth a warning."""
    return [
        Diagnostic("warning", f"{o.kind} {o.name} of apiVersion {o.api_version} is not analysed "
                              f"(only {_SUPPORTED[o.kind]} is)", o.location)
        for o in ignored if o.kind in _SUPPORTED and "projectcalico.org/" not in o.api_version  # Calico's own kind
    ]


PROGRESS_OBJECTS = 1000  # objects between two reports of progress within one file
KEPT_TEXT_LIMIT = 1 << 20  # characters: a larger input (a cluster snapshot) is not kept for positions


def load_manifests(paths: Iterable[str], stdin_text: str | None = None, keep_texts: bool = False,
                   default_namespace: str | None = None, rendering: Rendering = AUTO,
                   exclude: Iterable[str] = ()) -> LoadResult:
    """Load files, directories (recursive) and '-' (stdin_text) into a Cluster; namespaced objects that
    name no namespace are in `default_namespace` (else `default`), as `kubectl apply -n` puts them. With
    `keep_texts`, the text of every input up to KEPT_TEXT_LIMIT is kept (LoadResult.texts), for
    sources.positions. Kustomize directories and Helm charts are rendered by their tool (sources.render);
    without it, one named with -f is an error saying how to render it, one found inside a directory a
    warning. What a directory holds and an `exclude` pattern matches is left out, and named."""
    inputs = expand_paths(paths, exclude)
    notes = list(_exclusion_notes(inputs))
    rendered: dict[str, str] = {}
    parts = included(inputs.render_sources)
    unread: list[RenderSource] = []
    for source in inputs.render_sources:
        command = render_command(source, rendering)
        if command is not None and source.directory in parts and not source.given:
            notes.append(Diagnostic("info", f"not rendered on its own: {parts[source.directory]} includes it",
                                    Location(source.directory)))
        elif command is None and source.given:
            raise source.hint
        elif command is None:
            unread.append(source)
        else:
            report(f"rendering {source.directory} with {os.path.basename(command[0])}")
            out = render(source, command)
            rendered[out.directory] = out.text
            notes.append(Diagnostic("info", f"rendered with `{out.command}`; its objects are located in that "
                                            "output", Location(out.directory)))
    if unread and not inputs.files and not rendered:
        raise unread[0].hint  # nothing else to read: the hint is the answer
    notes += [Diagnostic("warning", f"not read: it {s.hint.message}", s.hint.location) for s in unread]
    if rendered:
        inputs = replace(inputs, files=inputs.files + tuple(rendered), given=inputs.given | set(rendered))
    empty: list[str] = []
    texts: dict[str, str] | None = {} if keep_texts else None
    hooks: list[Diagnostic] = []
    objects = without_passing_hooks(_read_all(inputs, stdin_text, empty, texts, rendered), hooks)
    if default_namespace is not None:
        objects = _in_namespace(objects, namespace_name(default_namespace, "default namespace"))
    with paused_gc():
        result = assemble(objects)
    notes += [Diagnostic("note", f"skipped {what}") for what in inputs.skipped]
    notes += [Diagnostic("note", f"skipped {path}: holds no objects") for path in empty]
    return replace(result, diagnostics=tuple(notes + hooks) + result.diagnostics, texts=texts or {})


def _exclusion_notes(inputs: Inputs) -> Iterator[Diagnostic]:
    """What each --exclude pattern left out (an info line with a count, each path in a note for --verbose), and
    a warning for a pattern that matched nothing: a misspelt one would otherwise read everything quietly."""
    for pattern, paths in inputs.excluded:
        if not paths:
            yield Diagnostic("warning", f"--exclude {pattern!r} matched nothing in the directories read (it applies "
                                        "to what a directory named with -f holds)")
            continue
        yield Diagnostic("info", f"--exclude {pattern!r} left out {len(paths)} path(s): {name_list(paths)}")
        yield from (Diagnostic("note", f"left out by --exclude {pattern!r}", Location(path)) for path in paths)


def _read_all(inputs: Inputs, stdin_text: str | None, empty: list[str], texts: dict[str, str] | None,
              rendered: Mapping[str, str]) -> Iterator[RawObject]:
    """Every object of every file (and of every rendered directory: `rendered`), each file read once. A file
    named on the command line that holds none, or an input with no object at all, is an error, never an empty
    answer; an empty file found in a directory is noted."""
    total = 0
    for number, path in enumerate(inputs.files, start=1):
        count = 0
        report(f"{number:,} of {len(inputs.files):,} files, {total:,} objects")
        text = rendered[path] if path in rendered else read_text(path, stdin_text)
        if texts is not None and len(text) <= KEPT_TEXT_LIMIT:
            texts[display_name(path)] = text
        for obj in raw_objects(path, text):
            count += 1
            if count % PROGRESS_OBJECTS == 0:  # a snapshot is one file of many objects
                report(f"{number:,} of {len(inputs.files):,} files, {total + count:,} objects")
            yield obj
        if count == 0:
            if path in inputs.given:
                raise InputError(Location(display_name(path)), None, "holds no Kubernetes objects (empty input)")
            empty.append(display_name(path))
        total += count
    if total == 0:
        raise InputError(Location(", ".join(inputs.files)), None, "no Kubernetes objects in the input")


def _in_namespace(objects: Iterable[RawObject], namespace: str) -> Iterator[RawObject]:
    """Objects of the namespaced kinds without metadata.namespace get `namespace`; an object that names
    its own keeps it, and cluster-scoped kinds (Namespace, Node, the tiered policies) have none."""
    for raw in objects:
        meta = raw.data.get("metadata")
        if raw.data.get("kind") in NAMESPACED_KINDS and isinstance(meta, dict) and meta.get("namespace") is None:
            meta["namespace"] = namespace
        yield raw


def load_objects(objects: Iterable[Mapping[str, Any]], origin: str = "<memory>") -> LoadResult:
    """Build a Cluster from in-memory API objects (dicts in their JSON/YAML form)."""
    with paused_gc():
        return assemble(_in_memory(obj, Location(origin, item=i)) for i, obj in enumerate(objects))


def _in_memory(obj: object, loc: Location) -> RawObject:
    if not isinstance(obj, Mapping):
        raise InputError(loc, None, f"expected an object (a mapping), found {type(obj).__name__}")
    return located(dict(obj), loc)
