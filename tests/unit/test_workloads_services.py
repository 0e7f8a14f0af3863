"""Workloads stand for their pods; Services resolve to their backing pods and target ports."""

from __future__ import annotations

from typing import Any

import pytest

from netpol.errors import InputError, QueryError
from tests.builders import analyzer, labels, namespace, pod, policy


def template(labels_: dict[str, str], ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"labels": labels_},
            "spec": {"containers": [{"name": "c", "image": "x", "ports": ports or []}]}}


def workload(kind: str, name: str, labels_: dict[str, str], ns: str = "default", **spec: Any) -> dict[str, Any]:
    api = {"Job": "batch/v1", "CronJob": "batch/v1", "ReplicationController": "v1"}.get(kind, "apps/v1")
    ports = spec.pop("ports", None)
    body: dict[str, Any] = dict(spec)
    if kind == "CronJob":
        body = {"schedule": "* * * * *", "jobTemplate": {"spec": {**spec, "template": template(labels_, ports)}}}
    else:
        body["template"] = template(labels_, ports)
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": body}


def service(name: str, selector: dict[str, str] | None, ports: list[dict[str, Any]], ns: str = "default") -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": ports}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


@pytest.mark.parametrize(("kind", "spec", "key", "replicas"), [
    ("Deployment", {"replicas": 3}, "default/deployment/web", 3),
    ("Deployment", {}, "default/deployment/web", 1),
    ("ReplicaSet", {"replicas": 2}, "default/replicaset/web", 2),
    ("StatefulSet", {"replicas": 5}, "default/statefulset/web", 5),
    ("DaemonSet", {}, "default/daemonset/web", None),
    ("Job", {"parallelism": 4}, "default/job/web", 4),
    ("CronJob", {}, "default/cronjob/web", 1),
    ("ReplicationController", {"replicas": 2}, "default/replicationcontroller/web", 2),
])
def test_each_workload_kind_is_one_endpoint(kind: str, spec: dict[str, Any], key: str, replicas: int | None) -> None:
    a = analyzer(namespace("default"), workload(kind, "web", {"app": "web"}, ports=[{"containerPort": 80, "name": "http"}],
                                                **spec))
    (pod,) = a.cluster.pods
    assert (pod.key, pod.workload, pod.replicas, pod.label_map, pod.ips) == (key, kind, replicas, {"app": "web"}, ())
    assert [(p.port, p.name) for p in pod.ports] == [(80, "http")]


def test_workloads_in_queries_matrices_and_policies() -> None:
    a = analyzer(
        namespace("default"),
        workload("Deployment", "web", {"app": "web"}, replicas=3, ports=[{"containerPort": 8080, "name": "http"}]),
        workload("Deployment", "client", {"app": "client"}),
        workload("Deployment", "other", {"app": "other"}),
        policy("web", selector=labels(app="web"),
               ingress=[{"from": [{"podSelector": labels(app="client")}], "ports": [{"port": "http"}]}]),
    )
    assert a.can_reach("default/deployment/client", "default/deployment/web", "http").allowed
    assert a.can_reach("deployment/client", "deployment/web", 8080).allowed  # bare form, in -n's namespace
    assert not a.can_reach("default/deployment/other", "default/deployment/web", 8080).allowed
    assert [p.display for p in a.matrix().pods] == [
        "default/deployment/client (x1)", "default/deployment/other (x1)", "default/deployment/web (x3)"]


def test_real_pods_replace_their_workload_and_scaled_to_zero_is_noted() -> None:
    owned = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "web-5d9c7-abcde", "namespace": "default", "labels": {"app": "web", "pod-template-hash": "5d9c7"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c7", "uid": "u",
                             "controller": True}]}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    rs = workload("ReplicaSet", "web-5d9c7", {"app": "web"}, replicas=1)
    rs["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d",
                                          "controller": True}]
    from netpol import load_objects
    result = load_objects([namespace("default"), owned, rs, workload("Deployment", "web", {"app": "web"}),
                           workload("Deployment", "idle", {"app": "idle"}, replicas=0)])
    assert [(p.key, p.owner) for p in result.cluster.pods] == [("default/web-5d9c7-abcde", "deployment/web")]
    assert [d.message for d in result.diagnostics] == [
        "1 workload(s) have their pods in the input, which are used instead: default/deployment/web",
        "1 workload(s) scaled to 0 have no pods: default/deployment/idle",
    ]
    with pytest.raises(QueryError, match="is a workload whose pods are in the input: name one of them "
                                         r"\(default/web-5d9c7-abcde\)"):
        analyzer(namespace("default"), owned).endpoint("default/deployment/web")


def test_bad_workload_fields_are_located_errors() -> None:
    bad = workload("Deployment", "web", {"app": "web"}, replicas=-1)
    with pytest.raises(InputError, match=r"\(Deployment default/web\): spec.replicas: must be >= 0, not -1"):
        analyzer(bad)
    bad = workload("StatefulSet", "db", {"app": "db"}, ports=[{"containerPort": 99999}])
    with pytest.raises(InputError, match=r"spec.template.spec.containers\[0\].ports\[0\].containerPort"):
        analyzer(bad)


