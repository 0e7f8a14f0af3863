"""Validate pods, workloads and Services and convert them into the model (what a pod means to policies:
labels, container ports, hostNetwork, node, addresses, owner), as the API server checks them."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from netpol.model import ContainerPort, Pod, Service, ServicePort
from netpol.model.portsets import MAX_PORT, MIN_PORT, PROTOCOLS
from netpol.model.selectors import DNS_SUBDOMAIN as _DNS_SUBDOMAIN
from netpol.sources.parse import (
    Field,
    _metadata,
    _octets,
    _valid_name,
    _valid_port_name,
    lint_ignore,
    parse_labels,
    parse_protocol,
    port_name,
    port_number,
)


def parse_pod(f: Field) -> Pod:
    namespace, name, meta = _metadata(f, namespaced=True)
    labels = parse_labels(meta.child("labels"))
    ports, host_network, node = _pod_spec(f.child("spec"))
    status = f.child("status")
    controller = _controller(meta)
    return Pod(namespace, name, labels, ports, _pod_ips(status), host_network, node, f.location,
               owner=_owner(controller, dict(labels)), host_ip=_address(status, "hostIP"), controller=controller,
               lint_ignore=lint_ignore(meta), service_account=f.child("spec").get("serviceAccountName", str) or None)


def _plain_container_port(value: object) -> ContainerPort | None:
    """The common, valid container port without building fields; None sends it through the full checks."""
    if not isinstance(value, dict):
        return None
    number, name, protocol = value.get("containerPort"), value.get("name"), value.get("protocol")
    if type(number) is not int or not MIN_PORT <= number <= MAX_PORT:
        return None
    if name is not None and not (isinstance(name, str) and _valid_port_name(name)):
        return None
    if protocol is not None and protocol not in PROTOCOLS:
        return None
    return ContainerPort(number, protocol or "TCP", name)


def _pod_spec(spec: Field) -> tuple[tuple[ContainerPort, ...], bool, str | None]:
    """Container ports, hostNetwork and nodeName: what a pod spec means to policies, checked as the API
    server checks them (at least one container; nodeName a DNS subdomain)."""
    spec.required().mapping()
    containers = spec.child("containers").required()
    items = containers.items()
    if not items:
        containers.fail("must list at least one container")
    ports: list[ContainerPort] = []
    names: set[str] = set()
    for c in items:
        c.mapping()
        for index, value in enumerate(c.get("ports", list) or ()):
            port = _plain_container_port(value)
            if port is None:  # not plain: check it field by field, for the message
                p = c.child("ports").items()[index]
                p.mapping()
                number = port_number(p.child("containerPort").required())
                name_field = p.child("name")
                pname = port_name(name_field) if name_field.present else None
                port = ContainerPort(number, parse_protocol(p.child("protocol")), pname)
            if port.name is not None:
                if port.name in names:  # the API server requires port names unique within the pod
                    c.child("ports").items()[index].child("name").fail(f"duplicate port name {port.name!r} in the pod")
                names.add(port.name)
            ports.append(port)
    host_network = spec.get("hostNetwork", bool) or False
    node = spec.get("nodeName", str)
    if node and not _valid_name(_DNS_SUBDOMAIN, 253, node):
        spec.child("nodeName").fail(f"{node!r} is not a valid node name (a DNS subdomain of at most 253 characters)")
    return tuple(sorted(set(ports))), host_network, node or None


def _controller(meta: Field) -> tuple[str, str] | None:
    """The controlling ownerReference (kind, name), as written."""
    for index, data in enumerate(meta.get("ownerReferences", list) or ()):
        if type(data) is not dict:
            meta.child("ownerReferences").items()[index].mapping()  # fails, naming the entry
        if data.get("controller") is True and isinstance(data.get("kind"), str) and isinstance(data.get("name"), str):
            return data["kind"], data["name"]
    return None


def _owner(controller: tuple[str, str] | None, labels: dict[str, str]) -> str | None:
    """The controlling workload as "kind/name"; a ReplicaSet named <deployment>-<pod-template-hash>
    stands for its Deployment, as the Deployment controller names it."""
    if controller is None:
        return None
    kind, name = controller
    suffix = f"-{labels.get('pod-template-hash', '')}"
    if kind == "ReplicaSet" and len(suffix) > 1 and name.endswith(suffix):
        return f"deployment/{name[: -len(suffix)]}"
    return f"{kind.lower()}/{name}"


# Where each workload kind keeps its pod template, and its pod count.
_TEMPLATES = {
    "Deployment": ("spec", "template"), "ReplicaSet": ("spec", "template"), "StatefulSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"), "DaemonSet": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def parse_workload(f: Field, kind: str) -> Pod:
    """The pods a workload creates, as one endpoint: the template's labels and ports, and how many."""
    namespace, name, meta = _metadata(f, namespaced=True)
    template = f
    for key in _TEMPLATES[kind]:
        template = template.child(key)
    template.required().mapping()
    labels = parse_labels(template.child("metadata").child("labels"))
    spec = template.child("spec").required()
    ports, host_network, _ = _pod_spec(spec)
    return Pod(namespace, f"{kind.lower()}/{name}", labels, ports, (), host_network, None, f.location,
               workload=kind, replicas=_replicas(f, kind), lint_ignore=lint_ignore(meta),
               service_account=spec.get("serviceAccountName", str) or None)


