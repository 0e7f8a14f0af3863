"""Small builders for API objects in their manifest (dict) form, for in-memory tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netpol import Analyzer, load_manifests, load_objects

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
POLICY_ONLY = FIXTURES / "policy-only"  # inputs without pods, not scenarios


def scenario_dirs() -> list[Path]:
    """The scenarios: every fixture directory but the policy-only inputs (the course's, the tiered ones and each
    network plugin's, read under the profile their kinds select)."""
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p != POLICY_ONLY)


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(name: str, ns: str = "default", labels: dict[str, str] | None = None, ports: list[Any] | None = None,
        ip: str | None = None, host_network: bool = False, node: str | None = None,
        host_ip: str | None = None) -> dict[str, Any]:
    """ports: ints (TCP), or (number, protocol, name) tuples."""
    container_ports = []
    for p in ports or []:
        if isinstance(p, int):
            container_ports.append({"containerPort": p})
        else:
            number, protocol, pname = p
            entry: dict[str, Any] = {"containerPort": number, "protocol": protocol}
            if pname:
                entry["name"] = pname
            container_ports.append(entry)
    obj: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": container_ports}]},
    }
    if host_network:
        obj["spec"]["hostNetwork"] = True
    if node:
        obj["spec"]["nodeName"] = node
    if ip or host_ip:
        obj["status"] = {k: v for k, v in (("podIP", ip), ("hostIP", host_ip)) if v}
    return obj


def workload(name: str, ns: str = "default", kind: str = "Deployment", replicas: int | None = 1,
             labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A workload; replicas None leaves the field out (a DaemonSet has none)."""
    spec: dict[str, Any] = {"selector": {"matchLabels": labels or {}},
                            "template": {"metadata": {"labels": labels or {}},
                                         "spec": {"containers": [{"name": "c", "image": "x"}]}}}
    if replicas is not None and kind != "DaemonSet":
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def policy(name: str, ns: str = "default", selector: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """spec keys: ingress, egress, policyTypes (passed through as in a manifest)."""
    body: dict[str, Any] = {"podSelector": selector if selector is not None else {}}
    body.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": body}


def labels(**kv: str) -> dict[str, Any]:
    return {"matchLabels": kv}


def analyzer(*objects: dict[str, Any]) -> Analyzer:
    return Analyzer(load_objects(objects).cluster)


def fixture(name: str) -> Analyzer:
    """A fixture as the commands read it: under the plugin its kinds show (fixtures/cilium-*: Cilium)."""
    from netpol.policies.profiles import apply

    return Analyzer(apply(load_manifests([str(FIXTURES / name)]), None).cluster)
