"""Validate raw API objects and convert them into the model.

Validation follows what the API server would accept, so that a manifest
netpol analyses is a manifest the cluster would take: unknown fields,
wrong types, invalid names, ports and CIDRs are errors naming the field path.
Every source (files, live cluster, memory) converts through here; pods, workloads and
Services through workloads.py, which builds on these fields.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, NoReturn, TypeVar, cast

from netpol.errors import InputError, Location
from netpol.model import (
    METADATA_NAME_LABEL,
    IPBlock,
    IPBlockPeer,
    IPNetwork,
    Namespace,
    NamespaceName,
    NetworkPolicy,
    Peer,
    PodPeer,
    PolicyPort,
    PolicyType,
    Rule,
)
from netpol.model.portsets import MAX_PORT, MIN_PORT, PROTOCOLS, Protocol
from netpol.model.selectors import DNS_LABEL as _DNS_LABEL
from netpol.model.selectors import DNS_SUBDOMAIN as _DNS_SUBDOMAIN
from netpol.model.selectors import OPERATORS, LabelSelector, Requirement, requirement
from netpol.model.selectors import valid_label_key as _valid_label_key
from netpol.model.selectors import valid_label_value as _valid_label_value

DEFAULT_NAMESPACE = NamespaceName("default")

_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

T = TypeVar("T")
_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}


class Field:
    """A value with its path, so any check can fail with a precise message.

    The path is only built when a message needs it: loading a large cluster
    visits millions of fields, and string-building each path dominated the
    load time.
    """

    __slots__ = ("value", "location", "_base", "_parent", "_key")

    def __init__(self, value: Any, path: str, location: Location, parent: Field | None = None,
                 key: str | int = "") -> None:
        self.value = value
        self.location = location
        self._base = path
        self._parent = parent
        self._key = key

    @property
    def path(self) -> str:
        if self._parent is None:
            return self._base
        parent = self._parent.path
        if isinstance(self._key, int):
            return f"{parent}[{self._key}]"
        if not self._key.isprintable():
            return f"{parent}[{json.dumps(self._key)}]"  # a key with a newline must not break the one-line error
        return f"{parent}.{self._key}" if parent else self._key

    def fail(self, message: str) -> NoReturn:
        raise InputError(self.location, self.path or None, message)

    @property
    def present(self) -> bool:
        return self.value is not None

    def _typed(self, kind: type) -> Any:
        # bool is a subclass of int: a YAML `true` is never a valid port.
        if not isinstance(self.value, kind) or (kind is int and isinstance(self.value, bool)):
            found = _TYPE_NAMES.get(type(self.value), type(self.value).__name__)
            self.fail(f"must be {_TYPE_NAMES[kind]}, not {found}")
        return self.value

    def mapping(self, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The value as a dict ({} when absent); unknown keys are errors when `allowed` is given."""
        if self.value is None:
            return {}
        value: dict[str, Any] = self._typed(dict)
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    self.child(str(key)).fail(f"unknown field (expected one of: {', '.join(allowed)})")
        return value

    def get(self, key: str, kind: type[T]) -> T | None:
        """The value at `key` when absent or of type `kind`, read without building its Field (the common
        case, millions of times on a large cluster); any other value fails with its path, as `child` would.
        (No typing.cast here or below: it is a function call, and these run millions of times.)"""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if value is None or type(value) is kind:
            return value
        return self.child(key)._typed(kind)  # type: ignore[no-any-return]

    def child(self, key: str) -> Field:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return Field(value, "", self.location, self, key)

    def items(self) -> list[Field]:
        if self.value is None:
            return []
        return [Field(v, "", self.location, self, i) for i, v in enumerate(self._typed(list))]

    def string(self) -> str:
        return self._typed(str)  # type: ignore[no-any-return]

    def integer(self) -> int:
        return self._typed(int)  # type: ignore[no-any-return]

    def boolean(self) -> bool:
        return self._typed(bool)  # type: ignore[no-any-return]

    def required(self) -> Field:
        if self.value is None:
            self.fail("required field is missing")
        return self


def cluster_object_name(f: Field, what: str = "object name") -> tuple[str, Field]:
    """The name (a DNS subdomain) and metadata of a cluster-scoped object: a node, a tiered policy."""
    meta = f.child("metadata")
    meta.required().mapping()
    return _check_name(meta, "name", _DNS_SUBDOMAIN, 253, what), meta


LINT_IGNORE = "netpol.io/lint-ignore"  # annotation: lint rule ids not to report for this object