def _replicas(f: Field, kind: str) -> int | None:
    if kind == "DaemonSet":
        return None
    spec = f.child("spec") if kind != "CronJob" else f.child("spec").child("jobTemplate").child("spec")
    count = spec.child("parallelism" if kind in ("Job", "CronJob") else "replicas")
    if not count.present:
        return 1
    value = count.integer()
    if value < 0:
        count.fail(f"must be >= 0, not {value}")
    return value


def workload_owner(f: Field) -> str | None:
    """The workload that controls this one (a Deployment's ReplicaSet, a CronJob's Job)."""
    return _owner(_controller(f.child("metadata")), {})


def parse_service(f: Field) -> Service:
    namespace, name, meta = _metadata(f, namespaced=True)
    spec = f.child("spec")
    spec.mapping()
    selector_field = spec.child("selector")
    selector = parse_labels(selector_field) if selector_field.present else None
    ports = []
    for p in spec.child("ports").items():
        p.mapping()
        number = port_number(p.child("port").required())
        name_field = p.child("name")
        target_field = p.child("targetPort")
        target: int | str = number
        if target_field.present:
            target = port_name(target_field) if isinstance(target_field.value, str) else port_number(target_field)
        ports.append(ServicePort(number, parse_protocol(p.child("protocol")),
                                 name_field.string() if name_field.present else None, target))
    return Service(namespace, name, selector, tuple(ports), f.location, parse_labels(meta.child("labels")))


def pod_has_finished(f: Field) -> bool:
    """Succeeded and Failed pods keep no network: policies and connections no longer concern them."""
    return f.child("status").get("phase", str) in ("Succeeded", "Failed")


def _ip_address(text: str) -> Any:
    """An IP address as the API server takes it (Kubernetes 1.36+, StrictIPCIDRValidation): what
    ipaddress.ip_address reads, without a zone or an IPv4-mapped IPv6 form; libc's strict IPv4 parser
    goes first, four times faster on 150k pods."""
    try:
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except OSError:
        ip = ipaddress.ip_address(text)
        if ip.version == 6 and (ip.scope_id is not None or ip.ipv4_mapped is not None):
            raise ValueError(text) from None
        return ip


def _address_problem(text: str) -> str:
    """Why an address the API server rejects is not one, with the form to write where there is one."""
    if "%" in text:
        return f"{text!r} is not an IP address: a zone (%...) is not allowed"
    mapped = _mapped_ipv4(text)
    if mapped is not None:
        return f"{text!r} is not an IP address the API server takes: it is IPv4-mapped (write {mapped})"
    octets = _octets(text)
    if octets is not None:
        return f"{text!r} is not an IP address: leading 0s are not allowed, some software reads them as octal " \
               f"(write {octets})"
    return f"{text!r} is not an IP address"


def _mapped_ipv4(text: str) -> ipaddress.IPv4Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped if ip.version == 6 else None


def _address(status: Field, key: str, index: int | None = None) -> Any:
    """The address at status.<key> (or status.<key>[index].ip), None when absent; read from the raw
    values, with a field built only to name a bad one. status.hostIP is the node's address, which a
    pod may always talk to and hear from."""
    if index is None:
        text: Any = status.get(key, str)
    else:
        entry = status.value[key][index]
        text = entry.get("ip") if type(entry) is dict else False  # False: not an object, named below
    if text is None:
        return None
    if type(text) is str:
        try:
            return _ip_address(text)
        except ValueError:
            pass
    f = status.child(key)
    if index is not None:
        f = f.items()[index]
        f.mapping()
        f = f.child("ip")
    f.fail(_address_problem(f.string()))


def _pod_ips(status: Field) -> tuple[Any, ...]:
    """status.podIP, then each of status.podIPs, every address once."""
    status.mapping()
    found = [_address(status, "podIP")]
    found.extend(_address(status, "podIPs", i) for i in range(len(status.get("podIPs", list) or ())))
    return tuple(ip for ip in dict.fromkeys(found) if ip is not None)
