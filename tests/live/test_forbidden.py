"""A namespace-scoped user: a 403 on nodes or on a cluster-scoped policy kind is not fatal for the answers
that do not need it, and every answer says what it could not see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from netpol.sources.cluster import NODES_FORBIDDEN, read_cluster
from tests.live.fake_api import FakeApi
from tests.live.test_cluster import manifests

runner = CliRunner()
ADMIN = ("adminnetworkpolicies (policy.networking.k8s.io/v1alpha1), forbidden (403), so the Admin tier (v1alpha1) "
         "could not be read")


def test_forbidden_nodes_are_an_assumption(tmp_path: Path) -> None:
    with FakeApi(manifests("tiered-nodes-v1alpha1")) as server:
        server.fail["nodes"] = 403
        kubeconfig = server.kubeconfig(tmp_path / "k")
        read = read_cluster(kubeconfig)
        assert read.result.cluster.nodes == ()
        assert read.result.cluster.assumptions == (NODES_FORBIDDEN,)
        assert read.result.unread == ()
        assert [d.message for d in read.result.diagnostics if d.severity == "warning" and "nodes" in d.message] == [
            f"{NODES_FORBIDDEN}; netpol needs list on nodes for them (see docs/rbac.yaml)"]
        r = runner.invoke(app, ["can-reach", "gryffindor/harry", "hufflepuff/cedric", "-p", "80", "--kubeconfig",
                                kubeconfig])
        assert r.exit_code == 0, r.stderr
        assert f"  assumption: {NODES_FORBIDDEN}" in r.stdout.splitlines()
        r = runner.invoke(app, ["matrix", "-o", "json", "--kubeconfig", kubeconfig])
        assert r.exit_code == 0 and NODES_FORBIDDEN in json.loads(r.stdout)["assumptions"]


def test_a_forbidden_tier_refuses_unless_ignored(tmp_path: Path) -> None:
    with FakeApi(manifests("tiered-admin-deny-v1alpha1")) as server:
        server.fail["adminnetworkpolicies"] = 403
        kubeconfig = server.kubeconfig(tmp_path / "k")
        assert read_cluster(kubeconfig).result.unread == (ADMIN,)
        question = ["can-reach", "slytherin/draco", "gryffindor/harry", "-p", "80", "--kubeconfig", kubeconfig]
        r = runner.invoke(app, question)
        assert r.exit_code == 2 and r.stdout == ""
        assert r.stderr.splitlines()[-1] == (
            f"netpol: error: the answer cannot see everything that allows or denies traffic here: {ADMIN}. netpol "
            "does not answer as if they were absent; pass --ignore-unmodelled to answer without them (every answer "
            "then says what it ignored), or remove them from the input")
        r = runner.invoke(app, [*question, "--ignore-unmodelled", "-o", "json"])
        assert r.exit_code == 0, r.stderr  # the Admin deny is not seen: the assumption says so
        assert json.loads(r.stdout)["assumptions"] == [
            f"ignored (--ignore-unmodelled): {ADMIN}; they may allow or deny this traffic"]
        r = runner.invoke(app, ["snapshot", "-o", str(tmp_path / "s.yaml"), "--kubeconfig", kubeconfig])
        assert r.exit_code == 2 and not (tmp_path / "s.yaml").exists()  # read back, it would say ALLOWED silently
        r = runner.invoke(app, ["explain", "--kubeconfig", kubeconfig])
        assert r.exit_code == 0 and f"netpol: warning: {ADMIN}" in r.stderr.splitlines()


def test_a_forbidden_namespaced_kind_is_still_fatal(tmp_path: Path) -> None:
    with FakeApi(manifests("specific-port")) as server:
        server.fail["networkpolicies"] = 403
        r = runner.invoke(app, ["matrix", "--kubeconfig", server.kubeconfig(tmp_path / "k"), "--ignore-unmodelled"])
        assert r.exit_code == 2 and "forbidden (403): cannot list networkpolicies" in r.stderr


CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
       "metadata": {"name": "api-only", "namespace": "default", "annotations": {"x": "SECRET"}},
       "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "x"}}]}]}}
CCNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "lockdown"},
        "spec": {"endpointSelector": {}, "ingress": [{}]}}
LIVE_CILIUM = ["1 CiliumClusterwideNetworkPolicy (cilium.io/v2): lockdown, not evaluated by netpol",
               "1 CiliumNetworkPolicy (cilium.io/v2): default/api-only, not evaluated by netpol"]


def test_a_live_cluster_s_unmodelled_objects_are_read_and_named(tmp_path: Path) -> None:
    with FakeApi([*manifests("specific-port"), CNP, CCNP]) as server:
        kubeconfig = server.kubeconfig(tmp_path / "k")
        read = read_cluster(kubeconfig, namespaces=["default"])
        assert [(o.kind, o.title) for o in read.result.unmodelled.objects] == [
            ("CiliumClusterwideNetworkPolicy", "lockdown"), ("CiliumNetworkPolicy", "default/api-only")]
        paths = [p for _, p in server.requests]
        assert {"/apis", "/apis/cilium.io/v2", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies?limit=500",
                "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies?limit=500"} <= set(paths)
        r = runner.invoke(app, ["matrix", "--kubeconfig", kubeconfig, "--cni", "generic"])
        assert r.exit_code == 2 and "; ".join(LIVE_CILIUM) in r.stderr.splitlines()[-1]
        r = runner.invoke(app, ["matrix", "-o", "json", "--kubeconfig", kubeconfig, "--cni", "generic",
                                "--ignore-unmodelled"])
        assert r.exit_code == 0
        notes = json.loads(r.stdout)["assumptions"]
        assert [n for n in notes if n.startswith("ignored")] == [
            f"ignored (--ignore-unmodelled): {line}; they may allow or deny this traffic" for line in LIVE_CILIUM]
        # Recognised as Cilium, which netpol evaluates: the CCNP's `ingress: [{}]` isolates every pod.
        r = runner.invoke(app, ["matrix", "-o", "json", "--kubeconfig", kubeconfig])
        assert r.exit_code == 0, r.stderr
        answer = json.loads(r.stdout)
        assert answer["assumptions"][0].startswith(
            "dataplane profile cilium 1.20 (recognised: the input holds CiliumClusterwideNetworkPolicy (cilium.io), "
            "CiliumNetworkPolicy (cilium.io); the API server serves cilium.io)")
        assert not [n for n in answer["assumptions"] if n.startswith("ignored")]
        out = tmp_path / "s.yaml"
        r = runner.invoke(app, ["snapshot", "-o", str(out), "--kubeconfig", kubeconfig])
        assert r.exit_code == 0, r.stderr  # a snapshot records them (whole: they are read), so its answers read alike
        assert "SECRET" not in out.read_text()
        r = runner.invoke(app, ["matrix", "-f", str(out), "--cni", "generic"])
        assert r.exit_code == 2 and "; ".join(LIVE_CILIUM) in r.stderr.splitlines()[-1]
        r = runner.invoke(app, ["matrix", "-o", "json", "-f", str(out)])
        assert r.exit_code == 0 and json.loads(r.stdout)["allowed"] == answer["allowed"]
        server.fail["ciliumnetworkpolicies"] = 403
        assert read_cluster(kubeconfig).result.unread == (
            "ciliumnetworkpolicies (cilium.io/v2), forbidden (403), so the CiliumNetworkPolicy objects (Cilium) could "
            "not be read",)


def test_a_live_cluster_s_plugin_is_recognised_by_its_agent(tmp_path: Path) -> None:
    agent = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "cilium-x1", "namespace": "kube-system", "labels": {"k8s-app": "cilium"},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "cilium",
                                               "uid": "u1", "controller": True}]},
             "spec": {"hostNetwork": True, "nodeName": "n1", "containers": [{"name": "agent", "image": "cilium"}]}}
    with FakeApi([*manifests("specific-port"), {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "kube-system"}}, agent]) as server:
        kubeconfig = server.kubeconfig(tmp_path / "k")
        assert read_cluster(kubeconfig).result.served_groups == ()
        r = runner.invoke(app, ["matrix", "-o", "json", "--kubeconfig", kubeconfig])
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["assumptions"][0] == (
            "dataplane profile cilium 1.20 (recognised: the input runs DaemonSet kube-system/cilium); its answers "
            "to what the NetworkPolicy API leaves open follow (docs/semantics.md §15)")
        r = runner.invoke(app, ["matrix", "-o", "json", "--kubeconfig", kubeconfig, "--cni", "generic"])
        assert r.exit_code == 0 and "dataplane" not in r.stdout  # --cni wins
        out = tmp_path / "s.yaml"
        assert runner.invoke(app, ["snapshot", "-o", str(out), "--kubeconfig", kubeconfig]).exit_code == 0
        r = runner.invoke(app, ["matrix", "-o", "json", "-f", str(out)])  # its snapshot runs the same profile
        assert r.exit_code == 0 and json.loads(r.stdout)["assumptions"][0].startswith(
            "dataplane profile cilium 1.20 (recognised: the input runs DaemonSet kube-system/cilium)")


def _group(version: str) -> dict[str, Any]:
    return {"apiVersion": f"cilium.io/{version}", "kind": "CiliumCIDRGroup", "metadata": {"name": "partners"},
            "spec": {"externalCIDRs": ["198.51.100.0/24"]}}


@pytest.mark.parametrize("version", ["v2", "v2alpha1"])
def test_a_live_cluster_s_cilium_cidr_groups_are_read(tmp_path: Path, version: str) -> None:
    """CiliumCIDRGroup is what cidrGroupRef names: read where cilium.io is served, at v2 (Cilium 1.18+) or else at
    v2alpha1; none there is none, with a note."""
    with FakeApi([*manifests("specific-port"), CNP, _group(version)]) as server:
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
        assert [g.name for g in read.result.cluster.cidr_groups] == ["partners"]
        assert [p.name for p in read.result.cluster.cilium] == ["api-only"]
        assert not [d for d in read.result.diagnostics if "ciliumcidrgroups" in d.message]
    with FakeApi([*manifests("specific-port"), CNP]) as server:
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
        assert read.result.cluster.cidr_groups == ()
        assert [d.message for d in read.result.diagnostics if "ciliumcidrgroups" in d.message] == [
            "the API server does not serve ciliumcidrgroups (cilium.io/v2alpha1): the CRD is not installed, so there "
            "are none"]
        server.fail["ciliumcidrgroups"] = 403
        assert read_cluster(server.kubeconfig(tmp_path / "k")).result.unread == (
            "ciliumcidrgroups (cilium.io/v2alpha1), forbidden (403), so the CiliumCIDRGroup objects (Cilium) could not "
            "be read",)


def _slice(name: str, namespace: str, service: str, address: str) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": name, "namespace": namespace, "labels": {"kubernetes.io/service-name": service}},
            "endpoints": [{"addresses": [address]}]}


API_CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
           "metadata": {"name": "to-api", "namespace": "default"},
           "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["kube-apiserver"]}]}}
SLICES = [_slice("kubernetes", "default", "kubernetes", "203.0.113.5"), _slice("web-x", "default", "web", "10.9.9.9"),
          _slice("kubernetes", "other", "kubernetes", "203.0.113.6")]


def test_a_live_cluster_s_api_server_endpointslices_are_read(tmp_path: Path) -> None:
    """The kube-apiserver entity stands for the EndpointSlices of Service default/kubernetes, read live as from files
    (only those: in default, by their service-name label, whatever -n asks); none served is none, with a note; a 403
    is a warning (Cilium installed) and the entity stands for no address, never a failed read."""
    other = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}
    with FakeApi([*manifests("specific-port"), other, API_CNP, *SLICES]) as server:
        kubeconfig = server.kubeconfig(tmp_path / "k")
        read = read_cluster(kubeconfig, namespaces=["other"])
        assert [str(ip) for ip in read.result.cluster.api_server] == ["203.0.113.5"]
        assert [p for _, p in server.requests if "endpointslices" in p] == [
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io/service-name"
            "%3Dkubernetes&limit=500"]
        assert [o.kind for o in read.result.ignored] == []  # no other EndpointSlice is read, so none is ignored
        question = ["can-reach", "default/test-1", "203.0.113.5", "-p", "443", "--kubeconfig", kubeconfig]
        r = runner.invoke(app, question)
        assert r.exit_code == 0, r.stderr
        assert "  egress  of default/test-1: allowed by CNP default/to-api spec egress[0]" in r.stdout.splitlines()
        out = tmp_path / "s.yaml"
        assert runner.invoke(app, ["snapshot", "-o", str(out), "--kubeconfig", kubeconfig]).exit_code == 0
        again = runner.invoke(app, [*question[:-2], "-f", str(out)]).stdout.splitlines()  # the snapshot keeps them
        assert [line for line in again if "recognised" not in line] == [
            line for line in r.stdout.splitlines() if "recognised" not in line]
        server.fail["endpointslices"] = 403
        read = read_cluster(kubeconfig)
        assert (read.result.cluster.api_server, read.result.unread) == ((), ())
        assert [(d.severity, d.message) for d in read.result.diagnostics if "endpointslices" in d.message] == [
            ("warning", "endpointslices (discovery.k8s.io/v1) in namespace default could not be read (forbidden, 403): "
                        "Cilium's kube-apiserver entity stands for no address; netpol needs list on endpointslices "
                        "in namespace default for it (see docs/rbac.yaml)")]
        r = runner.invoke(app, question)
        assert r.exit_code == 1, r.stderr  # the entity stands for nothing: the address is denied
        server.fail["endpointslices"] = 404  # a cluster before Kubernetes 1.21
        read = read_cluster(kubeconfig)
        assert [(d.severity, d.message) for d in read.result.diagnostics if "endpointslices" in d.message] == [
            ("info", "the API server does not serve endpointslices (discovery.k8s.io/v1): Cilium's kube-apiserver "
                     "entity stands for no address")]
