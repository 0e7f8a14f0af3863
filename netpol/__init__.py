"""netpol: compile Kubernetes NetworkPolicies into an allow-graph and ask who can reach whom.

The public surface is pinned here (a test checks __all__); everything else
is an implementation detail.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netpol.analyses.explain import PolicySummary, RuleSummary
    from netpol.analyses.matrix import Matrix
    from netpol.analyses.query import Analyzer
    from netpol.analyses.verdicts import Backend, DirectionVerdict, Endpoint, ServiceVerdict, Verdict
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
    from netpol.model.portsets import PortSet
    from netpol.model.selectors import LabelSelector
    from netpol.policies.networkpolicy import RuleRef
    from netpol.reference import reference_allowed
    from netpol.sources import LoadResult, load_manifests, load_objects

# Where each public name lives: loaded on first use, so that `import netpol.cli` (and `netpol --help`)
# does not pay for the whole library.
_HOMES = {
    "RuleRef": "netpol.policies.networkpolicy", "AddressRange": "netpol.engine", "PortSet": "netpol.model.portsets",
    "reference_allowed": "netpol.reference", "LabelSelector": "netpol.model.selectors",
    **dict.fromkeys(("Diagnostic", "InputError", "Location", "NetpolError", "QueryError", "UnknownEndpointError"),
                    "netpol.errors"),
    **dict.fromkeys(("Cluster", "ContainerPort", "IPBlock", "IPBlockPeer", "Namespace", "NetworkPolicy", "Peer",
                     "Pod", "PodPeer", "PolicyPort", "Rule", "Service", "ServicePort"), "netpol.model"),
    "Analyzer": "netpol.analyses.query", "Matrix": "netpol.analyses.matrix",
    **dict.fromkeys(("PolicySummary", "RuleSummary"), "netpol.analyses.explain"),
    **dict.fromkeys(("Backend", "DirectionVerdict", "Endpoint", "ServiceVerdict", "Verdict"),
                    "netpol.analyses.verdicts"),
    **dict.fromkeys(("LoadResult", "load_manifests", "load_objects"), "netpol.sources"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'netpol' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


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
