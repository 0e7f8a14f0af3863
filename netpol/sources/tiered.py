"""Validate AdminNetworkPolicy, BaselineAdminNetworkPolicy (v1alpha1), ClusterNetworkPolicy (v1alpha2)
and Node objects, and convert them into the model.

Validation follows the CRDs of network-policy-api v0.1.7 (standard and experimental channels) and
v0.2.0, with their CEL rules: priority ranges, item limits (100 in v1alpha1, 25 in v1alpha2), the
BaselineAdminNetworkPolicy name `default`, exactly one of for subjects, peers and ports, `start < end`
in v1alpha2, no named port next to a `networks`/`nodes`/`domainNames` peer, `tcp: {}` invalid. A peer
field netpol does not know is not an error: the API says it fails closed, and a warning says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from netpol.errors import Diagnostic
from netpol.model import (
    Action,
    Direction,
    IPAddress,
    IPNetwork,
    Node,
    Tier,
    TieredKind,
    TieredPolicy,
    TierPeer,
    TierPort,
    TierRule,
    TierSelector,
    ip_address,
)
from netpol.model.portsets import Protocol
from netpol.sources.parse import (
    Field,
    cluster_object_name,
    lint_ignore,
    parse_cidr,
    parse_labels,
    parse_protocol,
    parse_selector,
    port_name,
    port_number,
)

V1ALPHA1 = "policy.networking.k8s.io/v1alpha1"
V1ALPHA2 = "policy.networking.k8s.io/v1alpha2"
MAX_PRIORITY = 1000
_DOMAIN = re.compile(r"^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}"
                     r"[a-zA-Z0-9])?\.?$")

Warn = Callable[[Diagnostic], None]
_PEER_FIELDS = ("namespaces", "pods", "networks", "nodes", "domainNames")  # every peer field the API has had


class _Version:
    """What differs between v1alpha1 and v1alpha2: limits, action words, the ports field."""

    def __init__(self, kind: TieredKind) -> None:
        self.kind = kind
        self.v2 = kind == "ClusterNetworkPolicy"
        self.limit = 25 if self.v2 else 100
        self.ports_key = "protocols" if self.v2 else "ports"
        if self.v2:
            self.actions: tuple[str, ...] = ("Accept", "Deny", "Pass")
        elif kind == "BaselineAdminNetworkPolicy":
            self.actions = ("Allow", "Deny")
        else:
            self.actions = ("Allow", "Deny", "Pass")
        self.egress_peers: tuple[str, ...] = ("namespaces", "pods", "networks", "nodes") + (
            () if kind == "BaselineAdminNetworkPolicy" else ("domainNames",))


def parse_tiered(f: Field, kind: TieredKind, warn: Warn) -> TieredPolicy:
    version = _Version(kind)
    name, meta = cluster_object_name(f)
    spec = f.child("spec")
    allowed = ("priority", "subject", "ingress", "egress") + (("tier",) if version.v2 else ())
    if kind == "BaselineAdminNetworkPolicy":
        allowed = ("subject", "ingress", "egress")
        if name != "default":
            meta.child("name").fail("a BaselineAdminNetworkPolicy must be named 'default' (there is only one)")
    spec.required().mapping(allowed)
    tier: Tier = "Baseline" if kind == "BaselineAdminNetworkPolicy" else "Admin"
    if version.v2:
        tier_field = spec.child("tier").required()
        written = tier_field.string()
        if written not in ("Admin", "Baseline"):
            tier_field.fail(f"must be Admin or Baseline, not {written!r}")
        tier = cast(Tier, written)
    priority = None
    if kind != "BaselineAdminNetworkPolicy":
        priority_field = spec.child("priority").required()
        priority = priority_field.integer()
        if not 0 <= priority <= MAX_PRIORITY:
            priority_field.fail(f"must be between 0 and {MAX_PRIORITY}, not {priority}")
    subject = _subject(spec.child("subject").required(), version)
    ingress = _rules(spec.child("ingress"), "ingress", version, warn)
    egress = _rules(spec.child("egress"), "egress", version, warn)
    return TieredPolicy(kind, V1ALPHA2 if version.v2 else V1ALPHA1, name, tier, priority, subject, ingress, egress,
                        f.location, lint_ignore(meta))


def _exactly_one(f: Field, choices: tuple[str, ...]) -> str:
    data = f.required().mapping(choices)
    present = [k for k in choices if data.get(k) is not None]
    if len(present) != 1:
        f.fail(f"must set exactly one of: {', '.join(choices)}" + (f" (found {', '.join(present)})" if present else ""))
    return present[0]


def _subject(f: Field, version: _Version) -> TierSelector:
    which = _exactly_one(f, ("namespaces", "pods"))
    if which == "namespaces":
        return TierSelector(parse_selector(f.child("namespaces")), None)
    return _pods(f.child("pods"), require_namespaces=not version.v2)


def _pods(f: Field, require_namespaces: bool) -> TierSelector:
    f.mapping(("namespaceSelector", "podSelector"))
    ns = f.child("namespaceSelector")
    if require_namespaces:
        ns.required()
    return TierSelector(parse_selector(ns), parse_selector(f.child("podSelector").required()))


def _rules(f: Field, direction: Direction, version: _Version, warn: Warn) -> tuple[TierRule, ...]:
    items = f.items()
    if len(items) > version.limit:
        f.fail(f"at most {version.limit} rules, found {len(items)}")
    peers_key = "from" if direction == "ingress" else "to"
    return tuple(_rule(r, direction, peers_key, version, warn) for r in items)


def _rule(f: Field, direction: Direction, peers_key: str, version: _Version, warn: Warn) -> TierRule:
    f.mapping(("name", "action", peers_key, version.ports_key))
    name_field = f.child("name")
    name = name_field.string() if name_field.present else None
    if name is not None and len(name) > 100:
        name_field.fail(f"at most 100 characters, found {len(name)}")
    action_field = f.child("action").required()
    written = action_field.string()
    if written not in version.actions:
        action_field.fail(f"must be one of {', '.join(version.actions)}, not {written!r}")
    action = cast(Action, "Accept" if written == "Allow" else written)
    peers_field = f.child(peers_key).required()
    peer_items = peers_field.items()
    if not 1 <= len(peer_items) <= version.limit:
        peers_field.fail(f"must list 1 to {version.limit} peers, found {len(peer_items)}")
    kinds = ("namespaces", "pods") if direction == "ingress" else version.egress_peers
    peers = tuple(_peer(p, kinds, version, written, warn) for p in peer_items)
    ports_field = f.child(version.ports_key)
    ports: tuple[TierPort, ...] | None = None
    if ports_field.present:
        port_items = ports_field.items()
        if not 1 <= len(port_items) <= version.limit:
            ports_field.fail(f"must list 1 to {version.limit} entries, found {len(port_items)}")
        ports = tuple(_protocol(p) if version.v2 else _port(p) for p in port_items)
        if any(p.name is not None for p in ports) and any(
                p.networks or p.nodes is not None or p.domains for p in peers):
            ports_field.fail("a named port cannot be used with networks, nodes or domainNames peers "
                             "(they have no pods to name ports on)")
    return TierRule(action, written, peers, ports, name)


def _peer(f: Field, kinds: tuple[str, ...], version: _Version, action: str, warn: Warn) -> TierPeer:
    data = f.required().mapping()
    known = [k for k in kinds if data.get(k) is not None]
    for key in data:
        if key in _PEER_FIELDS and key not in kinds:  # a field of the API, but not of this kind of peer
            f.child(str(key)).fail(f"not allowed here (expected one of: {', '.join(kinds)})")
    unknown = sorted(str(k) for k in data if k not in kinds and data.get(k) is not None)
    if unknown and not known:
        outcome = "matches nothing" if action in ("Allow", "Accept") else "denies all traffic"
        warn(Diagnostic("warning", f"{f.path}: peer field {unknown[0]!r} is not one netpol knows: the API says "
                                   f"such a peer fails closed, so this {action} rule {outcome}", f.location))
        return TierPeer(unknown=unknown[0])
    if unknown:
        f.child(unknown[0]).fail(f"unknown field (expected one of: {', '.join(kinds)})")
    if len(known) != 1:
        f.fail(f"must set exactly one of: {', '.join(kinds)}" + (f" (found {', '.join(known)})" if known else ""))
    which = known[0]
    sub = f.child(which)
    if not version.v2:
        _refuse_old_shape(sub, which, version.kind)
    if which == "namespaces":
        return TierPeer(pods=TierSelector(parse_selector(sub), None))
    if which == "pods":
        return TierPeer(pods=_pods(sub, require_namespaces=not version.v2))
    if which == "nodes":
        return TierPeer(nodes=parse_selector(sub))
    if which == "networks":
        return TierPeer(networks=_networks(sub))
    domains = _strings(sub, 25)
    for d, item in zip(domains, sub.items(), strict=True):
        if not _DOMAIN.match(d):
            item.fail(f"{d!r} is not a domain name (a name, or *. and a name)")
    if action not in ("Allow", "Accept"):
        warn(Diagnostic("warning", f"{f.path}: domainNames is meant for {'Accept' if version.v2 else 'Allow'} "
                                   f"rules only, not {action}", f.location))
    return TierPeer(domains=tuple(domains))


# The peer shape of network-policy-api v0.1.0 to v0.1.2 (v0.1.1 is what policy-assistant pins and its demos
# use): namespaces: {namespaceSelector | sameLabels | notSameLabels}, pods: {namespaces: {...}, podSelector}.
# v0.1.3 made `namespaces` a label selector and `pods` {namespaceSelector, podSelector}, and removed
# sameLabels and notSameLabels.
_OLD_PEER_FIELDS = {"namespaces": ("namespaceSelector", "sameLabels", "notSameLabels"), "pods": ("namespaces",)}


def _refuse_old_shape(sub: Field, which: str, kind: str) -> None:
    """A peer written in the old shape fails with what netpol reads and how to write it, not only
    'unknown field'."""
    data = sub.value if isinstance(sub.value, dict) else {}
    old = [key for key in _OLD_PEER_FIELDS.get(which, ()) if key in data]
    if not old:
        return
    if which == "pods":
        rewrite = "write pods: {namespaceSelector: <selector>, podSelector: <selector>}"
        inner = data["namespaces"]
        if isinstance(inner, dict) and any(k in inner for k in ("sameLabels", "notSameLabels")):
            rewrite += "; sameLabels and notSameLabels were removed in v0.1.3, with nothing in their place"
    elif old[0] == "namespaceSelector":
        rewrite = "write namespaces: <selector> (the namespaceSelector's content, one level up)"
    else:
        rewrite = f"{old[0]} was removed in v0.1.3, with nothing in its place"
    sub.child(old[0]).fail(f"unknown field: this is the {kind} peer shape of network-policy-api v0.1.0-v0.1.2 "
                           f"(v0.1.1 is what policy-assistant's demos use); netpol reads {V1ALPHA1} as v0.1.3 and "
                           f"later define it (the v0.1.7 CRDs), where namespaces is a label selector: {rewrite}")


def _strings(f: Field, limit: int) -> list[str]:
    items = f.items()
    if not 1 <= len(items) <= limit:
        f.fail(f"must list 1 to {limit} entries, found {len(items)}")
    values = [i.string() for i in items]
    for i, v in enumerate(values):
        if v in values[:i]:
            items[i].fail(f"duplicate entry {v!r}")
    return values


def _networks(f: Field) -> tuple[IPNetwork, ...]:
    """CIDRs as the CRD's isCIDR() takes them (netip.ParsePrefix, no IPv4-mapped address; host bits may
    be set and mean the network), at most 43 characters each."""
    out = []
    for text, item in zip(_strings(f, 25), f.items(), strict=True):
        if len(text) > 43:
            item.fail(f"at most 43 characters, found {len(text)}")
        out.append(parse_cidr(item)[0])
    return tuple(out)


def _port(f: Field) -> TierPort:
    """v1alpha1: exactly one of portNumber, portRange, namedPort."""
    which = _exactly_one(f, ("portNumber", "portRange", "namedPort"))
    sub = f.child(which)
    if which == "namedPort":
        return TierPort(None, name=port_name(sub))
    if which == "portNumber":
        sub.mapping(("protocol", "port"))
        number = port_number(sub.child("port").required())
        return TierPort(parse_protocol(sub.child("protocol")), number, number)
    sub.mapping(("protocol", "start", "end"))
    start, end = port_number(sub.child("start").required()), port_number(sub.child("end").required())
    if start > end:  # documented as start < end, not enforced by the v1alpha1 CRD; a reversed range is empty
        sub.child("end").fail(f"must be >= start ({start})")
    return TierPort(parse_protocol(sub.child("protocol")), start, end)


def _protocol(f: Field) -> TierPort:
    """v1alpha2: exactly one of tcp, udp, sctp ({destinationPort: number | range}), destinationNamedPort."""
    which = _exactly_one(f, ("tcp", "udp", "sctp", "destinationNamedPort"))
    sub = f.child(which)
    if which == "destinationNamedPort":
        return TierPort(None, name=port_name(sub))
    protocol = cast(Protocol, which.upper())
    if not sub.mapping(("destinationPort",)):
        sub.fail("must set destinationPort (to match every port, give the range 1-65535)")
    dest = sub.child("destinationPort")
    kind = _exactly_one(dest, ("number", "range"))
    if kind == "number":
        number = port_number(dest.child("number").required())
        return TierPort(protocol, number, number)
    rng = dest.child("range")
    rng.mapping(("start", "end"))
    start, end = port_number(rng.child("start").required()), port_number(rng.child("end").required())
    if not start < end:
        rng.child("end").fail(f"must be greater than start ({start})")
    return TierPort(protocol, start, end)


def parse_node(f: Field) -> Node:
    name, meta = cluster_object_name(f, "node name")
    labels = parse_labels(meta.child("labels"))
    addresses: list[IPAddress] = []
    for entry in f.child("status").child("addresses").items():
        entry.mapping()
        kind = entry.child("type")
        value = entry.child("address")
        if not value.present or (kind.present and kind.string() in ("Hostname", "InternalDNS", "ExternalDNS")):
            continue
        try:
            ip = ip_address(value.string())
        except ValueError:
            if kind.present:
                value.fail(f"{value.value!r} is not an IP address")
            continue
        if ip not in addresses:
            addresses.append(ip)
    return Node(name, labels, tuple(addresses), f.location)


def evaluation_key(policy: TieredPolicy) -> tuple[int, int, int, str]:
    """Tier, then priority (0 first), then v1alpha1 before v1alpha2 and name: the order netpol walks.

    The order between policies of equal priority is undefined in the API; netpol uses name order and
    reports the tie where it decides a connection.
    """
    tier = 0 if policy.tier == "Admin" else 1
    return tier, policy.priority if policy.priority is not None else -1, int(policy.kind == "ClusterNetworkPolicy"), \
        policy.name

