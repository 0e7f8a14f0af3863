"""What each CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy does, in words (`netpol explain` under the cilium
profile): per rule (spec or specs[i]) the pods it selects, whether it isolates each direction, and per entry of
each section its peers and ports, as netpol/policies/cilium.py compiles them."""

from __future__ import annotations

from dataclasses import dataclass

from netpol.engine import DirectionResult, Engine, PeerRef, bit_ids
from netpol.model import DIRECTIONS, Cluster, Direction, IPAddress
from netpol.model.cilium import CiliumEntry, CiliumPeer, CiliumPolicy, CiliumRule
from netpol.model.portsets import NO_PORTS, PortSet
from netpol.policies.cilium import cluster_options, entry_ports, node_addresses, rule_subject


@dataclass(frozen=True)
class EntrySummary:
    section: str  # ingress, ingressDeny, egress, egressDeny
    index: int
    peers: tuple[str, ...]
    ports: str


@dataclass(frozen=True)
class CiliumRuleSummary:
    """One rule of a CNP or CCNP: its subject, the directions it isolates and its entries."""

    policy: CiliumPolicy
    rule: CiliumRule
    subject: str
    targets: tuple[str, ...]
    isolates: tuple[Direction, ...]
    entries: tuple[EntrySummary, ...]


def summarize_cilium(engine: Engine, wanted: set[str] | frozenset[str] | None = None) -> tuple[CiliumRuleSummary, ...]:
    """Every rule of every CNP and CCNP (CNPs of `wanted` namespaces, CCNPs that select a pod there, if given)."""
    out = []
    every_isolates = not cluster_options(engine.cluster).non_default_deny_policies
    for policy in engine.cluster.cilium:
        for rule in policy.rules:
            if rule.endpoint_selector is None:
                subject, targets = f"nodes [{rule.node_selector}] (a host policy: no effect without the host " \
                                   "firewall)", ()
            else:
                bits = engine.subject_bits(rule_subject(engine.cluster, policy, rule.endpoint_selector))
                targets = tuple(sorted(p.key for cid in bit_ids(bits) for p in engine.classes[cid].pods))
                subject = f"[{rule.endpoint_selector}]" + (f" in namespace {policy.namespace}" if policy.namespace
                                                           else " in every namespace")
            if wanted and (policy.namespace not in wanted if policy.namespace else
                           not any(t.split("/", 1)[0] in wanted for t in targets)):
                continue
            isolates = tuple(d for d in DIRECTIONS if rule.endpoint_selector is not None and any(
                e.default_deny or every_isolates for e in rule.entries(d)))
            entries = tuple(EntrySummary(e.section(d).split("[")[0], e.index, _peers(e, d), _ports(e))
                            for d in DIRECTIONS for e in rule.entries(d))
            out.append(CiliumRuleSummary(policy, rule, subject, targets, isolates, entries))
    return tuple(out)


def _peers(entry: CiliumEntry, direction: Direction) -> tuple[str, ...]:
    if entry.peer is None:
        return ("any peer, in and outside the cluster",) if entry.to_ports or entry.icmps else \
            ("nothing (no peer and no ports)",)
    return _peer(entry.peer) or (f"nothing ({entry.peer.field} is empty)",)


def _peer(peer: CiliumPeer) -> tuple[str, ...]:
    items = [*(f"endpoints [{s}]" for s in peer.endpoints), *(f"entity {e}" for e in peer.entities)]
    for c in peer.cidrs:
        what = str(c.cidr) if c.cidr is not None else f"CIDR group {c.group}" if c.group else \
            f"CIDR groups [{c.group_selector}]"
        items.append(what + (f" except {', '.join(map(str, c.excepts))}" if c.excepts else "")
                     + " (outside addresses only)")
    items.extend(f"Service {s.namespace or '*'}/{s.name or '[' + str(s.selector) + ']'}" for s in peer.services)
    items.extend(f"{peer.field} {r} (decided at run time: matches nothing here)" for r in peer.runtime)
    return tuple(items)


