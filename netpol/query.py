"""Questions asked of a compiled cluster: can_reach, matrix, explain.

Answers are data (Verdict, Matrix, PolicySummary) with their provenance and
the plugin-dependent assumptions they rely on; rendering them is someone
else's job. Nothing here prints or exits.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

from netpol.bulk import paused_gc
from netpol.compile import RuleRef
from netpol.diagram import Diagram, build_diagram
from netpol.engine import AddressRange, ClassMatrix, DirectionResult, Engine, PeerRef, bit_ids
from netpol.errors import QueryError, UnknownEndpointError, name_list
from netpol.model import (
    SERVICE_REF,
    Cluster,
    Direction,
    IPAddress,
    IPBlockPeer,
    IPNetwork,
    NetworkPolicy,
    Pod,
    PodPeer,
    Rule,
    Service,
    ServicePort,
    TieredPolicy,
)
from netpol.portsets import MAX_PORT, MIN_PORT, PROTOCOLS, PortSet, Protocol
from netpol.selectors import LabelSelector
from netpol.tier_explain import TierPolicySummary, summarize_tiers
from netpol.tiers import TierRuleRef

ASSUME_SELF = (
    "traffic from a pod to itself is assumed allowed: policies cannot block a pod's own "
    "local traffic, and plugins differ for traffic to its own pod IP"
)
ASSUME_EXTERNAL = (
    "{ip} is outside the cluster: only the in-cluster side's policies apply; NAT or load "
    "balancers may change the address the plugin sees"
)
ASSUME_HOST_NETWORK = (
    "{pod} uses hostNetwork: assuming the plugin cannot tell its traffic from its node's, so "
    "policies do not isolate it and pod/namespace selectors do not match it (ipBlock may, by node IP)"
)
ASSUME_DOMAINS = (
    "{pod}'s egress has domainNames rules ({names}): which addresses they match depends on DNS at run time, "
    "so netpol assumes they match no pod or address it knows; the network plugin may allow more"
)
NODE_RULE = "traffic to and from a pod's own node is always allowed"
ASSUME_NO_IP = "{pod} has no known IP (status.podIP): ipBlock rules are assumed not to match it"
ASSUME_IPBLOCK_POD = (
    "{rule} matches {pod} only through an ipBlock containing its IP; plugins differ on whether "
    "ipBlock applies to pod IPs"
)


def _names(pods: list[Pod]) -> str:
    return name_list([p.key for p in pods])


@dataclass(frozen=True)
class Endpoint:
    """A pod of the cluster, or an address outside it."""

    pod: Pod | None = None
    ip: IPAddress | None = None

    @property
    def name(self) -> str:
        return self.pod.key if self.pod is not None else str(self.ip)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class DirectionVerdict:
    """One side of a connection: the source's egress or the destination's ingress."""

    direction: Direction
    allowed: bool
    governed: bool  # False when this side is outside the cluster
    isolated_by: tuple[str, ...] = ()
    allowed_by: tuple[RuleRef, ...] = ()
    reason: str = ""
    # With tiered policies: the tier that decided (Admin, NetworkPolicy, Baseline, default), the
    # tiered rule that decided, and the Admin Pass rule that handed the decision on, if any.
    tier: str | None = None
    decided_by: TierRuleRef | None = None
    passed_by: TierRuleRef | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "direction": self.direction,
            "allowed": self.allowed,
            "governed": self.governed,
            "isolated": bool(self.isolated_by),
            "isolated_by": list(self.isolated_by),
            "allowed_by": [
                {"policy": r.policy, "direction": r.direction, "rule": r.index} for r in self.allowed_by
            ],
            "reason": self.reason,
        }
        if self.tier is not None:
            out["tier"] = self.tier
            out["decided_by"] = self.decided_by.to_dict() if self.decided_by else None
            out["passed_by"] = self.passed_by.to_dict() if self.passed_by else None
        return out


@dataclass(frozen=True)
class Verdict:
    source: Endpoint
    destination: Endpoint
    protocol: Protocol
    port: int
    allowed: bool
    egress: DirectionVerdict
    ingress: DirectionVerdict
    assumptions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "destination": self.destination.name,
            "protocol": self.protocol,
            "port": self.port,
            "allowed": self.allowed,
            "egress": self.egress.to_dict(),
            "ingress": self.ingress.to_dict(),
            "assumptions": list(self.assumptions),
        }


@dataclass(frozen=True)
class Matrix:
    """Reachability between every ordered pair of pods, computed per class pair on demand."""

    analyzer: Analyzer
    pods: tuple[Pod, ...]
    protocol: Protocol | None = None
    port: int | None = None
    # Pods that stand for all pods of their workload (matrix by_workload): key -> (workload id, pod count).
    grouped: dict[str, tuple[str, int]] = field(default_factory=dict)
    _cache: dict[tuple[int, int], PortSet] = field(default_factory=dict, compare=False, repr=False)
    _class_rows: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    def ident(self, pod: Pod) -> str:
        """The row/column id: the pod's key, or its workload's for a grouped pod."""
        return self.grouped[pod.key][0] if pod.key in self.grouped else pod.key

    def is_self(self, src: Pod, dst: Pod) -> bool:
        """One pod and itself; a workload's diagonal (of several replicas, or grouped pods) is between
        its distinct pods instead."""
        if src.key != dst.key:
            return False
        return self.grouped[src.key][1] == 1 if src.key in self.grouped else src.is_one_pod

    def display(self, pod: Pod) -> str:
        if pod.key in self.grouped:
            ident, count = self.grouped[pod.key]
            return f"{ident} (x{count})"
        return pod.display

    @property
    def probe(self) -> bool:
        return self.port is not None

    def ports(self, src: Pod, dst: Pod) -> PortSet:
        """Ports on which src may open connections to dst (egress and ingress both allow); only
        `protocol`'s in an all-port matrix filtered to one protocol."""
        class_of = self.analyzer.engine.class_of
        return self.class_ports(class_of[src.key], class_of[dst.key])

    @cached_property
    def _rows(self) -> ClassMatrix:
        assert self.protocol is not None and self.port is not None
        return self.analyzer.engine.reachability(self.protocol, self.port)

    def allowed(self, src: Pod, dst: Pod) -> bool:
        if self.is_self(src, dst):
            return True
        if self.port is None or self.protocol is None:
            return bool(self.ports(src, dst))
        class_of = self.analyzer.engine.class_of
        return self._rows.allowed(class_of[src.key], class_of[dst.key])

    def assumptions(self) -> tuple[str, ...]:
        """The plugin-dependent choices this matrix relies on, for its pods."""
        notes = ["a pod's traffic to itself ('self') is assumed allowed"]
        notes.extend(tie_notes(self.analyzer.cluster.tiered))
        host = [p for p in self.pods if p.host_network]
        if host:
            notes.append(ASSUME_HOST_NETWORK.format(pod=_names(host)))
        blocks = self.analyzer.engine.blocks
        if blocks:
            no_ip = [p for p in self.pods if not p.ips]
            if no_ip:
                notes.append(ASSUME_NO_IP.format(pod=_names(no_ip)))
            v1_blocks = self.analyzer.engine.ip_blocks  # tiered `networks` match pod IPs by definition
            inside = [p for p in self.pods if any(b.contains(ip) for b in v1_blocks for ip in p.ips)]
            if inside:
                notes.append(f"ipBlock rules are assumed to match pods whose IP they contain ({_names(inside)}); "
                             "plugins differ on this")
        return tuple(notes)

    def allowed_pairs(self) -> Iterator[tuple[Pod, Pod]]:
        """Ordered pairs of distinct pods that may connect, row by row."""
        for i, src in enumerate(self.pods):
            for j in self.allowed_from(i):
                yield src, self.pods[j]

    @cached_property
    def pod_classes(self) -> npt.NDArray[np.int64]:
        """The engine class of each row/column, in order: expands class results to pods in bulk."""
        import numpy as np

        class_of = self.analyzer.engine.class_of
        return np.fromiter((class_of[p.key] for p in self.pods), dtype=np.int64, count=len(self.pods))

    def class_row(self, cls: int) -> npt.NDArray[np.bool_]:
        """Which destination classes class `cls` may reach (on the probe, else on some port)."""
        import numpy as np

        cached = self._class_rows.get(cls)
        if cached is None:
            engine = self.analyzer.engine
            n = len(engine.classes)
            if self.probe:
                packed = self._rows.packed[cls]
            else:  # the any-port candidates, kept where the exact port set is not empty
                packed = self.analyzer.engine.candidates.packed[cls]
            cached = np.unpackbits(packed, bitorder="little")[:n].astype(bool)
            if not self.probe:
                for d in np.flatnonzero(cached).tolist():
                    if not self.class_ports(cls, d):
                        cached[d] = False
            self._class_rows[cls] = cached
        return cached

    def allowed_from(self, i: int) -> list[int]:
        """Indices of the pods that pod i may reach, itself left out unless it stands for several pods."""
        import numpy as np

        src = self.pods[i]
        mask = self.class_row(int(self.pod_classes[i]))[self.pod_classes]
        if self.is_self(src, src):
            mask[i] = False
        return np.flatnonzero(mask).tolist()

    def class_ports(self, src: int, dst: int) -> PortSet:
        key = (src, dst)
        if key not in self._cache:
            ports = self.analyzer.engine.allowed_ports(src, dst)
            if self.protocol is not None and self.port is None:
                ports = ports.intersection(PortSet.of([(self.protocol, MIN_PORT, MAX_PORT)]))
            self._cache[key] = ports
        return self._cache[key]


