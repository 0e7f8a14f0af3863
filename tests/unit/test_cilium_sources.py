"""CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and CiliumCIDRGroup: what loads, as what, and the one-line
errors for what the API server or the agent refuses (shared/reference/cilium-policies.md §7)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpol import InputError, load_manifests
from netpol.model.cilium import (
    CIDRGroup,
    CIDRPeer,
    CiliumEntry,
    CiliumPeer,
    CiliumPort,
    ICMPType,
    PortRule,
    ServicePeer,
)
from netpol.model.selectors import LabelSelector, requirement
from netpol.sources import load_objects

REFUSED = "Cilium would not enforce this policy: "


def cnp(spec: Any = None, specs: Any = None, kind: str = "CiliumNetworkPolicy") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"} if kind != "CiliumNetworkPolicy" else {"name": "p", "namespace": "shop"}
    obj: dict[str, Any] = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = spec
    if specs is not None:
        obj["specs"] = specs
    return obj


def ingress(*entries: Any, **extra: Any) -> dict[str, Any]:
    return {"endpointSelector": {}, "ingress": list(entries), **extra}


def egress(*entries: Any) -> dict[str, Any]:
    return {"endpointSelector": {}, "egress": list(entries)}


def ports(*items: Any) -> dict[str, Any]:
    return {"toPorts": [{"ports": list(items)}]}


OBJ = "(CiliumNetworkPolicy shop/p)"

# name -> (object, the error after "<memory>: items[0] (...): ")
ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "neither spec nor specs": (cnp(), "spec or specs must be provided"),
    "no selector": ({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "p"},
                     "spec": {"ingress": [{}]}}, "spec: must set exactly one of: endpointSelector, nodeSelector"),
    "both selectors": (cnp({"endpointSelector": {}, "nodeSelector": {}, "ingress": [{}]}),
                       "spec: must set exactly one of: endpointSelector, nodeSelector (found both)"),
    "no section": (cnp({"endpointSelector": {}}),
                   "spec: must set at least one of: ingress, ingressDeny, egress, egressDeny"),
    "all sections empty": (cnp({"endpointSelector": {}, "ingress": [], "egressDeny": []}),
                           "spec: " + REFUSED + "rule must have at least one of Ingress, IngressDeny, Egress, "
                           "EgressDeny (all are empty)"),
    "unknown rule field": (cnp({"endpointSelector": {}, "ingres": [{}]}),
                           "spec.ingres: unknown field (expected one of: endpointSelector, nodeSelector, ingress, "
                           "ingressDeny, egress, egressDeny, labels, description, enableDefaultDeny, log)"),
    "nodeSelector in a CNP": (cnp({"nodeSelector": {}, "ingress": [{}]}),
                              "spec.nodeSelector: " + REFUSED + "a CiliumNetworkPolicy cannot have a nodeSelector "
                              "(host policies are CiliumClusterwideNetworkPolicies)"),
    "lower-case operator": (cnp({"endpointSelector": {"matchExpressions": [{"key": "app", "operator": "in",
                                                                              "values": ["a"]}]}, "ingress": [{}]}),
                            "spec.endpointSelector.matchExpressions[0].operator: unknown operator 'in' (expected one "
                            "of: In, NotIn, Exists, DoesNotExist)"),
    "bad selector key": (cnp({"endpointSelector": {"matchLabels": {"k8s:a b": "x"}}, "ingress": [{}]}),
                         "spec.endpointSelector.matchLabels.k8s:a b: " + REFUSED +
                         "'k8s:a b' is not a selector key ([source:]key, with a label key)"),
    "bad label value": (cnp(ingress({"fromEndpoints": [{"matchLabels": {"app": "a b"}}]})),
                        "spec.ingress[0].fromEndpoints[0].matchLabels.app: 'a b' is not a valid label value"),
    "In without values": (cnp(ingress({"fromEndpoints": [{"matchExpressions": [{"key": "a", "operator": "In"}]}]})),
                          "spec.ingress[0].fromEndpoints[0].matchExpressions[0].values: must be non-empty for "
                          "operator In"),
    "unknown entity": (cnp(ingress({"fromEntities": ["everything"]})),
                       "spec.ingress[0].fromEntities[0]: unknown entity 'everything' (expected one of: all, world, "
                       "cluster, cluster-mesh, host, init, ingress, unmanaged, remote-node, health, none, "
                       "kube-apiserver)"),
    "two peer fields": (cnp(ingress({"fromEndpoints": [{}], "fromCIDR": ["10.0.0.0/8"]})),
                        "spec.ingress[0]: " + REFUSED + "combining fromEndpoints and fromCIDR in one rule is not "
                        "supported (write two rules)"),
    "toFQDNs with toEndpoints": (cnp(egress({"toEndpoints": [{}], "toFQDNs": [{"matchName": "a.example"}]})),
                                 "spec.egress[0]: " + REFUSED + "combining toEndpoints and toFQDNs in one rule is not "
                                 "supported (write two rules)"),
    "egress field on ingress": (cnp(ingress({"toEndpoints": [{}]})),
                                "spec.ingress[0].toEndpoints: unknown field (expected one of: fromEndpoints, "
                                "fromEntities, fromCIDR, fromCIDRSet, fromNodes, fromGroups, fromRequires, toPorts, "
                                "icmps, authentication)"),
    "toFQDNs in egressDeny": (cnp({"endpointSelector": {}, "egressDeny": [{"toFQDNs": [{"matchName": "a"}]}]}),
                              "spec.egressDeny[0].toFQDNs: unknown field (expected one of: toEndpoints, toEntities, "
                              "toCIDR, toCIDRSet, toNodes, toGroups, toServices, toRequires, toPorts, icmps)"),
    "fromRequires": (cnp(ingress({"fromRequires": [{}]})),
                     "spec.ingress[0].fromRequires: must have 0 items (fromRequires was removed in Cilium 1.19)"),
    "fromNodes": (cnp(ingress({"fromNodes": [{}]})),
                  "spec.ingress[0].fromNodes: " + REFUSED + "fromNodes needs the agent option "
                  "enable-node-selector-labels (off by default)"),
    "bad CIDR": (cnp(ingress({"fromCIDR": ["10.0.0.0/33"]})),
                 "spec.ingress[0].fromCIDR[0]: '10.0.0.0/33' is not a CIDR: the prefix length must be 0-32 for an "
                 "IPv4 address"),
    "CIDRSet two kinds": (cnp(ingress({"fromCIDRSet": [{"cidr": "10.0.0.0/8", "cidrGroupRef": "g"}]})),
                          "spec.ingress[0].fromCIDRSet[0]: must set exactly one of: cidr, cidrGroupRef, "
                          "cidrGroupSelector (found cidr, cidrGroupRef)"),
    "except outside": (cnp(ingress({"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}]})),
                       "spec.ingress[0].fromCIDRSet[0].except[0]: " + REFUSED +
                       "except 11.0.0.0/16 is not inside cidr 10.0.0.0/8"),
    "except other family": (cnp(ingress({"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["fd00::/64"]}]})),
                            "spec.ingress[0].fromCIDRSet[0].except[0]: " + REFUSED +
                            "except fd00::/64 is not inside cidr 10.0.0.0/8"),
    "bad group name": (cnp(ingress({"fromCIDRSet": [{"cidrGroupRef": "Bad_Name"}]})),
                       "spec.ingress[0].fromCIDRSet[0].cidrGroupRef: 'Bad_Name' is not a valid CiliumCIDRGroup name"),
    "port as a number": (cnp(ingress(ports({"port": 80}))),
                         "spec.ingress[0].toPorts[0].ports[0].port: must be a string, not an integer (write port: "
                         "\"80\")"),
    "port as a list": (cnp(ingress(ports({"port": ["80"]}))),
                       "spec.ingress[0].toPorts[0].ports[0].port: must be a string, not a list"),
    "port out of range": (cnp(ingress(ports({"port": "65536"}))),
                          "spec.ingress[0].toPorts[0].ports[0].port: must be between 0 and 65535, not 65536"),
    "port name too long": (cnp(ingress(ports({"port": "a-very-long-port-name"}))),
                           "spec.ingress[0].toPorts[0].ports[0].port: 'a-very-long-port-name' is neither a port "
                           "number (0-65535) nor a port name"),
    "no port": (cnp(ingress(ports({"protocol": "TCP"}))),
                "spec.ingress[0].toPorts[0].ports[0]: " + REFUSED + "port must be specified (\"0\" is every port)"),
    "lower-case protocol": (cnp(ingress(ports({"port": "80", "protocol": "tcp"}))),
                            "spec.ingress[0].toPorts[0].ports[0].protocol: unknown protocol 'tcp' (expected one of: "
                            "TCP, UDP, SCTP, VRRP, IGMP, ANY)"),
    "VRRP with a port": (cnp(ingress(ports({"port": "80", "protocol": "VRRP"}))),
                         "spec.ingress[0].toPorts[0].ports[0].port: " + REFUSED +
                         "protocol VRRP has no ports (write port: \"0\")"),
    "endPort out of range": (cnp(ingress(ports({"port": "80", "endPort": 70000}))),
                             "spec.ingress[0].toPorts[0].ports[0].endPort: must be between 0 and 65535, not 70000"),
    "too many ports": (cnp(ingress(ports(*[{"port": str(p)} for p in range(1, 42)]))),
                       "spec.ingress[0].toPorts[0].ports: at most 40 ports, found 41"),
    "toPorts with icmps": (cnp(ingress({**ports({"port": "80"}), "icmps": [{"fields": [{"type": 8}]}]})),
                           "spec.ingress[0]: " + REFUSED + "toPorts and icmps cannot be combined in one rule "
                           "(write two rules)"),
    "ICMP family": (cnp(ingress({"icmps": [{"fields": [{"family": "ipv4", "type": 8}]}]})),
                    "spec.ingress[0].icmps[0].fields[0].family: must be IPv4 or IPv6, not 'ipv4'"),
    "ICMP type missing": (cnp(ingress({"icmps": [{"fields": [{"family": "IPv4"}]}]})),
                          "spec.ingress[0].icmps[0].fields[0].type: required field is missing"),
    "ICMP type too big": (cnp(ingress({"icmps": [{"fields": [{"type": 256}]}]})),
                          "spec.ingress[0].icmps[0].fields[0].type: must be between 0 and 255, not 256"),
    "ICMP type of other digits": (cnp(ingress({"icmps": [{"fields": [{"type": "²"}]}]})),
                                  "spec.ingress[0].icmps[0].fields[0].type: " + REFUSED + "ICMP type '²' is not an "
                                  "IPv4 type name (known: EchoReply, DestinationUnreachable, Redirect, Echo, "
                                  "EchoRequest, RouterAdvertisement, RouterSelection, TimeExceeded, ParameterProblem, "
                                  "Timestamp, TimestampReply, Photuris, ExtendedEchoRequest, ExtendedEchoReply)"),
    "ICMP name of the other family": (
        cnp(ingress({"icmps": [{"fields": [{"family": "IPv6", "type": "Echo"}]}]})),
        "spec.ingress[0].icmps[0].fields[0].type: " + REFUSED + "ICMP type 'Echo' is not an IPv6 type name (known: "
        "DestinationUnreachable, PacketTooBig, TimeExceeded, ParameterProblem, EchoRequest, EchoReply, "
        "MulticastListenerQuery, MulticastListenerReport, MulticastListenerDone, RouterSolicitation, "
        "RouterAdvertisement, NeighborSolicitation, NeighborAdvertisement, RedirectMessage, RouterRenumbering, "
        "ICMPNodeInformationQuery, ICMPNodeInformationResponse, InverseNeighborDiscoverySolicitation, "
        "InverseNeighborDiscoveryAdvertisement, HomeAgentAddressDiscoveryRequest, HomeAgentAddressDiscoveryReply, "
        "MobilePrefixSolicitation, MobilePrefixAdvertisement, DuplicateAddressRequestCodeSuffix, "
        "DuplicateAddressConfirmationCodeSuffix, ExtendedEchoRequest, ExtendedEchoReply)"),
    "DNS on ingress": (cnp(ingress({"toPorts": [{"ports": [{"port": "53"}], "rules": {"dns": [{}]}}]})),
                       "spec.ingress[0].toPorts[0].rules.dns: " + REFUSED + "DNS rules cannot be used on ingress"),
    "HTTP on UDP": (cnp(ingress({"toPorts": [{"ports": [{"port": "80", "protocol": "UDP"}],
                                              "rules": {"http": [{}]}}]})),
                    "spec.ingress[0].toPorts[0].rules: " + REFUSED + "HTTP rules apply to TCP only, not UDP"),
    "L7 on port 0": (cnp(egress({"toPorts": [{"ports": [{"port": "0"}], "rules": {"http": [{}]}}]})),
                     "spec.egress[0].toPorts[0].rules: " + REFUSED + "http rules cannot apply to port 0 (every port)"),
    "two L7 kinds": (cnp(egress({"toPorts": [{"ports": [{"port": "53"}], "rules": {"http": [{}], "dns": [{}]}}]})),
                     "spec.egress[0].toPorts[0].rules: " + REFUSED + "one kind of L7 rule per port rule (found http, "
                     "dns)"),
    "deny with L7": (cnp({"endpointSelector": {}, "ingressDeny": [{"toPorts": [{"ports": [{"port": "80"}],
                                                                               "rules": {"http": [{}]}}]}]}),
                     "spec.ingressDeny[0].toPorts[0].rules: unknown field (expected one of: ports)"),
    "FQDN both": (cnp(egress({"toFQDNs": [{"matchName": "a", "matchPattern": "*.a"}]})),
                  "spec.egress[0].toFQDNs[0]: must set exactly one of: matchName, matchPattern"),
    "service selector missing": (cnp(egress({"toServices": [{"k8sServiceSelector": {"namespace": "x"}}]})),
                                 "spec.egress[0].toServices[0].k8sServiceSelector.selector: required field is missing"),
    "authentication mode": (cnp(ingress({"authentication": {"mode": "always"}})),
                            "spec.ingress[0].authentication.mode: must be one of disabled, required, "
                            "test-always-fail, not 'always'"),
    "enableDefaultDeny not a boolean": (cnp(ingress({}, enableDefaultDeny={"ingress": "no"})),
                                        "spec.enableDefaultDeny.ingress: must be a boolean, not a string"),
    "a bad item of specs": (cnp(specs=[ingress({}), {"endpointSelector": {}}]),
                            "specs[1]: must set at least one of: ingress, ingressDeny, egress, egressDeny"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_invalid_cilium_objects_are_one_line_errors(name: str) -> None:
    obj, message = ERRORS[name]
    with pytest.raises(InputError) as err:
        load_objects([obj])
    kind = obj["kind"]
    title = f"{kind} shop/p" if kind == "CiliumNetworkPolicy" and "namespace" in obj["metadata"] else f"{kind} p"
    assert str(err.value) == f"<memory>: items[0] ({title}): {message}"


def test_an_error_names_file_document_and_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n" +
                    yaml.safe_dump(cnp(ingress({"fromEntities": ["World"]}))))
    with pytest.raises(InputError) as err:
        load_manifests([str(path)])
    assert str(err.value).startswith(f"{path}: document 2, line 5 {OBJ}: spec.ingress[0].fromEntities[0]: unknown "
                                     "entity 'World'")


def _only(obj: dict[str, Any]) -> Any:
    cluster = load_objects([obj]).cluster
    (policy,) = cluster.cilium
    return policy


def sel(**labels: str) -> LabelSelector:
    return LabelSelector.build(labels)


def test_a_policy_loads_as_written_with_keys_as_source_and_key() -> None:
    policy = _only(cnp({
        "endpointSelector": {"matchLabels": {"app": "web", "k8s:tier": "front"},
                             "matchExpressions": [{"key": "$host", "operator": "DoesNotExist"}]},
        "enableDefaultDeny": {"egress": False},
        "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "a"}}],
                     "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}, {"port": "HTTP"},
                                            {"port": "8000", "endPort": 8080, "protocol": "UDP"},
                                            {"port": "9000", "endPort": 10}]}]},
                    {}],
        "ingressDeny": [{"fromEntities": ["world", "remote-node"], "icmps": [{"fields": [{"type": "EchoRequest"}, {
            "family": "IPv6", "type": "EchoRequest"}, {"type": 0}, {"type": "3"}]}]}],
        "egress": [{"toCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}, {"cidrGroupRef": "g"},
                                  {"cidrGroupSelector": {"matchLabels": {"team": "x"}}}]},
                   {"toServices": [{"k8sService": {"serviceName": "api", "namespace": "b"}},
                                   {"k8sServiceSelector": {"selector": {"matchLabels": {"app": "db"}}}}]},
                   {"toFQDNs": [{"matchPattern": "*.example.com"}],
                    "toPorts": [{"ports": [{"port": "443"}], "rules": {"http": [{"method": "GET"}]}}]},
                   {"toEndpoints": [], "toCIDR": ["192.0.2.0/24"]}],
    }))
    (rule,) = policy.rules
    assert rule.index is None and rule.node_selector is None
    assert rule.endpoint_selector == LabelSelector.build({"any:app": "web", "k8s:tier": "front"},
                                                         (requirement("reserved:host", "DoesNotExist"),))
    net = ipaddress.ip_network
    assert rule.ingress == (
        CiliumEntry(False, 0, CiliumPeer("fromEndpoints", endpoints=(sel(**{"k8s:io.kubernetes.pod.namespace": "a"}),)),
                    (PortRule((CiliumPort("TCP", 80), CiliumPort("ANY", "http"), CiliumPort("UDP", 8000, 8080),
                               CiliumPort("ANY", 9000))),)),
        CiliumEntry(False, 1),
        CiliumEntry(True, 0, CiliumPeer("fromEntities", entities=("world", "remote-node")),
                    icmps=((ICMPType("IPv4", 8), ICMPType("IPv6", 128), ICMPType("IPv4", 0), ICMPType("IPv4", 3)),)),
    )
    assert rule.egress == (
        CiliumEntry(False, 0, CiliumPeer("toCIDRSet", cidrs=(
            CIDRPeer(net("10.0.0.0/8"), (net("10.1.0.0/16"),)), CIDRPeer(group="g"),
            CIDRPeer(group_selector=sel(**{"any:team": "x"})))), default_deny=False),
        CiliumEntry(False, 1, CiliumPeer("toServices", services=(
            ServicePeer("b", name="api"), ServicePeer(None, selector=sel(**{"any:app": "db"})))), default_deny=False),
        CiliumEntry(False, 2, CiliumPeer("toFQDNs", runtime=("*.example.com",)),
                    (PortRule((CiliumPort("ANY", 443),), l7="http"),), default_deny=False),
        CiliumEntry(False, 3, CiliumPeer("toCIDR", cidrs=(CIDRPeer(net("192.0.2.0/24")),)), default_deny=False),
    )


def test_spec_and_specs_are_rules_in_order_and_a_ccnp_has_no_namespace() -> None:
    policy = _only(cnp({"endpointSelector": {}, "egressDeny": [{}]},
                       [{"endpointSelector": {}, "ingress": [{"fromEndpoints": []}]}],
                       kind="CiliumClusterwideNetworkPolicy"))
    assert policy.namespace is None and policy.short == "CCNP p"
    assert [r.path for r in policy.rules] == ["spec", "specs[0]"]
    assert policy.rules[0].egress == (CiliumEntry(True, 0),)
    assert policy.rules[1].ingress == (CiliumEntry(False, 0, CiliumPeer("fromEndpoints")),)


def test_a_host_policy_loads_with_a_warning() -> None:
    result = load_objects([cnp({"nodeSelector": {"matchLabels": {"role": "edge"}}, "ingress": [{}]},
                               kind="CiliumClusterwideNetworkPolicy")])
    (policy,) = result.cluster.cilium
    assert policy.rules[0].node_selector == sel(**{"any:role": "edge"}) and policy.rules[0].endpoint_selector is None
    assert [d.message for d in result.diagnostics if d.severity == "warning"] == [
        "spec.nodeSelector: a host policy takes effect only with the agent option enable-host-firewall (off by "
        "default): netpol evaluates it as having no effect"]


def test_cidr_groups_load_at_both_versions_and_policies_stay_unmodelled() -> None:
    group = {"kind": "CiliumCIDRGroup", "metadata": {"name": "g", "labels": {"team": "x"}},
             "spec": {"externalCIDRs": ["192.0.2.0/24", "2001:db8::/32"]}}
    result = load_objects([{**group, "apiVersion": "cilium.io/v2alpha1"},
                           {**group, "apiVersion": "cilium.io/v2", "metadata": {"name": "h"}},
                           cnp(ingress({}))])
    net = ipaddress.ip_network
    assert result.cluster.cidr_groups == (
        CIDRGroup("g", (("team", "x"),), (net("192.0.2.0/24"), net("2001:db8::/32"))),
        CIDRGroup("h", (), (net("192.0.2.0/24"), net("2001:db8::/32"))))
    # read and validated, but not evaluated by the engine yet: still named and refused (sources/unmodelled.py)
    assert result.unmodelled.lines() == ("1 CiliumNetworkPolicy (cilium.io/v2): shop/p, not evaluated by netpol",)
    with pytest.raises(InputError, match=r"spec.externalCIDRs: required field is missing"):
        load_objects([{**group, "apiVersion": "cilium.io/v2", "spec": {}}])


def test_service_labels_are_read() -> None:
    cluster = load_objects([
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
         "spec": {"serviceAccountName": "web", "containers": [{"name": "c"}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "c"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"tier": "db"}}, "spec": {}},
    ]).cluster
    assert [(p.name, p.service_account) for p in cluster.pods] == [("a", "web"), ("b", None)]
    assert cluster.services[0].labels == (("tier", "db"),)


def test_the_api_servers_endpoints_are_read_for_the_kube_apiserver_entity() -> None:
    """The EndpointSlices and Endpoints of Service default/kubernetes give the kube-apiserver entity's addresses
    (cilium-policies.md §2.4); any other EndpointSlice stays an ignored object, named as before."""
    objects = [
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes"}},
         "endpoints": [{"addresses": ["192.168.0.2"]}, {"addresses": ["203.0.113.1", "192.168.0.2"]}]},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "kubernetes", "namespace": "default"},
         "subsets": [{"addresses": [{"ip": "198.51.100.9"}], "ports": [{"port": 6443}]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": {"name": "web-x", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
         "endpoints": [{"addresses": ["10.0.0.1"]}]},
    ]
    result = load_objects(objects)
    assert result.cluster.api_server == tuple(ipaddress.ip_address(a) for a in
                                              ("192.168.0.2", "203.0.113.1", "198.51.100.9"))
    assert [(o.kind, o.name) for o in result.ignored] == [("EndpointSlice", "web-x")]
    bad = {**objects[1], "subsets": [{"addresses": [{"ip": "192.168.0.300"}]}]}
    with pytest.raises(InputError, match=r"subsets\[0\]\.addresses\[0\]\.ip: '192.168.0.300' is not an IP address"):
        load_objects([bad])
