"""Read intent files (docs/intent.md) into netpol.model.intent values, strictly.

Every mistake names the file, the expectation's line and the field: an
intent file that silently means less than it says is a test that cannot fail.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from netpol.errors import InputError, Location
from netpol.model import SERVICE_REF, ip_network
from netpol.model.intent import (
    INTENT_API_VERSION,
    INTENT_KIND,
    Expect,
    Expectation,
    ExpectationKind,
    IntentFile,
    PortSpec,
    Selection,
)
from netpol.model.portsets import ALL_PROTOCOLS, MAX_ICMP, MAX_PORT, MIN_PORT, Protocol, icmp_value, is_icmp
from netpol.model.selectors import EVERYTHING, parse_scope, valid_namespace_name
from netpol.sources.manifests import decode_documents, read_text
from netpol.sources.parse import Field, parse_labels, parse_protocol, parse_selector, port_name

_TOP = ("apiVersion", "kind", "metadata", "manifests", "expectations")
_EXPECTATION = ("name", "from", "to", "isolated", "only", "port", "ports", "protocol", "icmpType", "icmpCode", "expect")


INTENT_SUFFIXES = (".intent.yaml", ".intent.yml")


def intent_files(paths: list[str]) -> list[str]:
    """Intent files as given; a directory stands for its *.intent.yaml/.yml files (recursive, sorted)."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(d, f) for d, _, files in os.walk(path, followlinks=True)
                           for f in files if f.endswith(INTENT_SUFFIXES))
            if not found:
                raise InputError(Location(path), None, "directory holds no *.intent.yaml or *.intent.yml files")
            out.extend(found)
        else:
            out.append(path)
    return out


def git_root(path: str) -> str | None:
    """The git work tree holding `path` (the nearest directory with .git), or None."""
    here = os.path.dirname(os.path.realpath(path))
    while not os.path.exists(os.path.join(here, ".git")):
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent
    return here


def repository_root(path: str) -> str:
    """The git work tree holding `path`, else the current directory."""
    return git_root(path) or os.path.realpath(os.getcwd())


def load_intent_file(path: str, confine: bool = True) -> IntentFile:
    """`confine`: `manifests:` must stay inside the intent file's repository, so that an intent file
    from a pull request cannot make CI read files elsewhere on the machine."""
    text = read_text(path, None)
    documents = list(decode_documents(path, text))
    if len(documents) != 1:
        raise InputError(Location(path), None, f"an intent file holds one document, found {len(documents)}")
    _, line, data = documents[0]
    top = Field(data, "", Location(path, line=line))
    spec = top.mapping(_TOP)
    if spec.get("apiVersion") != INTENT_API_VERSION or spec.get("kind") != INTENT_KIND:
        top.fail(f"not an intent file: expected apiVersion: {INTENT_API_VERSION} and kind: {INTENT_KIND}")
    meta = top.child("metadata").mapping(("name",))
    name = top.child("metadata").child("name").string() if "name" in meta else os.path.basename(path)
    base = os.path.dirname(path)
    root = repository_root(path) if confine else None
    manifests = tuple(_manifest_path(m, base, root) for m in top.child("manifests").items())
    items = top.child("expectations").required().items()
    if not items:
        top.child("expectations").fail("must list at least one expectation")
    lines = _item_lines(text)
    expectations = []
    declared: dict[str, tuple[tuple[str, str], ...]] = {}  # namespaceLabels per namespace, one set in a file
    for index, item in enumerate(items):
        loc = Location(path, line=lines[index] if index < len(lines) else None)
        exp = _expectation(Field(item.value, item.path, loc), index)
        for sel in (*exp.sources, *exp.destinations):
            if sel.namespace is not None and sel.namespace_labels is not None:
                first = declared.setdefault(sel.namespace, sel.namespace_labels)
                if first != sel.namespace_labels:
                    raise InputError(exp.location, item.path, f"namespace {sel.namespace} has other namespaceLabels "
                                     "in an earlier endpoint of this file")
        expectations.append(exp)
    return IntentFile(path, name, manifests, tuple(expectations))


