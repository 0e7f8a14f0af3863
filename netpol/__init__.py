"""netpol: compile Kubernetes NetworkPolicies into an allow-graph and ask who can reach whom.

The public surface is pinned here (a test checks __all__); everything else
is an implementation detail.
"""

from netpol.compile import RuleRef
from netpol.engine import AddressRange
from netpol.errors import Diagnostic, InputError, Location, NetpolError, QueryError, UnknownEndpointError
from netpol.model import (
    Cluster,
    ContainerPort,
    IPBlock,
    IPBlockPeer,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PodPeer,
    PolicyPort,
    Rule,
    Service,
    ServicePort,
)
from netpol.portsets import PortSet
from netpol.query import (
    Analyzer,
    Backend,
    DirectionVerdict,
    Endpoint,
    Matrix,
    PolicySummary,
    RuleSummary,
    ServiceVerdict,
    Verdict,
)
from netpol.reference import reference_allowed
from netpol.selectors import LabelSelector
from netpol.sources import LoadResult, load_manifests, load_objects

__all__ = [
    "AddressRange",
    "Analyzer",
    "Backend",
    "Cluster",
    "ContainerPort",
    "Diagnostic",
    "DirectionVerdict",
    "Endpoint",
    "IPBlock",
    "IPBlockPeer",
    "InputError",
    "LabelSelector",
    "Location",
    "LoadResult",
    "Matrix",
    "Namespace",
    "NetpolError",
    "NetworkPolicy",
    "Peer",
    "Pod",
    "PodPeer",
    "PolicyPort",
    "PolicySummary",
    "PortSet",
    "QueryError",
    "Rule",
    "RuleRef",
    "RuleSummary",
    "Service",
    "ServicePort",
    "ServiceVerdict",
    "UnknownEndpointError",
    "Verdict",
    "load_manifests",
    "load_objects",
    "reference_allowed",
]

__version__ = "0.1.0"
