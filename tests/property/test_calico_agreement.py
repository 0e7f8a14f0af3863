"""The engine under --cni calico (netpol/policies/calico.py) against the Calico reference evaluator
(netpol/reference/calico.py, written from the brief) on random clusters of Calico policies, tiers, network sets,
service accounts and Kubernetes NetworkPolicies, with random selector expressions, and on random inputs without
Calico's own objects (NetworkPolicies, the network-policy-api kinds, nodes): every pair of pods and outside
addresses, every probe port and ICMP type.

Seeded mutations of the compiler (Pass read as Allow; the end-of-tier default ignored; `types` defaulted as
Kubernetes does; a NetworkPolicy's rule selector not scoped to its namespace; `serviceAccounts.names` ignored)
fail this comparison: `test_seeded_mutations_are_caught` runs it with each one."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses.calico_explain import summarize_calico
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.regions import regions
from netpol.engine import Engine
from netpol.model import DIRECTIONS
from netpol.model.portsets import icmp_value
from netpol.policies import calico as compiler
from netpol.policies.calico import CalicoRuleRef
from netpol.policies.profiles import apply
from netpol.reference.calico import calico_allowed
from tests.property.strategies import EXTERNAL, NAMESPACES, PROBES, cluster, label_map, tiered_cluster

V3 = "projectcalico.org/v3"
KEYS = ["app", "tier", "team"]
VALUES = ["p", "q", "f", "x", "b", ""]
NETS = ["10.0.0.0/24", "10.0.0.2/32", "198.51.100.0/24", "10.0.1.0/24", "0.0.0.0/0"]
NETS6 = ["fd00::/64", "fd00::2/128", "2001:db8::/32", "fd00:0:0:1::/64", "::/0"]
V6 = {"10.0.0.1": "fd00::1", "10.0.0.2": "fd00::2", "10.0.0.9": "fd00::9", "10.0.1.1": "fd00:0:0:1::1",
      "10.0.1.2": "fd00:0:0:1::2", "192.168.0.1": "fd01::1"}  # a pod's IPv6 address beside (or instead of) its IPv4
EXTERNAL6 = ["fd00::2", "2001:db8::7", "fd00:0:0:1::5"]
CALICO_PROBES = [*PROBES, ("ICMP", 8), ("ICMP", 0), ("ICMPv6", 128), ("ICMPv6", 129)]
MODES = ["ipv4", "dual-stack", "tiered-3.32", "tiered-3.31"]
ADMIN_TIERS = {"3.32": ["kube-admin", "kube-baseline"], "3.31": ["adminnetworkpolicy", "baselineadminnetworkpolicy"]}
ACCOUNTS = ["default", "api", "job"]
SECURITY_TIER = list(yaml.safe_load_all((Path(__file__).resolve().parents[1] / "data" / "calico" /
                                         "security-tier-pass.yaml").read_text()))


def _pod(name: str, namespace: str, ip: str, account: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                            "labels": {"app": "p"}},
            "spec": {"serviceAccountName": account, "containers": [{"name": "c"}]}, "status": {"podIP": ip}}


# A NetworkPolicy of namespace a that allows from `app == 'p'` (its namespace's only) and from the account api
# (its namespace's only): b/y and a/z are denied at the default tier's end. The reference evaluated a rule side
# with a copy of the compiler's code until it was written from the brief's words, so a misreading of these
# rules in the compiler would have been in the reference too, and these mutations would have passed.
SIDES = [_pod("x", "a", "10.0.0.1"), _pod("y", "b", "10.0.0.9", "api"), _pod("z", "a", "10.0.1.1", "job"),
         {"apiVersion": V3, "kind": "NetworkPolicy", "metadata": {"name": "in", "namespace": "a"}, "spec": {
             "selector": "all()", "ingress": [
                 {"action": "Allow", "source": {"selector": "app == 'p' && projectcalico.org/serviceaccount == 'api'"}},
                 {"action": "Allow", "source": {"serviceAccounts": {"names": ["api"]}}}]}}]


def _selector() -> st.SearchStrategy[str]:
    key = st.sampled_from(KEYS + ["pcns.team", "pcsa.role", "projectcalico.org/serviceaccount"])
    value = st.sampled_from(VALUES)
    leaf = st.one_of(
        st.just("all()"), st.builds(lambda k: f"has({k})", key),
        st.builds(lambda k, op, v: f"{k} {op} '{v}'", key,
                  st.sampled_from(["==", "!=", "contains", "starts with", "ends with"]), value),
        st.builds(lambda k, neg, vs: f"{k} {'not in' if neg else 'in'} {{{', '.join(repr(v) for v in vs)}}}", key,
                  st.booleans(), st.lists(value, max_size=2)))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda s: f"!({s})", inner),
        st.builds(lambda a, b, op: f"({a}) {op} ({b})", inner, inner, st.sampled_from(["&&", "||"]))), max_leaves=4)


@st.composite
def _side(draw: st.DrawFn, own: bool, ports_ok: bool, nets: list[str] = NETS) -> dict[str, Any]:
    side: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        side["selector"] = draw(_selector())
    if draw(st.integers(0, 4)) == 0:
        side["notSelector"] = draw(_selector())
    if not own and draw(st.integers(0, 4)) == 0:
        side["namespaceSelector"] = draw(st.one_of(_selector(), st.just("global()")))
    if draw(st.integers(0, 5)) == 0:
        side["nets"] = draw(st.lists(st.sampled_from(nets), min_size=1, max_size=2, unique=True))
    if draw(st.integers(0, 6)) == 0:
        side["notNets"] = draw(st.lists(st.sampled_from(nets[:-1]), min_size=1, max_size=1))  # never a /0
    if draw(st.integers(0, 6)) == 0:
        side["serviceAccounts"] = {"names": draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=2))}
    if ports_ok and draw(st.booleans()):
        side["ports"] = draw(st.lists(st.sampled_from([80, 53, "8000:9000", "http", "dns"]), min_size=1, max_size=2))
    if ports_ok and draw(st.integers(0, 3)) == 0:
        side["notPorts"] = draw(st.lists(st.sampled_from([80, 8080, "http"]), min_size=1, max_size=1))
    return side


@st.composite
def _rule(draw: st.DrawFn, direction: str, dual: bool = False) -> dict[str, Any]:
    """A valid rule: one family for its nets, ICMP with IPv4 and ICMPv6 with IPv6 only (brief §7); with `dual`,
    IPv6 nets, ICMPv6 and `ipVersion` too."""
    rule: dict[str, Any] = {"action": draw(st.sampled_from(["Allow", "Deny", "Pass", "Log"]))}
    family = draw(st.sampled_from([None, 4, 6])) if dual else None
    if family is not None and draw(st.booleans()):
        rule["ipVersion"] = family
    icmps = [name for name, f in (("ICMP", 4), ("ICMPv6", 6)) if family in (None, f) and (dual or f == 4)]
    protocol = draw(st.sampled_from([None, "TCP", "UDP", *icmps]))
    if protocol:
        rule["protocol"] = protocol
    if protocol in ("ICMP", "ICMPv6") and draw(st.booleans()):
        rule["icmp"] = {"type": draw(st.sampled_from([8, 0] if protocol == "ICMP" else [128, 129]))}
    if protocol is None and draw(st.integers(0, 4)) == 0:
        rule["notProtocol"] = draw(st.sampled_from(["TCP", "UDP", *icmps]))
    ports_ok = protocol in ("TCP", "UDP")
    nets = NETS6 if family == 6 or (family is None and dual and draw(st.booleans())) else NETS
    peer, own = ("source", "destination") if direction == "ingress" else ("destination", "source")
    sides = {peer: draw(_side(False, ports_ok and peer == "destination", nets)),
             own: draw(_side(True, ports_ok and own == "destination", nets))}
    rule.update({k: v for k, v in sides.items() if v})
    return rule


def _dual_stack(draw: st.DrawFn, pod: dict[str, Any]) -> None:
    """The pod's address kept (IPv4), replaced by its IPv6 one, or both (dual-stack, podIPs)."""
    ip = pod.get("status", {}).get("podIP")
    family = draw(st.sampled_from(["4", "6", "dual"]))
    if ip is None or family == "4":
        return
    ips = [V6[ip]] if family == "6" else [ip, V6[ip]]
    pod["status"].update(podIP=ips[0], podIPs=[{"ip": a} for a in ips])


