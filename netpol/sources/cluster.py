"""Read a live cluster through the official kubernetes client: list and get only, paged.

Objects come back as the API server's JSON (no client-side model classes,
which would cost more than the analysis at 150k pods) and go through the
same `assemble` as manifests. Secrets and ConfigMaps are never read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, SSLError, TimeoutError

from netpol.bulk import paused_gc
from netpol.errors import Diagnostic, Location, NetpolError
from netpol.sources import LoadResult, assemble
from netpol.sources.manifests import RawObject, located


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    plural: str
    namespaced: bool = True
    optional: bool = False  # a CRD that may not be installed: 404 means none of them, with a note

    @property
    def base(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"


# Everything netpol reads, and so exactly what docs/rbac.yaml grants (list; get for namespaces).
RESOURCES = (
    Resource("Namespace", "v1", "namespaces", namespaced=False),
    Resource("Pod", "v1", "pods"),
    Resource("Service", "v1", "services"),
    Resource("ReplicationController", "v1", "replicationcontrollers"),
    Resource("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
    Resource("Deployment", "apps/v1", "deployments"),
    Resource("ReplicaSet", "apps/v1", "replicasets"),
    Resource("StatefulSet", "apps/v1", "statefulsets"),
    Resource("DaemonSet", "apps/v1", "daemonsets"),
    Resource("Job", "batch/v1", "jobs"),
    Resource("CronJob", "batch/v1", "cronjobs"),
    Resource("Node", "v1", "nodes", namespaced=False),
    Resource("AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies",
             namespaced=False, optional=True),
    Resource("BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "baselineadminnetworkpolicies",
             namespaced=False, optional=True),
    Resource("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies",
             namespaced=False, optional=True),
)
PAGE_SIZE = 500
TIMEOUT_SECONDS = 30.0

Progress = Callable[[str, int], None]  # (kind, objects read so far of that kind)


class ClusterError(NetpolError):
    """The cluster could not be read: configuration, network, TLS, authentication or permission."""


class _Absent(Exception):
    """An optional resource (a CRD) the API server does not serve."""


@dataclass(frozen=True)
class ClusterRead:
    objects: tuple[dict[str, Any], ...]  # as the API returned them, with kind and apiVersion set
    result: LoadResult
    context: str


def read_cluster(kubeconfig: str | None = None, context: str | None = None,
                 namespaces: Iterable[str] | None = None, progress: Progress | None = None,
                 timeout: float = TIMEOUT_SECONDS) -> ClusterRead:
    """Read what netpol analyses from the cluster: every namespace, or only `namespaces`."""
    api, name = _api_client(kubeconfig, context)
    scope = sorted(set(namespaces or ()))
    reader = _Reader(api, name, timeout, progress)
    with api, paused_gc():
        objects = [obj for resource in RESOURCES for obj in reader.read(resource, scope)]
        origin = f"cluster {name}"
        result = assemble(_located(obj, origin) for obj in objects)
    notes = tuple(Diagnostic("info", f"the API server does not serve {r.plural} ({r.api_version}): the CRD is not "
                                     "installed, so there are none") for r in reader.absent)
    return ClusterRead(tuple(objects), replace(result, diagnostics=notes + result.diagnostics), name)


NO_CONFIG_HINT = "(to analyse manifests instead, pass -f PATH)"


def _api_client(kubeconfig: str | None, context: str | None) -> tuple[client.ApiClient, str]:
    configuration = client.Configuration()
    files = _kubeconfig_files(kubeconfig)
    in_cluster = (kubeconfig is None and context is None and not os.environ.get("KUBECONFIG")
                  and os.environ.get("KUBERNETES_SERVICE_HOST") and not os.path.exists(files[0]))
    where = ", ".join(files)
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
            name = "in-cluster"
        else:
            _check_kubeconfig(files)
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
            _, active = config.list_kube_config_contexts(config_file=kubeconfig)
            name = context or str(active.get("name", "current"))
    except ClusterError:
        raise
    except (ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError, yaml.YAMLError) as exc:
        raise ClusterError(f"cannot load the kube config ({where}): {_first_line(exc)} {NO_CONFIG_HINT}") from None
    configuration.retries = 0  # one request, so a timeout message states the time actually waited
    return client.ApiClient(configuration), name


def _kubeconfig_files(kubeconfig: str | None) -> list[str]:
    """The files the client would read: --kubeconfig, else $KUBECONFIG's list, else ~/.kube/config."""
    if kubeconfig:
        return [kubeconfig]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [os.path.expanduser("~/.kube/config")]