def lint_ignore(meta: Field) -> tuple[str, ...]:
    """The rule ids in the object's netpol.io/lint-ignore annotation ("NP101,NP203" or "all")."""
    annotations = meta.value.get("annotations") if isinstance(meta.value, dict) else None
    if not isinstance(annotations, dict) or LINT_IGNORE not in annotations:
        return ()
    value = meta.child("annotations").child(LINT_IGNORE).string()
    return tuple(sorted({part for part in re.split(r"[\s,]+", value) if part}))


def _check_name(meta: Field, key: str, pattern: re.Pattern[str], limit: int, what: str) -> str:
    name = meta.get(key, str)
    if name is None or not _valid_name(pattern, limit, name):
        f = meta.child(key)
        f.fail(f"{f.required().string()!r} is not a valid {what}")
    return name


@lru_cache(maxsize=65536)  # namespace names repeat on every object
def _valid_name(pattern: re.Pattern[str], limit: int, name: str) -> bool:
    return len(name) <= limit and bool(pattern.match(name))


def parse_labels(f: Field) -> tuple[tuple[str, str], ...]:
    """Labels as the API server takes them: string keys and values (a YAML `true` or `1` is an error)."""
    out = []
    for key, value in f.mapping().items():
        if isinstance(key, str) and isinstance(value, str) and _valid_label_key(key) and _valid_label_value(value):
            out.append((key, value))  # valid: no field needed; anything else is checked below for its message
            continue
        entry = f.child(str(key))
        _check_label_key(entry, str(key))
        if value is None:
            entry.fail("label value must be a string, not null")
        out.append((str(key), _label_value(entry)))
    return tuple(sorted(out))


def _label_value(f: Field) -> str:
    text = f.string()
    if not _valid_label_value(text):
        f.fail(f"{text!r} is not a valid label value")
    return text


def _check_label_key(f: Field, key: str) -> None:
    if not _valid_label_key(key):
        f.fail(f"{key!r} is not a valid label key")


_MEMO_SIZE = 65536  # distinct values kept per parser; the cache starts afresh when full


def _memo(parse: Callable[[Field], T]) -> Callable[[Field], T]:
    """Parse each distinct value once: policies repeat selectors, peers, ports and ipBlocks thousands of times.

    Values are keyed by their repr, which tells apart every value a decoder produces (a string from a
    number, true from 1) and costs less than any canonical text. A new value is parsed from its own field,
    so an invalid one fails with its file, line and path, and is never kept.
    """
    cache: dict[str, T] = {}

    @wraps(parse)
    def parse_once(f: Field) -> T:
        key = repr(f.value)
        found = cache.get(key)
        if found is None:
            if len(cache) >= _MEMO_SIZE:
                cache.clear()
            found = cache[key] = parse(f)
        return found

    return parse_once


@_memo
def parse_selector(f: Field) -> LabelSelector:
    """A LabelSelector; absent or null means {} (selects everything), as in the API."""
    f.mapping(("matchLabels", "matchExpressions"))
    match_labels = parse_labels(f.child("matchLabels"))
    return LabelSelector.build(dict(match_labels), _expressions(f.child("matchExpressions"), _label_key))


def parse_keyed_selector(f: Field, key_of: Callable[[Field, str], str]) -> LabelSelector:
    """A LabelSelector whose keys `key_of` checks and rewrites (Cilium's `source:key`); values and operators
    are checked as in parse_selector."""
    f.mapping(("matchLabels", "matchExpressions"))
    labels = f.child("matchLabels")
    match_labels: dict[str, str] = {}
    for key in labels.mapping():
        entry = labels.child(str(key))
        if entry.value is None:
            entry.fail("label value must be a string, not null")
        match_labels[key_of(entry, str(key))] = _label_value(entry)
    return LabelSelector.build(match_labels, _expressions(f.child("matchExpressions"), key_of))


def _label_key(f: Field, key: str) -> str:
    _check_label_key(f, key)
    return key


def _expressions(f: Field, key_of: Callable[[Field, str], str]) -> tuple[Requirement, ...]:
    reqs: list[Requirement] = []
    for e in f.items():
        e.mapping(("key", "operator", "values"))
        key_field = e.child("key").required()
        key = key_of(key_field, key_field.string())
        op_field = e.child("operator").required()
        op = op_field.string()
        if op not in OPERATORS:
            op_field.fail(f"unknown operator {op!r} (expected one of: {', '.join(OPERATORS)})")
        values = [_label_value(v) for v in e.child("values").items()]
        if op in ("In", "NotIn") and not values:
            e.child("values").fail(f"must be non-empty for operator {op}")
        if op in ("Exists", "DoesNotExist") and values:
            e.child("values").fail(f"must be empty for operator {op}")
        reqs.append(requirement(key, op, values))
    return tuple(reqs)


