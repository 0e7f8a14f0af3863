"""Read a live cluster through the official kubernetes client: list and get only, paged.

Objects come back as the API server's JSON (no client-side model classes,
which would cost more than the analysis at 150k pods) and go through the
same `assemble` as manifests. Secrets and ConfigMaps are never read.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, SSLError, TimeoutError

from netpol.bulk import paused_gc
from netpol.errors import Diagnostic, Location, NetpolError
from netpol.model.cilium import CIDR_GROUP_KIND, CILIUM_V2ALPHA1
from netpol.sources import LoadResult, assemble
from netpol.sources.api_request import _bounded, _cut, _Malformed, _TimedOut
from netpol.sources.cilium import CILIUM_KINDS
from netpol.sources.manifests import RawObject, located
from netpol.sources.unmodelled import CATALOGUE, READ_GROUPS, enforcing


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    plural: str
    namespaced: bool = True
    optional: bool = False  # a CRD that may not be installed: 404 means none of them, with a note
    # What a 403 at cluster scope leaves unknown: the answers go on and say so; None: a 403 is fatal
    if_forbidden: str | None = None
    namespace: str | None = None  # listed in this namespace only, whatever the namespaces asked about
    label_selector: str | None = None  # only the objects with these labels (the API server's labelSelector)
    absent: str = "the CRD is not installed, so there are none"  # what a 404 of an optional resource means

    @property
    def base(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"


NODES_UNKNOWN = "nodes"
API_SERVER_UNKNOWN = "the API server's addresses"
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
    Resource("Node", "v1", "nodes", namespaced=False, if_forbidden=NODES_UNKNOWN),
    Resource("AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies",
             namespaced=False, optional=True, if_forbidden="the Admin tier (v1alpha1)"),
    Resource("BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "baselineadminnetworkpolicies",
             namespaced=False, optional=True, if_forbidden="the Baseline tier (v1alpha1)"),
    Resource("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies",
             namespaced=False, optional=True, if_forbidden="the Admin and Baseline tiers (v1alpha2)"),
    # The API server's addresses (Service default/kubernetes): what Cilium's kube-apiserver entity stands for. A
    # cluster without discovery.k8s.io/v1 (before Kubernetes 1.21) has none to read, with a note; a 403 a warning.
    Resource("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", optional=True, if_forbidden=API_SERVER_UNKNOWN,
             namespace="default", label_selector="kubernetes.io/service-name=kubernetes",
             absent="Cilium's kube-apiserver entity stands for no address"),
)
# Calico's kinds (sources/calico.py), listed when the API server serves projectcalico.org (Calico's API server), and
# the ServiceAccounts whose labels Calico's selectors see (pcsa.*). A kind it does not serve there is none, with a note.
CALICO_GROUP = "projectcalico.org"
CALICO_RESOURCES = (*(Resource(kind, f"{CALICO_GROUP}/v3", plural, namespaced, optional=True,
                               if_forbidden=f"the {kind} objects (Calico)") for kind, plural, namespaced in (
    ("NetworkPolicy", "networkpolicies", True), ("GlobalNetworkPolicy", "globalnetworkpolicies", False),
    ("Tier", "tiers", False), ("NetworkSet", "networksets", True), ("GlobalNetworkSet", "globalnetworksets", False),
    ("StagedNetworkPolicy", "stagednetworkpolicies", True),
    ("StagedGlobalNetworkPolicy", "stagedglobalnetworkpolicies", False),
    ("StagedKubernetesNetworkPolicy", "stagedkubernetesnetworkpolicies", True))),
    Resource("ServiceAccount", "v1", "serviceaccounts", if_forbidden="the ServiceAccounts' labels (Calico's pcsa.*)"))
CALICO_STORAGE_ONLY = ("the API server serves crd.projectcalico.org (Calico's storage) but not projectcalico.org/v3 "
                       "(Calico's API server), through which netpol reads Calico's kinds: its crd.projectcalico.org "
                       "policies are named, not evaluated")
# The API groups and their resources (discovery, readable by every authenticated user): which of the
# kinds that enforce traffic and that netpol does not evaluate (sources/unmodelled.py) the server serves.
DISCOVERY = Resource("APIGroupList", "v1", "API groups", namespaced=False, optional=True)
PAGE_SIZE = 500
TIMEOUT_SECONDS = 30.0  # for a whole request: connecting, headers and body, however slowly they come
MAX_PAGES = 1_000  # per list: 500,000 objects of one kind at PAGE_SIZE, beyond any cluster netpol is made for
# One listing's pages in all (checked before each next page): pages that each come just within TIMEOUT_SECONDS
# would otherwise take up to MAX_PAGES times it. At a second a page, the 300 pages of a 150,000-pod cluster's pods.
LIST_SECONDS = 300.0

Progress = Callable[[str, int], None]  # (kind, objects read so far of that kind)


class ClusterError(NetpolError):
    """The cluster could not be read: configuration, network, TLS, authentication or permission."""


class _Absent(Exception):
    """An optional resource (a CRD) the API server does not serve."""


class _Forbidden(Exception):
    """A cluster-scoped resource the user may not list, whose absence the answers state (if_forbidden)."""


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
        unmodelled = reader.unmodelled()
        calico = reader.calico()
        objects = [obj for resource in (*RESOURCES, *calico, *unmodelled) for obj in reader.read(resource, scope)]
        origin = f"cluster {name}"
        result = assemble(_located(obj, origin) for obj in objects)
    notes = tuple(Diagnostic("info", f"the API server does not serve {r.plural} ({r.api_version}): {r.absent}")
                  for r in reader.absent)
    unread = tuple(f"{r.plural} ({r.api_version}), forbidden (403), so {r.if_forbidden} could not be read"
                   for r in reader.forbidden if r.if_forbidden not in (NODES_UNKNOWN, API_SERVER_UNKNOWN))
    cluster = result.cluster
    if any(r.if_forbidden == NODES_UNKNOWN for r in reader.forbidden):
        notes += (Diagnostic("warning", f"{NODES_FORBIDDEN}; netpol needs list on nodes for them (see "
                                        "docs/rbac.yaml)"),)
        cluster = replace(cluster, assumptions=(*cluster.assumptions, NODES_FORBIDDEN))
    if any(r.if_forbidden == API_SERVER_UNKNOWN for r in reader.forbidden):  # a warning where Cilium is installed
        cilium = any(r.api_version.startswith("cilium.io/") for r in unmodelled)
        notes += (Diagnostic("warning" if cilium else "info", API_SERVER_FORBIDDEN),)
    served = tuple(sorted({r.api_version.rpartition("/")[0] for r in (*calico, *unmodelled)} - {""}))  # the plugin
    if not calico and "crd.projectcalico.org" in served:
        notes += (Diagnostic("info", CALICO_STORAGE_ONLY),)
    return ClusterRead(tuple(objects), replace(result, cluster=cluster, diagnostics=notes + result.diagnostics,
                                               unread=unread, served_groups=served), name)


NODES_FORBIDDEN = ("nodes could not be read (forbidden, 403): answers about host-network pods and `nodes` peers are "
                   "computed without any node's labels or addresses")


API_SERVER_FORBIDDEN = ("endpointslices (discovery.k8s.io/v1) in namespace default could not be read (forbidden, "
                        "403): Cilium's kube-apiserver entity stands for no address; netpol needs list on "
                        "endpointslices in namespace default for it (see docs/rbac.yaml)")


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
            with _client_log() as logged:  # an exec credential plugin's failure is logged, not raised
                config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
            if logged:
                raise ClusterError(f"cannot load the kube config ({where}): the credentials could not be "
                                   f"obtained: {_cut(logged[0], 300)}")
            _, active = config.list_kube_config_contexts(config_file=kubeconfig)
            name = context or str(active.get("name", "current"))
    except ClusterError:
        raise
    except (ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError, yaml.YAMLError) as exc:
        raise ClusterError(f"cannot load the kube config ({where}): {_first_line(exc)} {NO_CONFIG_HINT}") from None
    scheme = urlsplit(configuration.host).scheme.lower()
    if scheme not in ("https", "http"):
        raise ClusterError(f"cannot load the kube config ({where}): the server {_cut(configuration.host)} has the "
                           f"scheme {scheme or '(none)'!r}; netpol talks to an API server over https (or http)")
    # One attempt per request, and a redirect is answered, not followed (_Reader._get says so).
    configuration.retries = urllib3.Retry(total=0, redirect=0, raise_on_redirect=False)
    return client.ApiClient(configuration), name


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(_first_line(record.getMessage()))


@contextmanager
def _client_log() -> Iterator[list[str]]:
    """The warnings the client logs while it loads a kube config (it logs to the root logger, which
    would print `ERROR:root:...` on its own), as a list, printed by no one."""
    handler = _Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.messages
    finally:
        root.removeHandler(handler)


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
        self.forbidden: list[Resource] = []
        self._groups: Any = None  # /apis, asked once

    def read(self, resource: Resource, scope: list[str]) -> Iterator[dict[str, Any]]:
        try:
            wanted = [resource.namespace] if resource.namespace is not None else scope
            yield from self._read(resource, wanted if resource.namespaced or resource.kind == "Namespace" else [])
        except _Absent:
            self.absent.append(resource)
        except _Forbidden:
            self.forbidden.append(resource)

    def unmodelled(self) -> list[Resource]:
        """The enforcing kinds netpol does not evaluate that this server serves (at each group's preferred
        version), to be listed like the others: their objects are named, never ignored in silence."""
        wanted = {k.group for k in CATALOGUE} - READ_GROUPS
        groups = self.groups()
        if groups is None:
            return []
        out = []
        for group_version in _served(groups, wanted, self._server("/apis")):
            path = f"/apis/{group_version}"
            try:
                listing = self._get(DISCOVERY, path, [])
            except _Absent:
                continue
            for plural, kind, namespaced in _resources(listing, self._server(path)):
                entry = enforcing(kind, group_version)
                if entry is not None or (kind, group_version) in CILIUM_KINDS:  # and what cidrGroupRef names
                    out.append(Resource(kind, group_version, plural, namespaced, optional=True,
                                        if_forbidden=f"the {kind} objects ({entry.product if entry else 'Cilium'})"))
        if any(r.api_version.startswith("cilium.io/") for r in out) and all(r.kind != CIDR_GROUP_KIND for r in out):
            # before Cilium 1.18 CiliumCIDRGroup is served at v2alpha1 only (404 there: none, with a note)
            out.append(Resource(CIDR_GROUP_KIND, CILIUM_V2ALPHA1, "ciliumcidrgroups", namespaced=False,
                                optional=True, if_forbidden=f"the {CIDR_GROUP_KIND} objects (Cilium)"))
        return out

    def groups(self) -> Any:
        """The APIGroupList (/apis), asked once; None when the server has no such path."""
        if self._groups is None:
            try:
                self._groups = self._get(DISCOVERY, "/apis", [])
            except _Absent:
                return None
        return self._groups

    def calico(self) -> list[Resource]:
        """Calico's kinds, when the server serves projectcalico.org."""
        groups = self.groups()
        served = groups is not None and _served(groups, {CALICO_GROUP}, self._server("/apis"))
        return list(CALICO_RESOURCES) if served else []

    def _read(self, resource: Resource, scope: list[str]) -> Iterator[dict[str, Any]]:
        count = 0
        if not resource.namespaced and scope:
            for ns in scope:
                path = f"{resource.base}/namespaces/{ns}"
                found = self._get(resource, path, [], scope)
                if not isinstance(found, dict):
                    raise ClusterError(f"{self._server(path)}: the API server sent {_json_type(found)} where an "
                                       "object belongs")
                yield self._item(resource, found)
                count += 1
        else:
            paths = ([f"{resource.base}/namespaces/{ns}/{resource.plural}" for ns in scope]
                     if resource.namespaced and scope else [f"{resource.base}/{resource.plural}"])
            for path in paths:
                token = ""
                seen: set[str] = set()
                started = time.monotonic()
                while True:
                    query = [("limit", str(PAGE_SIZE))] + ([("continue", token)] if token else [])
                    if resource.label_selector is not None:
                        query.insert(0, ("labelSelector", resource.label_selector))
                    items, token = _page(self._get(resource, path, query, scope), self._server(path))
                    for item in items:
                        yield self._item(resource, item)
                        count += 1
                    if self.progress is not None:
                        self.progress(resource.kind, count)
                    if not token:
                        break
                    if token in seen:
                        raise ClusterError(f"{self._server(path)}: the API server sent the same continue token "
                                           f"twice ({_cut(token)}); netpol stops rather than read the same pages "
                                           "forever")
                    if len(seen) + 1 >= MAX_PAGES:
                        raise ClusterError(f"{self._server(path)}: the API server sent more than {MAX_PAGES:,} "
                                           f"pages of {resource.plural}; netpol stops there")
                    if time.monotonic() - started > LIST_SECONDS:
                        raise ClusterError(f"{self._server(path)}: the API server's pages of {resource.plural} took "
                                           f"more than {LIST_SECONDS:g} s in all (netpol's bound on one listing); "
                                           "netpol stops there")
                    seen.add(token)

    @staticmethod
    def _item(resource: Resource, item: dict[str, Any]) -> dict[str, Any]:
        item["kind"] = resource.kind  # list items come without them
        item["apiVersion"] = resource.api_version
        meta = item.get("metadata")
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        return item

    def _server(self, path: str) -> str:
        """How messages name what failed: the server and the path asked for."""
        return f"{self.api.configuration.host}{path}"

    def _get(self, resource: Resource, path: str, query: list[tuple[str, str]],
             scope: list[str] | None = None) -> Any:
        host = self.api.configuration.host
        try:
            request = self.api.param_serialize("GET", path, query_params=query,
                                               header_params={"Accept": "application/json"},
                                               auth_settings=["BearerToken"])
            status, reason, body, location = _bounded(self.api, request, self.timeout)
            if not 200 <= status <= 299:
                if 300 <= status <= 399:
                    raise ClusterError(f"{self._server(path)}: the API server redirected the request to "
                                       f"{_cut(location or '(no location)')} ({status}); netpol does not follow "
                                       "redirects, which could carry the credentials to another server")
                raise ApiException(status=status, reason=reason)
            return json.loads(body)
        except ApiException as exc:
            if exc.status == 404 and resource.optional:
                raise _Absent() from None
            if exc.status == 403 and resource.if_forbidden is not None:
                raise _Forbidden() from None
            raise ClusterError(self._status_message(exc, resource, path, scope)) from None
        except _TimedOut:
            raise ClusterError(f"{self._server(path)}: the API server did not finish answering within "
                               f"{self.timeout:g} s (netpol's bound on one request)") from None
        except _Malformed as exc:
            raise ClusterError(f"{self._server(path)}: the API server sent {exc}") from None
        except SSLError as exc:
            raise ClusterError(f"TLS error talking to the API server at {host}: {_first_line(exc)}") from None
        except ProtocolError as exc:
            raise ClusterError(f"{self._server(path)}: the connection to the API server broke: "
                               f"{_cut(_first_line(exc), 200)}") from None
        except (TimeoutError, MaxRetryError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, SSLError):
                raise ClusterError(f"TLS error talking to the API server at {host}: {_first_line(reason)}") from None
            timed_out = isinstance(reason, TimeoutError) and not isinstance(reason, NewConnectionError)
            if timed_out or "timed out" in str(reason).lower():
                raise ClusterError(f"{self._server(path)}: the API server did not finish answering within "
                                   f"{self.timeout:g} s (netpol's bound on one request)") from None
            raise ClusterError(f"cannot reach the API server at {host}: {_first_line(reason)}") from None
        except RecursionError:
            raise ClusterError(f"{self._server(path)}: the API server sent JSON nested too deeply") from None
        except ValueError as exc:
            raise ClusterError(f"{self._server(path)}: the API server sent invalid JSON: {_cut(str(exc))}") from None

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


