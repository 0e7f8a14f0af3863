"""Validate CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy (cilium.io/v2) and CiliumCIDRGroup
(cilium.io/v2, v2alpha1), and convert them into netpol.model.cilium's model.

Two kinds of error, each one line naming file, document, object and field: what the API server refuses
(the CRD schema: required fields, enums, one-of rules, patterns, item limits, unknown fields under strict
field validation), and what it stores but the agent refuses to import, which makes the whole object have no
effect ("Cilium would not enforce this policy: ..."). shared/reference/cilium-policies.md §7 lists both.
What only runtime facts decide (toFQDNs, toGroups, L7 rules, mutual authentication) is kept as a marker,
and a host policy's nodeSelector as written, with a warning: it takes effect only with the host firewall.
"""

from __future__ import annotations

import re
from ipaddress import ip_address
from collections.abc import Callable
from typing import Literal, NoReturn, cast

from netpol.errors import Diagnostic
from netpol.model import Direction, IPAddress, IPNetwork
from netpol.model.cilium import (
    ANY_SOURCE,
    CCNP_KIND,
    CIDR_GROUP_KIND,
    CILIUM_V2,
    CILIUM_V2ALPHA1,
    CNP_KIND,
    ENTITIES,
    ICMP_FAMILIES,
    PORT_PROTOCOLS,
    RESERVED_SOURCE,
    CIDRGroup,
    CIDRPeer,
    CiliumEntry,
    CiliumKind,
    CiliumPeer,
    CiliumPolicy,
    CiliumPort,
    CiliumRule,
    ICMPType,
    PortRule,
    ServicePeer,
)
from netpol.model.selectors import DNS_SUBDOMAIN, LabelSelector, valid_label_key
from netpol.sources.parse import (
    Field,
    cluster_object_name,
    lint_ignore,
    namespaced_metadata,
    parse_cidr,
    parse_keyed_selector,
    parse_labels,
)

Warn = Callable[[Diagnostic], None]
# (kind, apiVersion) read here; CiliumCIDRGroup moved to v2 in Cilium 1.18, v2alpha1 is still served.
CILIUM_KINDS = frozenset({(CNP_KIND, CILIUM_V2), (CCNP_KIND, CILIUM_V2), (CIDR_GROUP_KIND, CILIUM_V2),
                          (CIDR_GROUP_KIND, CILIUM_V2ALPHA1)})
REFUSED = "Cilium would not enforce this policy: "
MAX_PORTS = 40  # ports of one toPorts item, fields of one icmps item [CRD]
_RULE_FIELDS = ("endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny", "labels",
                "description", "enableDefaultDeny", "log")
_SECTIONS = ("ingress", "ingressDeny", "egress", "egressDeny")
# The peer fields of each section [CODE api/ingress.go, egress.go]; at most one per item (cilium-policies.md §4.1).
_INGRESS_PEERS = ("fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromNodes", "fromGroups")
_EGRESS_PEERS = ("toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toNodes", "toGroups", "toServices")
_SERVICE_NAME = re.compile(r"^(?=.{1,15}$)[a-z0-9]+(-[a-z0-9]+)*$")  # IANA service name, lower-cased first
_PORT_NUMBER = re.compile(r"^[0-9]{1,5}$")
_SOURCE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")
# ICMP type names per family [CODE api/icmp.go icmpIpv4TypeNameToCode, icmpIpv6TypeNameToCode].
ICMP_NAMES: dict[str, dict[str, int]] = {
    "IPv4": {"EchoReply": 0, "DestinationUnreachable": 3, "Redirect": 5, "Echo": 8, "EchoRequest": 8,
             "RouterAdvertisement": 9, "RouterSelection": 10, "TimeExceeded": 11, "ParameterProblem": 12,
             "Timestamp": 13, "TimestampReply": 14, "Photuris": 40, "ExtendedEchoRequest": 42,
             "ExtendedEchoReply": 43},
    "IPv6": {"DestinationUnreachable": 1, "PacketTooBig": 2, "TimeExceeded": 3, "ParameterProblem": 4,
             "EchoRequest": 128, "EchoReply": 129, "MulticastListenerQuery": 130, "MulticastListenerReport": 131,
             "MulticastListenerDone": 132, "RouterSolicitation": 133, "RouterAdvertisement": 134,
             "NeighborSolicitation": 135, "NeighborAdvertisement": 136, "RedirectMessage": 137,
             "RouterRenumbering": 138, "ICMPNodeInformationQuery": 139, "ICMPNodeInformationResponse": 140,
             "InverseNeighborDiscoverySolicitation": 141, "InverseNeighborDiscoveryAdvertisement": 142,
             "HomeAgentAddressDiscoveryRequest": 144, "HomeAgentAddressDiscoveryReply": 145,
             "MobilePrefixSolicitation": 146, "MobilePrefixAdvertisement": 147,
             "DuplicateAddressRequestCodeSuffix": 157, "DuplicateAddressConfirmationCodeSuffix": 158,
             "ExtendedEchoRequest": 160, "ExtendedEchoReply": 161},
}


