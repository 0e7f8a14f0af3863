import ipaddress

import netpol
from tests.builders import analyzer, fixture, pod, policy


def test_public_api_is_pinned() -> None:
    assert sorted(netpol.__all__) == [
        "AddressRange", "Analyzer", "Backend", "Cluster", "ContainerPort", "Diagnostic", "DirectionVerdict",
        "Endpoint", "IPBlock", "IPBlockPeer", "InputError", "LabelSelector", "LoadResult", "Location", "Matrix",
        "Namespace", "NetpolError", "NetworkPolicy", "Peer", "Pod", "PodPeer", "PolicyPort", "PolicySummary",
        "PortSet", "QueryError", "Rule", "RuleRef", "RuleSummary", "Service", "ServicePort", "ServiceVerdict",
        "UnknownEndpointError", "Verdict", "load_manifests", "load_objects", "reference_allowed",
    ]
    for name in netpol.__all__:
        assert hasattr(netpol, name)


def test_address_ranges_are_cut_at_every_ipblock_and_except_boundary() -> None:
    a = analyzer(pod("a"), policy("out", egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
                                   policyTypes=["Egress"]))
    ranges = a.address_ranges()
    assert [(str(r), [str(b) for b in r.blocks]) for r in ranges] == [
        ("0.0.0.0/5, 8.0.0.0/7", []),
        ("10.0.0.0/16", ["10.0.0.0/8 except 10.1.0.0/16"]),
        ("10.1.0.0/16", []),
        ("10.2.0.0/15, 10.4.0.0/14, 10.8.0.0/13, 10.16.0.0/12, 10.32.0.0/11, 10.64.0.0/10, 10.128.0.0/9",
         ["10.0.0.0/8 except 10.1.0.0/16"]),
        ("11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/4, 32.0.0.0/3, 64.0.0.0/2, 128.0.0.0/1", []),
        ("::/0", []),  # every IPv6 address, though no block is IPv6: can-reach answers for them too
    ]
    assert [a.can_reach("default/a", str(r.first), 443).allowed for r in ranges] == [
        False, True, False, True, False, False]
    inside = a.address_ranges(ipaddress.ip_network("10.0.0.0/15"))
    assert [str(r) for r in inside] == ["10.0.0.0/16", "10.1.0.0/16"]


def test_a_pod_keeps_its_controller_as_written() -> None:
    p = pod("web-5d9c7-a", labels={"pod-template-hash": "5d9c7"})
    p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c7",
                                         "uid": "u", "controller": True}]
    (loaded,) = analyzer(p).cluster.pods
    assert (loaded.owner, loaded.controller) == ("deployment/web", ("ReplicaSet", "web-5d9c7"))
    assert fixture("limit").cluster.pods[0].controller is None
