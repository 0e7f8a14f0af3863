"""Lint checks of Cilium's own policies (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy), run under the cilium
profile: NP116 (an allow entry the deny entries shadow, together, for every pod that could exist: computed on the
compiled stages over the possible pods) and NP213 (a CIDR rule that holds the input's pod or node addresses, which a
CIDR never matches under Cilium, read from the policies as written). shared/reference/cilium-policies.md."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netpol.analyses.lint.findings import Finding, finding
from netpol.errors import name_list
from netpol.model import DIRECTIONS, Cluster, Direction, IPAddress, IPNetwork
from netpol.analyses.label_space import RegionLimitError
from netpol.analyses.regions import regions
from netpol.engine import Engine, PeerMatch, bit_ids
from netpol.model import ContainerPort
from netpol.model.cilium import CiliumEntry, CiliumPolicy, CiliumRule
from netpol.model.portsets import PortSet
from netpol.policies.cilium import DENY_STAGE, CiliumRuleRef, cidr_blocks, node_addresses
from netpol.policies.stages import StageRule

# Ranges pods and nodes are given addresses from: a CIDR inside one of these that holds an in-cluster address was
# likely meant for the pods or nodes; a wider one (0.0.0.0/0, a public range) is read as meaning the outside.
PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                    "fc00::/7"))

Located = tuple[CiliumPolicy, CiliumRule, Direction, CiliumEntry]


def check(cluster: Cluster) -> Iterator[Finding]:
    """NP116 and NP213 for every Cilium policy of the input."""
    entries = [(p, r, d, e) for p in cluster.cilium for r in p.rules for d in DIRECTIONS for e in r.entries(d)]
    yield from _shadowed(cluster)
    yield from _cidrs_in_cluster(cluster, entries)


# -- NP116: an allow the denies shadow ------------------------------------------------------------

def _shadowed(cluster: Cluster) -> Iterator[Finding]:
    """Each allow entry that the deny entries shadow, together, for every pod that could exist: the compiled stages
    over the possible pods (netpol.analyses.regions; the input's pods past the region limit), and for each class
    the allow's subject holds, each peer class and address it matches, every port it allows towards that peer is
    in the ports the denies that hold the class and match the peer deny (a deny wins over every allow, §3.3)."""
    if not any(e.deny for p in cluster.cilium for r in p.rules for d in DIRECTIONS for e in r.entries(d)):
        return
    try:
        possible, scope = regions(cluster).cluster, "every pod that could exist"
    except RegionLimitError:
        possible, scope = cluster, "every pod of the input (possible pods: too many regions)"
    engine = Engine(possible)
    probes = [r.first for r in engine.address_ranges()]
    nodes = {ip for ips in node_addresses(possible).values() for ip in ips}
    probes.extend(sorted(nodes, key=lambda ip: (ip.version, ip)))
    policies = {(p.kind, p.key.partition("/")[2]): p for p in cluster.cilium}
    for d in DIRECTIONS:
        stages = engine.stages[d]
        if stages[0].name != DENY_STAGE:
            continue
        shadowed: dict[CiliumRuleRef, set[str] | None] = {}  # an allow -> the denies that shadow it (None: not)
        for cls in range(len(engine.classes)):
            denies = engine.staged[d][cls][0]
            for rule, pm in engine.staged[d][cls][-1]:
                ref = rule.ref
                if not isinstance(ref, CiliumRuleRef) or (ref in shadowed and shadowed[ref] is None):
                    continue
                used = _covered(engine, d, cls, rule, pm, denies, probes)
                shadowed[ref] = None if used is None else used | (shadowed.get(ref) or set())
        for ref, used in sorted(shadowed.items()):
            if used is None:
                continue
            policy = policies[(ref.kind, ref.policy)]
            where = f"{ref.rule} {ref.section}[{ref.index}]"
            yield finding("NP116", policy, f"{where} is shadowed by {name_list(sorted(used))}: for {scope} it "
                          "selects, every peer and port it allows is denied by them, and a deny wins over every "
                          "allow, so this allow decides nothing", f"{ref.rule}.{ref.section}[{ref.index}]")


def _covered(engine: Engine, direction: Direction, cls: int, rule: StageRule, pm: PeerMatch,
             denies: list[tuple[StageRule, PeerMatch]], probes: list[IPAddress]) -> set[str] | None:
    """The denies that cover what `rule` allows class `cls` (its peer classes, then one address of each range the
    rules treat alike and every node address), or None where some port stays allowed."""
    used: set[str] = set()

    def denied(ports: PortSet, matching: list[tuple[StageRule, PeerMatch]], table: tuple[ContainerPort, ...] | None
               ) -> bool:
        left = ports
        for deny, _ in matching:
            hit = engine.resolve_ports(deny.ports, table).intersection(left)
            if hit:
                used.add(str(deny.ref))
                left = left.difference(hit)
        return not left

    for peer in bit_ids(pm.classes):
        table = engine.classes[cls if direction == "ingress" else peer].named_ports
        if not denied(engine.resolve_ports(rule.ports, table), [x for x in denies if x[1].matches_class(peer)], table):
            return None
    table = engine.classes[cls].named_ports if direction == "ingress" else None
    for ip in probes:
        if pm.matches_ip(ip) and not denied(engine.resolve_ports(rule.ports, table),
                                            [x for x in denies if x[1].matches_ip(ip)], table):
            return None
    return used


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
            for block in cidr_blocks(cluster, item):
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
