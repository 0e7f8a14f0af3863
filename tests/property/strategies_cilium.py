"""Hypothesis strategies for random CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies, in manifest (dict)
form, over the pods, labels and addresses of tests/property/strategies.py."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.property.strategies import CIDRS, NAMESPACES, selector

ENTITIES = ["world", "cluster", "host", "remote-node", "all", "kube-apiserver", "health"]
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
    extra = draw(st.sampled_from([None, None, None, "account", "namespace-labels", "reserved"]))
    if extra == "account":
        out["matchLabels"]["io.cilium.k8s.policy.serviceaccount"] = draw(st.sampled_from(ACCOUNTS))
    elif extra == "namespace-labels":
        out["matchExpressions"].append({"key": "io.cilium.k8s.namespace.labels.team", "operator": draw(
            st.sampled_from(["In", "NotIn"])), "values": ["x"]})
    elif extra == "reserved":
        out["matchExpressions"].append({"key": f"reserved:{draw(st.sampled_from(['host', 'world', 'remote-node']))}",
                                        "operator": draw(st.sampled_from(["Exists", "DoesNotExist"]))})
    return out


ACCOUNTS = ["default", "robot"]


def with_accounts(objects: list[dict[str, Any]], accounts: list[str | None]) -> list[dict[str, Any]]:
    """The pods of a drawn cluster with service accounts (None: none written, so `default`)."""
    pods = [o for o in objects if o["kind"] == "Pod"]
    for o, account in zip(pods, accounts, strict=False):
        if account is not None:
            o["spec"]["serviceAccountName"] = account
    return objects


@st.composite
def entry(draw: st.DrawFn, direction: str, deny: bool) -> dict[str, Any]:
    side = "from" if direction == "ingress" else "to"
    out: dict[str, Any] = {}
    peer = draw(st.sampled_from(["none", "endpoints", "entities", "cidr", "cidrSet"]
                                + (["services"] if direction == "egress" else [])))
    if peer == "endpoints":
        out[f"{side}Endpoints"] = draw(st.lists(endpoint_selector(), max_size=2))
    elif peer == "entities":
        out[f"{side}Entities"] = draw(st.lists(st.sampled_from(ENTITIES), min_size=1, max_size=2))
    elif peer == "cidr":
        out[f"{side}CIDR"] = [draw(st.sampled_from(CIDRS))[0]]
    elif peer == "cidrSet":
        cidr, excepts = draw(st.sampled_from(CIDRS))
        out[f"{side}CIDRSet"] = [{"cidr": cidr, **({"except": excepts} if excepts else {})}]
    elif peer == "services":
        out["toServices"] = [draw(st.sampled_from([
            {"k8sService": {"serviceName": "svc", "namespace": "a"}}, {"k8sService": {"serviceName": "svc"}},
            {"k8sServiceSelector": {"selector": {"matchLabels": {"tier": "f"}}}}]))]
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
        if draw(st.booleans()):
            out["icmps"][0]["fields"].append({"family": "IPv6", "type": "EchoRequest"})
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
