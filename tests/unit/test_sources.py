"""Loading: files, directories, stdin, JSON, Lists, kinds, implied namespaces."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from netpol import load_manifests, load_objects
from netpol.model import METADATA_NAME_LABEL
from netpol.policies import profiles
from netpol.sources import manifests
from tests.builders import POLICY_ONLY, namespace, pod, policy, scenario_dirs


def test_uses_libyaml_when_present() -> None:
    if getattr(yaml, "__with_libyaml__", False):
        assert issubclass(manifests._YamlLoader, yaml.CSafeLoader)


def test_directory_is_walked_recursively_in_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(yaml.safe_dump(pod("b")))
    (tmp_path / "a.json").write_text(json.dumps(pod("a")))
    (tmp_path / "notes.txt").write_text("not a manifest")
    result = load_manifests([str(tmp_path)])
    assert [p.key for p in result.cluster.pods] == ["default/a", "default/b"]
    assert [str(p.location) for p in result.cluster.pods] == [
        f"{tmp_path}/a.json: document 1, line 1 (Pod default/a)",
        f"{tmp_path}/sub/b.yml: document 1, line 1 (Pod default/b)",
    ]


def test_kubectl_list_output_yaml_and_json(tmp_path: Path) -> None:
    items = [namespace("x", team="t"), pod("p", ns="x"), policy("deny", ns="x")]
    (tmp_path / "l.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    (tmp_path / "l.json").write_text(json.dumps({"apiVersion": "v1", "kind": "PodList",
                                                 "items": [pod("q", ns="x")]}))
    result = load_manifests([str(tmp_path / "l.yaml"), str(tmp_path / "l.json")])
    assert [p.key for p in result.cluster.pods] == ["x/p", "x/q"]
    assert [p.key for p in result.cluster.policies] == ["x/deny"]
    assert str(result.cluster.pods[1].location) == f"{tmp_path}/l.json: document 1, items[0] (Pod x/q)"


def test_stdin_yaml_and_json() -> None:
    text = yaml.safe_dump_all([pod("a"), pod("b")])
    assert [p.name for p in load_manifests(["-"], stdin_text=text).cluster.pods] == ["a", "b"]
    assert [p.name for p in load_manifests(["-"], stdin_text=json.dumps(pod("c"))).cluster.pods] == ["c"]


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("---\n---\n# only a comment\n---\n" + yaml.safe_dump(pod("a")))
    result = load_manifests([str(tmp_path / "f.yaml")])
    assert [str(p.location) for p in result.cluster.pods] == [f"{tmp_path}/f.yaml: document 3, line 5 (Pod default/a)"]


def test_other_kinds_are_kept_visible() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}}
    old = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "d"}}
    calico = {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "c"}}
    result = load_objects([pod("a"), cm, old, calico])
    assert [(o.kind, o.name) for o in result.ignored] == [("ConfigMap", "s"), ("Deployment", "d"), ("NetworkPolicy", "c")]
    # a Calico NetworkPolicy enforces traffic: named apart (sources/unmodelled.py), not counted with ConfigMaps
    assert result.ignored_summary() == "ConfigMap (v1) x1, Deployment (extensions/v1beta1) x1"
    assert [(o.kind, o.title) for o in result.unmodelled.objects] == [("NetworkPolicy", "c")]
    # Calico's NetworkPolicy is its own kind, not another version of Kubernetes': no "only networking.k8s.io/v1"
    messages = [d.message for d in result.diagnostics]
    assert not any("NetworkPolicy c of apiVersion" in m for m in messages)
    beta = load_objects([pod("a"), {**calico, "apiVersion": "networking.k8s.io/v1beta1"}])
    assert any("NetworkPolicy c of apiVersion networking.k8s.io/v1beta1 is not analysed (only networking.k8s.io/v1 "
               "is)" in d.message for d in beta.diagnostics)


def test_implied_namespace_gets_only_the_name_label_and_a_warning() -> None:
    result = load_objects([pod("a", ns="shop")])
    ns = result.cluster.namespaces_by_name["shop"]
    assert ns.labels == ((METADATA_NAME_LABEL, "shop"),) and not ns.declared
    assert [str(d) for d in result.diagnostics] == [
        "warning: namespace 'shop' is used but not declared; assuming it has only the label "
        "kubernetes.io/metadata.name=shop"
    ]


def test_declared_namespace_always_carries_its_name_label() -> None:
    ns = load_objects([namespace("shop", team="a")]).cluster.namespaces[0]
    assert ns.labels == ((METADATA_NAME_LABEL, "shop"), ("team", "a"))


def test_policy_without_namespace_is_in_default() -> None:
    obj = policy("p")
    del obj["metadata"]["namespace"]
    assert load_objects([obj]).cluster.policies[0].key == "default/p"


def test_policy_types_are_kept_as_declared() -> None:
    c = load_objects([policy("a"), policy("b", egress=[{}]), policy("c", policyTypes=["Egress"]),
                      policy("d", policyTypes=[])]).cluster
    assert [(p.name, p.declared_policy_types, p.policy_types) for p in c.policies] == [
        ("a", None, ("Ingress",)),
        ("b", None, ("Ingress", "Egress")),
        ("c", ("Egress",), ("Egress",)),
        ("d", None, ("Ingress",)),
    ]


def test_every_fixture_loads_without_warnings() -> None:
    for d in [*scenario_dirs(), POLICY_ONLY / "repo", POLICY_ONLY / "repo-head"]:
        loaded = load_manifests([str(d)])
        assert loaded.diagnostics == (), d.name
        result = profiles.apply(loaded, None)  # as the plugin it names enforces it
        assert {o.kind for o in result.ignored} <= {"Service"}, d.name


def test_finished_pods_are_skipped_visibly() -> None:
    done = pod("job-1")
    done["status"] = {"phase": "Succeeded", "podIP": "10.0.0.9"}
    running = pod("web")
    running["status"] = {"phase": "Running"}
    result = load_objects([namespace("default"), done, running])
    assert [p.name for p in result.cluster.pods] == ["web"]
    assert [str(d) for d in result.diagnostics] == [
        "info: skipped 1 finished pod(s) (phase Succeeded or Failed): default/job-1"
    ]