PODS = (
    namespace("default"),
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-a", "labels": {"app": "api", "v": "1"}},
     "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8000, "name": "web"}]}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-b", "labels": {"app": "api", "v": "2"}},
     "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 9000, "name": "web"}]}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-c", "labels": {"app": "api", "v": "3"}},
     "spec": {"containers": [{"name": "c", "image": "x"}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "labels": {"app": "client"}},
     "spec": {"containers": [{"name": "c", "image": "x"}]}},
    service("api", {"app": "api"}, [{"name": "http", "port": 80, "targetPort": "web"},
                                     {"name": "metrics", "port": 9100, "protocol": "TCP"}]),
    service("external-db", None, [{"port": 5432}]),
    service("nothing", {"app": "missing"}, [{"port": 80}]),
)


@pytest.mark.parametrize(("ref", "policies", "summary", "backends"), [
    ("svc/api:80", [], "all", [("default/api-a", 8000, True), ("default/api-b", 9000, True), ("default/api-c", None, None)]),
    ("svc/api:http", [policy("p", selector=labels(v="2"), ingress=[{"ports": [{"port": 9000}]}])], "all",
     [("default/api-a", 8000, True), ("default/api-b", 9000, True), ("default/api-c", None, None)]),
    ("svc/api:http", [policy("p", selector=labels(v="2"), ingress=[{"ports": [{"port": 80}]}])], "some",
     [("default/api-a", 8000, True), ("default/api-b", 9000, False), ("default/api-c", None, None)]),
    ("default/svc/api:9100", [policy("p", selector=labels(app="api"), ingress=[{"ports": [{"port": "web"}]}])],
     "none", [("default/api-a", 9100, False), ("default/api-b", 9100, False), ("default/api-c", 9100, False)]),
])
def test_service_resolution(ref: str, policies: list[dict[str, Any]], summary: str,
                            backends: list[tuple[str, int | None, bool | None]]) -> None:
    sv = analyzer(*PODS, *policies).can_reach_service("default/client", ref)
    assert sv.summary == summary
    assert [(b.pod.key, b.port, b.verdict.allowed if b.verdict else None) for b in sv.backends] == backends


@pytest.mark.parametrize(("ref", "message"), [
    ("svc/external-db:5432", "Service default/external-db has no selector"),
    ("svc/nothing:80", "Service default/nothing selects no pod (app=missing)"),
    ("svc/api", "svc/api is ambiguous; add :PORT (or --protocol) of Service default/api "
                "(ports: http=80/TCP, metrics=9100/TCP)"),
    ("svc/api:81", "svc/api:81 matches no port of Service default/api"),
    ("svc/nope:80", "unknown Service default/nope"),
])
def test_service_errors(ref: str, message: str) -> None:
    with pytest.raises(QueryError) as err:
        analyzer(*PODS).can_reach_service("default/client", ref)
    assert str(err.value).startswith(message)


def test_a_running_job_of_a_cronjob_stands_for_the_cronjob() -> None:
    from netpol import load_objects

    job = workload("Job", "report-28790", {"app": "report"})
    job["metadata"]["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report",
                                           "uid": "c", "controller": True}]
    running = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "report-28790-xyz", "namespace": "default", "labels": {"app": "report"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28790", "uid": "j",
                             "controller": True}]}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    result = load_objects([namespace("default"), workload("CronJob", "report", {"app": "report"}), job, running])
    assert [p.key for p in result.cluster.pods] == ["default/report-28790-xyz"]
    result = load_objects([namespace("default"), workload("CronJob", "report", {"app": "report"}), job])
    assert [p.key for p in result.cluster.pods] == ["default/cronjob/report"]


