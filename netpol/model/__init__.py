"""Typed, frozen model of the objects netpol analyses.

Loaders produce these and nothing else; raw manifest dicts never get past
`netpol.sources`. Absent and empty lists are both stored as empty tuples
where the API gives them the same meaning; where it does not
(policyTypes, which the API server defaults from the rules), the declared
value is kept and the defaulting happens in one property.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal, NewType

from netpol.errors import Location
from netpol.model.portsets import PortProtocol
from netpol.model.selectors import LabelSelector

if TYPE_CHECKING:  # netpol.model.cilium builds on this module
    from netpol.model.cilium import CIDRGroup, CiliumOptions, CiliumPolicy
    from netpol.model.calico import CalicoObjects

NamespaceName = NewType("NamespaceName", str)
Direction = Literal["ingress", "egress"]
DIRECTIONS: tuple[Direction, ...] = ("ingress", "egress")
PolicyType = Literal["Ingress", "Egress"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")  # IPv4-mapped IPv6 addresses


def ip_address(text: str) -> IPAddress:
    """An address as given; an IPv4-mapped IPv6 address (::ffff:10.244.2.10) is its IPv4 address, as Go's net
    package (and so every plugin) reads it. ValueError for text that is no address."""
    ip = ipaddress.ip_address(text)
    return ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip


def ip_network(text: str) -> IPNetwork:
    """A CIDR (host bits allowed); one inside ::ffff:0:0/96 is the IPv4 network it maps (a prefix of 96
    or more: ::ffff:10.0.0.0/104 is 10.0.0.0/8). ValueError for text that is no CIDR."""
    net = ipaddress.ip_network(text, strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.subnet_of(_MAPPED):
        return ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
    return net

METADATA_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Namespace:
    """A namespace; its labels always include kubernetes.io/metadata.name."""

    name: NamespaceName
    labels: tuple[tuple[str, str], ...]
    declared: bool = True  # False when only implied by a pod or policy
    location: Location | None = field(default=None, compare=False)
    lint_ignore: tuple[str, ...] = field(default=(), compare=False)  # netpol.io/lint-ignore: rule ids

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True, order=True)
class ContainerPort:
    """A declared container port; `name` is what a policy's named port resolves against."""

    port: int
    protocol: PortProtocol = "TCP"
    name: str | None = None
    # a possible pod's named port declared at a number rules name (first, last: the numbers every rule treats
    # alike): `port` is a number no rule names, which the rules' port numbers match as if it were `first`
    stands_for: tuple[int, int] | None = None


@dataclass(frozen=True)
class Pod:
    """A pod, or a pod a workload will create."""

    namespace: NamespaceName
    name: str
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    ips: tuple[IPAddress, ...] = ()
    host_network: bool = False
    node: str | None = None  # spec.nodeName, when scheduled
    location: Location | None = field(default=None, compare=False)
    # A workload's pods: name is "<kind>/<workload name>", e.g. "deployment/web".
    workload: str | None = None  # the workload kind, e.g. "Deployment"; None for a real pod
    replicas: int | None = 1  # pods the workload creates; None: one per node (DaemonSet)
    owner: str | None = None  # the workload a real pod stands for, e.g. "deployment/web"
    controller: tuple[str, str] | None = None  # its controlling ownerReference as written: ("ReplicaSet", "web-5d9c7")
    host_ip: IPAddress | None = None  # status.hostIP: its node's address, to and from which traffic is allowed
    lint_ignore: tuple[str, ...] = field(default=(), compare=False)  # netpol.io/lint-ignore: rule ids
    hypothetical: bool = False  # stands for every possible pod of a region (netpol.analyses.regions)
    service_account: str | None = None  # spec.serviceAccountName (None: not given, Kubernetes runs it as `default`)

    @property
    def is_one_pod(self) -> bool:
        """False for a workload of several pods (or one per node), or a region of possible pods: traffic
        between two of them is real."""
        return not self.hypothetical and (self.workload is None or self.replicas == 1)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def port_named(self, name: str, protocol: PortProtocol) -> int | None:
        """The number of the container port with this name and protocol (names are unique in a pod)."""
        return next((c.port for c in self.ports if c.name == name and c.protocol == protocol), None)

    @property
    def replica_note(self) -> str:
        """How many pods a workload endpoint stands for: " (x3)", " (one per node)"; "" for a real pod."""
        if self.workload is None:
            return ""
        return f" (x{self.replicas})" if self.replicas is not None else " (one per node)"

    @property
    def display(self) -> str:
        return self.key + self.replica_note

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class ServicePort:
    port: int
    protocol: PortProtocol = "TCP"
    name: str | None = None
    target: int | str = 0  # targetPort: a number, or a container port name on each backing pod


