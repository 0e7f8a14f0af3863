"""Typed, frozen model of Cilium's own policy kinds: CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
(cilium.io/v2) and CiliumCIDRGroup (cilium.io/v2, v2alpha1), and the agent options that change a verdict.

What is kept is the policy as written, with every list in order (an entry's index is how answers and errors
name it): the terms the agent adds to selectors (the policy's namespace, the cluster) depend on the kind,
the namespace and the agent options, so they are applied where policies are evaluated, never stored.
Semantics: shared/reference/cilium-policies.md, docs/semantics.md §17.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from netpol.errors import Location
from netpol.model import Direction, IPNetwork
from netpol.model.selectors import LabelSelector

CILIUM_V2 = "cilium.io/v2"
CILIUM_V2ALPHA1 = "cilium.io/v2alpha1"
CNP_KIND = "CiliumNetworkPolicy"
CCNP_KIND = "CiliumClusterwideNetworkPolicy"
CIDR_GROUP_KIND = "CiliumCIDRGroup"
CiliumKind = Literal["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"]

# The CRD's enum of entities [CRD]; what each stands for: cilium-policies.md §2.4.
ENTITIES = ("all", "world", "cluster", "cluster-mesh", "host", "init", "ingress", "unmanaged", "remote-node",
            "health", "none", "kube-apiserver")
# toPorts protocols of the CRD's enum [CRD]; ANY (or none) is TCP, UDP and SCTP, never ICMP (§5).
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY")
L4_PROTOCOLS = ("TCP", "UDP", "SCTP")
ICMP_FAMILIES = ("IPv4", "IPv6")
# Query protocols of a Cilium verdict: L4 with a port, ICMP and ICMPv6 with a type.
QueryProtocol = Literal["TCP", "UDP", "SCTP", "ICMP", "ICMPv6"]

# Selector keys are "source:key" (cilium-policies.md §2.2): an unprefixed key is stored as any:key.
ANY_SOURCE = "any"
K8S_SOURCE = "k8s"
RESERVED_SOURCE = "reserved"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount"
CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"


def split_key(key: str) -> tuple[str, str]:
    """(source, label key) of a stored selector key."""
    source, _, name = key.partition(":")
    return source, name


@dataclass(frozen=True)
class CIDRPeer:
    """One item of fromCIDR/toCIDR (a cidr) or fromCIDRSet/toCIDRSet (a cidr with excepts, or a CIDR group by
    name or by labels)."""

    cidr: IPNetwork | None = None
    excepts: tuple[IPNetwork, ...] = ()
    group: str | None = None  # cidrGroupRef
    group_selector: LabelSelector | None = None  # cidrGroupSelector


@dataclass(frozen=True)
class ServicePeer:
    """One item of toServices: a Service by name (k8sService) or by its labels (k8sServiceSelector).
    namespace None: Services of every namespace (cilium-policies.md §4.3)."""

    namespace: str | None
    name: str | None = None
    selector: LabelSelector | None = None


@dataclass(frozen=True)
class CiliumPeer:
    """The one peer field of an entry (the agent refuses two), with its items, ORed. An empty list matches
    nothing. `runtime` holds what only runtime facts decide (toFQDNs names, toGroups): nothing statically."""

    field: str  # as written: fromEndpoints, toCIDRSet, toFQDNs, ...
    endpoints: tuple[LabelSelector, ...] = ()
    entities: tuple[str, ...] = ()
    cidrs: tuple[CIDRPeer, ...] = ()
    services: tuple[ServicePeer, ...] = ()
    runtime: tuple[str, ...] = ()


@dataclass(frozen=True)
class CiliumPort:
    """One entry of toPorts[].ports: port 0 is every port; a string is a named port (lower case)."""

    protocol: str  # one of PORT_PROTOCOLS; VRRP and IGMP are outside L4 analysis
    port: int | str
    end_port: int | None = None  # set only when above port (an inclusive range)

    def __str__(self) -> str:
        port = "all" if self.port == 0 else str(self.port)
        return f"{self.protocol}:{port}" + (f"-{self.end_port}" if self.end_port is not None else "")


@dataclass(frozen=True)
class PortRule:
    """One item of toPorts. `l7` names what filters requests further at runtime (http, dns, serverNames...)."""

    ports: tuple[CiliumPort, ...]
    l7: str | None = None


@dataclass(frozen=True)
class ICMPType:
    family: Literal["IPv4", "IPv6"]
    type: int

    def __str__(self) -> str:
        return f"{'ICMP' if self.family == 'IPv4' else 'ICMPv6'}:{self.type}"


@dataclass(frozen=True)
class CiliumEntry:
    """One item of ingress, ingressDeny, egress or egressDeny.

    peer None: the item has no peer field (any peer when it has ports, nothing when not). to_ports and
    icmps empty: every protocol and port, ICMP included; an item of them without ports matches nothing.
    """

    deny: bool
    index: int
    peer: CiliumPeer | None = None
    to_ports: tuple[PortRule, ...] = ()
    icmps: tuple[tuple[ICMPType, ...], ...] = ()
    default_deny: bool = True  # the rule's enableDefaultDeny for this direction
    authentication: str | None = None  # mode: required or test-always-fail, decided at runtime

    def section(self, direction: Direction) -> str:
        return f"{direction}{'Deny' if self.deny else ''}[{self.index}]"


@dataclass(frozen=True)
class CiliumRule:
    """One rule (api.Rule): `spec`, or one item of `specs`. Exactly one of the two selectors is set; a
    nodeSelector (a host policy) takes effect only with the host firewall, off by default."""

    index: int | None  # specs[index]; None: spec
    endpoint_selector: LabelSelector | None
    node_selector: LabelSelector | None = None
    ingress: tuple[CiliumEntry, ...] = ()  # allows, then denies
    egress: tuple[CiliumEntry, ...] = ()

    @property
    def path(self) -> str:
        return "spec" if self.index is None else f"specs[{self.index}]"

    def entries(self, direction: Direction) -> tuple[CiliumEntry, ...]:
        return self.ingress if direction == "ingress" else self.egress


@dataclass(frozen=True)
class CiliumPolicy:
    kind: CiliumKind
    namespace: str | None  # None for a CiliumClusterwideNetworkPolicy
    name: str
    rules: tuple[CiliumRule, ...]
    location: Location | None = field(default=None, compare=False)
    lint_ignore: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def short(self) -> str:
        """How answers name it: CNP ns/name, CCNP name."""
        return f"CNP {self.namespace}/{self.name}" if self.namespace else f"CCNP {self.name}"


@dataclass(frozen=True)
class CIDRGroup:
    """A CiliumCIDRGroup: outside addresses that cidrGroupRef and cidrGroupSelector name."""

    name: str
    labels: tuple[tuple[str, str], ...]
    cidrs: tuple[IPNetwork, ...]
    location: Location | None = field(default=None, compare=False)


CidrMatch = Literal["nodes", "pods"]


@dataclass(frozen=True)
class CiliumOptions:
    """The agent options that change verdicts, at Cilium 1.20's defaults (cilium-policies.md §1.3)."""

    enable_policy: Literal["default", "always", "never"] = "default"
    allow_localhost: Literal["always", "policy"] = "always"  # auto is always under Kubernetes
    policy_cidr_match_mode: frozenset[CidrMatch] = frozenset()
    default_local_cluster: bool = True  # policy-default-local-cluster
    cluster_name: str = "default"
    non_default_deny_policies: bool = True  # enable-non-default-deny-policies: honour enableDefaultDeny false


