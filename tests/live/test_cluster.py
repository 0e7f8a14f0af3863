"""Reading a live cluster through the official client, against a fake API server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from netpol import Analyzer
from netpol.cli import app
from netpol.policies.profiles import apply
from netpol.sources import cluster as live
from netpol.sources.cluster import ClusterError, read_cluster
from netpol.sources.unmodelled import CATALOGUE, READ_GROUPS
from tests.builders import FIXTURES, fixture, scenario_dirs
from tests.live.fake_api import FakeApi

runner = CliRunner()
SCENARIOS = [p.name for p in scenario_dirs()]


def manifests(name: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((FIXTURES / name).glob("*.yaml")):
        out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return out


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(manifests("specific-port") + [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default", "uid": "1234", "annotations": {
             "kubectl.kubernetes.io/last-applied-configuration": '{"SECRET_LAST_APPLIED": 1}',
             "netpol.io/lint-ignore": "NP101"}},
         "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
                                              "spec": {"containers": [{
                                                  "name": "c", "image": "registry/SECRET_IMAGE",
                                                  "args": ["--token=SECRET_ARG"],
                                                  "env": [{"name": "PASSWORD", "value": "SECRET_ENV"}],
                                                  "ports": [{"containerPort": 80, "name": "http"}]}],
                                                  "volumes": [{"name": "v", "secret": {"secretName": "SECRET_VOL"}}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "default"},
         "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {
             "metadata": {"labels": {"app": "report"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}}},
    ]) as server:
        yield server


def table(a: Analyzer) -> dict[tuple[str, str], str]:
    m = a.matrix()
    return {(s.key, d.key): str(m.ports(s, d)) for s in m.pods for d in m.pods if s.key != d.key}


@pytest.mark.parametrize("name", SCENARIOS)
def test_files_and_server_give_identical_matrices(name: str, tmp_path: Path) -> None:
    with FakeApi(manifests(name)) as server:
        read = read_cluster(server.kubeconfig(tmp_path / "kubeconfig"))
    assert read.context == "fake"
    assert table(Analyzer(apply(read.result, None).cluster)) == table(fixture(name))  # as the commands read it


def test_paging_follows_continue_and_only_gets(api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "PAGE_SIZE", 2)
    seen: list[tuple[str, int]] = []
    read = read_cluster(api.kubeconfig(tmp_path / "k"), progress=lambda kind, n: seen.append((kind, n)))
    pods = [r for r in api.requests if r[1].startswith("/api/v1/pods")]
    assert pods == [("GET", "/api/v1/pods?limit=2"), ("GET", "/api/v1/pods?limit=2&continue=2")]
    assert {m for m, _ in api.requests} == {"GET"}
    assert not any("secrets" in p or "configmaps" in p for _, p in api.requests)
    assert ("Pod", 2) in seen and ("Pod", 3) in seen
    keys = [p.key for p in read.result.cluster.pods]
    assert keys == ["default/apiserver", "default/cronjob/report", "default/deployment/web", "default/test-1",
                    "default/test-2"]
    assert all("managedFields" not in o["metadata"] for o in read.objects)


def test_namespace_scope_reads_only_those_namespaces(api: FakeApi, tmp_path: Path) -> None:
    read_cluster(api.kubeconfig(tmp_path / "k"), namespaces=["default"])
    paths = [p for _, p in api.requests]
    assert "/api/v1/namespaces/default" in paths
    assert "/api/v1/namespaces/default/pods?limit=500" in paths
    assert "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies?limit=500" in paths
    assert not any(p.startswith("/api/v1/pods") or p == "/api/v1/namespaces?limit=500" for p in paths)


@pytest.mark.parametrize(("plural", "status", "message"), [
    ("pods", 401, "unauthorized (401): the API server rejected the credentials of context fake; log in again or "
                  "check the kube config"),
    ("networkpolicies", 403, "forbidden (403): cannot list networkpolicies (networking.k8s.io/v1) at cluster scope; "
                             "netpol needs list on networkpolicies (see docs/rbac.yaml); with -n NS, netpol only "
                             "needs that permission in those namespaces"),
    ("cronjobs", 404, "the API server does not serve cronjobs (batch/v1) (404 for /apis/batch/v1/cronjobs)"),
    ("services", 500, "the API server answered 500 Internal Server Error for /api/v1/services"),
])
def test_api_errors_are_one_line(api: FakeApi, tmp_path: Path, plural: str, status: int, message: str) -> None:
    api.fail[plural] = status
    with pytest.raises(ClusterError) as err:
        read_cluster(api.kubeconfig(tmp_path / "k"))
    assert str(err.value) == message


def test_forbidden_in_a_namespace_and_unknown_namespace(api: FakeApi, tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match=r"^namespace nope not found \(404\)$"):
        read_cluster(api.kubeconfig(tmp_path / "k"), namespaces=["nope"])
    api.fail["pods"] = 403
    with pytest.raises(ClusterError, match=r"cannot list pods \(v1\) in the namespaces given; netpol needs list on "
                                           r"pods \(see docs/rbac.yaml\)$"):
        read_cluster(api.kubeconfig(tmp_path / "k"), namespaces=["default"])


def test_timeouts_unreachable_tls_and_bad_config(api: FakeApi, tmp_path: Path) -> None:
    api.delay = 2
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"^http://127\.0\.0\.1:\d+/api/v1/namespaces: the API server did not "
                                           r"finish answering within 0\.5 s \(netpol's bound on one request\)$"):
        read_cluster(api.kubeconfig(tmp_path / "k"), timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 1.0  # the bound stated is the time waited
    api.delay = 0
    https = api.url.replace("http://", "https://")
    with pytest.raises(ClusterError, match=r"^TLS error talking to the API server at https://127\.0\.0\.1:\d+: "):
        read_cluster(api.kubeconfig(tmp_path / "tls", server=https))
    with pytest.raises(ClusterError, match=r"^cannot reach the API server at http://127\.0\.0\.1:9: "):
        read_cluster(api.kubeconfig(tmp_path / "closed", server="http://127.0.0.1:9"))
    missing = tmp_path / "missing"
    with pytest.raises(ClusterError) as info:
        read_cluster(str(missing))
    assert str(info.value) == (f"cannot load the kube config {missing}: no such file (to analyse manifests instead, "
                               "pass -f PATH)")
    broken = tmp_path / "broken"
    broken.write_text("apiVersion: v1\nclusters: [ {name: x\n")
    with pytest.raises(ClusterError) as info:
        read_cluster(str(broken))
    assert str(info.value).startswith(f"cannot load the kube config {broken}: invalid YAML at line 3: ")
    broken.write_text("hello\n")
    with pytest.raises(ClusterError) as info:
        read_cluster(str(broken))
    assert str(info.value) == (f"cannot load the kube config {broken}: not a kube config (expected a mapping with "
                               "clusters, contexts and users)")
    with pytest.raises(ClusterError, match=r"^cannot load the kube config .*nope"):
        read_cluster(api.kubeconfig(tmp_path / "k"), context="nope")


def test_cli_reads_the_cluster_without_f(api: FakeApi, tmp_path: Path) -> None:
    kubeconfig = api.kubeconfig(tmp_path / "k")
    r = runner.invoke(app, ["can-reach", "default/test-2", "svc/apiserver:5001", "--kubeconfig", kubeconfig])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("ALL: default/test-2 -> svc/apiserver:5001 (Service default/apiserver port 5001")
    assert all("/api/v1/pods?" not in p for _, p in api.requests)  # can-reach reads only its namespaces
    api.fail["pods"] = 403
    r = runner.invoke(app, ["matrix", "--kubeconfig", kubeconfig])
    assert r.exit_code == 2
    assert r.stderr.startswith("netpol: error: forbidden (403): cannot list pods (v1) at cluster scope")
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("ext", ["yaml", "json"])
def test_snapshot_round_trips(api: FakeApi, tmp_path: Path, ext: str) -> None:
    kubeconfig = api.kubeconfig(tmp_path / "k")
    out = tmp_path / f"snap.{ext}"
    r = runner.invoke(app, ["snapshot", "-o", str(out), "--kubeconfig", kubeconfig])
    assert r.exit_code == 0, r.stderr
    assert r.stderr.endswith(f"to {out}: 1 namespaces, 5 pods and workloads, 1 policies, 1 services\n")
    text = out.read_text()
    data = yaml.safe_load(text) if ext == "yaml" else json.loads(text)
    assert (data["apiVersion"], data["kind"], len(data["items"])) == ("v1", "List", 8)
    assert "SECRET" not in text and "uid" not in text and "image" not in text  # only what netpol reads
    web = next(o for o in data["items"] if o["kind"] == "Deployment")
    assert web == {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "default",
                                "annotations": {"netpol.io/lint-ignore": "NP101"}},
                   "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                       "containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]}}}}
    live_matrix = runner.invoke(app, ["matrix", "-o", "json", "--kubeconfig", kubeconfig])
    file_matrix = runner.invoke(app, ["matrix", "-o", "json", "-f", str(out)])
    assert live_matrix.exit_code == file_matrix.exit_code == 0
    assert json.loads(live_matrix.stdout) == json.loads(file_matrix.stdout)
    r = runner.invoke(app, ["snapshot", "-o", str(tmp_path / "snap.txt"), "--kubeconfig", kubeconfig])
    assert r.exit_code == 2


def test_rbac_grants_exactly_what_is_read() -> None:
    docs = list(yaml.safe_load_all((FIXTURES.parent / "docs" / "rbac.yaml").read_text()))
    granted = {(g, r, v) for doc in docs if doc["kind"] == "ClusterRole" for rule in doc["rules"]
               for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    in_namespace = {(doc["metadata"]["namespace"], g, r, v) for doc in docs if doc["kind"] == "Role"
                    for rule in doc["rules"] for g in rule["apiGroups"] for r in rule["resources"]
                    for v in rule["verbs"]}
    needed = {("" if res.api_version == "v1" else res.api_version.split("/")[0], res.plural, "list")
              for res in (*live.RESOURCES, *live.CALICO_RESOURCES) if res.namespace is None}
    needed |= {("", "namespaces", "get")}
    # a resource read in one namespace only (the API server's EndpointSlices) is granted there only, by a Role
    assert in_namespace == {(res.namespace, res.api_version.split("/")[0], res.plural, "list")
                            for res in live.RESOURCES if res.namespace is not None}
    assert {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"].endswith("Binding")} == {
        ("ClusterRoleBinding", "netpol-reader"), ("RoleBinding", "netpol-reader-api-server")}
    needed |= {(k.group, k.plural, "list") for k in CATALOGUE if k.group not in READ_GROUPS}  # when served
    needed |= {("cilium.io", "ciliumcidrgroups", "list")}  # what Cilium's cidrGroupRef names, when cilium.io is served
    assert granted == needed


def test_check_and_graph_against_the_live_cluster(tmp_path: Path) -> None:
    with FakeApi(manifests("specific-port")) as server:
        kubeconfig = server.kubeconfig(tmp_path / "k")
        intent = str(FIXTURES.parent / "intents" / "specific-port.intent.yaml")
        r = runner.invoke(app, ["check", intent, "--live", "--kubeconfig", kubeconfig])
        assert r.exit_code == 0, r.stdout + r.stderr
        assert r.stdout.endswith("4 passed, 0 failed\n")
        r = runner.invoke(app, ["graph", "--kubeconfig", kubeconfig])
        assert r.exit_code == 0
        assert r.stdout == runner.invoke(app, ["graph", "-f", str(FIXTURES / "specific-port")]).stdout


def test_a_tiered_crd_that_is_not_installed_means_none(tmp_path: Path) -> None:
    with FakeApi(manifests("tiered-admin-deny-v1alpha1")) as server:
        server.fail["clusternetworkpolicies"] = 404  # a v0.1.x cluster: no v1alpha2 CRD
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
        assert [p.name for p in read.result.cluster.tiered] == ["gryffindor-no-slytherin"]
        assert [d.message for d in read.result.diagnostics if "not installed" in d.message] == [
            "the API server does not serve clusternetworkpolicies (policy.networking.k8s.io/v1alpha2): the CRD is "
            "not installed, so there are none"]
        assert not Analyzer(read.result.cluster).can_reach("slytherin/draco", "gryffindor/harry", 80).allowed
        server.fail["nodes"] = 404  # nodes are not optional: a real error
        with pytest.raises(ClusterError, match=r"does not serve nodes \(v1\)"):
            read_cluster(server.kubeconfig(tmp_path / "k"))


def test_lint_against_the_live_cluster(api: FakeApi, tmp_path: Path) -> None:
    """Objects read from a cluster have no file: the text says so, and SARIF results carry no location."""
    kubeconfig = api.kubeconfig(tmp_path / "k")
    r = runner.invoke(app, ["lint", "--kubeconfig", kubeconfig, "-o", "json", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["cluster_checks"] is True
    assert {(f["file"], f["line"]) for f in data["findings"]} <= {("cluster fake", None), (None, None)}
    r = runner.invoke(app, ["lint", "--kubeconfig", kubeconfig, "-o", "sarif", "--fail-on", "never"])
    assert all("locations" not in x for x in json.loads(r.stdout)["runs"][0]["results"])