def refuse(f: Field, message: str) -> NoReturn:
    """An object the API server stores and the agent refuses: it has no effect at all."""
    f.fail(REFUSED + message)


def parse_cilium_policy(f: Field, kind: CiliumKind, warn: Warn) -> CiliumPolicy:
    """A CiliumNetworkPolicy (namespaced) or CiliumClusterwideNetworkPolicy: `spec`, then each of `specs`."""
    if kind == CNP_KIND:
        ns, name, meta = namespaced_metadata(f)
        namespace: str | None = ns
    else:
        name, meta = cluster_object_name(f)
        namespace = None
    spec, specs = f.child("spec"), f.child("specs")
    if not spec.present and not specs.present:
        f.fail("spec or specs must be provided")
    rules = []
    if spec.present:
        rules.append(_rule(spec, None, kind, warn))
    rules.extend(_rule(item, index, kind, warn) for index, item in enumerate(specs.items()))
    return CiliumPolicy(kind, namespace, name, tuple(rules), f.location, lint_ignore(meta))


def parse_cidr_group(f: Field) -> CIDRGroup:
    name, meta = cluster_object_name(f)
    spec = f.child("spec")
    spec.required().mapping(("externalCIDRs",))
    cidrs = tuple(parse_cidr(item)[0] for item in spec.child("externalCIDRs").required().items())
    return CIDRGroup(name, parse_labels(meta.child("labels")), cidrs, f.location)


def selector_key(f: Field, written: str) -> str:
    """`[source:]key` as the agent takes it: a source (none is `any`, `$name` is `reserved:name`) and a label
    key; stored as `source:key`."""
    source, colon, key = written.partition(":")
    if not colon:
        source, key = (RESERVED_SOURCE, written[1:]) if written.startswith("$") else (ANY_SOURCE, written)
    if not _SOURCE.match(source) or not valid_label_key(key):
        refuse(f, f"{written!r} is not a selector key ([source:]key, with a label key)")
    return f"{source}:{key}"


def endpoint_selector(f: Field) -> LabelSelector:
    return parse_keyed_selector(f, selector_key)


def _rule(f: Field, index: int | None, kind: CiliumKind, warn: Warn) -> CiliumRule:
    data = f.mapping(_RULE_FIELDS)
    selectors = [k for k in ("endpointSelector", "nodeSelector") if data.get(k) is not None]
    if len(selectors) != 1:
        f.fail("must set exactly one of: endpointSelector, nodeSelector" +
               (" (found both)" if selectors else ""))
    if not any(k in data for k in _SECTIONS):
        f.fail(f"must set at least one of: {', '.join(_SECTIONS)}")
    if not any(data.get(k) for k in _SECTIONS):
        refuse(f, "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny (all are empty)")
    subject = node = None
    if selectors[0] == "nodeSelector":
        if kind == CNP_KIND:
            refuse(f.child("nodeSelector"), "a CiliumNetworkPolicy cannot have a nodeSelector (host policies "
                                            "are CiliumClusterwideNetworkPolicies)")
        node = parse_keyed_selector(f.child("nodeSelector"), selector_key)
        warn(Diagnostic("warning", f"{f.path}.nodeSelector: a host policy takes effect only with the agent option "
                                   "enable-host-firewall (off by default): netpol evaluates it as having no effect",
                        f.location))
    else:
        subject = endpoint_selector(f.child("endpointSelector"))
    _labels(f.child("labels"))
    if f.child("description").present:
        f.child("description").string()
    f.child("log").mapping(("value",))
    defaults = f.child("enableDefaultDeny")
    defaults.mapping(("ingress", "egress"))
    default_deny = {d: defaults.child(d).boolean() if defaults.child(d).present else True
                    for d in ("ingress", "egress")}
    ingress = _entries(f, "ingress", default_deny["ingress"], warn)
    egress = _entries(f, "egress", default_deny["egress"], warn)
    return CiliumRule(index, subject, node, ingress, egress)


