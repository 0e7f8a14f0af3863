"""Validate Calico's projectcalico.org/v3 policy kinds and convert them into frozen dataclasses
(shared/reference/calico-policies.md; docs/semantics.md §16).

Kinds: NetworkPolicy, GlobalNetworkPolicy, Tier, NetworkSet, GlobalNetworkSet, and the staged kinds
(StagedNetworkPolicy, StagedGlobalNetworkPolicy, StagedKubernetesNetworkPolicy), which are read and never
enforced. ServiceAccounts are read for their labels, which Calico selectors see as `pcsa.*`.

Validation is what libcalico-go's validator (lib/validator/v3/validator.go) and the CRDs' rules reject,
after Calico's defaulting (brief §7), each failure one line naming the file, document, object and field.
Fields that need a runtime fact netpol does not have are kept as markers (`http`, `services`, source
ports, `doNotTrack`/`preDNAT`/`applyOnForward`) for the answers to state, never dropped in silence.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal, cast

from netpol.errors import Diagnostic, InputError, Location
from netpol.model import DIRECTIONS, Direction, IPBlockPeer, IPNetwork, NetworkPolicy, PolicyType, Rule
from netpol.model.calico import (
    Action,
    CalicoObjects,
    CalicoPolicy,
    CalicoPort,
    CalicoRule,
    CalicoTier,
    DefaultAction,
    NAMESPACE_LABEL,
    ORCHESTRATOR,
    EntityRule,
    ICMPMatch,
    NetworkSet,
    PolicyKind,
    ServiceAccount,
    ServiceAccountMatch,
    ServiceMatch,
    StagedAction,
)
from netpol.model.calico_selectors import (
    ALL,
    CalicoSelectorError,
    Compare,
    Has,
    InSet,
    Node,
    Not,
    conjunction,
)
from netpol.model.calico_selectors import parse as parse_selector_expression
from netpol.model.portsets import MAX_PORT
from netpol.model.selectors import DNS_LABEL, LabelSelector, Requirement
from netpol.sources.parse import (
    Field,
    cluster_object_name,
    lint_ignore,
    namespaced_metadata,
    parse_labels,
    parse_network_policy,
    policy_types,
    port_name,
)

API_VERSION = "projectcalico.org/v3"
ACTIONS: tuple[Action, ...] = ("Allow", "Deny", "Log", "Pass")
STAGED_ACTIONS: tuple[StagedAction, ...] = ("Set", "Delete", "Learn", "Ignore")
POLICY_KINDS: tuple[PolicyKind, ...] = ("NetworkPolicy", "GlobalNetworkPolicy", "StagedNetworkPolicy",
                                        "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy")
KINDS = frozenset({*POLICY_KINDS, "Tier", "NetworkSet", "GlobalNetworkSet"})

# IP protocols by name, as numorstring.Protocol writes them (api/pkg/lib/numorstring/protocol.go).
PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPv6": 58, "SCTP": 132, "UDPLite": 136}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}
PORT_PROTOCOLS = frozenset({6, 17, 132})  # the protocols whose rules may list numeric ports
ICMP_PROTOCOLS = frozenset({1, 58})
# The built-in tiers whose order and default action Calico fixes (brief §4, §7; v3.32).
BUILT_IN_TIERS: dict[str, tuple[float, DefaultAction]] = {
    "kube-admin": (1_000.0, "Pass"), "default": (1_000_000.0, "Deny"), "kube-baseline": (10_000_000.0, "Pass")}
DEFAULT_TIER = "default"
KNP_ORDER = 1000.0  # where Calico places a Kubernetes NetworkPolicy in the default tier
_POLICY_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?$")
_RESERVED_PREFIXES = ("knp.default.", "ossg.default.")

Warn = Callable[[Diagnostic], None]


# -- reading ---------------------------------------------------------------------------------------------------

class CalicoReader:
    """Collects the Calico objects of one input as `assemble` meets them; `objects()` checks what spans
    objects (a policy's tier must exist) and returns them."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[Any, Location]] = {}

    def read(self, kind: str, api_version: str, f: Field, warn: Warn) -> bool:
        """Validate and keep the object if it is a Calico kind (or a ServiceAccount); False otherwise."""
        if kind == "ServiceAccount" and api_version == "v1":
            namespace, name, meta = namespaced_metadata(f)
            self._keep(f"ServiceAccount/{namespace}/{name}",
                       ServiceAccount(namespace, name, parse_labels(meta.child("labels"))), f.location)
            return True
        if api_version == API_VERSION and kind == "HostEndpoint":
            cluster_object_name(f)
            warn(Diagnostic("warning", "host endpoints are not analysed (netpol evaluates Calico's policies for pods "
                                       "only)", f.location))
            return False
        if api_version != API_VERSION or kind not in KINDS:
            return False
        obj: Any
        if kind == "Tier":
            obj = parse_tier(f)
        elif kind in ("NetworkSet", "GlobalNetworkSet"):
            obj = parse_network_set(f, kind == "NetworkSet", warn)
        else:
            obj = parse_policy(f, cast(PolicyKind, kind), warn)
        key = f"{kind}/{getattr(obj, 'namespace', None) or ''}/{obj.name}"
        self._keep(key, obj, f.location)
        return True

    def _keep(self, key: str, obj: Any, location: Location) -> None:
        if key in self._seen and self._seen[key][0] != obj:
            raise InputError(location, None, f"{key.replace('//', '/')} is defined twice, differently (first at "
                                             f"{self._seen[key][1]})")
        self._seen.setdefault(key, (obj, location))

    def objects(self) -> CalicoObjects:
        found = [obj for obj, _ in self._seen.values()]
        tiers = sorted((o for o in found if isinstance(o, CalicoTier)), key=lambda t: t.name)
        policies = sorted((o for o in found if isinstance(o, CalicoPolicy)), key=lambda p: p.key)
        known = {t.name for t in tiers} | set(BUILT_IN_TIERS)
        for p in policies:
            if p.tier not in known:
                raise InputError(p.location, "spec.tier", f"no Tier {p.tier!r} in the input, and it is not a "
                                                          "built-in tier: Calico refuses a policy in a tier that does "
                                                          "not exist")
        return CalicoObjects(
            tuple(policies), tuple(tiers),
            tuple(sorted((o for o in found if isinstance(o, NetworkSet)), key=lambda s: (s.namespace or "", s.name))),
            tuple(sorted((o for o in found if isinstance(o, ServiceAccount)), key=lambda a: (a.namespace, a.name))))


def _number(f: Field) -> float | None:
    """An `order`: any finite number."""
    if not f.present:
        return None
    if isinstance(f.value, bool) or not isinstance(f.value, int | float):
        f.fail(f"must be a number, not {f.value!r}")
    if not math.isfinite(f.value):
        f.fail(f"must be a finite number, not {f.value}")
    return float(f.value)


def parse_tier(f: Field) -> CalicoTier:
    name, meta = cluster_object_name(f)
    if len(name) > 63 or not DNS_LABEL.match(name):
        meta.child("name").fail(f"{name!r} is not a valid tier name (a DNS label: lowercase letters, digits and "
                                "'-', at most 63 characters, no dot)")
    spec = f.child("spec")
    spec.mapping(("order", "defaultAction"))
    order = _number(spec.child("order"))
    action_field = spec.child("defaultAction")
    action = action_field.string() if action_field.present else "Deny"
    if action not in ("Deny", "Pass"):
        action_field.fail(f"must be Deny or Pass, not {action!r}")
    fixed = BUILT_IN_TIERS.get(name)
    if fixed is not None:
        if order is not None and order != fixed[0]:
            spec.child("order").fail(f"the built-in tier {name!r} has order {fixed[0]:g}, not {order:g}")
        if action_field.present and action != fixed[1]:
            action_field.fail(f"the built-in tier {name!r} has defaultAction {fixed[1]}, not {action}")
        order, action = fixed
    return CalicoTier(name, order, cast(DefaultAction, action), f.location)


def parse_network_set(f: Field, namespaced: bool, warn: Warn) -> NetworkSet:
    if namespaced:
        namespace: str | None
        namespace, name, meta = namespaced_metadata(f)
    else:
        namespace = None
        name, meta = cluster_object_name(f)
    labels = parse_labels(meta.child("labels"))
    if any(k == NAMESPACE_LABEL for k, _ in labels):
        meta.child("labels").child(NAMESPACE_LABEL).fail("Calico reserves this label (it sets it on a NetworkSet "
                                                         "from its namespace)")
    spec = f.child("spec")
    spec.mapping(("nets", "allowedEgressDomains"))
    if spec.child("allowedEgressDomains").present:
        warn(Diagnostic("warning", "spec.allowedEgressDomains is a Calico Enterprise field (IPs learnt from DNS): "
                                   "netpol matches no address by it", f.location))
    nets = tuple(_net(item, host_bits=True) for item in spec.child("nets").items())
    return NetworkSet(namespace, name, labels, nets, f.location)


def _net(f: Field, host_bits: bool) -> IPNetwork:
    """An IP or a CIDR, as Calico's `net` validator reads it; host bits only where allowed."""
    text = f.string()
    try:
        if "/" not in text:
            if not host_bits:
                raise ValueError("it needs a prefix length")
            ip = ipaddress.ip_address(text)
            return ipaddress.ip_network((ip, ip.max_prefixlen))
        network = ipaddress.ip_network(text, strict=False)
        written = ipaddress.ip_interface(text).ip
    except ValueError as exc:
        f.fail(f"{text!r} is not {'an IP address or ' if host_bits else ''}a CIDR ({exc})")
    if not host_bits and written != network.network_address:
        f.fail(f"{text!r} has host bits set (write {network})")
    return network


def _policy_name(meta: Field, name: str) -> None:
    if len(name) > 253 or not (_POLICY_NAME.match(name) or name.startswith(_RESERVED_PREFIXES)):
        meta.child("name").fail(f"{name!r} is not a valid policy name (lowercase letters, digits and '-', with at "
                                "most one '.', at most 253 characters)")


_POLICY_FIELDS = ("tier", "order", "ingress", "egress", "selector", "types", "serviceAccountSelector",
                  "performanceHints")
_GLOBAL_FIELDS = ("namespaceSelector", "doNotTrack", "preDNAT", "applyOnForward")


def parse_policy(f: Field, kind: PolicyKind, warn: Warn) -> CalicoPolicy:
    if kind == "StagedKubernetesNetworkPolicy":
        return _staged_kubernetes(f)
    is_global = "Global" in kind
    if is_global:
        namespace: str | None = None
        name, meta = cluster_object_name(f)
    else:
        namespace, name, meta = namespaced_metadata(f)
    _policy_name(meta, name)
    spec = f.child("spec")
    staged = kind.startswith("Staged")
    allowed = _POLICY_FIELDS + (_GLOBAL_FIELDS if is_global else ()) + (("stagedAction",) if staged else ())
    data = spec.mapping(allowed)
    staged_action = _staged_action(spec, data) if staged else None
    tier_field = spec.child("tier")
    tier = tier_field.string() if tier_field.present and tier_field.value != "" else DEFAULT_TIER
    if not DNS_LABEL.match(tier) or len(tier) > 63:
        tier_field.fail(f"{tier!r} is not a tier name")
    selector = _selector(spec.child("selector")) or ALL
    accounts = _selector(spec.child("serviceAccountSelector"))
    namespaces = _selector(spec.child("namespaceSelector")) if is_global else None
    ingress = tuple(_rule(r, "ingress", is_global, warn) for r in spec.child("ingress").items())
    egress = tuple(_rule(r, "egress", is_global, warn) for r in spec.child("egress").items())
    types = _types(spec.child("types"), ingress, egress)
    flags = {key: spec.child(key).boolean() if spec.child(key).present else False for key in _GLOBAL_FIELDS[1:]}
    if flags["doNotTrack"] and flags["preDNAT"]:
        spec.fail("preDNAT and doNotTrack cannot both be true")
    if flags["preDNAT"] and (egress or "Egress" in types):
        spec.child("preDNAT").fail("a preDNAT policy cannot have egress rules or the Egress type")
    if (flags["doNotTrack"] or flags["preDNAT"]) and not flags["applyOnForward"]:
        spec.child("applyOnForward").fail("must be true if either preDNAT or doNotTrack is true")
    for hint in spec.child("performanceHints").items():
        if hint.string() != "AssumeNeededOnEveryNode":
            hint.fail(f"unknown performance hint {hint.value!r} (expected AssumeNeededOnEveryNode)")
    if flags["doNotTrack"] or flags["preDNAT"]:
        which = "doNotTrack" if flags["doNotTrack"] else "preDNAT"
        warn(Diagnostic("warning", f"a {which} policy applies to host endpoints only: ignored for pods (and its tier "
                                   "does not apply to them through it)", f.location))
    return CalicoPolicy(kind, name, namespace, tier, _number(spec.child("order")), selector, types, ingress, egress,
                        namespaces, accounts, flags["doNotTrack"], flags["preDNAT"], flags["applyOnForward"],
                        staged_action, f.location, lint_ignore(meta))


def _staged_action(spec: Field, data: dict[str, Any]) -> StagedAction:
    action_field = spec.child("stagedAction")
    action = action_field.string() if action_field.present else "Set"
    if action not in STAGED_ACTIONS:
        action_field.fail(f"must be one of {', '.join(STAGED_ACTIONS)}, not {action!r}")
    if action == "Delete":
        extra = sorted(k for k, v in data.items() if k not in ("stagedAction", "tier") and v not in (None, "", []))
        if extra:
            spec.child(extra[0]).fail("a staged Delete names the policy to delete only: no field but tier")
    return cast(StagedAction, action)


def _staged_kubernetes(f: Field) -> CalicoPolicy:
    """A StagedKubernetesNetworkPolicy: a Kubernetes NetworkPolicy's spec and a stagedAction, placed as Calico
    places its enforced twin."""
    spec = f.child("spec")
    data = spec.mapping(("stagedAction", "podSelector", "policyTypes", "ingress", "egress"))
    action = _staged_action(spec, data)
    plain = {**f.value, "spec": {k: v for k, v in data.items() if k != "stagedAction"}}
    policy = parse_network_policy(Field(plain, "", f.location))
    return replace(from_kubernetes(policy), kind="StagedKubernetesNetworkPolicy", staged_action=action)


def _types(f: Field, ingress: tuple[CalicoRule, ...], egress: tuple[CalicoRule, ...]) -> tuple[PolicyType, ...]:
    """Declared types, checked; absent or empty: defaulted as Calico does (not as Kubernetes does)."""
    declared = policy_types(f)
    if declared:
        return tuple(t for t in ("Ingress", "Egress") if t in declared)  # type: ignore[misc]
    if egress and not ingress:
        return ("Egress",)
    return ("Ingress", "Egress") if egress else ("Ingress",)


GlobalCheck = Literal["refused", "exact", "unchecked"]


def _selector(f: Field, global_check: GlobalCheck = "refused") -> Node | None:
    """A selector expression (None when absent or empty). `global()` is refused by substring where Calico
    refuses it; a rule's namespaceSelector may only be exactly `global()`; a notSelector is not checked."""
    if not f.present or f.value == "":
        return None
    text = f.string()
    if "global(" in text and global_check == "refused":
        f.fail("global() can only be used in a rule's namespaceSelector")
    if "global(" in text and global_check == "exact" and text != "global()":
        f.fail("a namespaceSelector with global() must be exactly global()")
    try:
        return parse_selector_expression(text)
    except CalicoSelectorError as exc:
        f.fail(f"{exc.reason} at column {exc.column} of selector {text!r}")


def _protocol(f: Field) -> int | None:
    if not f.present:
        return None
    value = f.value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, str):
        if value not in PROTOCOL_NUMBERS:
            f.fail(f"unknown protocol {value!r} (expected {', '.join(PROTOCOL_NUMBERS)} or a number 1-255)")
        return PROTOCOL_NUMBERS[value]
    number = f.integer()
    if not 1 <= number <= 255:
        f.fail(f"must be between 1 and 255, not {number}")
    return number