def _ports(entry: CiliumEntry) -> str:
    if not entry.to_ports and not entry.icmps:
        return "all ports and ICMP"
    parts = [str(p) for item in entry.to_ports for p in item.ports]
    parts.extend(str(t) for item in entry.icmps for t in item)
    l7 = sorted({item.l7 for item in entry.to_ports if item.l7})
    return (", ".join(parts) or "nothing") + (f" (L7 {', '.join(l7)}: requests filtered at run time)" if l7 else "")


def node_address_note(cluster: Cluster, ip: IPAddress) -> str | None:
    """What an address asked about is under Cilium when it is a node's (cilium-policies.md §2.4, §2.5): no outside
    address but the node's identity; None for any other address."""
    for node, ips in node_addresses(cluster).items():
        if ip in ips:
            where = f"node {node}" if node is not None else "a node the input does not name (a pod's status.hostIP)"
            return (f"{ip} is an address of {where}: Cilium sees it as `host` from the pods on that node and as "
                    "`remote-node` from the others, never as `world`")
    return None


def runtime_dependence(engine: Engine, src: PeerRef, dst: PeerRef, wanted: PortSet) -> tuple[str, ...]:
    """What only runtime facts decide of the connections src -> dst on `wanted` (cilium-policies.md §1.2), for
    `check`: ports allowed only by entries with L7 rules or mutual authentication (allowed at L4, requests
    filtered or the handshake decided at run time; an entry with an L7 rule on some toPorts item counts as such
    on all its ports), and, towards an address outside the cluster, ports of the source's egress entries on
    toFQDNs or toGroups (never matched statically) that nothing else allows. Empty: the L3/L4 answer is all."""
    egress, ingress = engine.connection(src, dst)
    allowed = engine.allowed_ports(src, dst).intersection(wanted)
    notes: list[str] = []
    for result in (egress, ingress):
        notes.extend(_runtime_allows(result, allowed))
    denied = wanted.difference(allowed)
    if isinstance(src, int) and not isinstance(dst, int) and denied:
        for policy in engine.cluster.cilium:
            for rule in policy.rules:
                if rule.endpoint_selector is None or not (engine.subject_bits(
                        rule_subject(engine.cluster, policy, rule.endpoint_selector)) >> src) & 1:
                    continue
                for entry in rule.egress:
                    if not entry.deny and entry.peer is not None and entry.peer.runtime and \
                            engine.resolve_ports(entry_ports(entry), None).intersection(denied):
                        notes.append(f"{policy.short} {rule.path} {entry.section('egress')}: {entry.peer.field} "
                                     f"{', '.join(entry.peer.runtime)} may match {dst} at run time (DNS answers "
                                     "or the cloud provider): denied only if it does not")
    return tuple(dict.fromkeys(notes))


def _runtime_allows(result: DirectionResult | None, allowed: PortSet) -> list[str]:
    """The entries of one side that alone allow some of `allowed`, where run time filters further."""
    if result is None or not allowed:
        return []
    plain = NO_PORTS
    runtime: list[tuple[str, PortSet, str]] = []
    for hit in result.matches:
        entry = hit.rule.written
        why = []
        if isinstance(entry, CiliumEntry):
            why.extend(f"{item.l7} rules filter requests" for item in entry.to_ports if item.l7)
            if entry.authentication is not None:
                why.append(f"authentication mode {entry.authentication} is decided")
        if why:
            runtime.append((str(hit.ref), hit.ports, " and ".join(dict.fromkeys(why))))
        else:
            plain = plain.union(hit.ports)
    return [f"{ref}: {why} at run time: allowed at L4 only on {ports.intersection(allowed).difference(plain)}"
            for ref, ports, why in runtime if ports.intersection(allowed).difference(plain)]