def _manifest_path(f: Field, base: str, root: str | None) -> str:
    joined = os.path.normpath(os.path.join(base, f.string()))
    if root is not None:
        real = os.path.realpath(joined)
        if os.path.commonpath([real, root]) != root:
            f.fail(f"{f.value} is outside the repository ({root}); pass --allow-outside-repo to read it")
    return joined


def _item_lines(text: str) -> list[int]:
    """Line of each expectation, from the YAML node tree (JSON files have none)."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "expectations" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _expectation(f: Field, index: int) -> Expectation:
    spec = f.mapping(_EXPECTATION)
    shapes = [k for k in ("to", "isolated", "only") if k in spec]
    if len(shapes) != 1:
        f.fail("needs exactly one of: from/to, isolated, only")
    kind: ExpectationKind = "reach" if shapes[0] == "to" else shapes[0]
    name = f.child("name").string() if "name" in spec else f"expectation {index + 1}"
    where = Location(f.location.file, line=f.location.line, object=name)
    f = Field(f.value, f.path, where)
    if "port" in spec and "ports" in spec:
        f.child("ports").fail("give port or ports, not both")
    protocol = parse_protocol(f.child("protocol"), ALL_PROTOCOLS) if "protocol" in spec else None
    if protocol is not None and is_icmp(protocol):
        ports = _icmp(f, protocol, spec)
    else:
        for key in ("icmpType", "icmpCode"):
            if key in spec:
                f.child(key).fail("is for protocol: ICMP or ICMPv6")
        ports = tuple(_port(p, protocol) for p in (f.child("ports").items() if "ports" in spec else
                                                    [f.child("port")] if "port" in spec else []))
    if kind == "reach":
        sources, destinations = _selections(f.child("from").required()), _selections(f.child("to").required())
        _check_services(f.child("from"), sources, f.child("to"), destinations, bool(ports))
        expect = _expect(f.child("expect").required())
    elif kind == "isolated":
        if "from" in spec or "expect" in spec:
            f.child("isolated").fail("isolated takes no from/expect: it expects deny both ways")
        pair = f.child("isolated").items()
        if len(pair) != 2:
            f.child("isolated").fail("must list two namespaces")
        sources = (Selection(pair[0].string(), namespace=pair[0].string()),)
        destinations = (Selection(pair[1].string(), namespace=pair[1].string()),)
        expect = "deny"
    else:
        if "from" in spec or "expect" in spec:
            f.child("only").fail("put from inside only; only expects its sources allowed and all others denied")
        only = f.child("only")
        only.mapping(("from", "to"))
        sources, destinations = _selections(only.child("from").required()), _selections(only.child("to").required())
        _check_services(only.child("from"), sources, only.child("to"), destinations, bool(ports))
        expect = "allow"
    return Expectation(name, kind, sources, destinations, ports, protocol, expect, where)


def _check_services(src_field: Field, sources: tuple[Selection, ...], dst_field: Field,
                    destinations: tuple[Selection, ...], has_ports: bool) -> None:
    if any(s.service for s in sources):
        src_field.fail("a Service can only be a destination: traffic comes from pods")
    if has_ports and any(d.service for d in destinations):
        dst_field.fail("a Service destination carries its port (svc/NAME:PORT); leave out port/ports")


def _expect(f: Field) -> Expect:
    value = f.string()
    if value not in ("allow", "deny"):
        f.fail(f"must be allow or deny, not {value!r}")
    return value  # type: ignore[return-value]


def _port(f: Field, protocol: Protocol | None) -> PortSpec:
    """80, "80", "8000-8100", "http", or {port: one of those, protocol: UDP}."""
    if isinstance(f.value, dict):
        spec = f.mapping(("port", "protocol"))
        own = parse_protocol(f.child("protocol")) if "protocol" in spec else protocol
        return _port(f.child("port").required(), own)
    value = f.required().value
    if isinstance(value, int) and not isinstance(value, bool):
        return PortSpec(protocol, *_range(f, value, value))
    text = f.string()
    if "-" in text and text.replace("-", "").isdigit():
        first, _, last = text.partition("-")
        return PortSpec(protocol, *_range(f, int(first), int(last)))
    if text.isdigit():
        return PortSpec(protocol, *_range(f, int(text), int(text)))
    return PortSpec(protocol, name=port_name(f))


def _icmp(f: Field, protocol: Protocol, spec: dict[str, Any]) -> tuple[PortSpec, ...]:
    """icmpType (every code of it) or icmpType and icmpCode (one message); neither: every message."""
    for key in ("port", "ports"):
        if key in spec:
            f.child(key).fail(f"{protocol} has no ports: give icmpType (and icmpCode)")
    if "icmpType" not in spec:
        if "icmpCode" in spec:
            f.child("icmpCode").fail("needs icmpType")
        return ()
    icmp_type = _icmp_byte(f.child("icmpType"))
    codes = (_icmp_byte(f.child("icmpCode")),) * 2 if "icmpCode" in spec else (0, MAX_ICMP)
    return (PortSpec(protocol, icmp_value(icmp_type, codes[0]), icmp_value(icmp_type, codes[1])),)


def _icmp_byte(f: Field) -> int:
    value = f.integer()
    if not 0 <= value <= MAX_ICMP:
        f.fail(f"must be between 0 and {MAX_ICMP}, not {value}")
    return value


def _range(f: Field, first: int, last: int) -> tuple[int, int]:
    if not MIN_PORT <= first <= last <= MAX_PORT:
        f.fail(f"port range {first}-{last} is not within {MIN_PORT}-{MAX_PORT} in increasing order")
    return first, last


def _selections(f: Field) -> tuple[Selection, ...]:
    items = f.items() if isinstance(f.value, list) else [f]
    if not items:
        f.fail("must name at least one endpoint")
    return tuple(_selection(i) for i in items)


def _selection(f: Field) -> Selection:
    if isinstance(f.value, str):
        text = f.value
        if text.endswith("}") and "{" in text:  # NS{labels}: every possible such pod
            try:
                scope = parse_scope(text)
            except ValueError as exc:
                f.fail(str(exc))
            assert scope is not None
            return Selection(text, namespace=scope.namespace, selector=scope.selector, possible=True)
        if SERVICE_REF.match(text):
            return Selection(text, service=text)
        if "/" in text or ":" in text or text.replace(".", "").isdigit():
            try:
                return Selection(text, network=ip_network(text))
            except ValueError:
                pass
        ns, sep, name = text.partition("/")
        if not sep or not ns or not name or name.count("/") > 1:
            f.fail(f"{text!r} is not ns/pod, ns/deployment/NAME, an IP, a CIDR or svc/NAME:PORT "
                   "(a namespace is {namespace: NAME})")
        return Selection(text, pod=text)
    spec: dict[str, Any] = f.mapping(("pod", "namespace", "podSelector", "cidr", "possible", "namespaceLabels"))
    possible = f.child("possible").boolean() if "possible" in spec else False
    if possible and ("pod" in spec or "cidr" in spec):
        f.fail("possible is for namespace and podSelector")
    if "namespaceLabels" in spec and not (possible and "namespace" in spec):
        f.child("namespaceLabels").fail("declares a namespace the input does not hold: give it with namespace "
                                        "and possible: true")
    if "pod" in spec:
        if len(spec) > 1:
            f.fail("pod stands alone: write ns/name")
        return _selection(f.child("pod"))
    if "cidr" in spec:
        if len(spec) > 1:
            f.fail("cidr stands alone")
        return _selection(f.child("cidr"))
    if possible and "namespace" not in spec:
        selector = parse_selector(f.child("podSelector")) if "podSelector" in spec else EVERYTHING
        return Selection(f"any possible pod [{selector}] in any namespace", selector=selector, possible=True)
    namespace = f.child("namespace").required().string()
    if not valid_namespace_name(namespace):
        f.child("namespace").fail(f"{namespace!r} is not a namespace name (lower-case letters, digits and '-', "
                                  "at most 63)")
    declared = parse_labels(f.child("namespaceLabels")) if "namespaceLabels" in spec else None
    what = "any possible pod" if possible else "pods"
    where = namespace + (" (not in the input)" if declared is not None else "")
    if "podSelector" not in spec:
        return Selection(f"namespace {namespace}" if not possible else f"{what} in namespace {where}",
                         namespace=namespace, possible=possible, namespace_labels=declared)
    selector = parse_selector(f.child("podSelector"))
    return Selection(f"{what} [{selector}] in {where}", namespace=namespace, selector=selector, possible=possible,
                     namespace_labels=declared)