def namespace_name(text: str, what: str) -> NamespaceName:
    """A namespace name given outside a manifest (an option), checked as metadata.namespace is."""
    if not _valid_name(_DNS_LABEL, 63, text):
        raise InputError(None, None, f"{what} {text!r} is not a valid namespace name (a DNS label: lowercase "
                                     "letters, digits and '-', at most 63 characters)")
    return NamespaceName(text)


def _metadata(f: Field, namespaced: bool) -> tuple[NamespaceName, str, Field]:
    meta = f.child("metadata")
    meta.required().mapping()
    if not namespaced:
        name = _check_name(meta, "name", _DNS_LABEL, 63, "namespace name")
        return NamespaceName(name), name, meta
    name = _check_name(meta, "name", _DNS_SUBDOMAIN, 253, "object name")
    if meta.get("namespace", str) is None:
        return DEFAULT_NAMESPACE, name, meta
    return NamespaceName(_check_name(meta, "namespace", _DNS_LABEL, 63, "namespace name")), name, meta


def namespaced_metadata(f: Field) -> tuple[NamespaceName, str, Field]:
    """The namespace (default: `default`), name and metadata of a namespaced object of any kind."""
    return _metadata(f, namespaced=True)


def parse_namespace(f: Field) -> Namespace:
    _, name, meta = _metadata(f, namespaced=False)
    labels = dict(parse_labels(meta.child("labels")))
    labels[METADATA_NAME_LABEL] = name  # the API server sets it and overrides any other value
    return Namespace(NamespaceName(name), tuple(sorted(labels.items())), True, f.location, lint_ignore(meta))


def parse_protocol(f: Field, allowed: tuple[Protocol, ...] = PROTOCOLS) -> Protocol:
    """A protocol field; absent means TCP, as in the API. `allowed`: the port protocols (what policies name),
    or with ICMP and ICMPv6 where a question may name them (intent files)."""
    if not f.present:
        return "TCP"
    proto = f.string()
    if proto not in allowed:
        f.fail(f"unknown protocol {proto!r} (expected one of: {', '.join(allowed)})")
    return proto  # type: ignore[return-value]


def port_number(f: Field) -> int:
    """A port number field, checked against 1-65535."""
    port = f.integer()
    if not MIN_PORT <= port <= MAX_PORT:
        f.fail(f"must be between {MIN_PORT} and {MAX_PORT}, not {port}")
    return port


def port_name(f: Field) -> str:
    name = f.string()
    if not _valid_port_name(name):
        f.fail(f"{name!r} is neither a port number (1-65535) nor a valid port name")
    return name


@lru_cache(maxsize=4096)
def _valid_port_name(name: str) -> bool:
    return len(name) <= 15 and bool(_PORT_NAME.match(name)) and "--" not in name and any(c.isalpha() for c in name)


