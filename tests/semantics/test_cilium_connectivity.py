"""The Cilium reference evaluator against cilium-cli's connectivity tests (cilium/cilium, cilium-cli/connectivity:
each test's policies, as `builder/*.go` applies them, and the verdicts its WithExpectations states), on the
suite's own deployment: client, client2 (other=client) and two echo pods in cilium-test, on two nodes."""

from __future__ import annotations

from typing import Any

import pytest

from netpol.model.portsets import icmp_value
from netpol.sources import load_objects
from tests.builders import labels, namespace, pod
from tests.semantics.test_cilium_reference import Row, check

NS = "cilium-test"
EXTERNAL, EXTERNAL_OTHER = "1.1.1.1", "1.0.0.1"  # ct.Params().ExternalIP, ExternalOtherIP


def _pod(name: str, node: str, ip: str, **kv: str) -> dict[str, Any]:
    obj = pod(name, NS, {"name": name, **kv}, [(8080, "TCP", "http")], ip=ip, node=node,
              host_ip="192.168.0.1" if node == "n1" else "192.168.0.2")
    obj["spec"]["serviceAccountName"] = name
    return obj


DEPLOYMENT = [
    namespace(NS),
    _pod("client", "n1", "10.244.0.1", kind="client"),
    _pod("client2", "n1", "10.244.0.2", kind="client", other="client"),
    _pod("echo-same-node", "n1", "10.244.0.3", kind="echo"),
    _pod("echo-other-node", "n2", "10.244.1.3", kind="echo"),
    pod("host-netns-n1", NS, {"kind": "host-netns"}, ip="192.168.0.1", host_network=True, node="n1"),
    pod("host-netns-n2", NS, {"kind": "host-netns"}, ip="192.168.0.2", host_network=True, node="n2"),
]
CLIENTS = [f"{NS}/client", f"{NS}/client2"]
ECHOES = [f"{NS}/echo-same-node", f"{NS}/echo-other-node"]


def cnp(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": NS},
            "spec": {"endpointSelector": spec.pop("endpointSelector", {}), **spec}}


ALLOW_ALL_EGRESS = cnp("allow-all-egress", egress=[{"toEndpoints": [{}]}, {"toCIDR": ["0.0.0.0/0"]}])
ALLOW_ALL_INGRESS = cnp("allow-all-ingress", ingress=[{"fromEndpoints": [{}]}])


def pod_to_pod(want: bool | None = None, **overrides: bool) -> list[Row]:
    """tests.PodToPod(): each client to each echo on 8080; `overrides` by "client->echo-same-node"."""
    rows = []
    for src in CLIENTS:
        for dst in ECHOES:
            name = f"{src.split('/')[1]}->{dst.split('/')[1]}"
            rows.append((src, dst, "TCP", 8080, overrides.get(name, want)))
    return rows  # type: ignore[return-value]


def test_all_ingress_deny() -> None:
    """all_ingress_deny.go: `ingress: [{}]` on every pod; pod to pod drops, egress to the world is OK."""
    check([*DEPLOYMENT, cnp("all-ingress-deny", ingress=[{}])],
          [*pod_to_pod(False), (f"{NS}/client", EXTERNAL, "TCP", 443, True),
           (f"{NS}/client", EXTERNAL_OTHER, "TCP", 443, True)])


def test_echo_ingress_from_other_client_deny() -> None:
    """echo_ingress_from_other_client_deny.go: other=client -> kind=echo is a PolicyDenyIngressDrop, the rest OK."""
    deny = cnp("echo-ingress-from-other-client-deny", endpointSelector=labels(kind="echo"),
               ingressDeny=[{"fromEndpoints": [labels(other="client")]}])
    check([*DEPLOYMENT, ALLOW_ALL_EGRESS, ALLOW_ALL_INGRESS, deny],
          [*pod_to_pod(True, **{"client2->echo-same-node": False, "client2->echo-other-node": False}),
           (f"{NS}/client", f"{NS}/client2", "ICMP", icmp_value(8, 0), True),
           (f"{NS}/client2", f"{NS}/client", "ICMP", icmp_value(8, 0), True)])


