"""The slices (netpol/engine/slices.py) read only the intermediate form: their arithmetic (`adds_up`: at most
one stage that decides as a whole, and no first-match stage that denies what it leaves before it) agrees with
the engine's answer for every class pair under every profile: Cilium's deny and allow stages, Calico's tiers
(first-match stages that deny what they leave), NetworkPolicy between the tiers."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.engine import Engine
from netpol.engine.slices import PortCodes, Slices, adds_up
from netpol.model import Cluster
from netpol.model.portsets import NO_PORTS
from netpol.policies.profiles import apply
from tests.property.strategies import tiered_cluster
from tests.property.test_calico_agreement import calico_cluster
from tests.property.test_cilium_policies_agreement import cilium_cluster


def _disagreements(c: Cluster) -> list[tuple[int, int, str, str]]:
    """Every class pair whose row or column entry is not the engine's answer for the pair."""
    engine = Engine(c)
    n = len(engine.classes)
    codes = PortCodes.common(engine)
    slices = Slices(engine, codes, range(n), range(n))
    out = []
    for a in range(n):
        row, column = slices.row(a), slices.column(a)
        for b in range(n):
            for src, dst, got in ((a, b, codes.decode(row[b])), (b, a, codes.decode(column[b]))):
                want = NO_PORTS if src == dst and engine.classes[src].lone else engine.allowed_ports(src, dst)
                if got != want:
                    out.append((src, dst, str(got), str(want)))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(c=cilium_cluster())
def test_cilium_stages_add_up_exactly(c: Cluster) -> None:
    assert adds_up(Engine(c))
    assert _disagreements(c) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=calico_cluster())
def test_calico_tiers_add_up_exactly(objects: list[dict[str, Any]]) -> None:
    c = apply(load_objects(objects), "calico").cluster
    assert adds_up(Engine(c))
    assert _disagreements(c) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=tiered_cluster(), cni=st.sampled_from(["generic", "calico"]))
def test_network_policy_and_tiers_add_up_exactly(objects: list[dict[str, Any]], cni: str) -> None:
    """Under --cni calico without Calico's own objects the generic stages hold no egress node rule: the slices
    read the node rule from the stages, as the engine does."""
    c = apply(load_objects(objects), cni).cluster
    assert adds_up(Engine(c))
    assert _disagreements(c) == []


def _pod(name: str, ip: str, host: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}], "nodeName": "n1", **({"hostNetwork": True} if host else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "a", "labels": {"app": name}},
            "spec": spec, "status": {"podIP": ip, "hostIP": "192.168.0.1"}}


NODE_EGRESS = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
               {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.1"}]}},
               _pod("web", "10.0.0.1"), _pod("agent", "192.168.0.1", host=True),
               {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "deny", "namespace": "a"},
                "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]}}]


def test_egress_to_the_own_node_follows_the_stages_node_rule() -> None:
    """web's egress is isolated and allows nothing; the host-network agent runs on web's node. Generic exempts
    egress to the own node (a node rule in both directions), Calico does not (ingress only): the slices read the
    node rule from the stages, so under --cni calico web reaches the agent on no port (they used to say every)."""
    for cni, want in (("generic", "all"), ("calico", "none")):
        c = apply(load_objects(NODE_EGRESS), cni).cluster
        engine = Engine(c)
        codes = PortCodes.common(engine)
        web, agent = engine.class_of["a/web"], engine.class_of["a/agent"]
        slices = Slices(engine, codes, [web], [agent])
        assert (str(codes.decode(slices.row(web)[agent])), str(codes.decode(slices.column(agent)[web]))) == (want, want)
        assert _disagreements(c) == []
