"""A fake Kubernetes API server on 127.0.0.1: list/get of the resources netpol reads, paged,
with failures on demand. Tests point a kubeconfig at it and read it with the official client."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from netpol.sources.unmodelled import enforcing

PLURALS = {
    "Namespace": "namespaces", "Pod": "pods", "Service": "services", "ReplicationController": "replicationcontrollers",
    "NetworkPolicy": "networkpolicies", "Deployment": "deployments", "ReplicaSet": "replicasets",
    "StatefulSet": "statefulsets", "DaemonSet": "daemonsets", "Job": "jobs", "CronJob": "cronjobs",
    "Node": "nodes", "AdminNetworkPolicy": "adminnetworkpolicies",
    "BaselineAdminNetworkPolicy": "baselineadminnetworkpolicies", "ClusterNetworkPolicy": "clusternetworkpolicies",
    "ServiceAccount": "serviceaccounts", "GlobalNetworkPolicy": "globalnetworkpolicies", "Tier": "tiers",
    "NetworkSet": "networksets", "GlobalNetworkSet": "globalnetworksets", "StagedNetworkPolicy": "stagednetworkpolicies",
    "StagedGlobalNetworkPolicy": "stagedglobalnetworkpolicies",
    "StagedKubernetesNetworkPolicy": "stagedkubernetesnetworkpolicies", "EndpointSlice": "endpointslices",
}
CLUSTER_SCOPED = {"Namespace", "Node", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy",
                  "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy", "Tier", "GlobalNetworkSet",
                  "StagedGlobalNetworkPolicy", "CiliumCIDRGroup"}
# Kinds read only where discovery shows them: a request for one that is not stored is a 404.
DISCOVERED = {"CiliumCIDRGroup": "ciliumcidrgroups"}


def plural_of(obj: dict[str, Any]) -> str:
    """The resource of an object: netpol's kinds, then the kinds it does not evaluate (sources/unmodelled.py)."""
    entry = enforcing(obj["kind"], obj["apiVersion"])
    if obj["kind"] in DISCOVERED:
        return DISCOVERED[obj["kind"]]
    return entry.plural if entry is not None and obj["kind"] not in PLURALS else PLURALS[obj["kind"]]


class FakeApi:
    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.store: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for obj in objects:
            key = (obj["apiVersion"], plural_of(obj))
            self.store.setdefault(key, []).append(obj)
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}  # plural -> HTTP status to answer with
        self.delay = 0.0
        # plural -> a function that writes the whole HTTP answer itself (a misbehaving server)
        self.raw: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path, server: str | None = None) -> str:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": server or self.url}}],
            "users": [{"name": "tester", "user": {"token": "secret-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
        }))
        return str(path)

    def _answer(self, method: str, raw_path: str) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, raw_path))
        if method != "GET":
            return 405, _status(405, "read-only fake")
        url = urlparse(raw_path)
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["apis"] and len(parts) <= 3:
            return self._discovery("/".join(parts[1:]))
        if parts[:2] == ["api", "v1"]:
            api_version, rest = "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return 404, _status(404, "not found")
        namespace = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest and namespace is not None:  # GET one namespace
            if self.fail.get("namespaces"):
                return self.fail["namespaces"], _status(self.fail["namespaces"], "injected")
            found = [o for o in self.store.get(("v1", "namespaces"), []) if o["metadata"]["name"] == namespace]
            return (200, _bare(found[0])) if found else (404, _status(404, f"namespaces {namespace} not found"))
        if len(rest) != 1:
            return 404, _status(404, "not found")
        plural = rest[0]
        if plural in self.fail:
            return self.fail[plural], _status(self.fail[plural], "injected")
        if plural not in {p for _, p in self.store} | set(PLURALS.values()):
            return 404, _status(404, f"the server could not find the requested resource ({plural})")
        if self.delay:
            time.sleep(self.delay)
        items = [o for o in self.store.get((api_version, plural), [])
                 if namespace is None or o["metadata"].get("namespace", "default") == namespace]
        query = parse_qs(url.query)
        for term in query.get("labelSelector", [""])[0].split(","):  # equality terms only: key=value
            key, _, value = term.partition("=")
            items = [o for o in items if not key or (o["metadata"].get("labels") or {}).get(key) == value]
        limit = int(query.get("limit", ["0"])[0]) or len(items) or 1
        start = int(query.get("continue", ["0"])[0])
        page = items[start:start + limit]
        meta: dict[str, Any] = {"resourceVersion": "1"}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        return 200, {"kind": "List", "apiVersion": api_version, "metadata": meta, "items": [_bare(o) for o in page]}

    def _discovery(self, group_version: str) -> tuple[int, dict[str, Any]]:
        """/apis (the groups) and /apis/GROUP/VERSION (its resources), for the groups of the stored objects."""
        if self.fail.get("discovery"):
            return self.fail["discovery"], _status(self.fail["discovery"], "injected")
        versions = sorted({v for v, _ in self.store if "/" in v})
        if not group_version:
            return 200, {"kind": "APIGroupList", "groups": [
                {"name": v.split("/")[0], "versions": [{"groupVersion": v, "version": v.split("/")[1]}],
                 "preferredVersion": {"groupVersion": v, "version": v.split("/")[1]}} for v in versions]}
        if group_version not in versions:
            return 404, _status(404, "not found")
        return 200, {"kind": "APIResourceList", "groupVersion": group_version, "resources": [
            {"name": plural, "kind": objs[0]["kind"], "namespaced": objs[0]["kind"] not in CLUSTER_SCOPED}
            for (v, plural), objs in sorted(self.store.items()) if v == group_version]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                status, body = api._answer(method, self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def do_GET(self) -> None:  # noqa: N802
                misbehave = api.raw.get(urlparse(self.path).path.rsplit("/", 1)[-1])
                if misbehave is not None:
                    api.requests.append(("GET", self.path))
                    misbehave(self)
                    return
                self._reply("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._reply("POST")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _bare(obj: dict[str, Any]) -> dict[str, Any]:
    """As a list item comes from the API: without kind and apiVersion, with server-set fields."""
    out = {k: v for k, v in json.loads(json.dumps(obj)).items() if k not in ("kind", "apiVersion")}
    if obj["kind"] not in CLUSTER_SCOPED:
        out["metadata"].setdefault("namespace", "default")
    out["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
    return out


def _status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}
