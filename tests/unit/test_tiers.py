"""Tiered policies: validation as the CRDs say (one line each), the walk, explain's shadowed rules and ties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netpol import InputError, load_manifests, load_objects
from netpol.model.portsets import PortSet
from netpol.policies.tiered import TierHit, TierRuleRef, walk
from netpol.policies.walk import Segment
from netpol.render.explain import explain_json
from tests.builders import analyzer, fixture, namespace, pod

V1 = "apiVersion: policy.networking.k8s.io/v1alpha1\n"
V2 = "apiVersion: policy.networking.k8s.io/v1alpha2\n"
SUBJECT = "  subject: {namespaces: {}}\n"


def anp(body: str, name: str = "a") -> str:
    return V1 + f"kind: AdminNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  priority: 10\n" + SUBJECT + body


def cnp(body: str, tier: str = "Admin") -> str:
    return V2 + f"kind: ClusterNetworkPolicy\nmetadata: {{name: c}}\nspec:\n  tier: {tier}\n  priority: 10\n" \
        + SUBJECT + body


def obj(kind: str) -> str:
    return f"({kind} {'default' if kind == 'BaselineAdminNetworkPolicy' else 'a' if kind == 'AdminNetworkPolicy' else 'c'})"


A, C = obj("AdminNetworkPolicy"), obj("ClusterNetworkPolicy")
ERRORS = {
    "priority out of range": (anp("").replace("priority: 10", "priority: 1001"), f"{A}: spec.priority: must be between 0 and 1000, not 1001"),
    "priority missing": (anp("").replace("  priority: 10\n", ""), f"{A}: spec.priority: required field is missing"),
    "BANP not named default": (V1 + "kind: BaselineAdminNetworkPolicy\nmetadata: {name: base}\nspec:\n" + SUBJECT,
                               "(BaselineAdminNetworkPolicy base): metadata.name: a BaselineAdminNetworkPolicy must be named 'default' (there is only one)"),
    "BANP with Pass": (V1 + "kind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n" + SUBJECT
                       + "  ingress: [{action: Pass, from: [{namespaces: {}}]}]\n",
                       "(BaselineAdminNetworkPolicy default): spec.ingress[0].action: must be one of Allow, Deny, not 'Pass'"),
    "subject with both": (anp("").replace("{namespaces: {}}", "{namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}"),
                          f"{A}: spec.subject: must set exactly one of: namespaces, pods (found namespaces, pods)"),
    "v1alpha1 pods needs namespaceSelector": (anp("").replace("{namespaces: {}}", "{pods: {podSelector: {}}}"),
                                              f"{A}: spec.subject.pods.namespaceSelector: required field is missing"),
    "Accept in v1alpha1": (anp("  ingress: [{action: Accept, from: [{namespaces: {}}]}]\n"),
                           f"{A}: spec.ingress[0].action: must be one of Allow, Deny, Pass, not 'Accept'"),
    "Allow in v1alpha2": (cnp("  ingress: [{action: Allow, from: [{namespaces: {}}]}]\n"),
                          f"{C}: spec.ingress[0].action: must be one of Accept, Deny, Pass, not 'Allow'"),
    "no peers": (anp("  ingress: [{action: Deny, from: []}]\n"), f"{A}: spec.ingress[0].from: must list 1 to 100 peers, found 0"),
    "networks in ingress": (anp("  ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]\n"),
                            f"{A}: spec.ingress[0].from[0].networks: not allowed here (expected one of: namespaces, pods)"),
    "domainNames in a BANP": (V1 + "kind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n" + SUBJECT
                              + "  egress: [{action: Allow, to: [{domainNames: [example.com]}]}]\n",
                              "(BaselineAdminNetworkPolicy default): spec.egress[0].to[0].domainNames: not allowed here (expected one of: namespaces, pods, networks, nodes)"),
    "peer with two kinds": (anp("  egress: [{action: Deny, to: [{namespaces: {}, networks: [10.0.0.0/8]}]}]\n"),
                            f"{A}: spec.egress[0].to[0]: must set exactly one of: namespaces, pods, networks, nodes, domainNames (found namespaces, networks)"),
    "network not a CIDR": (anp("  egress: [{action: Deny, to: [{networks: [10.0.0.1]}]}]\n"),
                           f"{A}: spec.egress[0].to[0].networks[0]: '10.0.0.1' is not a CIDR: it needs a prefix length, e.g. 10.0.0.1/32"),
    "network as a netmask": (cnp("  egress: [{action: Deny, to: [{networks: [10.0.0.0/8, 10.9.0.0/255.255.0.0]}]}]\n"),
                             f"{C}: spec.egress[0].to[0].networks[1]: '10.9.0.0/255.255.0.0' is not a CIDR: the prefix length "
                             "must be a number, not a netmask or hostmask (write /16)"),
    "network with leading 0s": (anp("  egress: [{action: Deny, to: [{networks: [10.8.0.0/016]}]}]\n"),
                                f"{A}: spec.egress[0].to[0].networks[0]: '10.8.0.0/016' is not a CIDR: the prefix length must "
                                "not have leading 0s (write /16)"),
    "network with a zone": (anp("  egress: [{action: Deny, to: [{networks: ['fe80::%eth0/64']}]}]\n"),
                            f"{A}: spec.egress[0].to[0].networks[0]: 'fe80::%eth0/64' is not a CIDR: a zone (%...) is not "
                            "allowed in a CIDR"),
    "named port with networks": (anp("  egress: [{action: Allow, to: [{networks: [10.0.0.0/8]}], ports: [{namedPort: web}]}]\n"),
                                 f"{A}: spec.egress[0].ports: a named port cannot be used with networks, nodes or domainNames peers (they have no pods to name ports on)"),
    "port with two kinds": (anp("  ingress: [{action: Allow, from: [{namespaces: {}}], ports: [{namedPort: web, portNumber: {port: 80}}]}]\n"),
                            f"{A}: spec.ingress[0].ports[0]: must set exactly one of: portNumber, portRange, namedPort (found portNumber, namedPort)"),
    "unknown protocol in a portNumber": (anp("  ingress: [{action: Allow, from: [{namespaces: {}}], ports: [{portNumber: {protocol: tcp, port: 80}}]}]\n"),
                                         f"{A}: spec.ingress[0].ports[0].portNumber.protocol: unknown protocol 'tcp' (expected one of: TCP, UDP, SCTP)"),
    "tcp: {} in v1alpha2": (cnp("  ingress: [{action: Accept, from: [{namespaces: {}}], protocols: [{tcp: {}}]}]\n"),
                            f"{C}: spec.ingress[0].protocols[0].tcp: must set destinationPort (to match every port, give the range 1-65535)"),
    "range start not below end": (cnp("  ingress: [{action: Accept, from: [{namespaces: {}}], protocols: [{udp: {destinationPort: {range: {start: 53, end: 53}}}}]}]\n"),
                                  f"{C}: spec.ingress[0].protocols[0].udp.destinationPort.range.end: must be greater than start (53)"),
    "too many rules in v1alpha2": (cnp("  ingress:\n" + "  - {action: Deny, from: [{namespaces: {}}]}\n" * 26),
                                   f"{C}: spec.ingress: at most 25 rules, found 26"),
    "tier missing": (cnp("").replace("  tier: Admin\n", ""), f"{C}: spec.tier: required field is missing"),
    "unknown spec field": (anp("  egres: []\n"), f"{A}: spec.egres: unknown field (expected one of: priority, subject, ingress, egress)"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_validation_errors_are_one_line(name: str, tmp_path: Path) -> None:
    text, expected = ERRORS[name]
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_manifests([str(path)])
    assert str(info.value) == f"{path}: document 1, line 1 {expected}"


def test_an_unknown_peer_fails_closed_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(anp("  egress: [{action: Deny, to: [{sameLabels: [team]}]}]\n"))
    result = load_manifests([str(path)])
    assert [d.message for d in result.diagnostics if d.severity == "warning"] == [
        "spec.egress[0].to[0]: peer field 'sameLabels' is not one netpol knows: the API says such a peer fails "
        "closed, so this Deny rule denies all traffic"]
    (pol,) = result.cluster.tiered
    assert pol.egress[0].peers[0].unknown == "sameLabels"


def ref(action: str, tier: str = "Admin", index: int = 0) -> TierRuleRef:
    return TierRuleRef(tier, 10, "AdminNetworkPolicy", "v1alpha1", "p", "ingress", index, action, action)  # type: ignore[arg-type]


def test_walk_partitions_the_port_space_first_match() -> None:
    tcp80, tcp_all = PortSet.of([("TCP", 80, 80)]), PortSet.of([("TCP", 1, 65535)])
    w = walk([TierHit(ref("Deny"), tcp80), TierHit(ref("Pass", index=1), tcp_all)], True,
             PortSet.of([("TCP", 80, 8080)]), [TierHit(ref("Accept", "Baseline"), tcp_all)])
    assert str(w.allowed) == "TCP:81-8080"  # 80 denied by Admin; the rest passed to NetworkPolicy, which isolates
    assert w.at("TCP", 80) == Segment(tcp80, ref("Deny"), False)
    seg = w.at("TCP", 443)
    assert (seg.decider, seg.allowed, seg.passed) == ("NetworkPolicy", True, ref("Pass", index=1))
    assert w.at("TCP", 9000).allowed is False  # passed to NetworkPolicy, which isolates and does not allow it
    assert w.at("UDP", 53).decider == "NetworkPolicy"  # not matched by Admin: NetworkPolicy decides too
    unselected = walk([], False, PortSet(), [TierHit(ref("Deny", "Baseline"), tcp80)])
    assert (unselected.at("TCP", 80).allowed, unselected.at("TCP", 81).decider) == (False, "default")


def _shadow_case(first_ports: dict[str, Any] | None) -> list[list[str]]:
    rules = [{"action": "Deny", "from": [{"namespaces": {}}], **({"ports": [first_ports]} if first_ports else {})},
             {"action": "Allow", "from": [{"namespaces": {"matchLabels": {"team": "x"}}}]}]
    a = analyzer(namespace("default", team="x"), namespace("other"), pod("a"), pod("b", ns="other"),
                 {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
                  "metadata": {"name": "p"}, "spec": {"priority": 1, "subject": {"namespaces": {}}, "ingress": rules}})
    (summary,) = a.explain_tiers()
    return [[str(s) for s in r.shadowed_by] for r in summary.rules]


def test_explain_marks_shadowed_rules_exactly() -> None:
    assert _shadow_case(None) == [[], ["ANP p priority 1 ingress[0] (Deny)"]]
    assert _shadow_case({"portNumber": {"port": 80}}) == [[], []]  # near miss: port 81 still reaches rule 1


def test_explain_lists_tiers_in_evaluation_order_with_ties() -> None:
    a = fixture("tiered-same-priority-v1alpha1")
    data = json.loads(explain_json(a.explain(), a.explain_tiers()))
    assert [(d["tier"], d["policy"], d["same_priority"]) for d in data] == [
        ("Admin", "a-allow-slytherin", ["ANP b-deny-slytherin"]), ("Admin", "b-deny-slytherin", ["ANP a-allow-slytherin"])]
    z = fixture("tiered-zero-trust-v1alpha2")
    assert [(d["tier"], d["policy"]) for d in json.loads(explain_json(z.explain(), z.explain_tiers()))] == [
        ("NetworkPolicy", "allow-from-hufflepuff"), ("Baseline", "baseline")]


def test_mixed_api_versions_warn_with_the_order_used() -> None:
    v1 = load_manifests([str(Path(__file__).parents[2] / "fixtures" / "tiered-admin-deny-v1alpha1")])
    v2 = load_objects([{"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
                        "metadata": {"name": "z"}, "spec": {"tier": "Admin", "priority": 10,
                                                            "subject": {"namespaces": {}}}}])
    both = load_objects([*(_raw(p) for p in v1.cluster.tiered), *_objs(v2)])
    assert any("mixes v1alpha1" in d.message and "v1alpha1 first at equal priority" in d.message
               for d in both.diagnostics)
    assert [p.kind for p in both.cluster.tiered] == ["AdminNetworkPolicy", "ClusterNetworkPolicy"]


def _raw(pol: Any) -> dict[str, Any]:
    spec = {"priority": pol.priority, "subject": {"namespaces": {}}}
    if pol.kind == "ClusterNetworkPolicy":
        spec["tier"] = pol.tier
    return {"apiVersion": pol.api_version, "kind": pol.kind, "metadata": {"name": pol.name}, "spec": spec}


def _objs(result: Any) -> list[dict[str, Any]]:
    return [_raw(p) for p in result.cluster.tiered]


def test_domain_names_are_an_explicit_assumption() -> None:
    a = analyzer(namespace("default"), pod("a", ip="10.0.0.1"), {
        "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "fqdn"},
        "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
                 "egress": [{"action": "Accept", "to": [{"domainNames": ["*.example.com"]}]},
                            {"action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}]}})
    v = a.can_reach("default/a", "93.184.216.34", 443)
    assert not v.allowed and v.egress.reason.startswith("denied by CNP fqdn priority 1 egress[1] (Deny)")
    assert ("default/a's egress has domainNames rules (*.example.com): which addresses they match depends on DNS "
            "at run time, so netpol assumes they match no pod or address it knows; the network plugin may allow "
            "more") in v.assumptions