# How users name a Service port: svc/NAME[:PORT] or NS/svc/NAME[:PORT] (PORT: number or name).
SERVICE_REF = re.compile(r"^(?:([^/]+)/)?svc/([^/:]+)(?::(.+))?$")


@dataclass(frozen=True)
class Service:
    """A Service, for queries that name it: its selector picks the backing pods."""

    namespace: NamespaceName
    name: str
    selector: tuple[tuple[str, str], ...] | None  # None: no selector, endpoints managed elsewhere
    ports: tuple[ServicePort, ...] = ()
    location: Location | None = field(default=None, compare=False)
    labels: tuple[tuple[str, str], ...] = ()  # what Cilium's toServices k8sServiceSelector matches

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class IPBlock:
    """A CIDR minus exceptions. Host bits in `cidr` are cleared, as older API servers accepted them."""

    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()
    written: str | None = field(default=None, compare=False)  # the cidr as written, when it had host bits set

    def contains(self, ip: IPAddress) -> bool:
        return self.contains_int(ip.version, int(ip))

    def contains_int(self, version: int, address: int) -> bool:
        """`contains` for an address as (IP version, integer): with the CIDRs as integer ranges, so that
        checking 150k pod IPs against every block builds no address objects."""
        v, lo, hi, excepts = self._spans
        return version == v and lo <= address <= hi and not any(elo <= address <= ehi for elo, ehi in excepts)

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        """Computed once: a repository's ranges each hold hundreds of blocks, hashed as dictionary keys."""
        return hash((self.cidr, self.excepts))

    @cached_property
    def _spans(self) -> tuple[int, int, int, tuple[tuple[int, int], ...]]:
        return (self.cidr.version, int(self.cidr.network_address), int(self.cidr.broadcast_address),
                tuple((int(e.network_address), int(e.broadcast_address)) for e in self.excepts))

    def __str__(self) -> str:
        if not self.excepts:
            return str(self.cidr)
        return f"{self.cidr} except {', '.join(str(e) for e in self.excepts)}"


@dataclass(frozen=True)
class PodPeer:
    """podSelector and/or namespaceSelector in one peer: both must match (AND).

    namespace_selector None means "the policy's own namespace";
    pod_selector None means "every pod" in the selected namespaces.
    """

    pod_selector: LabelSelector | None
    namespace_selector: LabelSelector | None


@dataclass(frozen=True)
class IPBlockPeer:
    block: IPBlock


Peer = PodPeer | IPBlockPeer


@dataclass(frozen=True)
class PolicyPort:
    """One entry of a rule's `ports`: port None means every port of the protocol."""

    protocol: PortProtocol = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return f"{self.protocol}:all"
        if self.end_port is not None:
            return f"{self.protocol}:{self.port}-{self.end_port}"
        return f"{self.protocol}:{self.port}"


@dataclass(frozen=True)
class Rule:
    """An ingress or egress rule. Empty `peers` = every peer; empty `ports` = every port."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True)
class NetworkPolicy:
    namespace: NamespaceName
    name: str
    pod_selector: LabelSelector
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    declared_policy_types: tuple[PolicyType, ...] | None = None
    location: Location | None = field(default=None, compare=False)
    lint_ignore: tuple[str, ...] = field(default=(), compare=False)  # netpol.io/lint-ignore: rule ids

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def policy_types(self) -> tuple[PolicyType, ...]:
        """As the API server defaults it: Ingress always, Egress only when there are egress rules."""
        if self.declared_policy_types:
            return self.declared_policy_types
        return ("Ingress", "Egress") if self.egress else ("Ingress",)

    def affects(self, direction: Direction) -> bool:
        return ("Ingress" if direction == "ingress" else "Egress") in self.policy_types

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction == "ingress" else self.egress


# -- cluster-scoped tiered policies (policy.networking.k8s.io: AdminNetworkPolicy,
#    BaselineAdminNetworkPolicy v1alpha1; ClusterNetworkPolicy v1alpha2) --------------

Tier = Literal["Admin", "Baseline"]
Action = Literal["Accept", "Deny", "Pass"]  # v1alpha1's Allow is Accept; the written word is kept for output
TieredKind = Literal["AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"]
TIER_GROUP = "policy.networking.k8s.io"


@dataclass(frozen=True)
class Node:
    """A node: its labels (for `nodes` peers) and addresses (what a host-network pod is reached as)."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()
    addresses: tuple[IPAddress, ...] = ()
    location: Location | None = field(default=None, compare=False)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class TierSelector:
    """A subject or a pod peer: pods matching `pod_selector` (None: every pod) in namespaces matching
    `namespace_selector`. Host-network pods never match."""

    namespace_selector: LabelSelector
    pod_selector: LabelSelector | None