def _icmp(f: Field) -> ICMPMatch | None:
    if not f.present:
        return None
    f.mapping(("type", "code"))
    kind, code = f.child("type"), f.child("code")
    type_value = kind.integer() if kind.present else None
    code_value = code.integer() if code.present else None
    if type_value is not None and not 0 <= type_value <= 254:
        kind.fail(f"must be between 0 and 254, not {type_value}")
    if code_value is not None and not 0 <= code_value <= 255:
        code.fail(f"must be between 0 and 255, not {code_value}")
    if code_value is not None and type_value is None:
        code.fail("an ICMP code needs an ICMP type")
    return ICMPMatch(type_value, code_value)


_RANGE = re.compile(r"^([0-9]+)(?::([0-9]+))?$")


def _port(f: Field) -> CalicoPort:
    """A number, "a:b" (inclusive), or a port name (numorstring.Port)."""
    value = f.value
    if isinstance(value, int) and not isinstance(value, bool):
        first = last = value
    else:
        text = f.string()
        m = _RANGE.match(text)
        if m is None:
            return CalicoPort(name=port_name(f))
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= first <= MAX_PORT or not 1 <= last <= MAX_PORT:
        f.fail(f"ports must be between 1 and {MAX_PORT}, not {value}")
    if first > last:
        f.fail(f"the range {value} is reversed (its first port is larger than its last)")
    return CalicoPort(first, last)


