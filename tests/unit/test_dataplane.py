"""The plugin's answers to what the API leaves open (model.Dataplane), as the engine computes them: one small
cluster where the generic, Cilium and Calico answers differ, with its exact truth table under each."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netpol import Analyzer, load_objects
from netpol.model import Dataplane
from tests.builders import labels, namespace, pod, policy

GENERIC = Dataplane()
CILIUM = Dataplane("cilium", ip_block_matches_cluster=False, own_node_egress_allowed=False)
CALICO = Dataplane("calico", ip_block_matches_cluster=True, own_node_egress_allowed=False)

# web and db run on node n1 with the host-network pod agent (the node's address 10.0.0.11); far is the
# host network of node n2. web may send to 10.0.1.0/24 (the pods), db admits 10.0.0.0/16 (pods and nodes).
OBJECTS = (
    namespace("shop"),
    pod("web", "shop", {"app": "web"}, [80], ip="10.0.1.1", node="n1", host_ip="10.0.0.11"),
    pod("db", "shop", {"app": "db"}, [80], ip="10.0.1.2", node="n1", host_ip="10.0.0.11"),
    pod("agent", "shop", {"app": "agent"}, [80], ip="10.0.0.11", host_network=True, node="n1", host_ip="10.0.0.11"),
    pod("far", "shop", {"app": "far"}, [80], ip="10.0.0.12", host_network=True, node="n2", host_ip="10.0.0.12"),
    policy("web-out", "shop", labels(app="web"), policyTypes=["Egress"],
           egress=[{"to": [{"ipBlock": {"cidr": "10.0.1.0/24"}}]}]),
    policy("db-in", "shop", labels(app="db"), ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/16"}}]}]),
)
PAIRS = [("web", "db"), ("web", "agent"), ("web", "far"), ("agent", "db"), ("far", "db"), ("db", "web"),
         ("web", "10.0.0.11"), ("10.0.0.11", "db")]
TABLES = {  # allowed on TCP/80, pair by pair
    "generic": [True, True, False, True, True, True, True, True],
    # ipBlocks match no pod or node: web -> db and far -> db are denied; web -> its own node needs a rule
    "cilium": [False, False, False, True, False, True, False, True],
    # ipBlocks match pods and nodes; web -> its own node is decided by web's egress policy
    "calico": [True, False, False, True, True, True, False, True],
}


@pytest.mark.parametrize("dataplane", [GENERIC, CILIUM, CALICO], ids=lambda d: d.profile)
def test_truth_table(dataplane: Dataplane) -> None:
    cluster = replace(load_objects(OBJECTS).cluster, dataplane=dataplane)
    analyzer = Analyzer(cluster)
    pods = {p.name: p for p in cluster.pods}
    got = [analyzer.can_reach(f"shop/{s}" if s in pods else s, f"shop/{d}" if d in pods else d, 80).allowed
           for s, d in PAIRS]
    assert got == TABLES[dataplane.profile]
    matrix = analyzer.matrix(80)
    assert [matrix.allowed(pods[s], pods[d]) for s, d in PAIRS if s in pods and d in pods] == [
        want for (s, d), want in zip(PAIRS, TABLES[dataplane.profile], strict=True) if s in pods and d in pods]
    ports = analyzer.matrix()
    assert [bool(ports.ports(pods[s], pods[d])) for s, d in PAIRS if s in pods and d in pods] == [
        want for (s, d), want in zip(PAIRS, TABLES[dataplane.profile], strict=True) if s in pods and d in pods]


@pytest.mark.parametrize(("dataplane", "why"), [
    (GENERIC, "traffic to and from a pod's own node is always allowed"),
    (CILIUM, "traffic from a pod's own node to the pod is always allowed (under this network plugin)"),
    (CALICO, "traffic from a pod's own node to the pod is always allowed (under this network plugin)")],
    ids=lambda d: getattr(d, "profile", ""))
def test_the_reason_names_the_exemption_the_plugin_makes(dataplane: Dataplane, why: str) -> None:
    analyzer = Analyzer(replace(load_objects(OBJECTS).cluster, dataplane=dataplane))
    assert analyzer.can_reach("shop/agent", "shop/db", 80).ingress.reason == (
        f"allowed: shop/agent uses the host network of shop/db's node (n1), and {why}")
    egress = analyzer.can_reach("shop/web", "shop/agent", 80).egress.reason
    assert egress.startswith("allowed: shop/agent uses the host network" if dataplane is GENERIC
                             else "denied: shop/web is isolated for egress")


@pytest.mark.parametrize(("dataplane", "out"), [(GENERIC, True), (CILIUM, False), (CALICO, False)],
                         ids=lambda d: getattr(d, "profile", ""))
def test_the_node_address(dataplane: Dataplane, out: bool) -> None:
    """A pod isolated both ways, and its node's address (status.hostIP, no pod's): always reachable from it;
    reachable to it only where the plugin exempts egress to the own node."""
    objects = (namespace("shop"), pod("solo", "shop", {"app": "solo"}, [80], ip="10.0.1.9", node="n9",
                                      host_ip="10.0.9.9"),
               policy("lock", "shop", {}, policyTypes=["Ingress", "Egress"]))
    analyzer = Analyzer(replace(load_objects(objects).cluster, dataplane=dataplane))
    assert analyzer.can_reach("10.0.9.9", "shop/solo", 80).allowed
    assert analyzer.can_reach("shop/solo", "10.0.9.9", 80).allowed is out