def _check_kubeconfig(files: list[str]) -> None:
    """One line naming the file and the problem, before the client's own messages (or tracebacks)."""
    present = [f for f in files if os.path.exists(f)]
    if not present:
        raise ClusterError(f"cannot load the kube config {', '.join(files)}: no such file {NO_CONFIG_HINT}")
    for path in present:
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or _first_line(exc)
            raise ClusterError(f"cannot load the kube config {path}: invalid YAML{at}: {problem}") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ClusterError(f"cannot load the kube config {path}: {reason}") from None
        if data is not None and not isinstance(data, dict):
            raise ClusterError(f"cannot load the kube config {path}: not a kube config (expected a mapping with "
                               "clusters, contexts and users)")


class _Reader:
    def __init__(self, api: client.ApiClient, context: str, timeout: float, progress: Progress | None) -> None:
        self.api = api
        self.context = context
        self.timeout = timeout
        self.progress = progress
        self.absent: list[Resource] = []

    def read(self, resource: Resource, scope: list[str]) -> Iterator[dict[str, Any]]:
        try:
            yield from self._read(resource, scope if resource.namespaced or resource.kind == "Namespace" else [])
        except _Absent:
            self.absent.append(resource)

    def _read(self, resource: Resource, scope: list[str]) -> Iterator[dict[str, Any]]:
        count = 0
        if not resource.namespaced and scope:
            for ns in scope:
                yield self._item(resource, self._get(resource, f"{resource.base}/namespaces/{ns}", [], scope))
                count += 1
        else:
            paths = ([f"{resource.base}/namespaces/{ns}/{resource.plural}" for ns in scope]
                     if resource.namespaced and scope else [f"{resource.base}/{resource.plural}"])
            for path in paths:
                token = ""
                while True:
                    query = [("limit", str(PAGE_SIZE))] + ([("continue", token)] if token else [])
                    page = self._get(resource, path, query, scope)
                    for item in page.get("items") or []:
                        yield self._item(resource, item)
                        count += 1
                    if self.progress is not None:
                        self.progress(resource.kind, count)
                    token = (page.get("metadata") or {}).get("continue") or ""
                    if not token:
                        break

    @staticmethod
    def _item(resource: Resource, item: dict[str, Any]) -> dict[str, Any]:
        item["kind"] = resource.kind  # list items come without them
        item["apiVersion"] = resource.api_version
        meta = item.get("metadata")
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        return item

    def _get(self, resource: Resource, path: str, query: list[tuple[str, str]],
             scope: list[str] | None = None) -> dict[str, Any]:
        host = self.api.configuration.host
        started = time.monotonic()
        try:
            request = self.api.param_serialize("GET", path, query_params=query,
                                               header_params={"Accept": "application/json"},
                                               auth_settings=["BearerToken"])
            response = self.api.call_api(*request, _request_timeout=self.timeout)
            body = response.read()
            if not 200 <= response.status <= 299:
                raise ApiException(status=response.status, reason=response.reason)
            data: dict[str, Any] = json.loads(body)
            return data
        except ApiException as exc:
            if exc.status == 404 and resource.optional:
                raise _Absent() from None
            raise ClusterError(self._status_message(exc, resource, path, scope)) from None
        except SSLError as exc:
            raise ClusterError(f"TLS error talking to the API server at {host}: {_first_line(exc)}") from None
        except (TimeoutError, MaxRetryError, ProtocolError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, SSLError):
                raise ClusterError(f"TLS error talking to the API server at {host}: {_first_line(reason)}") from None
            timed_out = isinstance(reason, TimeoutError) and not isinstance(reason, NewConnectionError)
            if timed_out or "timed out" in str(reason).lower():
                waited = time.monotonic() - started
                raise ClusterError(f"the API server at {host} did not answer within {waited:.1f} s "
                                   f"({resource.plural})") from None
            raise ClusterError(f"cannot reach the API server at {host}: {_first_line(reason)}") from None
        except ValueError as exc:
            raise ClusterError(f"the API server at {host} sent invalid JSON for {path}: {exc}") from None

    def _status_message(self, exc: ApiException, resource: Resource, path: str, scope: list[str] | None) -> str:
        what = f"{resource.plural} ({resource.api_version})"
        if exc.status == 401:
            return (f"unauthorized (401): the API server rejected the credentials of context {self.context}; "
                    "log in again or check the kube config")
        if exc.status == 403:
            verb = "get" if not resource.namespaced and scope else "list"
            where = "in the namespaces given" if scope else "at cluster scope"
            hint = "" if scope else "; with -n NS, netpol only needs that permission in those namespaces"
            return (f"forbidden (403): cannot {verb} {what} {where}; netpol needs {verb} on {resource.plural} "
                    f"(see docs/rbac.yaml){hint}")
        if exc.status == 404:
            if not resource.namespaced and scope:
                return f"namespace {path.rsplit('/', 1)[-1]} not found (404)"
            return f"the API server does not serve {what} (404 for {path})"
        return f"the API server answered {exc.status} {exc.reason or ''} for {path}".rstrip()


def _located(obj: dict[str, Any], origin: str) -> RawObject:
    return located(obj, Location(origin))


def _first_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