def _side(f: Field, direction: Direction, side: str, is_global: bool, protocol: int | None) -> EntityRule:
    data = f.mapping(("nets", "notNets", "selector", "notSelector", "namespaceSelector", "serviceAccounts",
                      "services", "ports", "notPorts"))
    nets = tuple(_net(n, host_bits=False) for n in f.child("nets").items())
    not_nets = tuple(_net(n, host_bits=False) for n in f.child("notNets").items())
    for n, item in zip(not_nets, f.child("notNets").items(), strict=True):
        if n.prefixlen == 0:
            item.fail(f"notNets may not hold {n}, which matches every address")
    accounts = None
    sa_field = f.child("serviceAccounts")
    if sa_field.present:
        sa_field.mapping(("names", "selector"))
        accounts = ServiceAccountMatch(tuple(i.string() for i in sa_field.child("names").items()),
                                       _selector(sa_field.child("selector")))
    services = None
    svc = f.child("services")
    if svc.present:
        svc.mapping(("name", "namespace"))
        if not svc.child("name").present or not svc.child("name").string():
            svc.child("name").fail("services must name a Service")
        mixed = [k for k in ("selector", "notSelector", "namespaceSelector", "serviceAccounts", "nets", "notNets")
                 if data.get(k) not in (None, "", [])]
        if mixed:
            f.child(mixed[0]).fail("cannot be given with services on the same side")
        wanted = "source" if direction == "ingress" else "destination"
        if side != wanted:
            svc.fail(f"services belong in the {wanted} of an {direction} rule")
        if side == "destination" and (data.get("ports") or data.get("notPorts")):
            f.child("ports" if data.get("ports") else "notPorts").fail("ports and notPorts cannot be given with "
                                                                       "services")
        ns = svc.child("namespace")
        if is_global and not (ns.present and ns.string()):
            ns.fail("services in a GlobalNetworkPolicy must name the Service's namespace")
        services = ServiceMatch(svc.child("name").string(), ns.string() if ns.present and ns.value else None)
    ports = tuple(_port(p) for p in f.child("ports").items())
    not_ports = tuple(_port(p) for p in f.child("notPorts").items())
    for key, listed in (("ports", ports), ("notPorts", not_ports)):
        if not listed:
            continue
        if any(p.name is None for p in listed) and protocol not in PORT_PROTOCOLS:
            f.child(key).fail("rules with numeric port or port range must set protocol to TCP or UDP or SCTP")
        if protocol is not None and protocol not in PORT_PROTOCOLS:
            f.child(key).fail(f"protocol {PROTOCOL_NAMES.get(protocol, protocol)} has no ports")
    return EntityRule(nets, not_nets, _selector(f.child("selector")), _selector(f.child("notSelector"), "unchecked"),
                      _selector(f.child("namespaceSelector"), "exact"), accounts, services, ports, not_ports)


