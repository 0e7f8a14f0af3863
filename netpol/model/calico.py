"""Calico's projectcalico.org/v3 objects as netpol holds them once read and validated (netpol/sources/calico.py
reads them): policies, tiers, network sets and the ServiceAccounts whose labels Calico's selectors see. They
live in the model so that a Cluster carries them to the compiler (netpol/policies/calico.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from netpol.errors import Location
from netpol.model import Direction, IPNetwork, PolicyType
from netpol.model.calico_selectors import Node

Action = Literal["Allow", "Deny", "Pass", "Log"]
StagedAction = Literal["Set", "Delete", "Learn", "Ignore"]
PolicyKind = Literal["NetworkPolicy", "GlobalNetworkPolicy", "KubernetesNetworkPolicy", "StagedNetworkPolicy",
                     "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy"]
DefaultAction = Literal["Deny", "Pass"]
ORCHESTRATOR = "projectcalico.org/orchestrator"
NAMESPACE_LABEL = "projectcalico.org/namespace"
SERVICE_ACCOUNT_LABEL = "projectcalico.org/serviceaccount"


# -- the model -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class CalicoPort:
    """A port of a rule: a number or an inclusive range `a:b`, or a named port (resolved on the endpoint)."""

    first: int = 0
    last: int = 0
    name: str | None = None

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        return str(self.first) if self.first == self.last else f"{self.first}:{self.last}"


@dataclass(frozen=True)
class ICMPMatch:
    """`icmp`/`notICMP`: a type, and a code only with a type."""

    type: int | None = None
    code: int | None = None


@dataclass(frozen=True)
class ServiceAccountMatch:
    """`serviceAccounts`: names (any of them) and a selector on the account's labels, ANDed."""

    names: tuple[str, ...] = ()
    selector: Node | None = None


@dataclass(frozen=True)
class ServiceMatch:
    """`services`: a Service by name, whose endpoints need EndpointSlices (stated, not computed)."""

    name: str
    namespace: str | None = None


@dataclass(frozen=True)
class EntityRule:
    """One side of a rule (`source` or `destination`); every criterion present must hold."""

    nets: tuple[IPNetwork, ...] = ()
    not_nets: tuple[IPNetwork, ...] = ()
    selector: Node | None = None
    not_selector: Node | None = None
    namespace_selector: Node | None = None
    service_accounts: ServiceAccountMatch | None = None
    services: ServiceMatch | None = None
    ports: tuple[CalicoPort, ...] = ()
    not_ports: tuple[CalicoPort, ...] = ()


@dataclass(frozen=True)
class CalicoRule:
    action: Action
    protocol: int | None = None  # an IP protocol number; None: any
    not_protocol: int | None = None
    icmp: ICMPMatch | None = None
    not_icmp: ICMPMatch | None = None
    ip_version: int | None = None
    source: EntityRule = EntityRule()
    destination: EntityRule = EntityRule()
    http: bool = False  # an HTTP match: L7, not checked at L3/L4 (stated)


@dataclass(frozen=True)
class CalicoPolicy:
    """A Calico policy (or a Kubernetes NetworkPolicy as Calico places it), with `types` as Calico defaults
    them: absent or empty -> Ingress, plus Egress when there are egress rules, Egress alone when only egress
    rules (api/pkg/defaults/networkpolicy.go)."""

    kind: PolicyKind
    name: str
    namespace: str | None  # None: a global policy
    tier: str
    order: float | None  # None: after every ordered policy of the tier
    selector: Node
    types: tuple[PolicyType, ...]
    ingress: tuple[CalicoRule, ...] = ()
    egress: tuple[CalicoRule, ...] = ()
    namespace_selector: Node | None = None  # GlobalNetworkPolicy only
    service_account_selector: Node | None = None
    do_not_track: bool = False
    pre_dnat: bool = False
    apply_on_forward: bool = False
    staged_action: StagedAction | None = None  # the staged kinds only
    location: Location | None = field(default=None, compare=False)
    lint_ignore: tuple[str, ...] = field(default=(), compare=False)

    @property
    def staged(self) -> bool:
        return self.kind.startswith("Staged")

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def host_only(self) -> bool:
        """doNotTrack and preDNAT policies are rendered for host endpoints only: pods never see them."""
        return self.do_not_track or self.pre_dnat

    def rules(self, direction: Direction) -> tuple[CalicoRule, ...]:
        return self.ingress if direction == "ingress" else self.egress

    def applies(self, direction: Direction) -> bool:
        return ("Ingress" if direction == "ingress" else "Egress") in self.types


@dataclass(frozen=True)
class CalicoTier:
    name: str
    order: float | None  # None: after every ordered tier
    default_action: DefaultAction = "Deny"
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NetworkSet:
    """A labelled set of addresses that rule selectors match (namespace None: a GlobalNetworkSet)."""

    namespace: str | None
    name: str
    labels: tuple[tuple[str, str], ...]
    nets: tuple[IPNetwork, ...]
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CalicoObjects:
    """Everything Calico-specific an input holds, each kind sorted by key."""

    policies: tuple[CalicoPolicy, ...] = ()
    tiers: tuple[CalicoTier, ...] = ()
    network_sets: tuple[NetworkSet, ...] = ()
    service_accounts: tuple[ServiceAccount, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.policies or self.tiers or self.network_sets)


NAME_LABEL = "projectcalico.org/name"  # the profile label naming a namespace (pcns.) or service account (pcsa.)
DEFAULT_ACCOUNT = "default"  # a pod without serviceAccountName runs as default


def profile_labels(prefix: str, name: str, labels: Mapping[str, str]) -> dict[str, str]:
    """A namespace's (`pcns.`) or service account's (`pcsa.`) labels as the endpoints inheriting them see them."""
    out = {f"{prefix}{k}": v for k, v in labels.items()}
    out[f"{prefix}{NAME_LABEL}"] = name
    return out


def endpoint_labels(namespace: str, own: Mapping[str, str], account: str | None,
                    namespace_labels: Mapping[str, str], account_labels: Mapping[str, str]) -> dict[str, str]:
    """The labels Calico's selectors see on a pod (shared/reference/calico-policies.md §2), lowest precedence
    first: pcsa.*, pcns.*, the pod's own, then Calico's own (namespace, orchestrator, service account under 63
    characters)."""
    sa = account or DEFAULT_ACCOUNT
    out = profile_labels("pcsa.", sa, account_labels)
    out.update(profile_labels("pcns.", namespace, namespace_labels))
    out.update(own)
    out.update({NAMESPACE_LABEL: namespace, ORCHESTRATOR: "k8s"})
    if len(sa) < 63:
        out[SERVICE_ACCOUNT_LABEL] = sa
    return out


def set_labels(network_set: NetworkSet, namespace_labels: Mapping[str, str]) -> dict[str, str]:
    """A network set's labels as selectors see them: a NetworkSet's own with its namespace's (pcns.*) and
    projectcalico.org/namespace; a GlobalNetworkSet's own."""
    if network_set.namespace is None:
        return dict(network_set.labels)
    return {**profile_labels("pcns.", network_set.namespace, namespace_labels), **dict(network_set.labels),
            NAMESPACE_LABEL: network_set.namespace}
