"""Kinds that allow or deny traffic and that netpol does not evaluate: the catalogue, and what an input holds.

A verdict computed next to a CiliumNetworkPolicy that drops the connection is a lie, so such objects are
not ignored like ConfigMaps: they are named, and a command that states reachability refuses to answer
unless told to ignore them (`--ignore-unmodelled`), in which case every answer says what it ignored. The
same holds for a tier netpol could not read (a 403 on a cluster-scoped policy kind): the verdict cannot
see it. docs/semantics.md §14 lists the catalogue; keep the two in step (a test compares them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from netpol.errors import Location, NetpolError, name_list


@dataclass(frozen=True)
class EnforcingKind:
    """A kind whose objects allow or deny connections, by API group (every version of the group)."""

    group: str
    kind: str
    plural: str  # the resource a live read lists (docs/rbac.yaml grants it)
    product: str


CATALOGUE: tuple[EnforcingKind, ...] = (
    EnforcingKind("cilium.io", "CiliumNetworkPolicy", "ciliumnetworkpolicies", "Cilium"),
    EnforcingKind("cilium.io", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", "Cilium"),
    EnforcingKind("projectcalico.org", "NetworkPolicy", "networkpolicies", "Calico"),
    EnforcingKind("projectcalico.org", "GlobalNetworkPolicy", "globalnetworkpolicies", "Calico"),
    EnforcingKind("crd.projectcalico.org", "NetworkPolicy", "networkpolicies", "Calico"),
    EnforcingKind("crd.projectcalico.org", "GlobalNetworkPolicy", "globalnetworkpolicies", "Calico"),
    EnforcingKind("crd.antrea.io", "ClusterNetworkPolicy", "clusternetworkpolicies", "Antrea"),
    EnforcingKind("crd.antrea.io", "NetworkPolicy", "networkpolicies", "Antrea"),
    EnforcingKind("security.antrea.tanzu.vmware.com", "ClusterNetworkPolicy", "clusternetworkpolicies",
                  "Antrea (before v1.0)"),
    EnforcingKind("security.antrea.tanzu.vmware.com", "NetworkPolicy", "networkpolicies", "Antrea (before v1.0)"),
    EnforcingKind("security.istio.io", "AuthorizationPolicy", "authorizationpolicies", "Istio"),
    EnforcingKind("security.istio.io", "PeerAuthentication", "peerauthentications",
                  "Istio (STRICT mTLS refuses plain-text connections)"),
    EnforcingKind("policy.linkerd.io", "Server", "servers", "Linkerd (its default policy)"),
    EnforcingKind("policy.linkerd.io", "ServerAuthorization", "serverauthorizations", "Linkerd"),
    EnforcingKind("policy.linkerd.io", "AuthorizationPolicy", "authorizationpolicies", "Linkerd"),
    EnforcingKind("consul.hashicorp.com", "ServiceIntentions", "serviceintentions", "Consul"),
    EnforcingKind("kuma.io", "MeshTrafficPermission", "meshtrafficpermissions", "Kuma"),
    EnforcingKind("k8s.ovn.org", "EgressFirewall", "egressfirewalls", "OVN-Kubernetes"),
    EnforcingKind("network.openshift.io", "EgressNetworkPolicy", "egressnetworkpolicies", "OpenShift SDN"),
    EnforcingKind("k8s.cni.cncf.io", "MultiNetworkPolicy", "multi-networkpolicies", "Multus (secondary networks)"),
    EnforcingKind("kubeovn.io", "SecurityGroup", "security-groups", "Kube-OVN"),
    EnforcingKind("vpcresources.k8s.aws", "SecurityGroupPolicy", "securitygrouppolicies",
                  "AWS security groups for pods"),
    EnforcingKind("networking.k8s.aws", "ClusterNetworkPolicy", "clusternetworkpolicies", "Amazon EKS"),
    EnforcingKind("networking.k8s.aws", "ApplicationNetworkPolicy", "applicationnetworkpolicies", "Amazon EKS"),
    EnforcingKind("networking.gke.io", "FQDNNetworkPolicy", "fqdnnetworkpolicies", "GKE"),
    EnforcingKind("crd.nsx.vmware.com", "SecurityPolicy", "securitypolicies", "VMware NSX"),
    # Kubernetes' own kinds, at an API version netpol does not read (it reads networking.k8s.io/v1,
    # policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy, v1alpha2
    # ClusterNetworkPolicy): one of another version enforces all the same.
    EnforcingKind("networking.k8s.io", "NetworkPolicy", "networkpolicies", "Kubernetes"),
    EnforcingKind("extensions", "NetworkPolicy", "networkpolicies", "Kubernetes (before 1.16)"),
    EnforcingKind("policy.networking.k8s.io", "AdminNetworkPolicy", "adminnetworkpolicies",
                  "Kubernetes network-policy-api"),
    EnforcingKind("policy.networking.k8s.io", "BaselineAdminNetworkPolicy", "baselineadminnetworkpolicies",
                  "Kubernetes network-policy-api"),
    EnforcingKind("policy.networking.k8s.io", "ClusterNetworkPolicy", "clusternetworkpolicies",
                  "Kubernetes network-policy-api"),
)
_BY_KEY = {(k.group, k.kind): k for k in CATALOGUE}
# Groups a live read lists already, at the versions netpol evaluates: not listed again at another version.
READ_GROUPS = frozenset({"networking.k8s.io", "extensions", "policy.networking.k8s.io",
                         "projectcalico.org"})  # with the rest of Calico's kinds (sources/cluster.py)

OPTION = "--ignore-unmodelled"
# What a refusal under the calico profile says of Calico's kinds it names: only the storage form is left unread.
CALICO_STORAGE = ("every command evaluates Calico's projectcalico.org/v3 kinds; crd.projectcalico.org/v1 objects are "
                  "Calico's storage, which netpol does not read: give their projectcalico.org/v3 form (calicoctl get "
                  "-o yaml, or the Calico API server)")
IGNORED = f"ignored ({OPTION}): "  # how an assumption about what the answer did not see begins


class UnmodelledError(NetpolError):
    """A command that states reachability was asked about an input holding what it cannot see."""


def enforcing(kind: str, api_version: str) -> EnforcingKind | None:
    """The catalogue entry of an object that netpol did not evaluate, if its kind enforces traffic."""
    group = api_version.rpartition("/")[0]
    return _BY_KEY.get((group, kind))


@dataclass(frozen=True)
class UnmodelledObject:
    kind: str
    api_version: str
    namespace: str | None
    name: str
    location: Location | None = field(default=None, compare=False)  # where the input has it (lint names it)

    @property
    def title(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Unmodelled:
    """What an answer cannot see: objects of enforcing kinds it does not evaluate, and policy kinds the
    reader was not allowed to read (each as the resource and why)."""

    objects: tuple[UnmodelledObject, ...] = ()
    unread: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.objects or self.unread)

    def _kinds(self) -> list[str]:
        counts = Counter((o.kind, o.api_version) for o in self.objects)
        out = []
        for (kind, api_version), count in sorted(counts.items()):
            names = name_list(sorted(o.title for o in self.objects if (o.kind, o.api_version) == (kind, api_version)))
            out.append(f"{count} {kind} ({api_version}): {names}")
        return out

    def lines(self) -> tuple[str, ...]:
        """One line per kind of object netpol did not evaluate, and per resource it could not read."""
        return (*(f"{line}, not evaluated by netpol" for line in self._kinds()),
                *self.unread)

    def refusal(self, profile: str = "generic") -> UnmodelledError:
        """The error of a command that states reachability: what it cannot see, and how to answer anyway.
        Under a plugin's profile (policies/profiles.py) its own kinds are not evaluated either, and it says so."""
        own = sorted({entry.product for o in self.objects if (entry := enforcing(o.kind, o.api_version))
                      and entry.product.lower() == profile})
        under = (f" The {profile} profile answers the questions the NetworkPolicy API leaves open as Calico does: "
                 f"{CALICO_STORAGE}." if own == ["Calico"] else
                 f" The {profile} profile answers the questions the NetworkPolicy API leaves open as {own[0]} "
                 f"does, but does not evaluate {own[0]}'s own policy kinds yet." if own else "")
        return UnmodelledError(
            "the answer cannot see everything that allows or denies traffic here: " + "; ".join(self.lines())
            + f".{under} netpol does not answer as if they were absent; pass {OPTION} to answer without them "
            "(every answer then says what it ignored), or remove them from the input")

    def assumptions(self) -> tuple[str, ...]:
        """What every verdict says when the user chose to answer anyway."""
        return tuple(f"{IGNORED}{line}; they may allow or deny this traffic" for line in self.lines())


def ignored(assumptions: Iterable[str]) -> tuple[str, ...]:
    """Of a cluster's assumptions, those that say what the answers do not see (Unmodelled.assumptions): an
    output that lists no other assumption (a graph) still lists these."""
    return tuple(a for a in assumptions if a.startswith(IGNORED))