def _rule(f: Field, direction: Direction, is_global: bool, warn: Warn) -> CalicoRule:
    f.mapping(("action", "ipVersion", "protocol", "icmp", "notProtocol", "notICMP", "source", "destination",
               "http", "metadata"))
    action_field = f.child("action").required()
    action = action_field.string()
    if action not in ACTIONS:
        action_field.fail(f"must be one of {', '.join(ACTIONS)}, not {action!r}")
    version_field = f.child("ipVersion")
    version = version_field.integer() if version_field.present else None
    if version not in (None, 4, 6):
        version_field.fail(f"must be 4 or 6, not {version}")
    protocol, not_protocol = _protocol(f.child("protocol")), _protocol(f.child("notProtocol"))
    for key, number in (("protocol", protocol), ("notProtocol", not_protocol)):
        if (number == 1 and version == 6) or (number == 58 and version == 4):
            f.child(key).fail(f"protocol {PROTOCOL_NAMES[number]} requires ipVersion {4 if number == 1 else 6}")
    icmp, not_icmp = _icmp(f.child("icmp")), _icmp(f.child("notICMP"))
    if icmp is not None and protocol not in ICMP_PROTOCOLS:
        f.child("icmp").fail("ICMP fields require protocol to be ICMP or ICMPv6")
    http = f.child("http")
    if http.present:
        http.mapping(("methods", "paths"))
        if action != "Allow":
            http.fail("HTTP match is only valid on Allow rules")
        if direction == "egress":
            http.fail("HTTP match is only valid on ingress rules")
        if protocol not in (None, 6):
            http.fail("rules with HTTP match must have protocol TCP or unset")
    source = _side(f.child("source"), direction, "source", is_global, protocol)
    destination = _side(f.child("destination"), direction, "destination", is_global, protocol)
    for side in ("source", "destination"):
        written = f.child(side).child("selector").value
        if not is_global and isinstance(written, str) and written and not written.strip(" \t"):
            warn(Diagnostic("warning", f"{f.child(side).child('selector').path}: a blank selector is all() to "
                                       "Calico's API, but Felix cannot parse it in a NetworkPolicy; netpol reads "
                                       "all()", f.location))
    families = {n.version for side in (source, destination) for n in (*side.nets, *side.not_nets)}
    if len(families) > 1:
        f.fail("a rule cannot mix IPv4 and IPv6 nets")
    if families and version is not None and families != {version}:
        f.child("ipVersion").fail(f"the rule's nets are IPv{families.pop()}, not IPv{version}")
    for what, present in (("HTTP methods and paths (L7) are not checked: the rule is evaluated at L4", http.present),
                          ("the client's source port is unknown: netpol assumes it is in no port listed there",
                           bool(source.ports or source.not_ports))):
        if present:
            warn(Diagnostic("warning", f"{f.path}: {what}", f.location))
    return CalicoRule(cast(Action, action), protocol, not_protocol, icmp, not_icmp, version, source, destination,
                      http.present)


