"""Hypothesis strategies for small random clusters, in manifest (dict) form."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from netpol.model.portsets import icmp_value

NAMESPACES = ["a", "b", "c"]
LABEL_VALUES = {"app": ["p", "q", "r"], "tier": ["f", "b"], "team": ["x", "y"]}
CONTAINER_PORTS = [(80, "TCP", "http"), (8080, "TCP", "http"), (53, "UDP", "dns"), (53, "TCP", "dns"),
                   (443, "TCP", None), (80, "SCTP", "http")]
IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.1.1", "10.0.1.2", "192.168.0.1"]
CIDRS = [("10.0.0.0/24", []), ("10.0.0.0/16", ["10.0.1.0/24"]), ("0.0.0.0/0", ["10.0.0.0/8"]),
         ("10.0.0.0/30", []), ("198.51.100.0/24", [])]
EXTERNAL = ["10.0.0.2", "198.51.100.7", "203.0.113.1", "10.0.1.5"]
PROBES = [("TCP", 80), ("TCP", 8080), ("UDP", 53), ("TCP", 53), ("SCTP", 80), ("TCP", 443), ("TCP", 9000)]
# ICMP is no port: rules with ports never match it, rules without ports always do (docs/semantics.md).
ICMP_PROBES = [("ICMP", icmp_value(8, 0)), ("ICMPv6", icmp_value(128, 0)), ("ICMP", icmp_value(3, 4))]


def _port_name(port: tuple[int, str, str | None]) -> str:
    """Port names are unique within a pod (the API server rejects a repeated one)."""
    return port[2] or f"{port[0]}/{port[1]}"


def label_map() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(sorted(LABEL_VALUES)), st.sampled_from(["p", "q", "f", "x"]), max_size=3).map(
        lambda d: {k: v if v in LABEL_VALUES[k] else LABEL_VALUES[k][0] for k, v in d.items()}
    )


@st.composite
def selector(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["matchLabels"] = draw(label_map())
    if draw(st.booleans()):
        exprs = []
        for _ in range(draw(st.integers(0, 2))):
            key = draw(st.sampled_from(sorted(LABEL_VALUES)))
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            expr: dict[str, Any] = {"key": key, "operator": op}
            if op in ("In", "NotIn"):
                expr["values"] = draw(st.lists(st.sampled_from(LABEL_VALUES[key]), min_size=1, max_size=2))
            exprs.append(expr)
        out["matchExpressions"] = exprs
    return out


@st.composite
def peer(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pod", "ns", "both", "ip"]))
    if kind == "ip":
        cidr, excepts = draw(st.sampled_from(CIDRS))
        block: dict[str, Any] = {"cidr": cidr}
        if excepts:
            block["except"] = excepts
        return {"ipBlock": block}
    out: dict[str, Any] = {}
    if kind in ("pod", "both"):
        out["podSelector"] = draw(selector())
    if kind in ("ns", "both"):
        out["namespaceSelector"] = draw(selector())
    return out


@st.composite
def policy_port(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    proto = draw(st.sampled_from([None, "TCP", "UDP", "SCTP"]))
    if proto:
        out["protocol"] = proto
    port = draw(st.sampled_from([None, 80, 53, 443, "http", "dns", "range"]))
    if port == "range":
        out["port"], out["endPort"] = 53, 8080
    elif port is not None:
        out["port"] = port
    return out


@st.composite
def rules(draw: st.DrawFn, peers_key: str) -> list[dict[str, Any]] | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    out = []
    for _ in range(draw(st.integers(0, 2))):
        rule: dict[str, Any] = {}
        if draw(st.booleans()):
            rule[peers_key] = draw(st.lists(peer(), max_size=2))
        if draw(st.booleans()):
            rule["ports"] = draw(st.lists(policy_port(), max_size=2))
        out.append(rule)
    return out


@st.composite
def cluster(draw: st.DrawFn) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        if draw(st.booleans()):
            objects.append({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": ns, "labels": draw(label_map())}})
    for i in range(draw(st.integers(1, 6))):
        ports = draw(st.lists(st.sampled_from(CONTAINER_PORTS), max_size=3, unique_by=_port_name))
        pod: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod{i}", "namespace": draw(st.sampled_from(NAMESPACES)), "labels": draw(label_map())},
            "spec": {"containers": [{"name": "c", "ports": [
                {"containerPort": n, "protocol": p, **({"name": nm} if nm else {})} for n, p, nm in ports]}]},
        }
        ip = draw(st.sampled_from(IPS + [None]))
        if ip:
            pod["status"] = {"podIP": ip}
        host_ip = draw(st.sampled_from([None, None, "198.51.100.7", "192.168.0.1"]))
        if host_ip:
            pod.setdefault("status", {})["hostIP"] = host_ip
        if draw(st.integers(0, 5)) == 0:
            pod["spec"]["hostNetwork"] = True
        node = draw(st.sampled_from([None, "n1", "n2"]))
        if node:
            pod["spec"]["nodeName"] = node
        objects.append(pod)
    for i in range(draw(st.integers(0, 2))):  # workloads: one endpoint for 1 or 2 replicas (not "self")
        labels = draw(label_map())
        template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "ports": [
            {"containerPort": n, "protocol": p, **({"name": nm} if nm else {})}
            for n, p, nm in draw(st.lists(st.sampled_from(CONTAINER_PORTS), max_size=2, unique_by=_port_name))]}]}}
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": f"work{i}", "namespace": draw(st.sampled_from(NAMESPACES))},
                        "spec": {"replicas": draw(st.integers(1, 2)), "selector": {"matchLabels": labels},
                                 "template": template}})
    for i in range(draw(st.integers(0, 4))):
        spec: dict[str, Any] = {"podSelector": draw(selector())}
        types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        if types:
            spec["policyTypes"] = types
        for key, peers_key in (("ingress", "from"), ("egress", "to")):
            value = draw(rules(peers_key))
            if value is not None:
                spec[key] = value
        objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": f"pol{i}", "namespace": draw(st.sampled_from(NAMESPACES))},
                        "spec": spec})
    return objects


NODES = {"n1": {"labels": {"zone": "a"}, "addresses": ["192.168.0.1", "203.0.113.1"]},
         "n2": {"labels": {"zone": "b"}, "addresses": ["192.168.0.2"]}}
NETWORKS = ["10.0.0.0/24", "10.0.0.0/16", "0.0.0.0/0", "10.0.0.2/32", "198.51.100.0/24", "203.0.113.0/24"]


@st.composite
def tier_selector(draw: st.DrawFn, v2: bool) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"namespaces": draw(selector())}
    pods: dict[str, Any] = {"podSelector": draw(selector())}
    if not v2 or draw(st.booleans()):
        pods["namespaceSelector"] = draw(selector())
    return {"pods": pods}


@st.composite
def tier_peer(draw: st.DrawFn, egress: bool, v2: bool, baseline_v1: bool) -> dict[str, Any]:
    kinds = ["sel", "sel", "unknown"] + (["networks", "networks", "nodes"] if egress else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "sel":
        return draw(tier_selector(v2))
    if kind == "networks":
        return {"networks": draw(st.lists(st.sampled_from(NETWORKS), min_size=1, max_size=2, unique=True))}
    if kind == "nodes":
        return {"nodes": {"matchLabels": {"zone": draw(st.sampled_from(["a", "b"]))}}}
    return {"futurePeer": {"x": 1}}


@st.composite
def tier_ports(draw: st.DrawFn, v2: bool, named_ok: bool) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(1, 2))):
        choice = draw(st.sampled_from(["number", "range"] + (["named"] if named_ok else [])))
        proto = draw(st.sampled_from(["TCP", "UDP", "SCTP"]))
        if choice == "named":
            name = draw(st.sampled_from(["http", "dns"]))
            out.append({"destinationNamedPort": name} if v2 else {"namedPort": name})
        elif choice == "number":
            port = draw(st.sampled_from([80, 53, 443, 8080]))
            out.append({proto.lower(): {"destinationPort": {"number": port}}} if v2
                       else {"portNumber": {"protocol": proto, "port": port}})
        else:
            out.append({proto.lower(): {"destinationPort": {"range": {"start": 53, "end": 8080}}}} if v2
                       else {"portRange": {"protocol": proto, "start": 53, "end": 8080}})
    return out


@st.composite
def tiered_policy(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["ANP", "BANP", "CNP-Admin", "CNP-Baseline"]))
    v2 = kind.startswith("CNP")
    banp = kind == "BANP"
    actions = ["Accept", "Deny", "Pass"] if v2 else ["Allow", "Deny"] if banp else ["Allow", "Deny", "Pass"]
    spec: dict[str, Any] = {"subject": draw(tier_selector(v2))}
    if not banp:
        spec["priority"] = draw(st.sampled_from([0, 5, 10, 1000]))
    if v2:
        spec["tier"] = kind.split("-")[1]
    for direction, key in (("ingress", "from"), ("egress", "to")):
        rules = []
        for _ in range(draw(st.integers(0, 3))):
            peers = draw(st.lists(tier_peer(direction == "egress", v2, banp), min_size=1, max_size=2))
            rule: dict[str, Any] = {"action": draw(st.sampled_from(actions)), key: peers}
            named_ok = not any(set(p) & {"networks", "nodes"} for p in peers)
            if draw(st.booleans()):
                rule["protocols" if v2 else "ports"] = draw(tier_ports(v2, named_ok))
            rules.append(rule)
        if rules:
            spec[direction] = rules
    api = "policy.networking.k8s.io/v1alpha2" if v2 else "policy.networking.k8s.io/v1alpha1"
    k = "ClusterNetworkPolicy" if v2 else "BaselineAdminNetworkPolicy" if banp else "AdminNetworkPolicy"
    return {"apiVersion": api, "kind": k, "metadata": {"name": "default" if banp else f"t{index}"}, "spec": spec}


@st.composite
def tiered_cluster(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A random cluster, plus random Admin/Baseline policies of both API versions and the nodes."""
    objects = draw(cluster())
    objects += [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": n["labels"]},
                 "status": {"addresses": [{"type": "InternalIP", "address": a} for a in n["addresses"]]}}
                for name, n in NODES.items()]
    policies = [draw(tiered_policy(i)) for i in range(draw(st.integers(1, 4)))]
    seen = set()
    for p in policies:  # one BANP at most; names unique per kind
        key = (p["kind"], p["metadata"]["name"])
        if key not in seen:
            seen.add(key)
            objects.append(p)
    return objects
