"""A deliberately naive evaluator of Cilium's verdict at L3/L4 for one connection, written from the semantics
brief (shared/reference/cilium-policies.md, cited as §N below) and nothing else: CiliumNetworkPolicy,
CiliumClusterwideNetworkPolicy and NetworkPolicy together, as the Cilium 1.20 agent enforces them.

Like netpol/reference/__init__.py it shares nothing with the engine but the model and LabelSelector.matches: no
index, no classes of pods, no compiled form. Property tests compare the engine with it, so keep it
obviously correct rather than fast. What depends on runtime facts matches nothing here (toFQDNs, toGroups,
Services without a selector); L7 rules and mutual authentication admit the L4 connection (§1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netpol.model import (
    Cluster,
    Direction,
    IPAddress,
    IPBlockPeer,
    IPNetwork,
    NetworkPolicy,
    Pod,
    PodPeer,
    PolicyPort,
    Rule,
)
from netpol.model.cilium import (
    ANY_SOURCE,
    CLUSTER_LABEL,
    K8S_SOURCE,
    L4_PROTOCOLS,
    NAMESPACE_LABELS_PREFIX,
    POD_NAMESPACE_LABEL,
    RESERVED_SOURCE,
    SERVICE_ACCOUNT_LABEL,
    CIDRPeer,
    CiliumEntry,
    CiliumOptions,
    CiliumPeer,
    CiliumPolicy,
    CiliumPort,
    QueryProtocol,
    split_key,
)
from netpol.model.portsets import icmp_type_code
from netpol.model.selectors import LabelSelector, Requirement, requirement

Endpoint = Pod | IPAddress
Kind = Literal["pod", "host", "remote-node", "world"]

# §2.1: pod label keys the identity filter drops (prefixes, substrings, whole keys); io.kubernetes.pod.namespace
# is set by the agent itself, and pod labels under io.cilium.k8s are dropped as unforgeable.
_DROPPED_PREFIXES = ("kubernetes.io", "k8s.io", "io.kubernetes", "topology.kubernetes.io", "annotation",
                     "pod-template-hash", "pod-template-generation", "controller-revision-hash", "controller-uid",
                     "etcd_node", "io.cilium.k8s")
_DROPPED_KEYS = ("statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
                 "batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/controller-uid")


@dataclass(frozen=True)
class _Identity:
    """What the agent sees of a peer (§2.4, §2.5): a pod (its identity labels), the evaluated endpoint's own
    node (`host`), another node (`remote-node`), or an address outside the cluster (`world`)."""

    kind: Kind
    labels: dict[str, str]  # "source:key" -> value, any: included, for selectors (§2.2)
    addresses: tuple[IPAddress, ...]
    pod: Pod | None = None
    node: str = ""  # the node a host or remote-node identity is ("": a node the input does not name)
    host_network_pod: bool = False  # a host-network pod, which is its node


def cilium_allowed(cluster: Cluster, src: Endpoint, dst: Endpoint, protocol: QueryProtocol, port: int,
                   options: CiliumOptions | None = None) -> bool:
    """Whether a new connection src -> dst on protocol/port is allowed; for ICMP and ICMPv6 `port` is the type and
    code as netpol encodes them (portsets.icmp_value: type * 256 + code); a Cilium rule names whole types (§5).
    `options`: the agent options (§1.3); None: the input's (--cni-option), else 1.20's defaults."""
    options = options or cluster.cilium_options or CiliumOptions()
    if isinstance(src, Pod) and isinstance(dst, Pod) and src.key == dst.key and src.is_one_pod:
        return True  # §3.4: pod -> own IP never reaches the datapath; replicas are distinct pods
    # §3.4: S -> D needs S's egress and D's ingress; replies pass by connection tracking (not asked here)
    return (_side(cluster, options, "egress", src, dst, dst, protocol, port)
            and _side(cluster, options, "ingress", dst, src, dst, protocol, port))


def _side(cluster: Cluster, options: CiliumOptions, direction: Direction, subject: Endpoint, other: Endpoint,
          dst: Endpoint, protocol: QueryProtocol, port: int) -> bool:
    """§3.3, the verdict of one direction at `subject`."""
    if not isinstance(subject, Pod) or subject.host_network:
        return True  # §2.5, §3.4: only endpoints have a side; nodes, host-network pods, outside addresses do not
    if options.enable_policy == "never":
        return True  # §1.3 enable-policy=never: nothing enforced
    peer = _identity(cluster, options, subject, other)
    isolated = options.enable_policy == "always"  # §1.3: every endpoint default-deny, even with no rule
    entries = allowed = False
    for policy, entry in _cilium_entries(cluster, options, subject, direction):  # §3.1
        entries = True
        # §3.2: an entry isolates unless enableDefaultDeny.<dir> is false (ignored when the agent option
        # enable-non-default-deny-policies is off, §1.3); deny entries count too
        isolated = isolated or entry.default_deny or not options.non_default_deny_policies
        if _entry_matches(cluster, options, policy, entry, direction, peer, dst, protocol, port):
            if entry.deny:
                return False  # §3.3: a matching deny beats every allow, of any kind, and the localhost rule
            allowed = True
    for matched in _network_policy_entries(cluster, options, subject, direction, peer, dst, protocol, port):
        entries = isolated = True  # §6.1: every NetworkPolicy entry is an allow and default-deny
        allowed = allowed or matched
    if not isolated or allowed:
        return True  # §3.3: not isolated, or an allow of any CNP, CCNP or NetworkPolicy matches (a union)
    # §3.3, §3.5: ingress from the endpoint's own node, with allow-localhost=always, when it has entries
    return direction == "ingress" and peer.kind == "host" and options.allow_localhost == "always" and entries


# -- which rules apply (§3.1) ------------------------------------------------------------------------


def _cilium_entries(cluster: Cluster, options: CiliumOptions, pod: Pod,
                    direction: Direction) -> list[tuple[CiliumPolicy, CiliumEntry]]:
    labels = _labels(_pod_labels(cluster, pod, options), K8S_SOURCE)
    out = []
    for policy in cluster.cilium:
        for rule in policy.rules:
            if rule.endpoint_selector is None:
                continue  # §1.2: a nodeSelector (host policy) has no effect without the host firewall
            if _subject(policy, rule.endpoint_selector, labels):
                out.extend((policy, e) for e in rule.entries(direction))  # §3.2: one entry per item
    return out


def _subject(policy: CiliumPolicy, selector: LabelSelector, labels: dict[str, str]) -> bool:
    """§2.3: a CNP's endpointSelector gains k8s:io.kubernetes.pod.namespace=<its namespace> (replacing a
    matchLabels entry of that key; other namespace terms are ANDed); a CCNP's selects in every namespace."""
    reqs = list(selector.requirements)
    if policy.namespace is not None:
        reqs = [r for r in reqs if not (r.key == f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}" and r.operator == "In"
                                        and len(r.values) == 1)]
        reqs.append(requirement(f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}", "In", [policy.namespace]))
    return all(r.matches(labels) for r in reqs)


# -- identities (§2) ----------------------------------------------------------------------------------


def _identity_relevant(key: str) -> bool:
    """§2.1: the identity filter."""
    return not (key.startswith(_DROPPED_PREFIXES) or "beta.kubernetes.io" in key or key in _DROPPED_KEYS)


def _pod_labels(cluster: Cluster, pod: Pod, options: CiliumOptions) -> dict[str, str]:
    """§2.1: a pod's identity labels (source k8s)."""
    out = {k: v for k, v in pod.labels if _identity_relevant(k)}
    out[POD_NAMESPACE_LABEL] = pod.namespace
    namespace = cluster.namespaces_by_name.get(pod.namespace)
    for k, v in namespace.labels if namespace is not None else ():
        out[NAMESPACE_LABELS_PREFIX + k] = v
    out[SERVICE_ACCOUNT_LABEL] = pod.service_account or "default"  # admission's default
    out[CLUSTER_LABEL] = options.cluster_name
    return out


def _labels(plain: dict[str, str], source: str) -> dict[str, str]:
    """§2.2: labels of one source as selectors see them: source:key, and any:key (any source matches)."""
    out = {f"{source}:{k}": v for k, v in plain.items()}
    out.update({f"{ANY_SOURCE}:{k}": v for k, v in plain.items()})
    return out


def _node_of(cluster: Cluster, address: IPAddress) -> str | None:
    """The node an address belongs to (Node status.addresses, a pod's status.hostIP, a host-network pod's IP);
    "" for a node address of no known node name."""
    for node in cluster.nodes:
        if address in node.addresses:
            return node.name
    for pod in cluster.pods:
        if pod.host_ip == address or (pod.host_network and address in pod.ips):
            return pod.node or ""
    return None


def _identity(cluster: Cluster, options: CiliumOptions, subject: Pod, peer: Endpoint) -> _Identity:
    """§2.4, §2.5, §4.2: who the peer is to the agent at `subject`'s node."""
    if isinstance(peer, Pod) and not peer.host_network:
        return _Identity("pod", _labels(_pod_labels(cluster, peer, options), K8S_SOURCE), peer.ips, peer)
    if isinstance(peer, Pod):
        node: str | None = peer.node or ""  # §2.5: a host-network pod is its node
        addresses = peer.ips
    else:
        owner = next((p for p in cluster.pods if not p.host_network and peer in p.ips), None)
        if owner is not None:
            return _identity(cluster, options, subject, owner)  # §4.2: an address that is a pod IP is the pod
        node = _node_of(cluster, peer)
        addresses = (peer,)
        if node is None:
            return _Identity("world", _labels({"world": ""}, RESERVED_SOURCE), addresses)
    # §2.4: `host` is the evaluated endpoint's own node; an unknown node is never taken for it
    kind: Kind = "host" if node and subject.node == node else "remote-node"
    return _Identity(kind, _labels({kind: ""}, RESERVED_SOURCE), addresses, node=node or "",
                     host_network_pod=isinstance(peer, Pod))


# -- does an entry match (§4, §5) -------------------------------------------------------------------


def _entry_matches(cluster: Cluster, options: CiliumOptions, policy: CiliumPolicy, entry: CiliumEntry,
                   direction: Direction, peer: _Identity, dst: Endpoint, protocol: QueryProtocol, port: int) -> bool:
    if entry.peer is None:
        # §4.1: no peer field: with ports, any peer; without, nothing (§3.2: `ingress: [{}]` allows nothing)
        return bool(entry.to_ports or entry.icmps) and _l4(entry, dst, protocol, port)
    return _peer(cluster, options, policy, entry.peer, direction, peer) and _l4(entry, dst, protocol, port)


def _peer(cluster: Cluster, options: CiliumOptions, policy: CiliumPolicy, field: CiliumPeer, direction: Direction,
          peer: _Identity) -> bool:
    """§4.1: the items of the one peer field are ORed; an empty list matches nothing."""
    if field.endpoints:
        return any(_endpoint_peer(policy.namespace, s, peer, options) for s in field.endpoints)
    if field.entities:
        return any(_entity(cluster, e, peer) for e in field.entities)
    if field.cidrs:
        return any(_cidr(cluster, options, c, peer) for c in field.cidrs)
    if field.services:
        return direction == "egress" and any(_service(cluster, s.namespace, s.name, s.selector, peer)
                                             for s in field.services)
    return False  # toFQDNs, toGroups (§1.2: runtime, never a pod or node), or an empty list


def _endpoint_peer(namespace: str | None, selector: LabelSelector, peer: _Identity, options: CiliumOptions) -> bool:
    """§2.3: the terms the agent adds to a fromEndpoints/toEndpoints selector, then Kubernetes matching."""
    keys = [split_key(r.key) for r in selector.requirements]
    names = {k for _, k in keys}
    reqs: list[Requirement] = list(selector.requirements)
    if not any(source == RESERVED_SOURCE for source, _ in keys):
        pod_ns = f"{K8S_SOURCE}:{POD_NAMESPACE_LABEL}"
        if namespace is not None:  # CNP: its namespace, unless the selector names a namespace or its labels
            if POD_NAMESPACE_LABEL not in names and not any(n.startswith(NAMESPACE_LABELS_PREFIX) for n in names):
                reqs.append(requirement(pod_ns, "In", [namespace]))
        elif POD_NAMESPACE_LABEL not in names:  # CCNP: some namespace, so pods only
            reqs.append(requirement(pod_ns, "Exists"))
        if CLUSTER_LABEL not in names and options.default_local_cluster:  # §1.3 policy-default-local-cluster
            reqs.append(requirement(f"{K8S_SOURCE}:{CLUSTER_LABEL}", "In", [options.cluster_name]))
    return all(r.matches(peer.labels) for r in reqs)


def _entity(cluster: Cluster, entity: str, peer: _Identity) -> bool:
    """§2.4: what each entity stands for; health, ingress, init and unmanaged match nothing netpol knows (no such
    endpoint in manifests), none nothing."""
    if entity == "all":
        return True
    if entity == "kube-apiserver":
        return _api_server(cluster, peer)
    if entity in ("cluster", "cluster-mesh"):
        # every pod of this cluster, host and remote nodes; not world, but an API server outside the cluster
        return peer.kind != "world" or _api_server(cluster, peer)
    return entity == peer.kind and entity in ("world", "host", "remote-node")


def _api_server(cluster: Cluster, peer: _Identity) -> bool:
    """§2.4 kube-apiserver: the endpoints of Service default/kubernetes (its EndpointSlices); a node that has one of
    them carries the label (all of it: its addresses and host-network pods); a pod never does here. A node the
    input does not name is only the addresses asked about."""
    if peer.kind == "pod":
        return False
    if not peer.node:  # an address asked about; a host-network pod on no node is never taken for it
        return not peer.host_network_pod and any(ip in cluster.api_server for ip in peer.addresses)
    candidates = [*(ip for n in cluster.nodes for ip in n.addresses), *(p.host_ip for p in cluster.pods if p.host_ip),
                  *(ip for p in cluster.pods if p.host_network for ip in p.ips)]
    return any(ip in cluster.api_server and _node_of(cluster, ip) == peer.node for ip in candidates
               if not any(ip in p.ips for p in cluster.pods if not p.host_network))


def _cidr(cluster: Cluster, options: CiliumOptions, item: CIDRPeer, peer: _Identity) -> bool:
    """§4.2: CIDR peers match outside addresses only (policy-cidr-match-mode empty); `nodes` adds node
    addresses (never through a /0 prefix, cilium#47827), `pods` pod IPs."""
    modes = options.policy_cidr_match_mode
    nodes = peer.kind in ("host", "remote-node") and "nodes" in modes
    if not (peer.kind == "world" or nodes or (peer.kind == "pod" and "pods" in modes)):
        return False
    networks: list[IPNetwork] = [item.cidr] if item.cidr is not None else []
    for group in cluster.cidr_groups:  # a missing group is nothing
        if group.name == item.group or (item.group_selector is not None and item.group_selector.matches(
                _labels(dict(group.labels), K8S_SOURCE))):
            networks.extend(group.cidrs)
    return any(_inside(ip, net) and not any(_inside(ip, e) for e in item.excepts)
               for ip in peer.addresses for net in networks if not (nodes and net.prefixlen == 0))


def _inside(ip: IPAddress, net: IPNetwork) -> bool:
    return ip.version == net.version and ip in net


def _service(cluster: Cluster, namespace: str | None, name: str | None, selector: LabelSelector | None,
             peer: _Identity) -> bool:
    """§4.3: Services by name or labels, in `namespace` or every namespace; a Service with a selector is its pods
    (its selector in its namespace); one without is its EndpointSlices' addresses, which netpol does not read."""
    for svc in cluster.services:
        if namespace is not None and svc.namespace != namespace:
            continue
        if name is not None and svc.name != name:
            continue
        if selector is not None and not selector.matches(_labels(dict(svc.labels), K8S_SOURCE)):
            continue
        if svc.selector is not None and peer.pod is not None and peer.pod.namespace == svc.namespace and all(
                peer.labels.get(f"{K8S_SOURCE}:{k}") == v for k, v in svc.selector):
            return True
    return False


def _l4(entry: CiliumEntry, dst: Endpoint, protocol: QueryProtocol, port: int) -> bool:
    """§5: no toPorts and no icmps admit every protocol, ICMP included; else one port or ICMP type must match
    (an item with no ports matches nothing, §9 Q5); a toPorts rule admits no new ICMP."""
    if not entry.to_ports and not entry.icmps:
        return True
    if protocol in ("ICMP", "ICMPv6"):
        family = "IPv4" if protocol == "ICMP" else "IPv6"
        return any(t.family == family and t.type == icmp_type_code(port)[0] for item in entry.icmps for t in item)
    return any(_port(p, dst, protocol, port) for rule in entry.to_ports for p in rule.ports)


def _port(p: CiliumPort, dst: Endpoint, protocol: QueryProtocol, port: int) -> bool:
    """§5: ANY is TCP, UDP and SCTP; port 0 every port; endPort an inclusive range; a named port resolves on the
    destination pod with its container port's protocol, never on a node or outside address."""
    protocols = L4_PROTOCOLS if p.protocol == "ANY" else (p.protocol,)
    if protocol not in protocols:
        return False
    if isinstance(p.port, str):
        return _named(p.port, dst, protocol, port)
    return p.port == 0 or p.port <= port <= (p.end_port or p.port)


def _named(name: str, dst: Endpoint, protocol: str, port: int) -> bool:
    return isinstance(dst, Pod) and not dst.host_network and any(
        c.name == name and c.protocol == protocol and c.port == port for c in dst.ports)


# -- NetworkPolicy under Cilium (§6.1) ----------------------------------------------------------------


def _network_policy_entries(cluster: Cluster, options: CiliumOptions, pod: Pod, direction: Direction,
                            peer: _Identity, dst: Endpoint, protocol: QueryProtocol, port: int) -> list[bool]:
    """One entry per peer of each rule (one any-peer entry for a rule without peers), or one that matches
    nothing for a policy that isolates a direction it has no rules for; each: does it match."""
    out: list[bool] = []
    labels = _labels(_pod_labels(cluster, pod, options), K8S_SOURCE)
    for policy in cluster.policies:
        if policy.namespace != pod.namespace or not policy.pod_selector.matches(_plain(labels)):
            continue
        rules = policy.rules(direction)
        if not rules:
            # §6.1: policyTypes is ignored when rules exist; without rules, ingress is isolated if policyTypes
            # has Ingress or lacks Egress, egress if it has Egress
            types = policy.policy_types
            if ("Ingress" in types or "Egress" not in types) if direction == "ingress" else "Egress" in types:
                out.append(False)
            continue
        for rule in rules:
            if not rule.peers:  # §6.1: an empty or absent from/to is every identity
                out.append(_np_ports(rule, dst, protocol, port))
            out.extend(_np_peer(cluster, options, policy, p, peer) and _np_ports(rule, dst, protocol, port)
                       for p in rule.peers)
    return out


def _plain(labels: dict[str, str]) -> dict[str, str]:
    """k8s: labels without their source: what a NetworkPolicy selector (keys k8s:) sees."""
    return {k.removeprefix(f"{K8S_SOURCE}:"): v for k, v in labels.items() if k.startswith(f"{K8S_SOURCE}:")}


def _np_peer(cluster: Cluster, options: CiliumOptions, policy: NetworkPolicy, spec: PodPeer | IPBlockPeer,
             peer: _Identity) -> bool:
    if isinstance(spec, IPBlockPeer):  # §6.1: ipBlock is a CIDR peer with except: world only by default
        return _cidr(cluster, options, CIDRPeer(spec.block.cidr, spec.block.excepts), peer)
    if peer.pod is None:
        return False  # §6.1, §2.3: the cluster term makes pod peers match pods only, never host-network pods
    if spec.namespace_selector is None:  # podSelector alone: the policy's namespace
        namespace_ok = peer.pod.namespace == policy.namespace
    else:  # io.cilium.k8s.namespace.labels.* terms; {} is every namespace
        namespace = cluster.namespaces_by_name.get(peer.pod.namespace)
        namespace_ok = spec.namespace_selector.matches(dict(namespace.labels) if namespace is not None else {})
    return namespace_ok and (spec.pod_selector is None or spec.pod_selector.matches(_plain(peer.labels)))


def _np_ports(rule: Rule, dst: Endpoint, protocol: QueryProtocol, port: int) -> bool:
    """§6.1: no ports is every protocol (ICMP included, §5); a port's protocol defaults to TCP; no port number is
    every port; endPort inclusive; named ports as §5."""
    return not rule.ports or any(_np_port(p, dst, protocol, port) for p in rule.ports)


def _np_port(p: PolicyPort, dst: Endpoint, protocol: QueryProtocol, port: int) -> bool:
    if p.protocol != protocol:
        return False
    if p.port is None:
        return True
    if isinstance(p.port, str):
        return _named(p.port, dst, protocol, port)
    return p.port <= port <= (p.end_port or p.port)
