"""The policy-only diff: equivalent rewrites of random policy sets are no change, and every change it
reports (and every pair it does not) is what the reference evaluator says on the regions' pods."""

from __future__ import annotations

import copy
import functools
import ipaddress
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects, reference_allowed
from netpol.analyses.diff import ReachabilityDiff, _Delta, _grafted, _possible_regions, _reach, diff, possible_diff
from netpol.analyses.regions import RegionSet, regions
from netpol.model import Cluster, IPAddress
from netpol.model.portsets import PortSet
from tests.property.strategies import EXTERNAL, PROBES, cluster, tiered_cluster

POLICY_KINDS = ("Namespace", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                "ClusterNetworkPolicy", "Node")
BOTH = pytest.mark.parametrize("clusters", [cluster(), tiered_cluster()], ids=["v1", "tiered"])


def _policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in POLICY_KINDS]


def _as_expressions(sel: dict[str, Any]) -> dict[str, Any]:
    """matchLabels written as matchExpressions In: the same selector."""
    out = {"matchExpressions": [*sel.get("matchExpressions", []),
                                *({"key": k, "operator": "In", "values": [v]} for k, v in sel.get("matchLabels", {}).items())]}
    return out if out["matchExpressions"] else {}


def _rewrite_selectors(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_as_expressions(v) if k in ("podSelector", "namespaceSelector") and isinstance(v, dict)
                    else _rewrite_selectors(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_selectors(v) for v in node]
    return node


def _effective_types(spec: dict[str, Any]) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _halves(peer: dict[str, Any], split: bool) -> list[dict[str, Any]]:
    """An ipBlock as its two halves (each with the excepts inside it): the same addresses."""
    block = peer.get("ipBlock")
    net = ipaddress.ip_network(block["cidr"]) if block else None
    if not split or block is None or net is None or net.prefixlen == net.max_prefixlen:
        return [peer]
    out = []
    for half in net.subnets(1):
        excepts = [e for e in block.get("except", []) if ipaddress.ip_network(e).subnet_of(half)]  # type: ignore[arg-type]
        if any(ipaddress.ip_network(e).supernet_of(half) for e in block.get("except", [])):  # type: ignore[arg-type]
            continue  # the whole half is excepted
        out.append({"ipBlock": {"cidr": str(half), **({"except": excepts} if excepts else {})}})
    return out or [peer]


@st.composite
def rewritten(draw: st.DrawFn, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same policies, written another way: selectors as expressions, NetworkPolicy rules and peers
    reordered, ipBlocks split in their two halves, and policies with several rules split into one policy
    per rule."""
    out = []
    for obj in copy.deepcopy(objects):
        if draw(st.booleans()):
            obj = _rewrite_selectors(obj)
        if obj["kind"] != "NetworkPolicy":
            out.append(obj)
            continue
        spec = obj["spec"]
        spec["policyTypes"] = _effective_types(spec)  # explicit, so that splitting keeps the isolation
        for key, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(key) or []:
                if rule.get(peers_key):
                    rule[peers_key] = draw(st.permutations([half for p in rule[peers_key]
                                                            for half in _halves(p, draw(st.booleans()))]))
            if spec.get(key):
                spec[key] = draw(st.permutations(spec[key]))
        rules = [(k, r) for k in ("ingress", "egress") for r in spec.get(k) or []]
        if len(rules) > 1 and draw(st.booleans()):
            for i, (key, rule) in enumerate(rules):
                part = {**{k: v for k, v in spec.items() if k not in ("ingress", "egress")}, key: [rule]}
                out.append({**obj, "metadata": {**obj["metadata"], "name": f"{obj['metadata']['name']}-{i}"},
                            "spec": part})
        else:
            out.append(obj)
    return out


@BOTH
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_equivalent_rewrites_are_no_change(clusters: Any, data: st.DataObject) -> None:
    base = _policies(data.draw(clusters))
    head = data.draw(rewritten(base))
    changes = possible_diff(load_objects(base).cluster, load_objects(head).cluster)
    assert not changes.changed, [(c.sources, c.destination, str(c.before), str(c.after)) for c in changes.changes]


@BOTH
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_region_changes_are_exactly_the_reference_differences(clusters: Any, data: st.DataObject) -> None:
    base_c = load_objects(_policies(data.draw(clusters))).cluster
    head_c = load_objects(_policies(data.draw(clusters))).cluster
    rb, rh = regions(base_c, others=[head_c]), regions(head_c, others=[base_c])
    assert [r.key for r in rb.regions] == [r.key for r in rh.regions]  # the same possible pods on both sides
    raw = diff(Analyzer(rb.cluster), Analyzer(rh.cluster))
    changed = {(s, c.destination) for c in raw.changes for s in c.sources}
    placeholders = {(c.protocol, c.port) for c in rb.named_ports}
    pairs = [(s, d) for s in rb.regions for d in rb.regions]
    if len(pairs) > 64:  # the reference is slow on tiers: a random sample, every change among them
        pairs = data.draw(st.lists(st.sampled_from(pairs), min_size=64, max_size=64, unique=True))
    for src, dst in pairs:
        hb, hh = rh.by_key[src.key].pod, rh.by_key[dst.key].pod
        differs = any(reference_allowed(rb.cluster, src.pod, dst.pod, proto, port)  # type: ignore[arg-type]
                      != reference_allowed(rh.cluster, hb, hh, proto, port)  # type: ignore[arg-type]
                      for proto, port in [*PROBES, *placeholders])
        if differs:
            assert (src.key, dst.key) in changed, (src.key, dst.key)
        if (src.key, dst.key) not in changed:
            assert not differs
    summary = possible_diff(base_c, head_c)
    assert summary.changed == raw.changed


def _versions(data: st.DataObject, clusters: Any) -> tuple[Cluster, Cluster]:
    """Two versions of one cluster: the same pods and namespaces; HEAD keeps some of BASE's policies and
    adds some of another random cluster's (in the same namespaces, so that the namespaces stay alike)."""
    base = data.draw(clusters)
    other = [o for o in data.draw(clusters) if o["kind"] in POLICY_KINDS[1:-1]]
    names = {o["metadata"]["name"] for o in base if o["kind"] == "Namespace"}
    kept = [o for o in base if o["kind"] not in POLICY_KINDS[1:-1] or data.draw(st.booleans())]
    banp = any(o["kind"] == "BaselineAdminNetworkPolicy" for o in kept)  # there is one at most, named default
    added = [o if o["kind"] == "BaselineAdminNetworkPolicy" else
             {**o, "metadata": {**o["metadata"], "name": "new-" + o["metadata"]["name"]}} for o in other
             if o["metadata"].get("namespace", next(iter(names), None)) in names
             and not (banp and o["kind"] == "BaselineAdminNetworkPolicy") and data.draw(st.booleans())]
    return load_objects(base).cluster, load_objects(kept + added).cluster


def _probe_addresses(*clusters: Cluster) -> list[IPAddress]:
    """The outside addresses to ask about: every boundary of every ipBlock, either side, and the probes."""
    out = {ipaddress.ip_address(a) for a in EXTERNAL}
    for c in clusters:
        for block in Analyzer(c).engine.blocks:
            for net in (block.cidr, *block.excepts):
                first, last = int(net.network_address), int(net.broadcast_address)
                out.update(ipaddress.ip_address(a) for a in (first - 1, first, last, last + 1) if 0 <= a < 2**32)
    return sorted(out)


@BOTH
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_outside_changes_are_exactly_the_reference_differences(clusters: Any, data: st.DataObject) -> None:
    """Per pod, outside address and port, the diff's rows say what the reference evaluator says on each side:
    a change row that covers the address has the reference's ports before and after, and an address no row
    covers has the same answer in both versions."""
    base, head = _versions(data, clusters)
    d = diff(Analyzer(base), Analyzer(head))
    rows: dict[tuple[str, str, IPAddress], tuple[PortSet, PortSet]] = {}
    addresses = _probe_addresses(base, head)
    for c in d.changes:
        for outward, ranges, pods in (("egress", c.destination_addresses, c.sources),
                                      ("ingress", c.source_addresses, (c.destination,))):
            for first, last in ranges:
                for addr in addresses:
                    if addr.version == first.version and first <= addr <= last:
                        for key in pods:
                            assert (outward, key, addr) not in rows, (outward, key, addr)
                            rows[(outward, key, addr)] = (c.before, c.after)
    both = {p.key for p in base.pods} & {p.key for p in head.pods}
    for key in sorted(both):
        pods = base.pods_by_key[key], head.pods_by_key[key]
        for addr in addresses:
            if any(addr in p.ips or addr == p.host_ip for c in (base, head) for p in c.pods):
                continue  # a pod's address, or a node's: not outside the cluster
            for outward in ("egress", "ingress"):
                before, after = rows.get((outward, key, addr), (None, None))
                for protocol, port in PROBES:
                    want = [reference_allowed(c, p, addr, protocol, port) if outward == "egress"  # type: ignore[arg-type]
                            else reference_allowed(c, addr, p, protocol, port)  # type: ignore[arg-type]
                            for c, p in zip((base, head), pods, strict=True)]
                    if before is None or after is None:
                        assert want[0] == want[1], (outward, key, str(addr), protocol, port)
                    else:
                        assert [before.contains(protocol, port), after.contains(protocol, port)] == want, (
                            outward, key, str(addr), protocol, port)


@BOTH
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_namespaces_a_change_reaches_are_enough(clusters: Any, data: st.DataObject) -> None:
    """Possible pods are made only for the namespaces a change reaches (netpol.analyses.diff._reach), cut exactly only
    in those of the changed policies and pods (netpol.analyses.diff._focus), and only inside the pods a changed
    rule holds at either end (the reach's marks, each cut toward its origin's namespace alone), with pods or
    without. Every change between two pods of the full regions (every namespace cut by every selector) is the
    change of the pair of restricted regions (or real pods) they fall in, and the other way round."""
    base, head = _versions(data, clusters)
    if data.draw(st.booleans()):  # policies alone
        base, head = replace(base, pods=()), replace(head, pods=())
    full = regions(base, others=[head]), regions(head, others=[base])
    want = _changed_pairs(diff(Analyzer(full[0].cluster), Analyzer(full[1].cluster)), *full)
    delta = _Delta.of(base, head)
    reach = _reach(base, head, delta)
    part = _possible_regions(base, head, delta)
    got = _changed_pairs(diff(Analyzer(_grafted(base, part[0])), Analyzer(_grafted(head, part[1]))), *part)

    @functools.cache
    def placed(key: str) -> str:
        region = full[0].by_key.get(key)
        if region is None:
            return key  # a real pod or an address set
        ns = region.namespace
        assert (not ns.named or reach is None or ns.name in reach.directions
                or ns.name not in {n.name for n in base.namespaces}), (
            f"{key} changed outside the namespaces a change reaches")
        return part[0].region_of(ns.name, dict(ns.labels), region.pod.label_map).key

    mapped = {(placed(s), placed(d)): ports for (s, d), ports in want.items()}
    for pair, ports in mapped.items():
        assert got.get(pair) == ports, pair
    represented = {(placed(s), placed(d)) for s, d in want}
    assert set(got) <= represented, set(got) - represented


def _changed_pairs(d: ReachabilityDiff, before: RegionSet, after: RegionSet
                   ) -> dict[tuple[str, str], tuple[object, object]]:
    """(source, destination) -> (before, after) ports, named ports apart from their placeholder numbers."""
    out = {}
    for c in d.changes:
        b = before.split_ports(c.before) if c.destination in before.by_key else (c.before, ())
        a = after.split_ports(c.after) if c.destination in after.by_key else (c.after, ())
        if b != a:
            out.update({(s, c.destination): (b, a) for s in c.sources})
    return out
