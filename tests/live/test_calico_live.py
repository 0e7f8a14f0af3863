"""Calico's kinds read from a live cluster (through Calico's API server, projectcalico.org/v3), kept whole by
a snapshot; an absent kind is none, with a note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netpol.sources import load_objects
from netpol.sources.cluster import CALICO_STORAGE_ONLY, read_cluster
from netpol.sources.snapshot import shareable
from tests.builders import namespace, pod
from tests.live.fake_api import FakeApi

V3 = "projectcalico.org/v3"
API = pod("api", "shop", {"app": "api"}, ip="10.0.0.5")
API["spec"]["serviceAccountName"] = "api"
CALICO = [
    namespace("shop"), API,
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop",
                                                                "labels": {"tier": "gold"}},
     "secrets": [{"name": "api-token"}]},
    {"apiVersion": V3, "kind": "Tier", "metadata": {"name": "security"}, "spec": {"order": 100}},
    {"apiVersion": V3, "kind": "GlobalNetworkPolicy", "metadata": {"name": "deny"},
     "spec": {"tier": "security", "selector": "all()", "types": ["Ingress"]}},
    {"apiVersion": V3, "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"selector": "app == 'api'", "ingress": [{"action": "Allow", "source": {"selector": "all()"}}]}},
    {"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {"name": "partners", "labels": {"role": "p"}},
     "spec": {"nets": ["198.51.100.0/24"]}},
]


def _calico(read: Any) -> list[tuple[str, str]]:
    c = read.result.calico
    return [(type(o).__name__, o.name) for o in (*c.policies, *c.tiers, *c.network_sets, *c.service_accounts)]


def test_calico_kinds_are_listed_when_its_api_server_serves_them(tmp_path: Path) -> None:
    with FakeApi(CALICO) as server:
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
        paths = {p for _, p in server.requests}
    assert _calico(read) == [("CalicoPolicy", "deny"), ("CalicoPolicy", "web"), ("CalicoTier", "security"),
                             ("NetworkSet", "partners"), ("ServiceAccount", "api")]
    assert {f"/apis/{V3}/tiers?limit=500", f"/apis/{V3}/stagedkubernetesnetworkpolicies?limit=500",
            "/api/v1/serviceaccounts?limit=500"} <= paths
    assert "projectcalico.org" in (read.result.served_groups or ())
    # still refused by the verdicts until the engine evaluates them (docs/semantics.md §14)
    assert sorted(o.name for o in read.result.unmodelled.objects) == ["deny", "web"]
    assert not [d for d in read.result.diagnostics if "not installed" in d.message]
    # a snapshot keeps Calico's specs and the pods' service accounts, and no ServiceAccount secret
    kept = [shareable(o) for o in read.objects]
    assert load_objects(kept).calico == read.result.calico
    assert all("secrets" not in o for o in kept)


def test_a_calico_kind_the_server_does_not_serve_is_none_with_a_note(tmp_path: Path) -> None:
    with FakeApi(CALICO) as server:
        server.fail["stagednetworkpolicies"] = 404
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
    assert [d.message for d in read.result.diagnostics if "not installed" in d.message] == [
        "the API server does not serve stagednetworkpolicies (projectcalico.org/v3): the CRD is not installed, so "
        "there are none"]


def test_without_calico_nothing_of_it_is_asked(tmp_path: Path) -> None:
    with FakeApi([namespace("shop"), API]) as server:
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
        paths = [p for _, p in server.requests]
    assert not [p for p in paths if "projectcalico" in p or "serviceaccounts" in p]
    assert paths.count("/apis") == 1  # discovery asked once
    assert not read.result.calico


def test_calico_storage_without_its_api_server_is_named(tmp_path: Path) -> None:
    storage = {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy", "metadata": {"name": "d"},
               "spec": {"selector": "all()"}}
    with FakeApi([namespace("shop"), API, storage]) as server:
        read = read_cluster(server.kubeconfig(tmp_path / "k"))
    assert CALICO_STORAGE_ONLY in [d.message for d in read.result.diagnostics]
    assert [o.name for o in read.result.unmodelled.objects] == ["d"]