@dataclass(frozen=True)
class RuleSummary:
    index: int
    peers: tuple[str, ...]
    ports: str


@dataclass(frozen=True)
class PolicySummary:
    """What one policy does in one direction, in words."""

    policy: NetworkPolicy
    direction: Direction
    selector: str
    targets: tuple[str, ...]
    rules: tuple[RuleSummary, ...]
    types_defaulted: bool

    @property
    def effect(self) -> str:
        if not self.rules:
            return f"deny all {self.direction}"
        return f"allow {len(self.rules)} rule(s)"


WORKLOAD_PREFIXES = frozenset(
    {"deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob", "replicationcontroller"}
)


def endpoint_key(text: str, namespace: str) -> str:
    """`ns/pod` or `ns/<kind>/name` as is; `pod` and `<kind>/name` in `namespace`."""
    first = text.split("/", 1)[0]
    return text if "/" in text and first not in WORKLOAD_PREFIXES else f"{namespace}/{text}"


@dataclass(frozen=True)
class Backend:
    """One pod behind a Service port: the port it resolves to there, and the verdict."""

    pod: Pod
    port: int | None  # None: the pod declares no container port of that name, so it serves nothing here
    verdict: Verdict | None


@dataclass(frozen=True)
class ServiceVerdict:
    source: Endpoint
    service: Service
    port: ServicePort
    backends: tuple[Backend, ...]

    @property
    def reachable(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.verdict is not None and b.verdict.allowed)

    @property
    def summary(self) -> str:
        """all / some / none of the backing pods that serve this port are reachable."""
        serving = [b for b in self.backends if b.verdict is not None]
        if serving and len(self.reachable) == len(serving):
            return "all"
        return "some" if self.reachable else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "service": self.service.key,
            "service_port": {"port": self.port.port, "name": self.port.name, "protocol": self.port.protocol,
                             "target_port": self.port.target},
            "summary": self.summary,
            "backends": [
                {"pod": b.pod.key, "port": b.port, "allowed": b.verdict.allowed if b.verdict else None,
                 "verdict": b.verdict.to_dict() if b.verdict else None}
                for b in self.backends
            ],
        }


