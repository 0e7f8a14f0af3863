"""What `netpol snapshot` keeps of an API object: only the fields netpol reads.

A snapshot is made to be shared (a CI artifact, a bug report), so it must
not carry what a cluster keeps in its objects beside the network facts:
environment values, container commands and arguments, images, volumes,
`kubectl.kubernetes.io/last-applied-configuration` (a copy of the whole
manifest), managed fields, uids. Each kind keeps a whitelist of paths; what
a path does not name is dropped. Reading the snapshot back with `-f` gives
the same answers as the live cluster (tested).
"""

from __future__ import annotations

from typing import Any

# Annotations are dropped except netpol's own (e.g. a lint suppression).
KEPT_ANNOTATION_PREFIX = "netpol.io/"

_POD_SPEC = {"containers": {"name": True, "ports": {"containerPort": True, "name": True, "protocol": True}},
             "hostNetwork": True, "nodeName": True,
             "serviceAccountName": True}  # Calico selects by service account; a pod's identity under Cilium
_TEMPLATE = {"metadata": {"labels": True}, "spec": _POD_SPEC}
_WORKLOAD = {"replicas": True, "parallelism": True, "template": _TEMPLATE}

# The tiered policies are read whole: their spec is nothing but the policy. So are Cilium's (`spec`, `specs`).
_TIERED = {"priority": True, "tier": True, "subject": True, "ingress": True, "egress": True}
_CILIUM: dict[str, Any] = {"CiliumNetworkPolicy": True, "CiliumClusterwideNetworkPolicy": True}

# Per kind, the spec and status fields netpol reads (True: the whole value). A kind not listed keeps
# neither (only its name), so a kind added to the reader cannot leak its spec by default.
_SPEC: dict[str, dict[str, Any]] = {
    "Namespace": {},
    "Pod": _POD_SPEC,
    "Service": {"selector": True, "ports": {"name": True, "port": True, "protocol": True, "targetPort": True}},
    "NetworkPolicy": {"podSelector": True, "policyTypes": True, "ingress": True, "egress": True},
    "Deployment": _WORKLOAD, "ReplicaSet": _WORKLOAD, "StatefulSet": _WORKLOAD, "DaemonSet": _WORKLOAD,
    "ReplicationController": _WORKLOAD, "Job": _WORKLOAD,
    "CronJob": {"jobTemplate": {"spec": _WORKLOAD}},
    "Node": {},
    "AdminNetworkPolicy": _TIERED, "BaselineAdminNetworkPolicy": _TIERED, "ClusterNetworkPolicy": _TIERED,
    **_CILIUM, "CiliumCIDRGroup": {"externalCIDRs": True},
}
_STATUS: dict[str, dict[str, Any]] = {
    "Pod": {"phase": True, "podIP": True, "podIPs": {"ip": True}, "hostIP": True},
    "Node": {"addresses": {"type": True, "address": True}},  # what `nodes` peers and host-network pods match
}
# The API server's EndpointSlices (Service default/kubernetes, the only ones read): their addresses are what
# Cilium's kube-apiserver entity stands for.
_ENDPOINTS: dict[str, Any] = {"EndpointSlice": {"addresses": True}}
CALICO_V3 = "projectcalico.org/v3"
_OWNER = {"apiVersion": True, "kind": True, "name": True, "controller": True}


def shareable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with only what netpol reads; a kind netpol does not read keeps its name alone."""
    kind = obj.get("kind")
    out: dict[str, Any] = {k: obj[k] for k in ("apiVersion", "kind") if k in obj}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = _metadata(meta)
    for part, fields in (("spec", _SPEC), ("specs", _CILIUM), ("status", _STATUS), ("endpoints", _ENDPOINTS)):
        kept = fields.get(kind) if isinstance(kind, str) else None
        if part == "spec" and obj.get("apiVersion") == CALICO_V3:
            kept = True  # Calico's kinds: their spec is nothing but the policy, the tier or the set
        value = _keep(obj[part], kept) if kept is not None and part in obj else None
        if value not in (None, {}):
            out[part] = value
    return out


def _metadata(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: meta[k] for k in ("name", "namespace", "labels") if k in meta}
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        kept = {k: v for k, v in annotations.items() if isinstance(k, str) and k.startswith(KEPT_ANNOTATION_PREFIX)}
        if kept:
            out["annotations"] = kept
    owners = meta.get("ownerReferences")
    if isinstance(owners, list):
        out["ownerReferences"] = [_keep(o, _OWNER) for o in owners]
    return out


def _keep(value: Any, fields: dict[str, Any] | bool) -> Any:
    """`value` restricted to `fields`, through lists (a list of objects keeps the fields of each)."""
    if fields is True:
        return value
    if isinstance(value, list):
        return [_keep(v, fields) for v in value]
    if not isinstance(value, dict) or not isinstance(fields, dict):
        return value
    return {k: _keep(v, fields[k]) for k, v in value.items() if k in fields}