@dataclass(frozen=True)
class TierPeer:
    """One peer of a tiered rule: exactly one of its kinds.

    `unknown` holds a field netpol does not know (a newer API): the API says such a peer fails
    closed, so an Accept rule matches nothing with it and a Deny or Pass rule matches everything.
    """

    pods: TierSelector | None = None  # `namespaces` peers have pod_selector None
    networks: tuple[IPNetwork, ...] = ()
    nodes: LabelSelector | None = None
    domains: tuple[str, ...] = ()
    unknown: str | None = None


@dataclass(frozen=True)
class TierPort:
    """A destination port: a number or range of one protocol, or a named port (its protocol is the
    container port's)."""

    protocol: PortProtocol | None = "TCP"  # None for a named port
    first: int = 1
    last: int = 65535
    name: str | None = None

    def __str__(self) -> str:
        if self.name is not None:
            return f"named:{self.name}"
        return f"{self.protocol}:{self.first}" + (f"-{self.last}" if self.last != self.first else "")


@dataclass(frozen=True)
class TierRule:
    action: Action
    written_action: str  # Allow (v1alpha1) or Accept, Deny, Pass
    peers: tuple[TierPeer, ...]
    ports: tuple[TierPort, ...] | None  # None: every port of every protocol
    name: str | None = None


@dataclass(frozen=True)
class TieredPolicy:
    kind: TieredKind
    api_version: str
    name: str
    tier: Tier
    priority: int | None  # None for the BaselineAdminNetworkPolicy, which has none
    subject: TierSelector
    ingress: tuple[TierRule, ...] = ()
    egress: tuple[TierRule, ...] = ()
    location: Location | None = field(default=None, compare=False)
    lint_ignore: tuple[str, ...] = field(default=(), compare=False)  # netpol.io/lint-ignore: rule ids

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def short_kind(self) -> str:
        return {"AdminNetworkPolicy": "ANP", "BaselineAdminNetworkPolicy": "BANP",
                "ClusterNetworkPolicy": "CNP"}[self.kind]

    def rules(self, direction: Direction) -> tuple[TierRule, ...]:
        return self.ingress if direction == "ingress" else self.egress


@dataclass(frozen=True)
class Dataplane:
    """How the network plugin answers what the API leaves open, where the engine computes the answer
    (netpol/policies/profiles.py names the plugin and cites each). The defaults are the generic profile."""

    profile: str = "generic"
    ip_block_matches_cluster: bool = True  # an ipBlock matches pod, node and host-network pod addresses
    own_node_egress_allowed: bool = True  # a pod may always send to its own node; else its egress policy decides
    host_network_named_ports: bool = True  # a named port matches a host-network pod's container port (not Cilium)
    ip_block_matches_nodes: bool = True  # an ipBlock matches host-network pods (Cilium: policy-cidr-match-mode=nodes)


@dataclass(frozen=True)
class Cluster:
    """Everything the analysis needs, sorted so that output never depends on input order."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()
    services: tuple[Service, ...] = ()
    tiered: tuple[TieredPolicy, ...] = ()  # in evaluation order: tier, priority, then kind and name
    nodes: tuple[Node, ...] = ()
    # What the answers cannot see and the user chose to answer without (sources/unmodelled.py): every
    # verdict repeats it among its assumptions.
    assumptions: tuple[str, ...] = ()
    dataplane: Dataplane = Dataplane()
    # Cilium's own kinds (netpol.model.cilium), read and validated; evaluated by reference_cilium.
    cilium: tuple[CiliumPolicy, ...] = ()
    cidr_groups: tuple[CIDRGroup, ...] = ()
    cilium_options: CiliumOptions | None = None  # the Cilium agent options (--cni-option); None: 1.20's defaults
    api_server: tuple[IPAddress, ...] = ()  # the endpoints of Service default/kubernetes (Cilium's kube-apiserver)
    # Calico's own kinds (netpol.model.calico), read and validated; compiled under the calico profile.
    calico: CalicoObjects | None = None

    @cached_property
    def nodes_by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    @cached_property
    def namespaces_by_name(self) -> dict[str, Namespace]:
        return {ns.name: ns for ns in self.namespaces}

    @cached_property
    def pods_by_key(self) -> dict[str, Pod]:
        return {pod.key: pod for pod in self.pods}

    @cached_property
    def policies_by_key(self) -> dict[str, NetworkPolicy]:
        return {p.key: p for p in self.policies}