class Analyzer:
    """The public entry point: compile once, then ask."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        with paused_gc():
            self.engine = Engine(cluster)
            self._by_ip: dict[IPAddress, list[Pod]] = {}
            for pod in cluster.pods:
                for ip in pod.ips:
                    self._by_ip.setdefault(ip, []).append(pod)
            _ = cluster.pods_by_key  # built here, not on the first query

    # -- endpoints -----------------------------------------------------------

    def endpoint(self, text: str, namespace: str = "default") -> Endpoint:
        """`ns/pod`, `pod` (in `namespace`), a pod's IP, or an address outside the cluster."""
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            ip = None
        if ip is not None:
            owners = self._by_ip.get(ip, [])
            if len(owners) > 1:
                names = ", ".join(p.key for p in owners)
                raise QueryError(f"IP {ip} belongs to several pods ({names}); name the pod instead")
            return Endpoint(pod=owners[0], ip=ip) if owners else Endpoint(ip=ip)
        key = endpoint_key(text, namespace)
        pod = self.cluster.pods_by_key.get(key)
        if pod is None:
            ns, _, rest = key.partition("/")
            owned = [p.key for p in self.cluster.pods if p.namespace == ns and p.owner == rest]
            if owned:
                raise QueryError(f"{key} is a workload whose pods are in the input: name one of them "
                                 f"({name_list(owned)}), or ask about a Service in front of them")
            keys = list(self.cluster.pods_by_key)
            close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
            by_name = [k for k in keys if k.split("/", 1)[1] == text.rsplit("/", 1)[-1] and k not in close]
            raise UnknownEndpointError(text, tuple(close + by_name)[:3])
        return Endpoint(pod=pod)

    def address_ranges(self, network: IPNetwork | None = None) -> tuple[AddressRange, ...]:
        """`network` (default: all of IPv4, and all of IPv6 when a policy names IPv6) cut into the ranges
        the policies tell apart, in address order: list connectivity to outside addresses range by
        range with `can_reach(pod, str(r.first), port)`."""
        return self.engine.address_ranges(network)

    def _peer(self, ep: Endpoint) -> PeerRef:
        if ep.pod is not None:
            return self.engine.class_of[ep.pod.key]
        assert ep.ip is not None
        return ep.ip

    def allowed_ports(self, src: Endpoint, dst: Endpoint) -> PortSet:
        """Ports on which src may open connections to dst: its egress and dst's ingress both allow."""
        return self.engine.allowed_ports(self._peer(src), self._peer(dst))

    def resolve_port(self, port: int | str, protocol: Protocol, destination: Endpoint) -> int:
        """A port number as is; a port name through the destination pod's container ports."""
        if isinstance(port, int) or port.isdigit():
            return _port_number(int(port))
        if destination.pod is None:
            raise QueryError(f"port name {port!r} needs a destination pod; {destination} is outside the cluster")
        number = destination.pod.port_named(port, protocol)
        if number is None:
            raise QueryError(f"{destination} declares no {protocol} container port named {port!r}")
        return number

    # -- services ----------------------------------------------------------

    def can_reach_service(self, src: str | Endpoint, service: str, protocol: str | None = None,
                          namespace: str = "default") -> ServiceVerdict:
        """can_reach from src to every pod behind a Service port (`svc/NAME:PORT`, `NS/svc/NAME:PORT`).

        Policies see the pod's port, not the Service's: the Service port resolves
        to its targetPort on each backing pod (a named targetPort per pod).
        """
        source = src if isinstance(src, Endpoint) else self.endpoint(src, namespace)
        svc, sport, targets = self.service_backends(service, protocol, namespace)
        backends = []
        for pod, target in targets:
            verdict = None if target is None else self.can_reach(source, Endpoint(pod=pod), target, sport.protocol)
            backends.append(Backend(pod, target, verdict))
        return ServiceVerdict(source, svc, sport, tuple(backends))

    def service_backends(self, service: str, protocol: str | None = None, namespace: str = "default",
                         ) -> tuple[Service, ServicePort, list[tuple[Pod, int | None]]]:
        """The Service a reference names, its port, and each backing pod with its target port there."""
        match = SERVICE_REF.match(service)
        if match is None:
            raise QueryError(f"{service!r} is not a Service reference (svc/NAME:PORT or NS/svc/NAME:PORT)")
        ns, name, port_text = match.group(1) or namespace, match.group(2), match.group(3)
        svc = next((s for s in self.cluster.services if s.namespace == ns and s.name == name), None)
        if svc is None:
            raise QueryError(f"unknown Service {ns}/{name}")
        if svc.selector is None:
            raise QueryError(f"Service {svc.key} has no selector: its endpoints are managed outside Kubernetes' "
                             "selector logic, so netpol cannot resolve its pods from manifests")
        sport = _service_port(svc, port_text, protocol)
        selector = LabelSelector.build(dict(svc.selector))
        pods = [p for p in self.cluster.pods if p.namespace == svc.namespace and selector.matches(p.label_map)]
        if not pods:
            raise QueryError(f"Service {svc.key} selects no pod ({', '.join(f'{k}={v}' for k, v in svc.selector)})")
        return svc, sport, [(pod, _target_port(sport, pod)) for pod in pods]

    # -- can_reach ----------------------------------------------------------

    def can_reach(self, src: str | Endpoint, dst: str | Endpoint, port: int | str,
                  protocol: str = "TCP", namespace: str = "default") -> Verdict:
        proto = _protocol(protocol)
        source = src if isinstance(src, Endpoint) else self.endpoint(src, namespace)
        destination = dst if isinstance(dst, Endpoint) else self.endpoint(dst, namespace)
        if source.pod is None and destination.pod is None:
            raise QueryError("at least one endpoint must be a pod of the cluster")
        number = self.resolve_port(port, proto, destination)
        egress, ingress = self.engine.connection(self._peer(source), self._peer(destination))
        e = _side("egress", source, destination, egress, proto, number)
        i = _side("ingress", destination, source, ingress, proto, number)
        same = (source.pod is not None and destination.pod is not None and source.pod.key == destination.pod.key
                and source.pod.is_one_pod)
        assumptions = self._assumptions(source, destination, egress, ingress, proto, number, same)
        ties = (_ties(side, result, proto, number) for side, result in ((e, egress), (i, ingress))
                if result is not None)
        assumptions += tuple(note for note in ties if note)
        return Verdict(source, destination, proto, number, same or (e.allowed and i.allowed), e, i, assumptions)

    def _assumptions(self, src: Endpoint, dst: Endpoint, egress: DirectionResult | None,
                     ingress: DirectionResult | None, protocol: Protocol, port: int, same: bool) -> tuple[str, ...]:
        notes: list[str] = []
        if same:
            notes.append(ASSUME_SELF)
        for ep in (src, dst):
            if ep.pod is None:
                notes.append(ASSUME_EXTERNAL.format(ip=ep.ip))
            elif ep.pod.host_network:
                notes.append(ASSUME_HOST_NETWORK.format(pod=ep.name))
        for result, subject, peer in ((egress, src, dst), (ingress, dst, src)):
            if result is None or subject.pod is None or peer.pod is None:
                continue
            for m in result.allowed_by(protocol, port):
                if m.via_ip_block:
                    notes.append(ASSUME_IPBLOCK_POD.format(rule=m.ref, pod=peer.name))
            if not peer.pod.ips and self._has_ip_block_rules(result.direction, subject.pod):
                notes.append(ASSUME_NO_IP.format(pod=peer.name))
        if egress is not None and src.pod is not None:
            admin, baseline = self.engine.tier_lists("egress", self.engine.class_of[src.pod.key])
            named = sorted({d for rule, _ in (*admin, *baseline) for p in rule.peers for d in p.domains})
            if named:
                notes.append(ASSUME_DOMAINS.format(pod=src.name, names=name_list(named)))
        return tuple(dict.fromkeys(notes))

    def _has_ip_block_rules(self, direction: Direction, pod: Pod) -> bool:
        cls = self.engine.class_of[pod.key]
        return any(
            isinstance(peer, IPBlockPeer)
            for rule, _ in self.engine.rules[direction][cls]
            for peer in rule.peers
        )

    # -- matrix ------------------------------------------------------------

    def matrix(self, port: int | None = None, protocol: str | None = None,
               namespaces: Iterable[str] | None = None, by_workload: bool = False) -> Matrix:
        """With `port`, a probe on `protocol` (TCP by default); without, the ports of every pair, only
        `protocol`'s when given. `by_workload`: pods of one workload that policies treat alike are one
        row and column."""
        proto = _protocol(protocol or "TCP")
        if port is not None:
            _port_number(port)
        wanted = self._namespaces(namespaces)
        pods = [p for p in self.cluster.pods if not wanted or p.namespace in wanted]
        grouped: dict[str, tuple[str, int]] = {}
        if by_workload:
            by_owner: dict[tuple[str, str], list[Pod]] = {}
            for p in pods:
                if p.owner is not None:
                    by_owner.setdefault((p.namespace, p.owner), []).append(p)
            drop: set[str] = set()
            for (ns, owner), group in by_owner.items():
                if len({self.engine.class_of[p.key] for p in group}) == 1:  # policies treat its pods alike
                    grouped[group[0].key] = (f"{ns}/{owner}", len(group))
                    drop.update(p.key for p in group[1:])
            pods = [p for p in pods if p.key not in drop]
        return Matrix(self, tuple(pods), proto if port is not None or protocol else None, port, grouped)

    def _namespaces(self, namespaces: Iterable[str] | None) -> set[str]:
        wanted = set(namespaces or ())
        unknown = sorted(wanted - set(self.cluster.namespaces_by_name))
        if unknown:
            raise QueryError(f"unknown namespace(s): {', '.join(unknown)}")
        return wanted

    # -- diagram -----------------------------------------------------------

    def diagram(self, port: int | None = None, protocol: str = "TCP", namespaces: Iterable[str] | None = None,
                focus: str | None = None) -> Diagram:
        """The allow-graph grouped and collapsed for drawing; `focus` keeps one pod's neighbourhood."""
        proto = _protocol(protocol)
        probe = (proto, _port_number(port)) if port is not None else None
        pod = None
        if focus is not None:
            pod = self.endpoint(focus).pod
            if pod is None:
                raise QueryError(f"--focus needs a pod (ns/name), not the address {focus}")
        return build_diagram(self.engine, probe=probe, namespaces=self._namespaces(namespaces), focus=pod)

    # -- explain -----------------------------------------------------------

    def explain_tiers(self, namespaces: Iterable[str] | None = None) -> tuple[TierPolicySummary, ...]:
        """Admin and Baseline policies in evaluation order; with `namespaces`, those that select a pod there."""
        wanted = self._namespaces(namespaces)
        return tuple(s for s in summarize_tiers(self.engine)
                     if not wanted or any(t.split("/", 1)[0] in wanted for t in s.targets))

    def explain(self, namespaces: Iterable[str] | None = None) -> tuple[PolicySummary, ...]:
        wanted = self._namespaces(namespaces)
        out = []
        for pol in self.cluster.policies:
            if wanted and pol.namespace not in wanted:
                continue
            engine = self.engine  # the selected classes, not a scan of every pod per policy
            selected = engine.namespace_bits(pol.namespace) & engine.select("pod", pol.pod_selector) & ~engine.host_bits
            targets = tuple(sorted(p.key for cid in bit_ids(selected) for p in engine.classes[cid].pods))
            for direction in ("ingress", "egress"):
                if pol.affects(direction):
                    out.append(PolicySummary(
                        pol, direction, str(pol.pod_selector), targets,
                        tuple(_summarize_rule(i, r, pol.namespace, direction)
                              for i, r in enumerate(pol.rules(direction))),
                        pol.declared_policy_types is None,
                    ))
        return tuple(out)


