"""netpol: compile Kubernetes NetworkPolicies into an allow-graph and ask who can reach whom.

The public surface is pinned here (a test checks __all__); everything else
is an implementation detail.
"""

from netpol.errors import Diagnostic, InputError, Location, NetpolError, QueryError, UnknownEndpointError
from netpol.model import Cluster, ContainerPort, IPBlock, Namespace, NetworkPolicy, Pod
from netpol.portsets import PortSet
from netpol.query import Analyzer, DirectionVerdict, Endpoint, Matrix, PolicySummary, Verdict
from netpol.reference import reference_allowed
from netpol.sources import LoadResult, load_manifests, load_objects

__all__ = [
    "Analyzer",
    "Cluster",
    "ContainerPort",
    "Diagnostic",
    "DirectionVerdict",
    "Endpoint",
    "IPBlock",
    "InputError",
    "Location",
    "LoadResult",
    "Matrix",
    "Namespace",
    "NetpolError",
    "NetworkPolicy",
    "Pod",
    "PolicySummary",
    "PortSet",
    "QueryError",
    "UnknownEndpointError",
    "Verdict",
    "load_manifests",
    "load_objects",
    "reference_allowed",
]

__version__ = "0.1.0"
