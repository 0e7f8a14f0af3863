"""Questions asked of a compiled cluster: the Analyzer, and how it names endpoints and Service ports.

Answers are data with their provenance: verdicts (verdicts.py), matrices
(matrix.py), policy summaries (explain.py); rendering them is someone else's
job. Nothing here prints or exits.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import replace

from netpol.analyses.calico_explain import CalicoTierSummary, summarize_calico
from netpol.analyses.cilium_explain import CiliumRuleSummary, node_address_note, summarize_cilium
from netpol.analyses.diagram import Diagram, build_diagram
from netpol.analyses.explain import PolicySummary, summarize_policies
from netpol.analyses.families import families
from netpol.analyses.matrix import Matrix
from netpol.analyses.regions import RegionSet, named_namespaces, regions
from netpol.analyses.tier_explain import TierPolicySummary, summarize_tiers
from netpol.analyses.verdicts import (
    ASSUME_DOMAINS,
    ASSUME_EXTERNAL,
    ASSUME_HOST_NETWORK,
    ASSUME_IPBLOCK_POD,
    ASSUME_NO_IP,
    ASSUME_SELF,
    NODE_INGRESS_RULE,
    NODE_RULE,
    Backend,
    Endpoint,
    ServiceVerdict,
    Verdict,
    egress_domains,
    side_verdict,
    tie_note,
)
from netpol.bulk import paused_gc
from netpol.engine import AddressRange, DirectionResult, Engine, PeerRef
from netpol.errors import QueryError, UnknownEndpointError, name_list
from netpol.model import (
    DIRECTIONS,
    SERVICE_REF,
    Cluster,
    Direction,
    IPAddress,
    IPBlockPeer,
    IPNetwork,
    Namespace,
    Pod,
    Service,
    ServicePort,
    ip_address,
)
from netpol.model.portsets import ALL_PROTOCOLS, MAX_PORT, MIN_PORT, PortSet, Protocol, bounds, is_icmp
from netpol.model.selectors import LabelSelector, Scope, parse_scope
from netpol.policies.calico import calico_compiles

WORKLOAD_PREFIXES = frozenset(
    {"deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob", "replicationcontroller"}
)


def endpoint_key(text: str, namespace: str) -> str:
    """`ns/pod` or `ns/<kind>/name` as is; `pod` and `<kind>/name` in `namespace`."""
    first = text.split("/", 1)[0]
    return text if "/" in text and first not in WORKLOAD_PREFIXES else f"{namespace}/{text}"


class Analyzer:
    """The public entry point: compile once, then ask."""

    def __init__(self, cluster: Cluster, possible: RegionSet | None = None) -> None:
        """`possible`: the regions whose hypothetical pods `cluster` holds (netpol.analyses.regions), if any."""
        self.cluster = cluster
        self.possible = possible
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
            ip = ip_address(text)
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

    @classmethod
    def with_possible(cls, cluster: Cluster, scopes: Iterable[Scope] = (),
                      namespaces: Iterable[Namespace] = (), focus: Collection[str] | None = None,
                      directions: Collection[Direction] = DIRECTIONS) -> Analyzer:
        """An analyzer of `cluster` plus every possible pod, regions split along `scopes`; `namespaces`: ones
        the input does not hold, taken to exist with their labels (an error for one it holds). `focus`: the
        namespaces whose pods' connections are asked about (regions' focus; None: every connection), in these
        `directions` (into the focus pods: "ingress", out of them: "egress")."""
        extra = tuple(namespaces)
        held = sorted({n.name for n in extra} & ({n.name for n in cluster.namespaces if n.declared}
                                                 | {p.namespace for p in (*cluster.pods, *cluster.policies)}))
        if held:
            raise QueryError(f"namespace(s) {name_list(held)} are in the input: namespaceLabels is for a namespace "
                             "the input does not hold")
        if extra:
            kept = tuple(n for n in cluster.namespaces if n.name not in {e.name for e in extra})
            cluster = replace(cluster, namespaces=tuple(sorted((*kept, *extra), key=lambda n: n.name)))
        rs = regions(cluster, tuple(scopes), focus=focus, directions=directions)
        return cls(rs.cluster, rs)

    def endpoints(self, text: str, namespace: str = "default") -> list[Endpoint]:
        """`NS{labels}`: every possible such pod (one endpoint per region); anything else: `endpoint`."""
        try:
            scope = parse_scope(text)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if scope is None:
            return [self.endpoint(text, namespace)]
        if self.possible is None:
            raise QueryError(f"{text} names possible pods, which this analysis does not hold")
        found = [Endpoint(pod=r.pod) for r in self.possible.matching(scope)]
        if not found:
            raise QueryError(f"{text} matches no possible pod")
        return found

    def address_ranges(self, network: IPNetwork | None = None) -> tuple[AddressRange, ...]:
        """`network` (default: all of IPv4, and all of IPv6 when a policy names IPv6) cut into the ranges
        the policies tell apart, in address order: list connectivity to outside addresses range by
        range with `can_reach(pod, str(r.first), port)`."""
        return self.engine.address_ranges(network)

    def peer_ref(self, ep: Endpoint) -> PeerRef:
        """The engine's name for an endpoint: its class, or its address outside the cluster."""
        return self._peer(ep)

    def _peer(self, ep: Endpoint) -> PeerRef:
        if ep.pod is not None:
            return self.engine.class_of[ep.pod.key]
        assert ep.ip is not None
        return ep.ip

    def allowed_ports(self, src: Endpoint, dst: Endpoint) -> PortSet:
        """Ports on which src may open connections to dst: its egress and dst's ingress both allow."""
        return self.engine.allowed_ports(self._peer(src), self._peer(dst))

    def resolve_port(self, port: int | str, protocol: Protocol, destination: Endpoint) -> int:
        """A port number as is; a port name through the destination pod's container ports. For ICMP and
        ICMPv6, `port` is the message's type and code as one value (portsets.icmp_value)."""
        if is_icmp(protocol):
            if isinstance(port, str):
                raise QueryError(f"{protocol} has no ports: ask about a message type (and code) instead of {port!r}")
            return probe_value(protocol, port)
        if isinstance(port, int) or port.isdigit():
            return port_number(int(port))
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
        return ServiceVerdict(source, svc, sport, tuple(backends), service)

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
        """One connection: `port` a number or a port name of dst; for ICMP and ICMPv6 the message's type
        and code as portsets.icmp_value(type, code)."""
        proto = _protocol(protocol)
        source = src if isinstance(src, Endpoint) else self.endpoint(src, namespace)
        destination = dst if isinstance(dst, Endpoint) else self.endpoint(dst, namespace)
        if source.pod is None and destination.pod is None:
            raise QueryError("at least one endpoint must be a pod of the cluster")
        number = self.resolve_port(port, proto, destination)
        egress, ingress = self.engine.connection(self._peer(source), self._peer(destination))
        both = self.cluster.dataplane.own_node_egress_allowed  # else the plugin exempts ingress from it only
        name = self._possible_port_name(port, destination)
        cilium = self.cluster.dataplane.profile == "cilium"  # its own stages (netpol/policies/cilium.py)
        calico = calico_compiles(self.cluster)  # Calico's tiers (netpol/policies/calico.py)
        e = side_verdict("egress", source, destination, egress, proto, number, NODE_RULE if both else None, name,
                         cilium, calico)
        i = side_verdict("ingress", destination, source, ingress, proto, number,
                         NODE_RULE if both else NODE_INGRESS_RULE, name, cilium, calico)
        same = (source.pod is not None and destination.pod is not None and source.pod.key == destination.pod.key
                and source.pod.is_one_pod)
        assumptions = self.cluster.assumptions + self._assumptions(source, destination, egress, ingress, proto,
                                                                   number, same)
        ties = (tie_note(side, result, proto, number) for side, result in ((e, egress), (i, ingress))
                if result is not None)
        assumptions += tuple(note for note in ties if note)
        return Verdict(source, destination, proto, number, same or (e.allowed and i.allowed), e, i, assumptions, name)

    def _possible_port_name(self, port: int | str, destination: Endpoint) -> str | None:
        """A port asked by name of a possible pod: the number it resolves to there is a placeholder that no
        rule names (netpol.analyses.regions), so the verdict shows the name."""
        if isinstance(port, str) and not port.isdigit() and self.possible is not None \
                and destination.pod is not None and destination.pod.key in self.possible.by_key:
            return port
        return None

    def _assumptions(self, src: Endpoint, dst: Endpoint, egress: DirectionResult | None,
                     ingress: DirectionResult | None, protocol: Protocol, port: int, same: bool) -> tuple[str, ...]:
        notes: list[str] = []
        if same:
            notes.append(ASSUME_SELF)
        for ep in (src, dst):
            if ep.pod is None:
                node = node_address_note(self.cluster, ep.ip) if self.cluster.dataplane.profile == "cilium" \
                    and ep.ip is not None else None
                notes.append(node or ASSUME_EXTERNAL.format(ip=ep.ip))
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
            named = egress_domains(self.engine, self.engine.class_of[src.pod.key])
            if named:
                notes.append(ASSUME_DOMAINS.format(pod=src.name, names=name_list(named)))
        return tuple(dict.fromkeys(notes))

    def _has_ip_block_rules(self, direction: Direction, pod: Pod) -> bool:
        cls = self.engine.class_of[pod.key]
        return any(
            isinstance(peer, IPBlockPeer)
            for rule, _ in families(self.engine).rules[direction][cls]
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
            probe_value(proto, port)
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
        unknown = sorted(wanted - named_namespaces(self.cluster))
        if unknown:
            raise QueryError(f"unknown namespace(s): {', '.join(unknown)}")
        return wanted

    # -- diagram -----------------------------------------------------------

    def diagram(self, port: int | None = None, protocol: str = "TCP", namespaces: Iterable[str] | None = None,
                focus: str | None = None) -> Diagram:
        """The allow-graph grouped and collapsed for drawing; `focus` keeps one pod's neighbourhood."""
        proto = _protocol(protocol)
        probe = (proto, probe_value(proto, port)) if port is not None else None
        pod = None
        if focus is not None:
            pod = self.endpoint(focus).pod
            if pod is None:
                raise QueryError(f"--focus needs a pod (ns/name), not the address {focus}")
        return build_diagram(self.engine, probe=probe, namespaces=self._namespaces(namespaces), focus=pod)

    # -- explain -----------------------------------------------------------

    def explain_tiers(self, namespaces: Iterable[str] | None = None) -> tuple[TierPolicySummary, ...]:
        """Admin and Baseline policies in evaluation order; with `namespaces`, those that select a pod there. None
        under Calico's tiers, which hold them as Calico converts them (explain_calico)."""
        if calico_compiles(self.cluster):
            return ()
        wanted = self._namespaces(namespaces)
        return tuple(s for s in summarize_tiers(self.engine)
                     if not wanted or any(t.split("/", 1)[0] in wanted for t in s.targets))

    def explain(self, namespaces: Iterable[str] | None = None) -> tuple[PolicySummary, ...]:
        return summarize_policies(self.engine, self._namespaces(namespaces))

    def explain_cilium(self, namespaces: Iterable[str] | None = None) -> tuple[CiliumRuleSummary, ...]:
        """Under the cilium profile, every rule of its CNPs and CCNPs (none under another profile, which does not
        evaluate them)."""
        if self.cluster.dataplane.profile != "cilium":
            return ()
        return summarize_cilium(self.engine, self._namespaces(namespaces))

    def explain_calico(self, namespaces: Iterable[str] | None = None) -> tuple[CalicoTierSummary, ...] | None:
        """Under the calico profile with Calico's objects, its tiers in evaluation order, which hold every kind
        it enforces; None else (the other explain answers then hold)."""
        if not calico_compiles(self.cluster):
            return None
        return summarize_calico(self.engine, self._namespaces(namespaces))


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


def port_number(port: int) -> int:
    """A port the user asked about, checked against the range the API allows."""
    if not MIN_PORT <= port <= MAX_PORT:
        raise QueryError(f"port {port} is outside {MIN_PORT}-{MAX_PORT}")
    return port


def probe_value(protocol: Protocol, value: int) -> int:
    """A port, or an encoded ICMP type and code, checked against the protocol's range."""
    if not is_icmp(protocol):
        return port_number(value)
    if not bounds(protocol)[0] <= value <= bounds(protocol)[1]:
        raise QueryError(f"{protocol} value {value} is not a type and code (type * 256 + code, each 0-255)")
    return value


def _protocol(name: str) -> Protocol:
    if name not in ALL_PROTOCOLS:
        raise QueryError(f"unknown protocol {name!r} (expected one of: {', '.join(ALL_PROTOCOLS)})")
    return name  # type: ignore[return-value]