def _service_port(svc: Service, text: str | None, protocol: str | None) -> ServicePort:
    candidates = [p for p in svc.ports if protocol is None or p.protocol == protocol]
    if text is not None:
        candidates = [p for p in candidates if str(p.port) == text or p.name == text]
    if len(candidates) == 1:
        return candidates[0]
    listed = ", ".join(f"{p.name + '=' if p.name else ''}{p.port}/{p.protocol}" for p in svc.ports) or "none"
    what = "matches no port" if not candidates else "is ambiguous; add :PORT (or --protocol)"
    raise QueryError(f"svc/{svc.name}{':' + text if text else ''} {what} of Service {svc.key} (ports: {listed})")


def _target_port(port: ServicePort, pod: Pod) -> int | None:
    return port.target if isinstance(port.target, int) else pod.port_named(port.target, port.protocol)


def _port_number(port: int) -> int:
    if not MIN_PORT <= port <= MAX_PORT:
        raise QueryError(f"port {port} is outside {MIN_PORT}-{MAX_PORT}")
    return port


def _protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise QueryError(f"unknown protocol {name!r} (expected one of: {', '.join(PROTOCOLS)})")
    return name


def describe_peer(peer: PodPeer | IPBlockPeer, namespace: str) -> str:
    if isinstance(peer, IPBlockPeer):
        return f"ipBlock {peer.block}"
    if peer.namespace_selector is None:
        where = f"namespace {namespace}"
    elif peer.namespace_selector.selects_all:
        where = "all namespaces"
    else:
        where = f"namespaces [{peer.namespace_selector}]"
    if peer.pod_selector is None or peer.pod_selector.selects_all:
        return f"all pods in {where}"
    return f"pods [{peer.pod_selector}] in {where}"