def _labels(f: Field) -> None:
    """A rule's `labels` (name it, no effect): a list of {key, value, source}."""
    for item in f.items():
        item.mapping(("key", "value", "source"))
        item.child("key").required().string()
        for k in ("value", "source"):
            if item.child(k).present:
                item.child(k).string()


def _entries(rule: Field, direction: Direction, default_deny: bool, warn: Warn) -> tuple[CiliumEntry, ...]:
    out = []
    for deny in (False, True):
        section = rule.child(direction + ("Deny" if deny else ""))
        out.extend(_entry(item, direction, deny, index, default_deny, warn)
                   for index, item in enumerate(section.items()))
    return tuple(out)


def _entry(f: Field, direction: Direction, deny: bool, index: int, default_deny: bool, warn: Warn) -> CiliumEntry:
    ingress = direction == "ingress"
    peers = _INGRESS_PEERS if ingress else _EGRESS_PEERS + (() if deny else ("toFQDNs",))
    requires = "fromRequires" if ingress else "toRequires"
    extra = ("toPorts", "icmps") + (() if deny else ("authentication",))
    data = f.mapping((*peers, requires, *extra))
    if f.child(requires).items():
        f.child(requires).fail(f"must have 0 items ({requires} was removed in Cilium 1.19)")
    written = [k for k in peers if data.get(k)]
    if len(written) > 1:
        refuse(f, f"combining {written[0]} and {written[1]} in one rule is not supported (write two rules)")
    present = [k for k in peers if data.get(k) is not None]
    peer = _peer(f.child((written or present)[0]), (written or present)[0]) if present else None
    to_ports = tuple(_port_rule(p, ingress, deny) for p in f.child("toPorts").items())
    icmps = tuple(_icmp_rule(i) for i in f.child("icmps").items())
    if to_ports and icmps:
        refuse(f, "toPorts and icmps cannot be combined in one rule (write two rules)")
    for p in (p for rule in to_ports for p in rule.ports if p.protocol in ("VRRP", "IGMP")):
        warn(Diagnostic("warning", f"{f.path}: protocol {p.protocol} is outside TCP, UDP, SCTP and ICMP, which "
                                   "netpol analyses: this port matches none of its queries", f.location))
    auth = None
    if f.child("authentication").present:
        mode = f.child("authentication")
        mode.mapping(("mode",))
        auth = mode.child("mode").required().string()
        if auth not in ("disabled", "required", "test-always-fail"):
            mode.child("mode").fail(f"must be one of disabled, required, test-always-fail, not {auth!r}")
        auth = None if auth == "disabled" else auth
    return CiliumEntry(deny, index, peer, to_ports, icmps, default_deny, auth)


def _peer(f: Field, name: str) -> CiliumPeer:
    items = f.items()
    if name in ("fromEndpoints", "toEndpoints"):
        return CiliumPeer(name, endpoints=tuple(endpoint_selector(i) for i in items))
    if name in ("fromEntities", "toEntities"):
        entities = []
        for i in items:
            entity = i.string()
            if entity not in ENTITIES:
                i.fail(f"unknown entity {entity!r} (expected one of: {', '.join(ENTITIES)})")
            entities.append(entity)
        return CiliumPeer(name, entities=tuple(entities))
    if name in ("fromCIDR", "toCIDR"):
        return CiliumPeer(name, cidrs=tuple(CIDRPeer(parse_cidr(i)[0]) for i in items))
    if name in ("fromCIDRSet", "toCIDRSet"):
        return CiliumPeer(name, cidrs=tuple(_cidr_set_item(i) for i in items))
    if name in ("fromNodes", "toNodes"):
        refuse(f, f"{name} needs the agent option enable-node-selector-labels (off by default)")
    if name == "toServices":
        return CiliumPeer(name, services=tuple(_service(i) for i in items))
    if name == "toFQDNs":
        return CiliumPeer(name, runtime=tuple(_fqdn(i) for i in items))
    for i in items:  # fromGroups, toGroups: cloud provider groups, resolved at runtime
        i.mapping(("aws",))
    return CiliumPeer(name, runtime=tuple(f"a {name} group" for _ in items))