# -- Kubernetes NetworkPolicy as Calico places it --------------------------------------------------------------

def from_label_selector(selector: LabelSelector) -> Node:
    """A Kubernetes label selector in Calico's language (conversion.go k8sSelectorToCalico); {} is all()."""
    return conjunction(*(_requirement(r) for r in selector.requirements)) if selector.requirements else ALL


def _requirement(r: Requirement) -> Node:
    if r.operator == "In":
        return Compare(r.key, "==", r.values[0]) if len(r.values) == 1 else InSet(r.key, r.values)
    if r.operator == "NotIn":
        return InSet(r.key, r.values, negated=True)
    return Has(r.key) if r.operator == "Exists" else Not(Has(r.key))


def _pods(selector: LabelSelector | None) -> Node:
    """A pod selector: Calico adds `projectcalico.org/orchestrator == 'k8s'`, so no NetworkSet matches it."""
    own = () if selector is None or selector.selects_all else (from_label_selector(selector),)
    return conjunction(Compare(ORCHESTRATOR, "==", "k8s"), *own)


def from_kubernetes(policy: NetworkPolicy) -> CalicoPolicy:
    """A NetworkPolicy as Calico enforces it (conversion.go K8sNetworkPolicyToCalico): in the default tier at
    order 1000, every rule an Allow per (peer, port), types the stored policyTypes."""
    rules = {d: tuple(r for rule in policy.rules(d) for r in _kubernetes_rules(rule, d)) for d in DIRECTIONS}
    return CalicoPolicy("KubernetesNetworkPolicy", policy.name, policy.namespace, DEFAULT_TIER, KNP_ORDER,
                        _pods(policy.pod_selector), policy.policy_types, rules["ingress"], rules["egress"],
                        location=policy.location, lint_ignore=policy.lint_ignore)


def _kubernetes_rules(rule: Rule, direction: Direction) -> list[CalicoRule]:
    peers: list[EntityRule] = []
    for peer in rule.peers or (None,):
        if peer is None:
            peers.append(EntityRule())
        elif isinstance(peer, IPBlockPeer):
            peers.append(EntityRule(nets=(peer.block.cidr,), not_nets=peer.block.excepts))
        else:
            ns = None if peer.namespace_selector is None else from_label_selector(peer.namespace_selector)
            peers.append(EntityRule(selector=_pods(peer.pod_selector), namespace_selector=ns))
    out = []
    for side in peers:
        for port in rule.ports or (None,):
            protocol = None if port is None else PROTOCOL_NUMBERS[port.protocol]
            ports: tuple[CalicoPort, ...] = ()
            if port is not None and isinstance(port.port, str):
                ports = (CalicoPort(name=port.port),)
            elif port is not None and port.port is not None:
                ports = (CalicoPort(port.port, port.end_port or port.port),)
            own = EntityRule(ports=ports)
            out.append(CalicoRule("Allow", protocol, source=side if direction == "ingress" else EntityRule(),
                                  destination=own if direction == "ingress" else replace(side, ports=ports)))
    return out