def _summarize_rule(index: int, rule: Rule, namespace: str, direction: Direction) -> RuleSummary:
    everyone = "all sources" if direction == "ingress" else "all destinations"
    peers = tuple(describe_peer(p, namespace) for p in rule.peers) or (f"{everyone} (pods and addresses)",)
    ports = ", ".join(str(p) for p in rule.ports) if rule.ports else "all ports"
    return RuleSummary(index, peers, ports)


def _side(direction: Direction, subject: Endpoint, peer: Endpoint, result: DirectionResult | None,
          protocol: Protocol, port: int) -> DirectionVerdict:
    if result is None:
        return DirectionVerdict(direction, True, False,
                                reason=f"not governed: {subject} is outside the cluster")
    if subject.pod is not None and subject.pod.host_network:
        return DirectionVerdict(direction, True, True,
                                reason=f"not isolated: {subject} uses hostNetwork (see assumptions)")
    if result.walk is None:
        return _v1_side(direction, subject, peer, result, protocol, port)
    seg = result.walk.at(protocol, port)
    passed = f"passed on by {seg.passed}; " if seg.passed is not None else ""
    if isinstance(seg.decider, TierRuleRef) and seg.decider.tier == "Admin":
        verb = "allowed" if seg.allowed else "denied"
        return DirectionVerdict(direction, seg.allowed, True, result.isolated_by, (),
                                f"{verb} by {seg.decider} (Admin tier)", "Admin", seg.decider, seg.passed)
    if seg.decider == "NetworkPolicy" or _is_node_address(subject, peer):
        v1 = _v1_side(direction, subject, peer, result, protocol, port)
        return replace(v1, reason=f"{passed}NetworkPolicy tier: {v1.reason}", tier="NetworkPolicy",
                       passed_by=seg.passed)
    if isinstance(seg.decider, TierRuleRef):
        verb = "allowed" if seg.allowed else "denied"
        return DirectionVerdict(direction, seg.allowed, True, (), (),
                                f"{passed}no NetworkPolicy selects {subject} for {direction}; {verb} by "
                                f"{seg.decider} (Baseline tier)", "Baseline", seg.decider, seg.passed)
    why = "no rule of any tier matched" if seg.passed is None else \
        "no NetworkPolicy selects it and no Baseline rule matched" if seg.passed.tier == "Admin" else \
        "the Baseline tier passed"
    return DirectionVerdict(direction, True, True, (), (), f"{passed}allowed by default: {why}", "default",
                            None, seg.passed)


