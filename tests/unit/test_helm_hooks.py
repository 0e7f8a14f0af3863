"""Helm hooks in rendered manifests: named, and left out when they do not last (netpol/sources/helm.py)."""

from __future__ import annotations

from pathlib import Path

from netpol import load_manifests
from netpol.sources import assemble
from netpol.sources.manifests import raw_objects


def obj(kind: str, name: str, hook: str | None = None, delete: str | None = None) -> str:
    api = {"Job": "batch/v1", "Deployment": "apps/v1", "NetworkPolicy": "networking.k8s.io/v1"}.get(kind, "v1")
    annotations = {k: v for k, v in (("helm.sh/hook", hook), ("helm.sh/hook-delete-policy", delete)) if v}
    meta = f"{{name: {name}, namespace: shop, labels: {{app: {name}}}, annotations: {annotations or {}}}}"
    pod_spec = "{containers: [{name: c}]}"
    spec = {"Pod": pod_spec, "NetworkPolicy": "{podSelector: {}}", "Service": "{ports: [{port: 80}]}"}.get(
        kind, f"{{template: {{metadata: {{labels: {{app: {name}}}}}, spec: {pod_spec}}}}}")
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {meta}\nspec: {spec}\n"


MANIFESTS = "---\n".join([
    obj("Pod", "web"),
    obj("Pod", "test-connection", hook="test"),  # a test Pod, kept by Helm after it ran: finished, no network
    obj("Job", "migrate", hook="pre-install,pre-upgrade", delete="before-hook-creation"),
    obj("NetworkPolicy", "allow-migrate", hook="pre-install", delete="before-hook-creation, hook-succeeded"),
    obj("NetworkPolicy", "lasting", hook="post-install"),
    obj("Deployment", "warmer", hook="post-install", delete="hook-failed"),
    obj("Service", "gone", hook="post-install", delete="hook-succeeded"),
])


def test_hooks_that_do_not_last_are_left_out_and_every_hook_is_named(tmp_path: Path) -> None:
    path = tmp_path / "chart.yaml"
    path.write_text(MANIFESTS)
    result = load_manifests([str(path)])
    cluster = result.cluster
    assert ([p.key for p in cluster.pods], [p.key for p in cluster.policies], [s.key for s in cluster.services]) == (
        ["shop/deployment/warmer", "shop/web"], ["shop/lasting"], [])
    assert [str(d) for d in result.diagnostics if "Helm" in d.message] == [
        f"warning: {path}: document 4, line 16 (NetworkPolicy shop/allow-migrate): NetworkPolicy shop/allow-migrate is "
        "a Helm hook (pre-install) that Helm deletes once the hook has run (hook-delete-policy hook-succeeded): it is "
        "left out, though it enforces while the hook runs",
        "info: left out 4 Helm hook object(s) that do not last: Job shop/migrate, NetworkPolicy shop/allow-migrate, "
        "Pod shop/test-connection +1 more (a hook Pod or Job runs to completion, and hook-delete-policy hook-succeeded "
        "deletes the others once the hook has run)",
        "info: 2 Helm hook object(s) are analysed as lasting (their delete policy keeps them): Deployment shop/warmer, "
        "NetworkPolicy shop/lasting"]


def test_a_live_cluster_keeps_its_hooks(tmp_path: Path) -> None:
    """What the API server holds is there now: hooks read from a cluster are analysed as they are."""
    result = assemble(raw_objects("cluster", MANIFESTS))
    assert [p.key for p in result.cluster.pods] == ["shop/deployment/warmer", "shop/job/migrate", "shop/test-connection",
                                                    "shop/web"]
    assert not [d for d in result.diagnostics if "Helm" in d.message]
    dumped = tmp_path / "dump.yaml"  # kubectl get -o yaml: what the cluster holds, with uids
    dumped.write_text(MANIFESTS.replace("{name: ", "{uid: u, name: "))
    result = load_manifests([str(dumped)])
    assert ([p.key for p in result.cluster.pods], [p.key for p in result.cluster.policies]) == (
        ["shop/deployment/warmer", "shop/job/migrate", "shop/test-connection", "shop/web"],
        ["shop/allow-migrate", "shop/lasting"])
    assert not [d for d in result.diagnostics if "Helm" in d.message]