def _cidr_set_item(f: Field) -> CIDRPeer:
    data = f.mapping(("cidr", "except", "cidrGroupRef", "cidrGroupSelector"))
    chosen = [k for k in ("cidr", "cidrGroupRef", "cidrGroupSelector") if data.get(k) is not None]
    if len(chosen) != 1:
        f.fail("must set exactly one of: cidr, cidrGroupRef, cidrGroupSelector" +
               (f" (found {', '.join(chosen)})" if chosen else ""))
    excepts: list[IPNetwork] = []
    cidr = parse_cidr(f.child("cidr"))[0] if chosen[0] == "cidr" else None
    for e in f.child("except").items():
        net = parse_cidr(e)[0]
        if cidr is not None and (net.version != cidr.version or not net.subnet_of(cidr)):  # type: ignore[arg-type]
            refuse(e, f"except {e.value} is not inside cidr {f.child('cidr').value}")
        excepts.append(net)
    if chosen[0] == "cidrGroupRef":
        ref = f.child("cidrGroupRef")
        group = ref.string()
        if len(group) > 253 or not DNS_SUBDOMAIN.match(group):
            ref.fail(f"{group!r} is not a valid CiliumCIDRGroup name")
        return CIDRPeer(None, tuple(excepts), group=group)
    if chosen[0] == "cidrGroupSelector":
        return CIDRPeer(None, tuple(excepts), group_selector=endpoint_selector(f.child("cidrGroupSelector")))
    return CIDRPeer(cidr, tuple(excepts))


def _service(f: Field) -> ServicePeer:
    data = f.mapping(("k8sService", "k8sServiceSelector"))
    chosen = [k for k in ("k8sService", "k8sServiceSelector") if data.get(k) is not None]
    if len(chosen) != 1:
        f.fail("must set exactly one of: k8sService, k8sServiceSelector")
    sub = f.child(chosen[0])
    if chosen[0] == "k8sService":
        sub.mapping(("serviceName", "namespace"))
        name = sub.child("serviceName").string() if sub.child("serviceName").present else None
        return ServicePeer(_optional_string(sub.child("namespace")), name=name)
    sub.mapping(("selector", "namespace"))
    return ServicePeer(_optional_string(sub.child("namespace")),
                       selector=endpoint_selector(sub.child("selector").required()))


def _optional_string(f: Field) -> str | None:
    return (f.string() or None) if f.present else None


def _fqdn(f: Field) -> str:
    data = f.mapping(("matchName", "matchPattern"))
    chosen = [k for k in ("matchName", "matchPattern") if data.get(k) is not None]
    if len(chosen) != 1:
        f.fail("must set exactly one of: matchName, matchPattern")
    return f.child(chosen[0]).string()


def _port_rule(f: Field, ingress: bool, deny: bool) -> PortRule:
    keys = ("ports",) if deny else ("ports", "rules", "serverNames", "listener", "terminatingTLS",
                                    "originatingTLS")
    data = f.mapping(keys)
    items = f.child("ports").items()
    if len(items) > MAX_PORTS:
        f.child("ports").fail(f"at most {MAX_PORTS} ports, found {len(items)}")
    ports = tuple(_port(p) for p in items)
    l7 = None
    if data.get("rules") is not None:
        l7 = _l7(f.child("rules"), ingress, ports)
    elif data.get("listener") is not None:
        if ingress:
            refuse(f.child("listener"), "a listener cannot be used on ingress")
        l7 = "listener"
    elif data.get("serverNames") is not None:
        l7 = "serverNames"
    elif data.get("terminatingTLS") is not None or data.get("originatingTLS") is not None:
        l7 = "TLS"
    return PortRule(ports, l7)


def _l7(f: Field, ingress: bool, ports: tuple[CiliumPort, ...]) -> str:
    data = f.mapping(("http", "kafka", "dns", "l7proto", "l7"))
    kinds = [k for k in ("http", "kafka", "dns", "l7") if data.get(k) is not None]
    if len(kinds) > 1:
        refuse(f, f"one kind of L7 rule per port rule (found {', '.join(kinds)})")
    if not kinds:
        return "l7proto" if data.get("l7proto") is not None else "rules"
    kind = kinds[0]
    f.child(kind).items()
    if kind == "dns" and ingress:
        refuse(f.child("dns"), "DNS rules cannot be used on ingress")
    if not ports:
        refuse(f, f"{kind} rules need ports")
    for p in ports:
        if p.port == 0:
            refuse(f, f"{kind} rules cannot apply to port 0 (every port)")
        if kind == "http" and p.protocol not in ("TCP", "ANY"):
            refuse(f, f"HTTP rules apply to TCP only, not {p.protocol}")
    return kind