def tie_notes(tiered: Iterable[TieredPolicy]) -> list[str]:
    """Policies of one tier sharing a priority: where they disagree, the answer depends on the plugin."""
    groups: dict[tuple[str, int | None], list[str]] = {}
    for pol in tiered:
        groups.setdefault((pol.tier, pol.priority), []).append(f"{pol.short_kind} {pol.name}")
    return [f"{tier} policies {', '.join(names)} share priority {priority}: where they decide a connection "
            "differently the API leaves their order undefined; netpol applies name order (can-reach names the "
            "pairs affected)" for (tier, priority), names in groups.items() if len(names) > 1]


def _ties(side: DirectionVerdict, result: DirectionResult, protocol: Protocol, port: int) -> str:
    """A same-priority policy of the deciding tier that would decide differently: the API leaves their
    order undefined, so the answer is ambiguous and says so (empty when it is not)."""
    d = side.decided_by
    if d is None:
        return ""
    first: dict[str, TierRuleRef] = {}
    for hit in result.tier_hits:
        ref = hit.ref
        if ref.tier == d.tier and ref.priority == d.priority and hit.ports.contains(protocol, port):
            first.setdefault(ref.policy, ref)
    rivals = [r for p, r in first.items() if p != d.policy and r.action != d.action]
    if not rivals:
        return ""
    names = ", ".join(f"{r.short_kind} {r.policy} ({r.written_action})" for r in rivals)
    return (f"ambiguous: {names} has the same priority {d.priority} as {d.short_kind} {d.policy} "
            f"({d.written_action}) and decides this {side.direction} differently; the API leaves their order "
            f"undefined (netpol applied {d.policy}, by name), so the network plugin may do either")


