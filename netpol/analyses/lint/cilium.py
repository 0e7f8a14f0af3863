"""Lint checks of Cilium's own policies (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy), run under the cilium
profile: NP116 (an allow entry a deny entry shadows, for every pod that could exist) and NP213 (a CIDR rule that
holds the input's pod or node addresses, which a CIDR never matches under Cilium). Both read the policies as
written (netpol.model.cilium), so what they claim follows from the text: shared/reference/cilium-policies.md."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netpol.analyses.lint.findings import Finding, finding
from netpol.errors import name_list
from netpol.model import DIRECTIONS, Cluster, Direction, IPAddress, IPNetwork
from netpol.model.cilium import L4_PROTOCOLS, CiliumEntry, CiliumPeer, CiliumPolicy, CiliumRule
from netpol.model.portsets import MAX_PORT
from netpol.policies.cilium import _ports as entry_ports  # one reading of toPorts and icmps, the engine's
from netpol.policies.cilium import _blocks, subject_selector  # the CIDRs as the engine reads them
from netpol.policies.stages import NamedPort, PortRange

# Ranges pods and nodes are given addresses from: a CIDR inside one of these that holds an in-cluster address was
# likely meant for the pods or nodes; a wider one (0.0.0.0/0, a public range) is read as meaning the outside.
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                    "fc00::/7"))

Located = tuple[CiliumPolicy, CiliumRule, Direction, CiliumEntry]


def check(cluster: Cluster) -> Iterator[Finding]:
    """NP116 and NP213 for every Cilium policy of the input."""
    entries = [(p, r, d, e) for p in cluster.cilium for r in p.rules for d in DIRECTIONS for e in r.entries(d)]
    yield from _shadowed(entries)
    yield from _cidrs_in_cluster(cluster, entries)


# -- NP116: an allow a deny shadows ----------------------------------------------------------------

def _shadowed(entries: list[Located]) -> Iterator[Finding]:
    denies = [x for x in entries if x[3].deny and x[1].endpoint_selector is not None]
    for allow in entries:
        policy, rule, d, entry = allow
        if entry.deny or rule.endpoint_selector is None or _matches_nothing(entry):
            continue
        for deny in denies:
            if deny[2] == d and _covers(deny, allow):
                dp, dr, _, de = deny
                yield finding("NP116", policy, f"{rule.path} {entry.section(d)} is shadowed by {dp.short} {dr.path} "
                              f"{de.section(d)}: that deny selects these pods or more, names these peers and ports "
                              "or more, and a deny wins over every allow, so this allow decides nothing",
                              f"{rule.path}.{entry.section(d)}")
                break


def _matches_nothing(entry: CiliumEntry) -> bool:
    """An entry that allows nothing to shadow: toPorts items without ports, an empty peer list, or no peer field
    and no ports (cilium-policies.md §4.1)."""
    if entry_ports(entry) == ():
        return True
    if entry.peer is None:
        return entry_ports(entry) is None
    return not _items(entry.peer)


def _covers(deny: Located, allow: Located) -> bool:
    """The deny matches every connection the allow does: it is clusterwide or in the allow's namespace, its subject
    selector (with the namespace term the agent adds, §2.3) has a subset of the allow's terms, its peers hold every
    peer item of the allow (or every peer), and its ports every port of the allow. Identical peer items mean the
    same peers, or more for a clusterwide deny of a namespaced allow (§2.3: a CCNP's peers are in any namespace)."""
    dp, dr, _, de = deny
    ap, ar, _, ae = allow
    assert dr.endpoint_selector is not None and ar.endpoint_selector is not None
    if dp.namespace is not None and dp.namespace != ap.namespace:
        return False
    wider = subject_selector(dp, dr.endpoint_selector).requirements
    if not set(wider) <= set(subject_selector(ap, ar.endpoint_selector).requirements):
        return False
    return _peers_cover(de, ae) and _ports_cover(entry_ports(de), entry_ports(ae))


def _every_peer(entry: CiliumEntry) -> bool:
    """No peer field with ports, or the `all` entity."""
    return (entry.peer is None and entry_ports(entry) is not None) or (
        entry.peer is not None and "all" in entry.peer.entities)


def _items(peer: CiliumPeer) -> set[tuple[str, object]]:
    return {*(("endpoints", s) for s in peer.endpoints), *(("entity", e) for e in peer.entities),
            *(("cidr", c) for c in peer.cidrs), *(("service", s) for s in peer.services),
            *(("runtime", r) for r in peer.runtime)}


def _peers_cover(deny: CiliumEntry, allow: CiliumEntry) -> bool:
    if _every_peer(deny):
        return True
    if deny.peer is None or allow.peer is None:
        return False
    return _items(allow.peer) <= _items(deny.peer)


def _ports_cover(deny: tuple[PortRange | NamedPort, ...] | None, allow: tuple[PortRange | NamedPort, ...] | None
                 ) -> bool:
    """None is every protocol and port. A range is covered by one deny range of its protocol that holds it; a named
    port by the same name (for its protocol or any) or by every port of each protocol it may be."""
    if deny is None:
        return True
    if allow is None:
        return False
    ranges = [p for p in deny if isinstance(p, PortRange)]
    names = {(p.name, p.protocol) for p in deny if isinstance(p, NamedPort)}

    def held(protocol: str, first: int, last: int) -> bool:
        return any(r.protocol == protocol and r.first <= first and last <= r.last for r in ranges)

    for p in allow:
        if isinstance(p, PortRange):
            if not held(p.protocol, p.first, p.last):
                return False
        elif (p.name, None) not in names and (p.name, p.protocol) not in names and not all(
                held(proto, 1, MAX_PORT) for proto in ((p.protocol,) if p.protocol else L4_PROTOCOLS)):
            return False
    return True


# -- NP213: a CIDR rule that holds in-cluster addresses --------------------------------------------

def _cidrs_in_cluster(cluster: Cluster, entries: list[Located]) -> Iterator[Finding]:
    """Each CIDR of a CIDR rule (its groups' too, excepts left out, as the engine reads them) inside a private range
    that holds a pod IP or a node address of the input."""
    known: list[tuple[IPAddress, str]] = [(ip, f"pod {p.namespace}/{p.name}") for p in cluster.pods
                                          if not p.host_network for ip in p.ips]
    known.extend((ip, f"node {n.name}") for n in cluster.nodes for ip in n.addresses)
    known.extend((ip, f"node of host-network pod {p.namespace}/{p.name}") for p in cluster.pods
                 if p.host_network for ip in p.ips)
    if not known:
        return
    for policy, rule, d, entry in entries:
        if entry.peer is None:
            continue
        for i, item in enumerate(entry.peer.cidrs):
            for block in _blocks(cluster, item):
                if not any(_within(block.cidr, r) for r in PRIVATE):
                    continue
                inside = sorted({what for ip, what in known if block.contains(ip)})
                if inside:
                    group = " (of a CIDR group)" if item.cidr != block.cidr else ""
                    yield finding("NP213", policy, f"{rule.path} {entry.section(d)} {entry.peer.field}[{i}] "
                                  f"{block.cidr}{group} holds the addresses of {name_list(inside)}, but under Cilium "
                                  "(policy-cidr-match-mode empty, the default) a CIDR matches no pod or node: this "
                                  "rule matches none of them, only addresses outside the cluster",
                                  f"{rule.path}.{entry.section(d)}.{entry.peer.field}[{i}]")


def _within(net: IPNetwork, outer: IPNetwork) -> bool:
    return net.version == outer.version and net.subnet_of(outer)  # type: ignore[arg-type]