def _page(data: Any, where: str) -> tuple[list[dict[str, Any]], str]:
    """A list answer's items and its continue token ("" at the end), checked: a malformed answer is the
    server's error, named, never a crash."""
    if not isinstance(data, dict):
        raise ClusterError(f"{where}: the API server sent {_json_type(data)} where a list object belongs")
    items = data.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ClusterError(f"{where}: the API server sent items that are {_json_type(items)}, not a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ClusterError(f"{where}: the API server sent items[{index}] that is {_json_type(item)}, not an "
                               "object")
    meta = data.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ClusterError(f"{where}: the API server sent metadata that is {_json_type(meta)}, not an object")
    token = meta.get("continue") or ""
    if not isinstance(token, str):
        raise ClusterError(f"{where}: the API server sent a continue token that is {_json_type(token)}, not a "
                           "string")
    return items, token


def _served(data: Any, wanted: set[str], where: str) -> list[str]:
    """The preferred group versions of the `wanted` groups in an APIGroupList."""
    groups = data.get("groups") if isinstance(data, dict) else None
    if groups is None:
        return []
    if not isinstance(groups, list):
        raise ClusterError(f"{where}: the API server sent groups that are {_json_type(groups)}, not a list")
    out = []
    for group in groups:
        name = group.get("name") if isinstance(group, dict) else None
        preferred = group.get("preferredVersion") if isinstance(group, dict) else None
        version = preferred.get("groupVersion") if isinstance(preferred, dict) else None
        if not isinstance(name, str) or not isinstance(version, str):
            raise ClusterError(f"{where}: the API server sent a group without a name and preferred version")
        if name in wanted:
            out.append(version)
    return out


def _resources(data: Any, where: str) -> list[tuple[str, str, bool]]:
    """(plural, kind, namespaced) of each resource in an APIResourceList, without subresources."""
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list):
        raise ClusterError(f"{where}: the API server sent no list of resources")
    out = []
    for entry in resources:
        name, kind = (entry.get("name"), entry.get("kind")) if isinstance(entry, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(kind, str):
            raise ClusterError(f"{where}: the API server sent a resource without a name and kind")
        if "/" not in name:
            out.append((name, kind, entry.get("namespaced") is not False))
    return out


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _located(obj: dict[str, Any], origin: str) -> RawObject:
    return located(obj, Location(origin))


def _first_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
