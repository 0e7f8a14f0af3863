"""Dataplane profiles (netpol/policies/profiles.py): --cni parsing, recognising the plugin an input shows, and what a
profile does to the input: kinds its plugin does not enforce left out and named, its answers stated."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from netpol import Analyzer, load_objects
from netpol.model import Dataplane
from netpol.policies.profiles import CALICO, CILIUM, GENERIC, PROFILES, ProfileError, apply, known, parse, recognise
from tests.builders import namespace, pod, policy, workload

DOCS = Path(__file__).resolve().parents[2] / "docs" / "semantics.md"
CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "shop"},
       "spec": {"endpointSelector": {}, "ingress": [{}]}}
GNP = {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"},
       "spec": {"selector": "all()"}}
NETSET = {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkSet", "metadata": {"name": "s"},
          "spec": {"nets": ["10.0.0.0/8"]}}
ANP = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "a1"},
       "spec": {"priority": 10, "subject": {"namespaces": {}},
                "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}}
CLUSTER_NP = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
              "metadata": {"name": "c1"},
              "spec": {"tier": "Admin", "priority": 5, "subject": {"namespaces": {}},
                       "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}}
BASE = (namespace("shop"), pod("web", "shop", {"app": "web"}, [80], ip="10.0.1.1"),
        policy("web-in", "shop", {"matchLabels": {"app": "web"}}, ingress=[{}]))


def _load(*extra: dict[str, Any]) -> Any:
    return load_objects([*BASE, *extra])


@pytest.mark.parametrize(("text", "profile", "version"), [
    ("generic", "generic", ""), ("cilium", "cilium", "1.20"), ("cilium:1.20", "cilium", "1.20"),
    ("calico", "calico", "3.32"), ("Calico:3.31", "calico", "3.31"), ("calico:v3.32.1", "calico", "3.32"),
    ("calico:3.30.7", "calico", "3.30")])
def test_parse(text: str, profile: str, version: str) -> None:
    chosen = parse(text)
    assert (chosen.profile.name, chosen.release.version, chosen.why) == (profile, version, f"--cni {text}")


@pytest.mark.parametrize(("text", "message"), [
    ("weave", "--cni 'weave': unknown network plugin; netpol knows generic, cilium (1.20), calico (3.30, 3.31, 3.32)"),
    ("calico:3.3", "--cni 'calico:3.3': netpol knows no release '3.3' of calico; it knows 3.30, 3.31, 3.32"),
    ("cilium:1.19", "--cni 'cilium:1.19': netpol knows no release '1.19' of cilium; it knows 1.20"),
    ("generic:1.0", "--cni 'generic:1.0': netpol knows no release '1.0' of generic; it has no releases: pass --cni "
                    "generic")])
def test_unknown_profile_or_release(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as err:
        parse(text)
    assert str(err.value) == message


def test_known_names_every_release_newest_last() -> None:
    assert known() == "generic, cilium (1.20), calico (3.30, 3.31, 3.32)"
    assert [p.newest.version for p in PROFILES] == ["", "1.20", "3.32"]


def test_recognise_from_files() -> None:
    assert recognise(_load()).profile is GENERIC
    cilium = recognise(_load(CNP))
    assert (cilium.profile, cilium.why) == (CILIUM, "recognised: the input holds CiliumNetworkPolicy (cilium.io)")
    calico = recognise(_load(NETSET))  # a kind that only names addresses shows the plugin as well
    assert (calico.profile, calico.release.version) == (CALICO, "3.32")
    group = {"apiVersion": "cilium.io/v2", "kind": "CiliumCIDRGroup", "metadata": {"name": "g"},
             "spec": {"externalCIDRs": ["192.0.2.0/24"]}}  # read, not ignored, and Cilium's all the same
    assert recognise(_load(group)).why == "recognised: the input holds CiliumCIDRGroup (cilium.io)"
    with pytest.raises(ProfileError) as err:
        recognise(_load(CNP, GNP))
    assert str(err.value) == (
        "the input shows two network plugins: calico (the input holds GlobalNetworkPolicy (projectcalico.org), "
        "first at <memory>: items[4] (GlobalNetworkPolicy g)); cilium (the input holds CiliumNetworkPolicy "
        "(cilium.io), first at <memory>: items[3] (CiliumNetworkPolicy shop/x)). Pass --cni NAME to say which one "
        "enforces the policies")


def test_recognise_by_served_groups_and_agent() -> None:
    served = replace(_load(), served_groups=("cilium.io",))
    assert recognise(served).why == "recognised: the API server serves cilium.io"
    agent = pod("calico-node-x", "calico-system", {"k8s-app": "calico-node"})
    agent["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "calico-node",
                                             "uid": "u", "controller": True}]
    live = replace(_load(namespace("calico-system"), agent), served_groups=())
    assert recognise(live).why == "recognised: the input runs DaemonSet calico-system/calico-node"
    snapshot = replace(live, served_groups=None)  # read back from a file, it tells the same
    assert recognise(snapshot).why == "recognised: the input runs DaemonSet calico-system/calico-node"
    rendered = _load(namespace("kube-system"), workload("cilium", "kube-system", "DaemonSet", None))
    assert recognise(rendered).why == "recognised: the input runs DaemonSet kube-system/cilium"
    assert recognise(_load(workload("cilium", "shop", "DaemonSet", None))).profile is GENERIC  # not the agent


def test_generic_changes_nothing() -> None:
    loaded = _load(ANP, CLUSTER_NP)
    assert apply(loaded, None) is loaded and apply(loaded, "generic") is loaded


@pytest.mark.parametrize(("cni", "kept", "left_out"), [
    ("cilium", [], ["AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) a1: Cilium does not implement "
                    "AdminNetworkPolicy (cilium#23380)",
                    "ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) c1: Cilium 1.20 enforces "
                    "ClusterNetworkPolicy only with --enable-k8s-cluster-network-policy, off by default "
                    "(cilium#47227)"]),
    ("calico", ["c1"], ["AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) a1: Calico 3.32 no longer enforces "
                        "AdminNetworkPolicy v1alpha1 (projectcalico/calico#11144)"]),
    ("calico:3.31", ["a1"], ["ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) c1: Calico enforces "
                             "ClusterNetworkPolicy from 3.32 on (projectcalico/calico#10810)"]),
])
def test_kinds_a_plugin_does_not_enforce_are_left_out_and_named(cni: str, kept: list[str],
                                                                left_out: list[str]) -> None:
    result = apply(_load(ANP, CLUSTER_NP), cni)
    chosen = parse(cni)
    assert [p.name for p in result.cluster.tiered] == kept
    assert result.cluster.dataplane == chosen.release.dataplane
    notes = result.cluster.assumptions
    assert notes[0] == (f"dataplane profile {chosen.title} (--cni {cni}); its answers to what the NetworkPolicy API "
                        "leaves open follow (docs/semantics.md §15)")
    assert [n for n in notes if n.startswith("left out")] == [
        f"left out, not enforced by {chosen.title}: {line}" for line in left_out]
    # under Cilium, one more: the agent options assumed (netpol/policies/cilium.py cilium_assumptions)
    options = [n for n in notes if n.startswith("Cilium agent options at their 1.20 defaults: ")]
    assert len(options) == (chosen.profile.name == "cilium")
    assert len(notes) == 1 + len(chosen.release.answers) + len(left_out) + len(options)
    assert [str(d) for d in result.diagnostics if "left out" in d.message] == [
        f"warning: left out, not enforced by {chosen.title}: {line}" for line in left_out]


def test_answers_say_what_is_not_modelled() -> None:
    notes = apply(_load(), "cilium").cluster.assumptions
    assert "cilium 1.20: ipBlock: an ipBlock matches only addresses outside the cluster, never a pod's, a node's or " \
           "a host-network pod's (policy-cidr-match-mode empty, the default)" in notes
    assert any(n.startswith("not modelled under cilium 1.20: SCTP: ") for n in notes)
    assert apply(_load(), "calico").cluster.dataplane == Dataplane("calico", True, False)


def test_docs_state_every_answer_with_its_source() -> None:
    """docs/semantics.md §15 has a table per profile: each question, the answer and its source, as here."""
    section = DOCS.read_text().split("## 15.", 1)[1]
    for profile in (CILIUM, CALICO):
        for release in profile.releases:
            for a in release.answers:
                row = f"| {a.question} | {a.answer} | {a.source} | {'yes' if a.modelled else 'no: stated'} |"
                assert row in section, row
    assert re.search(r"generic, cilium \(1\.20\), calico \(3\.30, 3\.31, 3\.32\)", section)


def test_cilium_enforces_rules_that_policy_types_omit() -> None:
    """cilium#48703: policyTypes [Egress] with ingress rules isolates ingress too under Cilium 1.20."""
    web_db = (pod("db", "shop", {"app": "db"}, [80], ip="10.0.1.2"),
              policy("web-out", "shop", {"matchLabels": {"app": "web"}}, policyTypes=["Egress"],
                     ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "db"}}}]}], egress=[{}]))
    loaded = load_objects([namespace("shop"), pod("web", "shop", {"app": "web"}, [80], ip="10.0.1.1"),
                           pod("x", "shop", {"app": "x"}, [80], ip="10.0.1.3"), *web_db])
    answers = {cni: [Analyzer(apply(loaded, cni).cluster).can_reach(f"shop/{s}", "shop/web", 80).allowed
                     for s in ("db", "x")] for cni in ("generic", "cilium", "calico")}
    assert answers == {"generic": [True, True], "cilium": [True, False], "calico": [True, True]}
    cilium = apply(loaded, "cilium")
    assert cilium.cluster.policies[0].declared_policy_types == ("Ingress", "Egress")
    assert [d.message for d in cilium.diagnostics if "cilium#48703" in d.message] == [
        "policyTypes omits Ingress, yet cilium 1.20 enforces its ingress rules (cilium#48703)"]


def test_every_release_says_what_it_does_with_each_kind_netpol_reads() -> None:
    everything = {("networking.k8s.io/v1", "NetworkPolicy"),
                  ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"),
                  ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy"),
                  ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy")}
    for profile in PROFILES:
        for release in profile.releases:
            not_enforced = {kind for kind, _ in release.not_enforced}
            assert release.enforces | not_enforced == everything and not release.enforces & not_enforced