def _octets(text: str) -> str | None:
    """The IPv4 address without the leading 0s of its octets, when it is one with them."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts):
        return None
    return ".".join(str(int(p)) for p in parts)


def parse_cidr(f: Field) -> tuple[IPNetwork, bool]:
    """A CIDR as the API server takes it, and whether host bits are set (see `_read_cidr`)."""
    text = f.required().string()
    read = _read_cidr(text)
    if isinstance(read, str):
        f.fail(f"{text!r} is not a CIDR: {read}")
    return read


_PREFIX_LENGTH = re.compile(r"[0-9]+", re.ASCII)


@lru_cache(maxsize=4096)
def _read_cidr(text: str) -> tuple[IPNetwork, bool] | str:
    """The network and whether host bits are set, or why `text` is not a CIDR.

    The form is Go's netip.ParsePrefix, which the API server applies to an ipBlock since Kubernetes 1.36
    (StrictIPCIDRValidation) and the tiered CRDs' CEL isCIDR() to `networks`: an address and a decimal
    prefix length; no netmask, hostmask or zone; no leading 0s in an octet or the length (some software
    reads them as octal); no IPv4-mapped IPv6 address. Host bits are the caller's matter.
    """
    address, slash, length = text.rpartition("/")
    if not slash:
        return f"it needs a prefix length, e.g. {text}/32"
    if "%" in address:
        return "a zone (%...) is not allowed in a CIDR"
    if not _PREFIX_LENGTH.fullmatch(length):
        try:
            masked = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return "write an address and a prefix length, such as 10.9.8.0/24 or 2001:db8::/64"
        return f"the prefix length must be a number, not a netmask or hostmask (write /{masked.prefixlen})"
    if len(length) > 1 and length[0] == "0":
        return f"the prefix length must not have leading 0s (write /{int(length)})"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        octets = _octets(address)
        if octets is not None:
            return f"leading 0s are not allowed in an address, some software reads them as octal (write {octets})"
        return "write an address and a prefix length, such as 10.9.8.0/24 or 2001:db8::/64"
    bits = int(length)
    if bits > ip.max_prefixlen:
        return f"the prefix length must be 0-{ip.max_prefixlen} for an IPv{ip.version} address"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        hint = f" (write {ip.ipv4_mapped}/{bits - 96})" if bits >= 96 else ""
        return f"an IPv4-mapped IPv6 address is not allowed{hint}"
    network = ipaddress.ip_network((ip, bits), strict=False)
    return network, ip != network.network_address


@_memo
def _ip_block(f: Field) -> IPBlock:
    f.mapping(("cidr", "except"))
    cidr, host_bits = parse_cidr(f.child("cidr"))
    written = f.child("cidr").value
    excepts: list[IPNetwork] = []
    for e in f.child("except").items():
        net, _ = parse_cidr(e)
        if net.version != cidr.version or not net.subnet_of(cidr) or net.prefixlen <= cidr.prefixlen:  # type: ignore[arg-type]
            e.fail(f"{e.value} must be a strict subset of cidr {f.child('cidr').value}")
        excepts.append(net)
    return IPBlock(cidr, tuple(sorted(set(excepts), key=lambda n: (n.network_address, n.prefixlen))),
                   written if host_bits else None)


@_memo
def _peer(f: Field) -> Peer:
    data = f.mapping(("podSelector", "namespaceSelector", "ipBlock"))
    if not data or all(v is None for v in data.values()):
        f.fail("must specify a peer (podSelector, namespaceSelector or ipBlock)")
    if f.child("ipBlock").present:
        if f.child("podSelector").present or f.child("namespaceSelector").present:
            f.fail("ipBlock may not be combined with podSelector or namespaceSelector")
        return IPBlockPeer(_ip_block(f.child("ipBlock")))
    pods = f.child("podSelector")
    nss = f.child("namespaceSelector")
    return PodPeer(
        parse_selector(pods) if pods.present else None,
        parse_selector(nss) if nss.present else None,
    )


@_memo
def _policy_port(f: Field) -> PolicyPort:
    f.mapping(("protocol", "port", "endPort"))
    protocol = parse_protocol(f.child("protocol"))
    port_field = f.child("port")
    port: int | str | None = None
    if port_field.present:
        port = port_name(port_field) if isinstance(port_field.value, str) else port_number(port_field)
    end_field = f.child("endPort")
    end_port = None
    if end_field.present:
        end_port = port_number(end_field)
        if port is None:
            end_field.fail("requires port to be set")
        if isinstance(port, str):
            end_field.fail(f"may not be used with a named port ({port})")
        if end_port < port:
            end_field.fail(f"must be >= port ({port})")
    return PolicyPort(protocol, port, end_port)


def _rules(f: Field, peers_key: str, other_key: str) -> tuple[Rule, ...]:
    rules = []
    for r in f.items():
        if isinstance(r.value, dict) and other_key in r.value:
            r.child(other_key).fail(
                f"unknown field ({'ingress' if peers_key == 'from' else 'egress'} rules use {peers_key!r})"
            )
        r.mapping((peers_key, "ports"))
        peers = tuple(_peer(p) for p in r.child(peers_key).items())
        ports = tuple(_policy_port(p) for p in r.child("ports").items())
        rules.append(Rule(peers, ports))
    return tuple(rules)


def policy_types(f: Field) -> list[PolicyType]:
    """A list of policy types (Kubernetes' policyTypes, Calico's types), each Ingress or Egress, once."""
    declared: list[PolicyType] = []
    for t in f.items():
        value = t.string()
        if value not in ("Ingress", "Egress"):
            t.fail(f"unknown policy type {value!r} (expected Ingress or Egress)")
        if value in declared:
            t.fail(f"duplicate policy type {value!r}")
        declared.append(cast(PolicyType, value))
    return declared


def parse_network_policy(f: Field) -> NetworkPolicy:
    namespace, name, meta = _metadata(f, namespaced=True)
    spec = f.child("spec")
    spec.required().mapping(("podSelector", "policyTypes", "ingress", "egress"))
    types_field = spec.child("policyTypes")
    declared = policy_types(types_field) if types_field.present else None
    return NetworkPolicy(
        namespace,
        name,
        parse_selector(spec.child("podSelector")),
        _rules(spec.child("ingress"), "from", "to"),
        _rules(spec.child("egress"), "to", "from"),
        tuple(sorted(declared, reverse=True)) if declared else None,
        f.location,
        lint_ignore(meta),
    )