def _port(f: Field) -> CiliumPort:
    f.mapping(("port", "endPort", "protocol"))
    proto_field = f.child("protocol")
    protocol = proto_field.string() if proto_field.present else "ANY"
    if protocol not in PORT_PROTOCOLS:
        proto_field.fail(f"unknown protocol {protocol!r} (expected one of: {', '.join(PORT_PROTOCOLS)})")
    port_field = f.child("port")
    if not port_field.present:
        refuse(f, "port must be specified (\"0\" is every port)")
    if isinstance(port_field.value, int) and not isinstance(port_field.value, bool):
        port_field.fail(f"must be a string, not an integer (write port: \"{port_field.value}\")")
    text = port_field.string()
    port: int | str
    if _PORT_NUMBER.match(text):
        port = int(text)
        if port > 65535:
            port_field.fail(f"must be between 0 and 65535, not {port}")
    elif _SERVICE_NAME.match(text.lower()) and any(c.isalpha() for c in text):
        port = text.lower()
    else:
        port_field.fail(f"{text!r} is neither a port number (0-65535) nor a port name" if text else
                        "must not be empty (\"0\" is every port)")
    if protocol in ("VRRP", "IGMP") and port != 0:
        refuse(port_field, f"protocol {protocol} has no ports (write port: \"0\")")
    end_field = f.child("endPort")
    end = None
    if end_field.present:
        end = end_field.integer()
        if not 0 <= end <= 65535:
            end_field.fail(f"must be between 0 and 65535, not {end}")
    if isinstance(port, str) or end is None or end <= port:
        end = None  # ignored with a named port; at or below port: just port
    return CiliumPort(protocol, port, end)


def _icmp_rule(f: Field) -> tuple[ICMPType, ...]:
    f.mapping(("fields",))
    items = f.child("fields").items()
    if len(items) > MAX_PORTS:
        f.child("fields").fail(f"at most {MAX_PORTS} fields, found {len(items)}")
    return tuple(_icmp_field(i) for i in items)


def _icmp_field(f: Field) -> ICMPType:
    f.mapping(("family", "type"))
    family_field = f.child("family")
    family = family_field.string() if family_field.present else "IPv4"
    if family not in ICMP_FAMILIES:
        family_field.fail(f"must be IPv4 or IPv6, not {family!r}")
    type_field = f.child("type").required()
    value = type_field.value
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        names = ICMP_NAMES[family]
        if value not in names:
            refuse(type_field, f"ICMP type {value!r} is not an {family} type name (known: {', '.join(names)})")
        number = names[value]
    else:
        number = int(value) if isinstance(value, str) else type_field.integer()
        if not 0 <= number <= 255:
            type_field.fail(f"must be between 0 and 255, not {number}")
    return ICMPType(cast(Literal["IPv4", "IPv6"], family), number)


# The API server's addresses: what the kube-apiserver entity stands for (cilium-policies.md §2.4; Cilium's
# watcher reads the EndpointSlices of default/kubernetes). (kind, apiVersion) of the objects that hold them.
API_SERVER_KINDS = frozenset({("EndpointSlice", "discovery.k8s.io/v1"), ("Endpoints", "v1")})


def api_server_addresses(f: Field, kind: str) -> tuple[IPAddress, ...] | None:
    """The addresses of the Service default/kubernetes, if this EndpointSlice (labelled
    kubernetes.io/service-name=kubernetes) or Endpoints object is one of its; None for any other."""
    meta = f.child("metadata")
    if meta.get("namespace", str) != "default":
        return None
    if kind == "Endpoints":
        if meta.get("name", str) != "kubernetes":
            return None
        found = [a.child("ip") for subset in f.child("subsets").items() for a in subset.child("addresses").items()]
    else:
        labels = meta.get("labels", dict) or {}
        if labels.get("kubernetes.io/service-name") != "kubernetes":
            return None
        found = [a for e in f.child("endpoints").items() for a in e.child("addresses").items()]
    out: list[IPAddress] = []
    for value in found:
        try:
            ip = ip_address(value.required().string())
        except ValueError:
            value.fail(f"{value.value!r} is not an IP address")
        if ip not in out:
            out.append(ip)
    return tuple(out)