def test_client_ingress_from_other_client_icmp_deny() -> None:
    """client_ingress_from_other_client_icmp_deny.go: ICMP echo from other=client to kind=client drops; pod to pod
    (TCP) stays OK."""
    deny = cnp("client-ingress-from-other-client-icmp-deny", endpointSelector=labels(kind="client"),
               ingressDeny=[{"fromEndpoints": [labels(other="client")], "icmps": [{"fields": [{"type": 8}]}]}])
    check([*DEPLOYMENT, ALLOW_ALL_EGRESS, ALLOW_ALL_INGRESS, deny],
          [*pod_to_pod(True), (f"{NS}/client2", f"{NS}/client", "ICMP", icmp_value(8, 0), False),
           (f"{NS}/client", f"{NS}/client2", "ICMP", icmp_value(8, 0), True),
           (f"{NS}/client2", f"{NS}/client", "TCP", 8080, True)])


def test_client_egress_to_cidr_deny() -> None:
    """client_egress_to_cidr_deny.go: 1.0.0.0/8 except 1.1.1.1/32 denied: ExternalOtherIP drops, ExternalIP OK."""
    deny = cnp("client-egress-to-cidr-deny", endpointSelector=labels(kind="client"),
               egressDeny=[{"toCIDRSet": [{"cidr": "1.0.0.0/8", "except": ["1.1.1.1/32"]}]}])
    check([*DEPLOYMENT, ALLOW_ALL_EGRESS, deny],
          [(c, ip, "TCP", 443, ip == EXTERNAL) for c in CLIENTS for ip in (EXTERNAL, EXTERNAL_OTHER)])


def test_host_entity_egress() -> None:
    """host_entity_egress.go: toEntities [host, remote-node]: pod to host is OK (both nodes); nothing else."""
    allow = cnp("host-cluster-egress", egress=[{"toEntities": ["host", "remote-node"]}])
    check([*DEPLOYMENT, allow],
          [(c, h, "TCP", 22, True) for c in CLIENTS for h in (f"{NS}/host-netns-n1", "192.168.0.2")] +
          pod_to_pod(False) + [(f"{NS}/client", EXTERNAL, "TCP", 443, False)])


def test_client_with_service_account_egress_to_echo_deny() -> None:
    """client_with_service_account_egress_to_echo_deny.go: the service account `client` may not reach kind=echo on
    8080; client2 may."""
    deny = cnp("client-egress-to-echo-service-account-deny",
               endpointSelector=labels(**{"io.cilium.k8s.policy.serviceaccount": "client"}),
               egressDeny=[{"toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}],
                            "toEndpoints": [labels(**{"io.kubernetes.pod.namespace": NS, "kind": "echo"})]}])
    check([*DEPLOYMENT, ALLOW_ALL_EGRESS, ALLOW_ALL_INGRESS, deny],
          pod_to_pod(True, **{"client->echo-same-node": False, "client->echo-other-node": False}))


@pytest.mark.parametrize("kind", ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"])
def test_allow_all_except_world(kind: str) -> None:
    """allow_all_except_world.go (and its _ccnp variant): pod to pod, client to client and pod to host are OK;
    the world is not among the entities, so it drops."""
    entities = ["host", "remote-node", "cluster", "init", "health", "kube-apiserver"]
    policy = cnp("allow-all-except-world", egress=[{"toEntities": entities}, {"toEndpoints": [{}]}],
                 ingress=[{"fromEntities": entities}, {"fromEndpoints": [{}]}])
    if kind != "CiliumNetworkPolicy":
        policy = {**policy, "kind": kind, "metadata": {"name": "allow-all-except-world"}}
    check([*DEPLOYMENT, policy],
          [*pod_to_pod(True), (f"{NS}/client", f"{NS}/client2", "ICMP", icmp_value(8, 0), True),
           (f"{NS}/client", f"{NS}/host-netns-n2", "TCP", 22, True), (f"{NS}/client", EXTERNAL, "TCP", 443, False)])


def test_the_deployment_loads() -> None:
    cluster = load_objects(DEPLOYMENT).cluster
    assert [p.service_account for p in cluster.pods if not p.host_network] == [
        "client", "client2", "echo-other-node", "echo-same-node"]