# §2.1: pod label keys the identity filter drops (prefixes, substrings, whole keys); io.kubernetes.pod.namespace is
# the agent's own, and pod labels under io.cilium.k8s are dropped as unforgeable.
IDENTITY_DROPPED_PREFIXES = ("kubernetes.io", "k8s.io", "io.kubernetes", "topology.kubernetes.io", "annotation",
                             "pod-template-hash", "pod-template-generation", "controller-revision-hash",
                             "controller-uid", "etcd_node", "io.cilium.k8s")
IDENTITY_DROPPED_KEYS = frozenset({"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
                                   "batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/controller-uid"})
RESERVED_KINDS = ("world", "host", "remote-node")  # the reserved identities a peer selector can name


def identity_labels(labels: Iterable[tuple[str, str]], namespace: str, namespace_labels: Iterable[tuple[str, str]],
                    service_account: str | None, cluster_name: str) -> dict[str, str]:
    """A pod's identity as Cilium's selectors see it (cilium-policies.md §2.1, §2.2): its labels the identity
    filter keeps, its namespace, its namespace's labels, its service account (admission's default `default`)
    and the cluster, each as `k8s:key` and `any:key`."""
    plain = {k: v for k, v in labels if not (k.startswith(IDENTITY_DROPPED_PREFIXES) or "beta.kubernetes.io" in k
                                             or k in IDENTITY_DROPPED_KEYS)}
    plain[POD_NAMESPACE_LABEL] = namespace
    plain.update((NAMESPACE_LABELS_PREFIX + k, v) for k, v in namespace_labels)
    plain[SERVICE_ACCOUNT_LABEL] = service_account or "default"
    plain[CLUSTER_LABEL] = cluster_name
    return sourced(plain, K8S_SOURCE)


def sourced(plain: Mapping[str, str], source: str) -> dict[str, str]:
    """Labels of one source as selectors see them: `source:key`, and `any:key` (an any: key matches every source)."""
    out = {f"{source}:{k}": v for k, v in plain.items()}
    out.update((f"{ANY_SOURCE}:{k}", v) for k, v in plain.items())
    return out


def reserved_labels(kind: str) -> dict[str, str]:
    """The labels of a reserved identity (world, host, remote-node): no k8s: label, so no namespace term matches."""
    return sourced({kind: ""}, RESERVED_SOURCE)
