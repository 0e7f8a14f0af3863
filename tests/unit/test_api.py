import netpol


def test_public_api_is_pinned() -> None:
    assert sorted(netpol.__all__) == [
        "Analyzer", "Cluster", "ContainerPort", "Diagnostic", "DirectionVerdict", "Endpoint", "IPBlock",
        "InputError", "LoadResult", "Location", "Matrix", "Namespace", "NetpolError", "NetworkPolicy", "Pod",
        "PolicySummary", "PortSet", "QueryError", "UnknownEndpointError", "Verdict", "load_manifests",
        "load_objects", "reference_allowed",
    ]
    for name in netpol.__all__:
        assert hasattr(netpol, name)