@st.composite
def calico_cluster(draw: st.DrawFn, mode: str = "ipv4") -> list[dict[str, Any]]:
    """Random Calico objects beside random pods and Kubernetes NetworkPolicies. `mode`: dual-stack, IPv6 and
    dual-stack pods, IPv6 nets, ICMPv6 and ipVersion too; tiered-VERSION, the network-policy-api kinds too (those
    the release enforces count), with Calico policies in the release's admin and baseline tiers."""
    version = mode.removeprefix("tiered-") if mode.startswith("tiered-") else None
    objects = draw(tiered_cluster() if version else cluster())
    dual = mode == "dual-stack"
    for o in objects:
        if o["kind"] == "Pod" and draw(st.booleans()):
            o["spec"]["serviceAccountName"] = draw(st.sampled_from(ACCOUNTS))
        if o["kind"] == "Pod" and dual:
            _dual_stack(draw, o)
    for node, address in (("n1", "203.0.113.1"), ("n2", "10.0.1.5")):  # a node's addresses (hostIPs too)
        if version is None and draw(st.integers(0, 2)) == 0:  # tiered_cluster has its Nodes
            objects.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
                            "status": {"addresses": [{"type": "InternalIP", "address": address}]}})
    for ns in NAMESPACES:
        for account in ACCOUNTS[1:]:
            if draw(st.integers(0, 2)) == 0:
                objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                    "name": account, "namespace": ns, "labels": {"role": draw(st.sampled_from(["x", "y"]))}}})
    tiers = ["default", *ADMIN_TIERS.get(version or "", ())]
    if version == "3.31":  # Calico 3.31's built-in tiers, which netpol reads as ordinary ones (3.32 has others)
        objects += [{"apiVersion": V3, "kind": "Tier", "metadata": {"name": name}, "spec": {
            "order": order, "defaultAction": "Pass"}} for name, order in zip(ADMIN_TIERS["3.31"], (1000, 10000000))]
    for i in range(draw(st.integers(0, 2))):
        spec: dict[str, Any] = {"defaultAction": draw(st.sampled_from(["Deny", "Pass"]))}
        order = draw(st.sampled_from([None, 100, 200, 2_000_000]))
        if order is not None:
            spec["order"] = order
        objects.append({"apiVersion": V3, "kind": "Tier", "metadata": {"name": f"t{i}"}, "spec": spec})
        tiers.append(f"t{i}")
    for i in range(draw(st.integers(0, 2))):
        namespaced = draw(st.booleans())
        meta: dict[str, Any] = {"name": f"set{i}", "labels": draw(label_map())}
        if namespaced:
            meta["namespace"] = draw(st.sampled_from(NAMESPACES))
        nets = NETS + NETS6 if dual else NETS
        objects.append({"apiVersion": V3, "kind": "NetworkSet" if namespaced else "GlobalNetworkSet", "metadata": meta,
                        "spec": {"nets": draw(st.lists(st.sampled_from(nets), min_size=1, max_size=2))}})
    for i in range(draw(st.integers(1, 4))):
        is_global = draw(st.booleans())
        spec = {"tier": draw(st.sampled_from(tiers)), "selector": draw(_selector())}
        order = draw(st.sampled_from([None, 10, 10, 1000, 2000]))
        if order is not None:
            spec["order"] = order
        types = draw(st.sampled_from([None, None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        if types:
            spec["types"] = types
        for direction in DIRECTIONS:
            rules = draw(st.lists(_rule(direction, dual), max_size=3))
            if rules:
                spec[direction] = rules
        if is_global and draw(st.integers(0, 3)) == 0:
            spec["namespaceSelector"] = draw(_selector())
        if draw(st.integers(0, 5)) == 0:
            spec["serviceAccountSelector"] = draw(_selector())
        meta = {"name": f"p{i}"}
        if not is_global:
            meta["namespace"] = draw(st.sampled_from(NAMESPACES))
        objects.append({"apiVersion": V3, "kind": "GlobalNetworkPolicy" if is_global else "NetworkPolicy",
                        "metadata": meta, "spec": spec})
    return objects


def disagreements(objects: list[dict[str, Any]], version: str = "3.32") -> list[tuple[str, str, str, int, bool, bool]]:
    """Every (source, destination, protocol, port or ICMP type) where engine and reference differ under Calico
    `version`."""
    result = apply(load_objects(objects), f"calico:{version}")
    c = result.cluster
    engine = Engine(c)
    ends: list[Any] = [*c.pods, *(ipaddress.ip_address(ip) for ip in EXTERNAL + EXTERNAL6)]
    out = []
    for src in ends:
        for dst in ends:
            s = engine.class_of[src.key] if hasattr(src, "key") else src
            d = engine.class_of[dst.key] if hasattr(dst, "key") else dst
            if not isinstance(s, int) and not isinstance(d, int):
                continue
            if src is dst and getattr(src, "is_one_pod", False):
                continue
            ports = engine.allowed_ports(s, d)
            for protocol, port in CALICO_PROBES:
                got = ports.contains(protocol, icmp_value(port, 0) if protocol in ("ICMP", "ICMPv6") else port)
                want = calico_allowed(c, result.calico, src, dst, protocol, port, version)
                if got != want:
                    out.append((str(src), str(dst), protocol, port, got, want))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=calico_cluster())
@example(objects=SIDES)
def test_engine_agrees_with_the_calico_reference(objects: list[dict[str, Any]]) -> None:
    assert disagreements(objects) == []


@pytest.mark.parametrize("mode", MODES[1:])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_engine_agrees_on_dual_stack_and_tiered_inputs(mode: str, data: st.DataObject) -> None:
    """IPv6 and dual-stack pods, IPv6 addresses, nets, network sets, ICMPv6 and ipVersion; the network-policy-api
    kinds in the release's admin and baseline tiers beside Calico policies there."""
    objects = data.draw(calico_cluster(mode))
    assert disagreements(objects, mode.removeprefix("tiered-") if mode.startswith("tiered-") else "3.32") == []


@pytest.mark.parametrize("version", ["3.32", "3.31"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_engine_agrees_without_calico_objects(version: str, data: st.DataObject) -> None:
    """--cni calico on an input without Calico's own objects is Calico's semantics all the same: Kubernetes
    NetworkPolicies in the default tier at order 1000, the network-policy-api kinds the release enforces in its
    tiers as Calico converts them, traffic from a pod's own node (its pods' status.hostIP, host-network pods,
    Nodes) not policed."""
    objects = data.draw(st.one_of(cluster(), tiered_cluster()))
    assert apply(load_objects(objects), f"calico:{version}").cluster.calico is not None  # Calico's tiers compile
    assert disagreements(objects, version) == []


# -- seeded mutations -------------------------------------------------------------------------------------------

@contextmanager
def _pass_as_allow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    rule = compiler._Compiler.rule

    def mutated(self: Any, *args: Any) -> Any:
        for r in rule(self, *args):
            yield replace(r, action="Allow") if r.action == "Pass" else r
    monkeypatch.setattr(compiler._Compiler, "rule", mutated)
    yield


@contextmanager
def _no_tier_end(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    stages = compiler.calico_stages
    monkeypatch.setattr("netpol.policies.profiles.calico_stages", lambda cluster: {
        d: tuple(replace(s, end="Pass") for s in found) for d, found in stages(cluster).items()})
    yield


@contextmanager
def _kubernetes_types(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    policy = compiler._Compiler.policy

    def mutated(self: Any, p: Any, old: bool) -> Any:
        types = ("Ingress", "Egress") if p.egress else ("Ingress",)  # as Kubernetes defaults policyTypes
        return policy(self, replace(p, types=types), old)
    monkeypatch.setattr(compiler._Compiler, "policy", mutated)
    yield


def _mutated_side(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """The compiler reads each rule side as `change(policy, side)` returns them."""
    side = compiler._Compiler.side
    monkeypatch.setattr(compiler._Compiler, "side", lambda self, p, s: side(self, *change(p, s)))


@contextmanager
def _rule_selector_unscoped(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A NetworkPolicy's rule side read as a GlobalNetworkPolicy's: its selector not scoped to its namespace."""
    _mutated_side(monkeypatch, lambda p, s: (replace(p, namespace=None) if s.namespace_selector is None else p, s))
    yield


@contextmanager
def _account_names_ignored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`serviceAccounts.names` ignored (its selector and the scoping it brings kept)."""
    _mutated_side(monkeypatch, lambda p, s: (p, s if s.service_accounts is None else
                                             replace(s, service_accounts=replace(s.service_accounts, names=()))))
    yield


class _Found(Exception):
    """A disagreement: the search stops at the first."""


@pytest.mark.parametrize("mutation", [_pass_as_allow, _no_tier_end, _kubernetes_types, _rule_selector_unscoped,
                                      _account_names_ignored],
                         ids=["pass-as-allow", "tier-end-ignored", "kubernetes-types", "rule-selector-unscoped",
                              "account-names-ignored"])
def test_seeded_mutations_are_caught(mutation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each mutation of the compiler makes the comparison fail: on the security tier that Passes
    (tests/data/calico) or on SIDES, else on some random cluster (the search stops at the first it finds, without
    shrinking)."""
    @settings(max_examples=300, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(objects=calico_cluster())
    @example(objects=SECURITY_TIER)  # random search finds Pass read as Allow too, in about 250 clusters (90 s)
    @example(objects=SIDES)
    def search(objects: list[dict[str, Any]]) -> None:
        if disagreements(objects):
            raise _Found

    with mutation(monkeypatch), pytest.raises(_Found):
        search()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=calico_cluster())
def test_a_shadowed_rule_never_decides(objects: list[dict[str, Any]]) -> None:
    """explain's shadowed rules (netpol/analyses/calico_explain.py) never decide nor pass a connection the engine
    walks: on every pair of possible pods (netpol.analyses.regions: the input's and one per region) and outside
    addresses (one per set every rule treats alike, and EXTERNAL), on every port (the walks' segments)."""
    c = apply(load_objects(objects), "calico").cluster
    shadowed = {(p.kind, p.policy, r.direction, r.index) for t in summarize_calico(Engine(c)) for p in t.policies
                for r in p.rules if r.shadowed_by is not None or r.shadowed_across is not None}
    try:
        engine = Engine(regions(c).cluster)
    except RegionLimitError:
        assert not shadowed  # no rule is claimed shadowed where the possible pods cannot be enumerated
        return
    ends: list[Any] = [*range(len(engine.classes)), *engine.address_sets.values(),
                       *(ipaddress.ip_address(ip) for ip in EXTERNAL)]
    seen: set[int] = set()
    for src in ends:
        for dst in ends:
            if not isinstance(src, int) and not isinstance(dst, int):
                continue
            for result in engine.connection(src, dst):
                if result is None or id(result) in seen:  # results are shared by the peers that match alike
                    continue
                seen.add(id(result))
                for seg in result.full_walk.segments:
                    for ref in (seg.decider, seg.passed):
                        if isinstance(ref, CalicoRuleRef):
                            assert (ref.kind, ref.policy, ref.direction, ref.index) not in shadowed, ref