def _controlled(obj: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = [{"apiVersion": "x/v1", "kind": kind, "name": name, "uid": "u",
                                           "controller": True}]
    return obj


def test_a_workload_whose_controller_is_not_in_the_input_stands_for_its_pods() -> None:
    """An operator's Deployment or StatefulSet, a ReplicaSet without its Deployment, a Job without its
    CronJob: each is one endpoint for its pods, and an info line says whose they are."""
    from netpol import load_objects

    objects = [namespace("shop"),
               _controlled(workload("Deployment", "web", {"app": "web"}, "shop", replicas=2), "WebApp", "web"),
               _controlled(workload("ReplicaSet", "api-5d9c7", {"app": "api"}, "shop", replicas=1), "Deployment", "api"),
               _controlled(workload("StatefulSet", "prom", {"app": "prom"}, "shop", replicas=5), "Prometheus", "k8s"),
               _controlled(workload("Job", "report-1", {"app": "report"}, "shop"), "CronJob", "report"),
               _controlled(workload("ReplicaSet", "api-old", {"app": "api"}, "shop", replicas=0), "Deployment", "api"),
               # controlled by a workload in the input: that one stands for it, as before
               _controlled(workload("ReplicaSet", "db-7f", {"app": "db"}, "shop", replicas=1), "Deployment", "db"),
               workload("Deployment", "db", {"app": "db"}, "shop")]
    result = load_objects(objects)
    assert [(p.key, p.replicas) for p in result.cluster.pods] == [
        ("shop/deployment/db", 1), ("shop/deployment/web", 2), ("shop/job/report-1", 1),
        ("shop/replicaset/api-5d9c7", 1), ("shop/statefulset/prom", 5)]
    assert [str(d) for d in result.diagnostics] == [
        "info: 5 workload(s) whose controller is not in the input stand for their pods: shop/deployment/web (controlled "
        "by webapp/web), shop/job/report-1 (controlled by cronjob/report), shop/replicaset/api-5d9c7 (controlled by "
        "deployment/api) +2 more",
        "info: 1 workload(s) scaled to 0 have no pods: shop/replicaset/api-old"]
    running = _owned_pod("api-5d9c7-x", {"app": "api", "pod-template-hash": "5d9c7"}, "api-5d9c7")
    running["metadata"]["namespace"] = "shop"
    result = load_objects([*objects, running])  # its pod is in the input: the ReplicaSet gives way to it
    assert "shop/replicaset/api-5d9c7" not in [p.key for p in result.cluster.pods]
    assert "shop/api-5d9c7-x" in [p.key for p in result.cluster.pods]


def _owned_pod(name: str, labels_: dict[str, str], rs: str, ip: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "labels": labels_,
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": "u",
                                                 "controller": True}]}
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                           "spec": {"containers": [{"name": "c", "image": "x"}]}}
    if ip:
        obj["status"] = {"podIP": ip}
    return obj


def test_matrix_by_workload_groups_pods_policies_treat_alike() -> None:
    web = {"app": "web", "pod-template-hash": "h1"}
    api = {"app": "api", "pod-template-hash": "h2"}
    a = analyzer(
        namespace("default"),
        *(_owned_pod(f"web-h1-{i}", web, "web-h1", f"10.0.0.{i}") for i in range(3)),
        _owned_pod("api-h2-0", api, "api-h2", "10.0.1.1"), _owned_pod("api-h2-1", api, "api-h2", "10.9.9.9"),
        pod("lone", labels={"app": "lone"}),
        policy("web", selector=labels(app="web"), ingress=[{"from": [{"podSelector": labels(app="api")}]}]),
        policy("api", selector=labels(app="api"),
               ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/16"}}]}]),  # splits the api pods by IP
    )
    m = a.matrix(by_workload=True)
    assert [m.display(p) for p in m.pods] == [
        "default/api-h2-0", "default/api-h2-1", "default/lone", "default/deployment/web (x3)"]
    pods = {m.ident(p): p for p in m.pods}
    web_row = pods["default/deployment/web"]
    assert str(m.ports(web_row, web_row)) == "none"  # web pods only accept app=api
    assert not m.is_self(web_row, web_row)
    assert str(m.ports(pods["default/api-h2-0"], web_row)) == "all"
    assert str(m.ports(web_row, pods["default/api-h2-0"])) == "all"  # 10.0.0.x is in the ipBlock
    assert str(m.ports(pods["default/lone"], pods["default/api-h2-1"])) == "none"
    probe = a.matrix(80, by_workload=True)
    assert not probe.allowed(web_row, web_row)
    assert ("default/lone", "default/deployment/web") not in {(probe.ident(s), probe.ident(d))
                                                              for s, d in probe.allowed_pairs()}


def test_replicas_of_a_workload_are_distinct_pods_in_matrix_and_intents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from netpol.analyses.check import check_intent
    from netpol.sources.intents import load_intent_file
    from tests.builders import namespace, policy, workload

    a = analyzer(namespace("db"), workload("pg", ns="db", kind="StatefulSet", replicas=3, labels={"app": "pg"}),
                 workload("one", ns="db", replicas=1, labels={"app": "one"}),
                 policy("deny", ns="db", selector={}, policyTypes=["Ingress"]))
    m = a.matrix(5432)
    pg, one = a.cluster.pods_by_key["db/statefulset/pg"], a.cluster.pods_by_key["db/deployment/one"]
    assert not m.is_self(pg, pg) and not m.allowed(pg, pg)  # the diagonal answers for two replicas: denied
    assert m.is_self(one, one) and m.allowed(one, one)
    assert a.can_reach("db/statefulset/pg", "db/statefulset/pg", 5432).allowed is False
    path = tmp_path / "pg.intent.yaml"
    path.write_text("apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nexpectations:\n"
                    "- {name: replicas replicate, from: db/statefulset/pg, to: db/statefulset/pg, port: 5432, "
                    "expect: allow}\n")
    (outcome,) = check_intent(a, load_intent_file(str(path), confine=False))
    assert (outcome.passed, outcome.pairs, outcome.error) == (False, 1, None)