def _is_node_address(subject: Endpoint, peer: Endpoint) -> bool:
    """The peer is the address of the subject pod's node (status.hostIP)."""
    return subject.pod is not None and peer.pod is None and peer.ip is not None and peer.ip == subject.pod.host_ip


def _v1_side(direction: Direction, subject: Endpoint, peer: Endpoint, result: DirectionResult,
             protocol: Protocol, port: int) -> DirectionVerdict:
    """The NetworkPolicy v1 decision, and why."""
    what = "sending" if direction == "egress" else "receiving"
    if not result.isolated:
        return DirectionVerdict(direction, True, True,
                                reason=f"not isolated: no NetworkPolicy selects {subject} for {direction}")
    if result.from_local_node:
        node = subject.pod.node if subject.pod is not None else None
        return DirectionVerdict(direction, True, True, result.isolated_by, (),
                                f"allowed: {peer} uses the host network of {subject}'s node ({node}), and "
                                f"{NODE_RULE}")
    if _is_node_address(subject, peer):
        return DirectionVerdict(direction, True, True, result.isolated_by, (),
                                f"allowed: {peer} is the address of {subject}'s node (status.hostIP), and {NODE_RULE}")
    allowed_by = tuple(m.ref for m in result.allowed_by(protocol, port))
    prep = "to" if direction == "egress" else "from"
    if allowed_by:
        rules = ", ".join(str(r) for r in allowed_by)
        return DirectionVerdict(direction, True, True, result.isolated_by, allowed_by,
                                f"allowed by {rules}")
    policies = ", ".join(result.isolated_by)
    return DirectionVerdict(
        direction, False, True, result.isolated_by, (),
        f"denied: {subject} is isolated for {direction} by {policies} and no rule allows "
        f"{what} {protocol}/{port} {prep} {peer}",
    )
