"""The engine-versus-reference comparison (test_cilium_policies_agreement.py) catches a wrong compilation: each seeded
mutation of netpol/policies/cilium.py below (a node address taken as world among them) makes `disagreements`
non-empty on a cluster built to show it, while the compiler as it is gives none there. A comparison that passed with
these mutations would prove nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

from netpol import load_objects
from netpol.engine.classes import Partition
from netpol.model import Cluster
from netpol.policies import cilium, profiles
from netpol.policies.profiles import apply
from netpol.policies.stages import Stages
from tests.property.test_cilium_policies_agreement import disagreements


def _pod(name: str, ip: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "a", "labels": labels},
            "spec": {"containers": [{"name": "c"}]}, "status": {"podIP": ip}}


def _cluster(*ingress: tuple[str, list[dict[str, Any]]]) -> Cluster:
    spec: dict[str, Any] = {"endpointSelector": {"matchLabels": {"app": "web"}}, **dict(ingress)}
    return apply(load_objects([_pod("web", "10.0.0.1", {"app": "web"}), _pod("client", "10.0.0.2", {"app": "client"}),
                               {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                                "metadata": {"name": "p", "namespace": "a"}, "spec": spec}]), "cilium").cluster


def _denies_after_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deny not winning: the deny stage walked after the allow stage, so an allow decides first."""
    compile_: Callable[[Cluster], Stages] = cilium.cilium_stages
    monkeypatch.setattr(profiles, "cilium_stages", lambda c: {d: s[::-1] for d, s in compile_(c).items()})


def _cidr_matches_pods(monkeypatch: pytest.MonkeyPatch) -> None:
    """CIDR matching pods: the engine puts pods in the address blocks whose ranges hold their IPs."""
    init = Partition.__init__

    def pods_in_blocks(self: Partition, cluster: Cluster, stages: Stages) -> None:
        init(self, replace(cluster, dataplane=replace(cluster.dataplane, ip_block_matches_cluster=True)), stages)
        self.cluster = cluster

    monkeypatch.setattr(Partition, "__init__", pods_in_blocks)


def _omitted_protocol_is_tcp(monkeypatch: pytest.MonkeyPatch) -> None:
    """An omitted protocol (ANY) read as TCP, as in a NetworkPolicy, instead of TCP, UDP and SCTP."""
    monkeypatch.setattr(cilium, "L4_PROTOCOLS", ("TCP",))


def _node_address_is_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node address taken as an outside address: the CIDR and world blocks keep the node addresses in them."""
    monkeypatch.setattr(cilium._Context, "outside", lambda self, block: cilium.Addresses(block))


def _nodes_cluster() -> Cluster:
    """web on n1 admits 192.168.0.0/16 by CIDR; the client's node n2 has 192.168.0.2 (remote-node, never world)."""
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
              "status": {"addresses": [{"type": "InternalIP", "address": a}]}}
             for n, a in (("n1", "192.168.0.1"), ("n2", "192.168.0.2"))]
    web = _pod("web", "10.0.0.1", {"app": "web"})
    web["spec"]["nodeName"] = "n1"  # type: ignore[index]
    cnp = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "p", "namespace": "a"},
           "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"fromCIDR": ["192.168.0.0/16"]}]}}
    return apply(load_objects([web, _pod("client", "10.0.0.2", {"app": "client"}), *nodes, cnp]), "cilium").cluster


@contextmanager
def _mutated(mutation: Callable[[pytest.MonkeyPatch], None]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        mutation(monkeypatch)
        yield


CASES = {
    "deny not winning": (_denies_after_allows, _cluster(("ingress", [{"fromEndpoints": [{}]}]),
                                                        ("ingressDeny", [{"fromEndpoints": [
                                                            {"matchLabels": {"app": "client"}}]}]))),
    "CIDR matching pods": (_cidr_matches_pods, _cluster(("ingress", [{"fromCIDR": ["10.0.0.0/24"]}]))),
    "node address taken as world": (_node_address_is_world, _nodes_cluster()),
    "omitted protocol read as TCP": (_omitted_protocol_is_tcp, _cluster(("ingress", [{"fromEndpoints": [{}],
                                                                                      "toPorts": [{"ports": [
                                                                                          {"port": "53"}]}]}]))),
}


@pytest.mark.parametrize("name", CASES)
def test_a_seeded_mutation_makes_the_comparison_fail(name: str) -> None:
    mutation, c = CASES[name]
    assert disagreements(c) == []
    with _mutated(mutation):
        found = disagreements(c)
    assert found, f"the mutation {name!r} went unnoticed"
    pair = ("192.168.0.2", "a/web") if name == "node address taken as world" else ("a/client", "a/web")
    assert pair in {(s, d) for s, d, _, _ in found}
