"""Hypothesis strategies for random CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies, in manifest (dict)
form, over the pods, labels and addresses of tests/property/strategies.py."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.property.strategies import CIDRS, NAMESPACES, selector

ENTITIES = ["world", "cluster", "host", "remote-node", "all", "kube-apiserver"]
PORTS = ["80", "53", "0", "443", "http", "dns"]


@st.composite
def endpoint_selector(draw: st.DrawFn) -> dict[str, Any]:
    """A selector whose keys carry a source or none, sometimes naming a namespace."""
    out = draw(selector())
    prefix = draw(st.sampled_from(["", "k8s:", "any:"]))
    out = {"matchLabels": {prefix + k: v for k, v in out.get("matchLabels", {}).items()},
           "matchExpressions": [{**e, "key": prefix + e["key"]} for e in out.get("matchExpressions", [])]}
    if draw(st.integers(0, 3)) == 0:
        out["matchExpressions"].append({"key": "io.kubernetes.pod.namespace", "operator": "In",
                                        "values": draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=2))})
    return out


@st.composite
def entry(draw: st.DrawFn, direction: str, deny: bool) -> dict[str, Any]:
    side = "from" if direction == "ingress" else "to"
    out: dict[str, Any] = {}
    peer = draw(st.sampled_from(["none", "endpoints", "entities", "cidr", "cidrSet"]))
    if peer == "endpoints":
        out[f"{side}Endpoints"] = draw(st.lists(endpoint_selector(), max_size=2))
    elif peer == "entities":
        out[f"{side}Entities"] = draw(st.lists(st.sampled_from(ENTITIES), min_size=1, max_size=2))
    elif peer == "cidr":
        out[f"{side}CIDR"] = [draw(st.sampled_from(CIDRS))[0]]
    elif peer == "cidrSet":
        cidr, excepts = draw(st.sampled_from(CIDRS))
        out[f"{side}CIDRSet"] = [{"cidr": cidr, **({"except": excepts} if excepts else {})}]
    l4 = draw(st.sampled_from(["none", "ports", "icmps"]))
    if l4 == "ports":
        ports = []
        for port in draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2)):
            item: dict[str, Any] = {"port": port}
            protocol = draw(st.sampled_from([None, "TCP", "UDP", "ANY"]))
            if protocol:
                item["protocol"] = protocol
            if port == "53" and draw(st.booleans()):
                item["endPort"] = 8080
            ports.append(item)
        out["toPorts"] = [{"ports": ports}]
    elif l4 == "icmps":
        out["icmps"] = [{"fields": [{"type": t} for t in draw(st.lists(st.sampled_from([0, 8]), min_size=1,
                                                                                        max_size=2))]}]
    return out


@st.composite
def cilium_policy(draw: st.DrawFn, index: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"endpointSelector": draw(endpoint_selector())}
    for direction in ("ingress", "egress"):
        for deny in (False, True):
            if draw(st.integers(0, 2)) == 0:
                spec[direction + ("Deny" if deny else "")] = draw(st.lists(entry(direction, deny), max_size=2))
    if not any(spec.get(k) for k in ("ingress", "ingressDeny", "egress", "egressDeny")):
        spec["ingress"] = [{}]  # a rule needs one non-empty section (brief §7.2)
    if draw(st.integers(0, 3)) == 0:
        spec["enableDefaultDeny"] = {d: draw(st.booleans()) for d in ("ingress", "egress")}
    namespace = draw(st.sampled_from([*NAMESPACES, None]))
    if namespace is None:
        return {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                "metadata": {"name": f"ccnp{index}"}, "spec": spec}
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": f"cnp{index}", "namespace": namespace}, "spec": spec}


@st.composite
def cilium_policies(draw: st.DrawFn) -> list[dict[str, Any]]:
    return [draw(cilium_policy(i)) for i in range(draw(st.integers(1, 3)))]
