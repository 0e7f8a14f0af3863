"""Exact containment between label selectors, for checks that must hold for every pod that could exist.

A label set is any map from keys to values, so a selector's conditions on one key never constrain
another: `inner` selects only what `outer` selects exactly when, key by key, every choice (the key
absent, or one of its values) that inner's conditions leave possible is one outer's conditions accept.
Values are unbounded, so a condition that excludes finitely many values (NotIn, Exists) leaves
infinitely many possible: no finite `In` list contains them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import ip_network

from netpol.model import METADATA_NAME_LABEL, IPBlock, IPBlockPeer, Peer, PodPeer, PolicyPort, Rule
from netpol.model.portsets import MAX_PORT, MIN_PORT, PortSet
from netpol.model.selectors import (
    EVERYTHING,
    KeyDomain,
    LabelSelector,
    Requirement,
    by_key,
    key_domain,
    requirement,
    satisfiable,
)


def _accepts(r: Requirement, d: KeyDomain) -> bool:
    """Every choice in `d` satisfies `r`."""
    if r.operator == "In":
        return not d.absent and d.values is not None and d.values <= set(r.values)
    if r.operator == "NotIn":
        return (d.values is not None and not d.values & set(r.values)) or (
            d.values is None and set(r.values) <= d.excluded)
    if r.operator == "Exists":
        return not d.absent
    return d.values is not None and not d.values


def implies(inner: LabelSelector, outer: LabelSelector) -> bool:
    """Every label set `inner` matches, `outer` matches too (exact; true when inner matches nothing)."""
    if not satisfiable(inner):
        return True
    conditions = by_key(inner)
    return all(_accepts(r, key_domain(conditions.get(r.key, []))) for r in outer.requirements)


NAMESPACE = requirement(METADATA_NAME_LABEL, "Exists")  # every namespace has this label


def namespace_selector(selector: LabelSelector) -> LabelSelector:
    """The selector as namespaces meet it: their label sets always hold kubernetes.io/metadata.name."""
    return LabelSelector.build(expressions=(*selector.requirements, NAMESPACE))


def namespace_names(selector: LabelSelector) -> frozenset[str] | None:
    """The only namespace names `selector` can match (from its kubernetes.io/metadata.name conditions), or
    None when it can match a namespace of any name."""
    return key_domain(r for r in selector.requirements if r.key == METADATA_NAME_LABEL).values


def namespace_of(name: str) -> LabelSelector:
    """Namespace `name`, as far as a namespace the input does not declare is known: by its name label."""
    return LabelSelector.build({METADATA_NAME_LABEL: name})


# -- NetworkPolicy rules: does one rule allow everything another does, for every pod that could exist ----

def _namespaces_cover(outer: LabelSelector | None, inner: LabelSelector | None, namespace: str,
                      labels: Mapping[str, str] | None) -> bool:
    """The namespaces `inner` can match are among `outer`'s (None: the policy's own namespace, whose
    labels are `labels` when the input declares it, else only its name label is known)."""
    if outer is None:  # names are unique: only a selector that can match no other name stays inside
        names = namespace_names(inner) if inner is not None else frozenset({namespace})
        return names is not None and names <= {namespace}
    if inner is None:
        return outer.matches(labels) if labels is not None else implies(namespace_of(namespace), outer)
    return implies(namespace_selector(inner), outer)


def pod_peer_covers(outer: PodPeer, inner: PodPeer, namespace: str, labels: Mapping[str, str] | None) -> bool:
    """Every (namespace, pod) `inner` matches, `outer` matches: both factors contained, or inner empty."""
    inner_pods = inner.pod_selector or EVERYTHING
    if not satisfiable(inner_pods) or (inner.namespace_selector is not None
                                       and not satisfiable(namespace_selector(inner.namespace_selector))):
        return True
    return _namespaces_cover(outer.namespace_selector, inner.namespace_selector, namespace, labels) and implies(
        inner_pods, outer.pod_selector or EVERYTHING)


Spans = tuple[tuple[int, int], ...]


def _spans(blocks: Iterable[IPBlock], version: int) -> Spans:
    """The addresses of the blocks of one IP version as merged integer intervals."""
    out: list[tuple[int, int]] = []
    for b in blocks:
        if b.cidr.version != version:
            continue
        lo, hi = int(b.cidr.network_address), int(b.cidr.broadcast_address)
        for e in sorted((int(x.network_address), int(x.broadcast_address)) for x in b.excepts):
            if e[0] > lo:
                out.append((lo, min(hi, e[0] - 1)))
            lo = max(lo, e[1] + 1)
        if lo <= hi:
            out.append((lo, hi))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(out):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def blocks_cover(outer: Iterable[IPBlock], inner: IPBlock) -> bool:
    """Every address of `inner` (its CIDR minus its excepts) is in some block of `outer`."""
    version = inner.cidr.version
    have = _spans(outer, version)
    return all(any(a <= lo and hi <= b for a, b in have) for lo, hi in _spans([inner], version))


def _numbers(ports: Iterable[PolicyPort]) -> PortSet:
    return PortSet.of((p.protocol, *((MIN_PORT, MAX_PORT) if p.port is None else (p.port, p.end_port or p.port)))
                      for p in ports if not isinstance(p.port, str))


def ports_cover(outer: tuple[PolicyPort, ...], inner: tuple[PolicyPort, ...]) -> bool:
    """For every destination pod, the ports `inner` allows are among `outer`'s. A named port resolves per
    pod to any number, so it is covered only by the same name and protocol, or by the whole protocol."""
    if not outer:
        return True
    numbers = _numbers(outer)
    if not inner:
        return numbers.is_all
    names = {(p.port, p.protocol) for p in outer if isinstance(p.port, str)}
    return not _numbers(inner).difference(numbers) and all(
        (p.port, p.protocol) in names or numbers.intervals(p.protocol) == ((MIN_PORT, MAX_PORT),)
        for p in inner if isinstance(p.port, str))


def _every_pod(peer: Peer) -> bool:
    return isinstance(peer, PodPeer) and peer.namespace_selector is not None and \
        peer.namespace_selector.selects_all and (peer.pod_selector is None or peer.pod_selector.selects_all)


def _peers_cover(outer: tuple[Peer, ...], inner: tuple[Peer, ...], namespace: str,
                 labels: Mapping[str, str] | None) -> bool:
    blocks = [p.block for p in outer if isinstance(p, IPBlockPeer)]
    if not outer:
        return True
    if not inner:  # every pod and every address: all pods by one peer, and both address families by blocks
        return any(_every_pod(p) for p in outer) and all(
            blocks_cover(blocks, IPBlock(ip_network(every))) for every in ("0.0.0.0/0", "::/0"))
    return all(blocks_cover(blocks, p.block) if isinstance(p, IPBlockPeer) else any(
        isinstance(o, PodPeer) and pod_peer_covers(o, p, namespace, labels) for o in outer) for p in inner)


def rule_covers(outer: Rule, inner: Rule, namespace: str, labels: Mapping[str, str] | None) -> bool:
    """Every connection `inner` allows, `outer` allows too, whatever pods and namespaces exist (`labels`: the
    policy namespace's declared labels, None when the input does not declare it)."""
    return ports_cover(outer.ports, inner.ports) and _peers_cover(outer.peers, inner.peers, namespace, labels)
