"""Checks that use the pods in the input (NP201-NP210), on the engine's classes and port sets.

A judgement about pods is made only where the input shows the pods it is
about: a policy in a namespace the input has no pods for is not "selecting
nothing", it is unknown. Findings about many pods are one finding per
policy or namespace, naming a few pods and counting the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from netpol.analyses.families import families, other_families
from netpol.analyses.lint import compiled
from netpol.analyses.lint.context import _Context
from netpol.analyses.lint.cover import namespace_names, namespace_selector
from netpol.analyses.lint.findings import PEERS_KEY, Finding, Subject, finding
from netpol.analyses.lint.one_sided import one_sided
from netpol.analyses.lint.policies import covered_rules
from netpol.engine import Engine, PeerMatch
from netpol.engine.bits import bit_ids
from netpol.errors import name_list
from netpol.model import (
    DIRECTIONS,
    ContainerPort,
    Direction,
    IPBlock,
    IPBlockPeer,
    Namespace,
    NetworkPolicy,
    Pod,
    PodPeer,
    TieredPolicy,
    TierRule,
    TierSelector,
)
from netpol.model.portsets import Protocol, union_all
from netpol.model.selectors import LabelSelector, satisfiable
from netpol.policies.calico import CalicoRuleRef
from netpol.policies.profiles import CILIUM
from netpol.policies.networkpolicy import CompiledRule, RuleRef
from netpol.policies.stages import Addresses, Peer
from netpol.policies.tiered import TierRuleRef

DNS_APPS = frozenset({"kube-dns", "coredns"})
DNS_PROBES: tuple[tuple[Protocol, int], ...] = (("UDP", 53), ("TCP", 53))
API_SERVER_PROBES: tuple[tuple[Protocol, int], ...] = (("TCP", 6443), ("TCP", 443))


def is_dns_pod(pod: Pod) -> bool:
    """The cluster DNS, as kubeadm, kops, EKS, GKE and k3s label it (k8s-app=kube-dns in kube-system)."""
    labels = pod.label_map
    return pod.namespace == "kube-system" and (
        labels.get("k8s-app") in DNS_APPS or labels.get("app.kubernetes.io/name") in DNS_APPS)


def is_api_server_pod(pod: Pod) -> bool:
    return pod.namespace == "kube-system" and pod.label_map.get("component") == "kube-apiserver"


def check(engine: Engine, notes: list[str]) -> Iterator[Finding]:
    """Every cluster check; `notes` gets what could not be checked, and why. Under another family than
    NetworkPolicy's and the tiers' (Calico's tiers, Cilium's stages), the checks whose meaning depends on the family
    read the compiled stages (netpol/analyses/lint/compiled.py)."""
    ctx = _Context(engine)
    other = other_families(engine)
    yield from _selects_nothing(ctx)
    yield from _peers(ctx)
    yield from _dns(ctx, notes)
    if other:
        namespaces = engine.cluster.namespaces_by_name
        certain = {(p.key, d, i) for p in engine.cluster.policies for d, i, _ in covered_rules(
            p, _declared_labels(namespaces.get(p.namespace)))}
        yield from compiled.redundant(ctx, certain)
    else:
        yield from _redundant(ctx)
    yield from _unprotected(ctx, notes)
    yield from _baseline_cuts(ctx)
    if other:
        yield from compiled.one_sided(ctx, notes)
    else:
        yield from one_sided(engine, notes)


def _declared_labels(ns: Namespace | None) -> dict[str, str] | None:
    return ns.label_map if ns is not None and ns.declared else None


# -- NP201: selects nothing ---------------------------------------------------------------------

def _selects_nothing(ctx: _Context) -> Iterator[Finding]:
    e = ctx.engine
    for policy in e.cluster.policies:
        present = ctx.pods_in.get(policy.namespace, 0)
        if not present:
            continue  # the input shows no pods of this namespace: nothing to judge
        bits = e.namespace_bits(policy.namespace) & e.select("pod", policy.pod_selector)  # hostNetwork too
        if bits & ctx.usable:
            continue
        if bits:
            message = (f"podSelector [{policy.pod_selector}] selects only host-network pods "
                       f"({ctx.pods(bits)}), which NetworkPolicies do not apply to")
        else:
            message = (f"podSelector [{policy.pod_selector}] selects none of the {present:,} pods in namespace "
                       f"{policy.namespace}")
        yield finding("NP201", policy, message, "spec.podSelector")
    for tp in e.cluster.tiered:
        if not families(e).tier_select(tp.subject):
            yield finding("NP201", tp, f"subject selects none of the {len(e.cluster.pods):,} pods in the input",
                          "spec.subject")


# -- NP202, NP203, NP210: peers and named ports ------------------------------------------------

def _peers(ctx: _Context) -> Iterator[Finding]:
    e = ctx.engine
    compiled_rules = {rule.written.ref: rule for d in DIRECTIONS for s in e.stages[d] for rule in s.rules
                      if isinstance(rule.written, CompiledRule)}
    for policy in e.cluster.policies:
        selected = families(e).selected_by(policy.namespace, policy.pod_selector)
        for direction in DIRECTIONS:
            key = PEERS_KEY[direction]
            for i, rule in enumerate(policy.rules(direction)):
                path = f"spec.{direction}[{i}]"
                destinations = 0 if rule.peers else e.all_bits
                for j, peer in enumerate(rule.peers):
                    where = f"{path}.{key}[{j}]"
                    if isinstance(peer, IPBlockPeer):
                        stage_rule = compiled_rules.get(RuleRef(policy.key, direction, i))
                        yield from _block_with_pods(ctx, policy, where, peer.block,
                                                    None if stage_rule is None else stage_rule.peers[j])
                        destinations |= e.block_classes(peer.block)
                        continue
                    yield from _pod_peer(ctx, policy, where, peer)
                    destinations |= families(e).pod_peer_classes(peer, policy.namespace)
                targets = selected if direction == "ingress" else destinations
                for k, port in enumerate(rule.ports):
                    if isinstance(port.port, str):
                        yield from _named_port(ctx, policy, f"{path}.ports[{k}]", port.port, port.protocol,
                                               targets, direction)
    for tp in e.cluster.tiered:
        subject = families(e).tier_select(tp.subject)
        for direction in DIRECTIONS:
            for i, tier_rule in enumerate(tp.rules(direction)):
                path = f"spec.{direction}[{i}]"
                destinations = 0
                for j, tier_peer in enumerate(tier_rule.peers):
                    where = f"{path}.{PEERS_KEY[direction]}[{j}]"
                    if tier_peer.pods is not None:  # (networks match pod IPs by definition: nothing to say)
                        bits = families(e).tier_select(tier_peer.pods)
                        destinations |= bits
                        yield from _tier_peer(ctx, tp, where, tier_peer.pods, bits)
                targets = subject if direction == "ingress" else destinations
                for k, tier_port in enumerate(tier_rule.ports or ()):
                    if tier_port.name is not None:
                        yield from _named_port(ctx, tp, f"{path}.ports[{k}]", tier_port.name, None, targets,
                                               direction)


def _pod_peer(ctx: _Context, policy: NetworkPolicy, where: str, peer: PodPeer) -> Iterator[Finding]:
    e = ctx.engine
    short = where.removeprefix("spec.")
    if peer.namespace_selector is not None:
        yield from _namespaces_match(ctx, policy, where, peer.namespace_selector)
        within = e.select("ns", peer.namespace_selector)
        scope = f"namespaces [{peer.namespace_selector}]"
    else:
        within = e.namespace_bits(policy.namespace)
        scope = f"namespace {policy.namespace}"
    if peer.pod_selector is None or not within or families(e).pod_peer_classes(peer, policy.namespace):
        return  # every pod of the namespaces, or no pods of theirs in the input to judge by
    yield finding("NP202", policy, f"{short}: podSelector [{peer.pod_selector}] matches none of the "
                  f"{ctx.count(within):,} pods in {scope}", f"{where}.podSelector")


def _tier_peer(ctx: _Context, policy: TieredPolicy, where: str, sel: TierSelector, bits: int) -> Iterator[Finding]:
    yield from _namespaces_match(ctx, policy, where, sel.namespace_selector)
    within = ctx.engine.select("ns", sel.namespace_selector) & ctx.usable
    if sel.pod_selector is not None and within and not bits:
        yield finding("NP202", policy, f"{where.removeprefix('spec.')}: podSelector [{sel.pod_selector}] matches "
                      f"none of the {ctx.count(within):,} pods in namespaces [{sel.namespace_selector}]",
                      f"{where}.pods.podSelector")


def _namespaces_match(ctx: _Context, obj: Subject, where: str, selector: LabelSelector) -> Iterator[Finding]:
    """NP202 when the selector certainly matches no namespace: the only names it can match are declared
    in the input (so their labels are known), or it matches no label set at all. A namespace the input does
    not declare (kube-system for DNS, a monitoring namespace) may hold any labels: NP211, an info."""
    namespaces = ctx.engine.cluster.namespaces
    if any(selector.matches(ns.label_map) for ns in namespaces):
        return
    declared = {ns.name for ns in namespaces if ns.declared}
    names = namespace_names(selector)
    short = where.removeprefix("spec.")
    if not satisfiable(namespace_selector(selector)) or (names is not None and names <= declared):
        yield finding("NP202", obj, f"{short}: namespaceSelector [{selector}] matches none of the "
                      f"{len(namespaces):,} namespaces in the input, and no other namespace could match it", where)
        return
    unknown = sorted(names - declared) if names is not None else []
    which = (f"namespace{'s' if len(unknown) > 1 else ''} {name_list(unknown)}, which the input does not declare"
             if unknown else "namespaces the input does not declare")
    yield finding("NP211", obj, f"{short}: namespaceSelector [{selector}] matches none of the {len(namespaces):,} "
                  f"namespaces in the input; it can only match {which}, so their labels and pods are unknown "
                  "here", where)


def _named_port(ctx: _Context, obj: Subject, where: str, name: str, protocol: Protocol | None, targets: int,
                direction: Direction) -> Iterator[Finding]:
    targets &= ctx.usable
    if not targets:
        return
    classes = [ctx.engine.classes[cid] for cid in bit_ids(targets)]
    declared = {(p.name, p.protocol) for c in classes for p in c.named_ports}
    if any(n == name and (protocol is None or proto == protocol) for n, proto in declared):
        return
    other = sorted(proto for n, proto in declared if n == name)
    hint = f" (some declare it for {', '.join(other)})" if other else ""
    what = f"{protocol} port" if protocol else "port"
    whose = "it selects" if direction == "ingress" else "its peers match"
    yield finding("NP203", obj, f"{where.removeprefix('spec.')}: named port {name!r}: none of the "
                  f"{ctx.count(targets):,} destination pods {whose} declares a {what} named {name}{hint}", where)


def _block_with_pods(ctx: _Context, obj: NetworkPolicy, where: str, block: IPBlock, compiled_peer: Peer | None
                     ) -> Iterator[Finding]:
    """NP210; `compiled_peer`: the ipBlock as the profile compiled it (None: the rule applies to no direction), whose
    classes say whether this plugin matches the pods (Cilium: a CIDR never does; Calico's nets do)."""
    e = ctx.engine
    if other_families(e) and compiled_peer is None:
        return  # a rule of a direction the policy's policyTypes leave out: NP101 and NP102 say so
    bits = e.block_classes(block) & ctx.usable
    if not bits and e.cluster.dataplane.profile == CILIUM.name:  # its blocks hold no pod: found by the pods' IPs
        bits = ctx.usable & sum({1 << e.class_of[p.key] for p in e.cluster.pods
                                 if not p.host_network and any(block.contains(ip) for ip in p.ips)})
    if not bits:
        return
    profile = e.cluster.dataplane.profile
    matched = bits & e.subject_bits(compiled_peer) if isinstance(compiled_peer, Addresses) else bits
    if not other_families(e):
        how = "whether it matches them depends on the network plugin (netpol assumes it does)"
    elif matched == bits:
        how = f"the {profile} profile matches them, which other network plugins do not all do"
    elif not matched:
        how = (f"the {profile} profile matches none of them (a CIDR matches addresses outside the cluster only), "
               "which other network plugins do not all do")
    else:
        how = f"the {profile} profile matches {ctx.pods(matched)} of them"
    yield finding("NP210", obj, f"{where.removeprefix('spec.')}: {block} contains the IPs of {ctx.pods(bits)}; {how}",
                  where)


# -- NP204: DNS --------------------------------------------------------------------------------

def _dns(ctx: _Context, notes: list[str]) -> Iterator[Finding]:
    e = ctx.engine
    dns = _bits_of(e, is_dns_pod)
    groups: dict[Subject, int] = {}
    if dns:
        reached = 0
        for probe in DNS_PROBES:
            reached |= e.reaching(dns, probe)
        # the blame depends on the source's egress rules and on which of the DNS pods' ingress rules match it
        dst = (dns & -dns).bit_length() - 1
        dst_rules = [pm for _, pm in families(e).rules["ingress"][dst]] + [
            pm for lst in families(e).tier_lists("ingress", dst) for _, pm in lst]
        blames: dict[tuple[object, ...], Subject] = {}
        other = other_families(e)
        for cid in bit_ids(ctx.usable & ~reached):
            c = e.classes[cid]
            if all(map(is_dns_pod, c.pods)):
                continue
            if other:  # the compiled stages' own answer, per class
                blame = _blame(ctx, cid, dns, DNS_PROBES)
            else:
                views = families(e)
                admin, baseline = views.tier_lists("egress", cid)
                key = (tuple(r.ref for r, _ in views.rules["egress"][cid]), tuple(views.isolating["egress"][cid]),
                       tuple(r.ref for r, _ in admin), tuple(r.ref for r, _ in baseline),
                       tuple(pm.matches_class(cid) for pm in dst_rules))
                blame = blames.get(key)
                if blame is None:
                    blame = blames[key] = _blame(ctx, cid, dns, DNS_PROBES)
            if isinstance(blame, TieredPolicy) and blame.tier == "Baseline":
                continue  # a Baseline deny: NP209 reports it, with the rule
            groups[blame] = groups.get(blame, 0) | (1 << cid)
        names = [p.display for cid in bit_ids(dns) for p in e.classes[cid].pods if is_dns_pod(p)]
        target = f"the DNS pods {name_list(names)} on UDP/53 or TCP/53"
    elif other_families(e):
        notes.append(f"NP204 (DNS blocked) was not checked: the input has no DNS pods (k8s-app=kube-dns in "
                     f"kube-system), and under the {e.cluster.dataplane.profile} profile it needs them")
    else:  # any DNS server: only where NetworkPolicies alone can be read so (docs/lint.md)
        for cid in bit_ids(ctx.usable):
            if _surely_no_dns(e, cid):
                blame = ctx.policies[families(e).isolating["egress"][cid][0]]
                groups[blame] = groups.get(blame, 0) | (1 << cid)
        target = ("any pod or address on UDP/53 or TCP/53 (the input has no DNS pods; this holds for any DNS "
                  "server)")
    for obj, bits in sorted(groups.items(), key=lambda kv: str(kv[0].location)):
        yield finding("NP204", obj, f"{ctx.pods(bits, is_dns_pod)} cannot reach {target}, so they cannot resolve names",
                      "spec")


def _bits_of(e: Engine, test: Callable[[Pod], bool]) -> int:
    return sum(1 << c.id for c in e.classes if any(test(p) for p in c.pods))


def _blame(ctx: _Context, src: int, targets: int, probes: Sequence[tuple[Protocol, int]]) -> Subject:
    """The policy that denies `src` the first target: on the side that denies (its egress first, else the target's
    ingress), the owner of the rule that decided the probe, else a policy of the stage whose end denied it."""
    e = ctx.engine
    dst = (targets & -targets).bit_length() - 1
    egress, ingress = e.connection(src, dst)
    for side, cls in ((egress, src), (ingress, dst)):
        if side is None or any(side.ports.contains(*p) for p in probes):
            continue
        decider = side.full_walk.at(*probes[0]).decider
        owner = ctx.owner(decider)
        if owner is not None:
            return owner
        stages = e.stages[side.direction]
        names = next((e.selecting[side.direction][cls][k] for k, s in enumerate(stages) if s.name == decider
                      and e.selecting[side.direction][cls][k]), side.isolated_by)
        if names:
            found = ctx.owner(names[0])
            if found is not None:
                return found
    raise AssertionError("a denied connection with no deciding policy")  # pragma: no cover


def _surely_no_dns(e: Engine, cls: int) -> bool:
    """Without DNS pods in the input: isolated for egress by NetworkPolicies only, and no rule allows port 53
    to any address or to any pod (a pod peer could match a DNS pod the input does not show)."""
    if not e.is_isolated("egress", cls) or families(e).has_tier_rules("egress", cls):
        return False
    for rule, pm in families(e).rules["egress"][cls]:
        if any(isinstance(p.port, str) for p in rule.ports):
            return False  # a named port might be the DNS pods' "dns"
        ports = families(e).resolve(rule, None)
        if not any(ports.contains(*p) for p in DNS_PROBES):
            continue
        if pm.everything or any(isinstance(p, PodPeer) for p in rule.peers) or pm.blocks:
            return False
    return True


# -- NP205, NP206: redundancy ------------------------------------------------------------------

@dataclass(frozen=True)
class _Cover:
    """Whether a rule allows anything the others do not, for the classes seen so far."""

    covered: bool
    reached: bool
    by: frozenset[str] = frozenset()


def _redundant(ctx: _Context) -> Iterator[Finding]:
    e = ctx.engine
    namespaces = e.cluster.namespaces_by_name
    for policy in e.cluster.policies:
        certain = {(d, i) for d, i, _ in covered_rules(policy, _declared_labels(namespaces.get(policy.namespace)))}
        selected = families(e).selected_by(policy.namespace, policy.pod_selector)
        if not selected:
            continue
        directions = [d for d in DIRECTIONS if policy.affects(d)]
        if not any(policy.rules(d) for d in directions):
            continue  # a deny-all is a safety net for pods to come; NP109 covers its overlap with allows
        per_rule = [(d, i, _rule_cover(e, policy, d, i, selected, exclude_policy=False))
                    for d in directions for i in range(len(policy.rules(d)))]
        # without its own other rules a rule is covered less, so the whole policy is only worth checking
        # when every rule is covered with them
        if all(c.covered for _, _, c in per_rule) and all(
                _isolated_by_another(e, policy, d, selected) for d in directions) and all(
                _rule_cover(e, policy, d, i, selected, exclude_policy=True).covered for d, i, _ in per_rule):
            yield finding("NP206", policy, f"changes no verdict for the pods in the input: other policies isolate "
                          f"its {ctx.pods(selected)} and allow all it allows", "spec")
            continue
        for d, i, cover in per_rule:
            if cover.covered and cover.reached and (d, i) not in certain:  # NP114 says it for every pod
                yield finding("NP205", policy, f"{d}[{i}] allows nothing that {', '.join(sorted(cover.by))} "
                              "do not already allow, for the pods in the input", f"spec.{d}[{i}]")


def _isolated_by_another(e: Engine, policy: NetworkPolicy, direction: Direction, selected: int) -> bool:
    return all(any(k != policy.key for k in families(e).isolating[direction][c]) for c in bit_ids(selected))


def _rule_cover(e: Engine, policy: NetworkPolicy, direction: Direction, index: int, selected: int,
                exclude_policy: bool) -> _Cover:
    """Does every connection rule `index` allows, for every selected class, have another allowing rule?"""
    by: set[str] = set()
    reached = False
    seen: set[tuple[object, ...]] = set()
    for c in bit_ids(selected):
        entries = families(e).rules[direction][c]
        mine = next(x for x in entries if x[0].ref.policy == policy.key and x[0].ref.index == index)
        others = [x for x in entries if x is not mine and not (exclude_policy and x[0].ref.policy == policy.key)]
        destination = e.classes[c].named_ports if direction == "ingress" else None
        key = (id(mine[0]), tuple(id(x[0]) for x in others), destination)
        if key in seen:
            continue
        seen.add(key)
        cover = _cover_one(e, direction, mine, others, destination)
        if not cover.covered:
            return cover
        reached = reached or cover.reached
        by |= cover.by
    return _Cover(True, reached, frozenset(by))


def _cover_one(e: Engine, direction: Direction, mine: tuple[CompiledRule, PeerMatch],
               others: list[tuple[CompiledRule, PeerMatch]],
               destination: tuple[ContainerPort, ...] | None) -> _Cover:
    rule, pm = mine
    if direction == "ingress" or not any(isinstance(p.port, str) for p in rule.ports):
        # what the rule allows does not depend on the peer: a peer no other rule matches decides at once
        others_bits = 0
        for _, m in others:
            others_bits |= m.classes
        if pm.classes & ~others_bits and families(e).resolve(rule, destination):
            return _Cover(False, True)
    peers: list[tuple[tuple[ContainerPort, ...] | None, list[CompiledRule]]] = []
    for bits, region in e.peer_regions(pm.classes, others, split_named_ports=direction == "egress"):
        first = e.classes[(bits & -bits).bit_length() - 1]
        peers.append((destination if direction == "ingress" else first.named_ports, [r for r, _ in region]))
    if pm.everything or pm.blocks:
        for ip in e.address_sets.values():
            if pm.matches_ip(ip):
                peers.append((destination, [r for r, m in others if m.matches_ip(ip)]))
    by: set[str] = set()
    reached = False
    for dest, matching in peers:
        wanted = families(e).resolve(rule, dest)
        if not wanted:
            continue
        reached = True
        covering = [(r, families(e).resolve(r, dest)) for r in matching]
        if wanted.difference(union_all(ports for _, ports in covering)):
            return _Cover(False, True)
        by.update(str(r.ref) for r, ports in covering if ports.intersection(wanted))
    return _Cover(True, reached, frozenset(by))



# -- NP207, NP208: unprotected pods, namespaces without a default deny ------------------------

def _unprotected(ctx: _Context, notes: list[str]) -> Iterator[Finding]:
    """NP207 and NP208. Under another family (other_families), a pod is protected where a stage can deny it
    something, and a namespace has a default deny where every pod that could exist there is (compiled.py)."""
    e = ctx.engine
    cluster = e.cluster
    other = other_families(e)
    open_pods: dict[str, list[Pod]] = {}
    for c in e.classes:
        if c.host_network or (compiled.can_deny(e, "ingress", c.id) if other else (
                e.is_isolated("ingress", c.id) or families(e).has_tier_rules("ingress", c.id))):
            continue
        for pod in c.pods:
            open_pods.setdefault(pod.namespace, []).append(pod)
    default_deny = {p.namespace for p in cluster.policies if p.pod_selector.selects_all and p.affects("ingress")}
    namespaces = cluster.namespaces_by_name
    deny_alls = [p for p in cluster.tiered if any(_denies_every_pod(r) for r in p.ingress)]
    default_deny.update(ns for ns in ctx.pods_in if ns in namespaces and any(
        _covers_namespace(p.subject, namespaces[ns].label_map) for p in deny_alls))
    possible_open = compiled.unprotected_namespaces(ctx, notes) if other and any(
        ns not in open_pods for ns in ctx.pods_in) else {}
    first_pod: dict[str, Pod] = {}
    for pod in cluster.pods:
        first_pod.setdefault(pod.namespace, pod)
    for ns in sorted(ctx.pods_in):
        pods = open_pods.get(ns, [])
        declared = namespaces.get(ns)
        obj: Subject = declared if declared is not None and declared.declared else first_pod[ns]
        if pods:
            names = [p.display for p in pods]
            yield finding("NP207", obj, f"{len(pods):,} of the {ctx.pods_in[ns]:,} pods in namespace {ns} are not "
                          f"isolated for ingress by any policy: {name_list(names)}")
        elif other:
            if ns in possible_open:
                found = possible_open[ns]
                yield finding("NP208", obj, f"namespace {ns} has no default deny for ingress: a pod that could exist "
                              f"there would be isolated by no policy and denied nothing, such as "
                              f"{name_list(found, total=len(found))}")
        elif ns not in default_deny:  # where NP207 speaks, this would only repeat it
            yield finding("NP208", obj, f"namespace {ns} has no default-deny ingress NetworkPolicy "
                          "(podSelector: {}, policyTypes: [Ingress])")


def _denies_every_pod(rule: TierRule) -> bool:
    """A Deny rule for every port from every pod: what a default-deny NetworkPolicy does for pod traffic
    (tiered ingress peers are pods only)."""
    return rule.action == "Deny" and rule.ports is None and any(
        p.unknown is not None or (p.pods is not None and p.pods.namespace_selector.selects_all
                                  and (p.pods.pod_selector is None or p.pods.pod_selector.selects_all))
        for p in rule.peers)


def _covers_namespace(subject: TierSelector, labels: dict[str, str]) -> bool:
    """The subject takes every pod of the namespace with these labels, any pod that may come too."""
    return subject.namespace_selector.matches(labels) and (
        subject.pod_selector is None or subject.pod_selector.selects_all)


# -- NP209: Baseline denies that cut DNS or the API server ------------------------------------

def _baseline_cuts(ctx: _Context) -> Iterator[Finding]:
    """NP209, from each class's walk: under another family (Calico's kube-baseline tier) every class is walked, as
    the Baseline rules sit in its own stages."""
    e = ctx.engine
    other = other_families(e)
    baseline = families(e).tiered.get(("Baseline", "egress"))
    if not baseline and not (other and e.cluster.tiered):
        return
    cut: dict[tuple[TierRuleRef | CalicoRuleRef, str], int] = {}
    for what, test, probes in (("DNS", is_dns_pod, DNS_PROBES), ("the API server", is_api_server_pod,
                                                                  API_SERVER_PROBES)):
        targets = _bits_of(e, test)
        if not targets:
            continue
        dst = (targets & -targets).bit_length() - 1
        for c in e.classes:
            if (baseline is not None and not baseline[c.id]) or c.host_network or all(map(test, c.pods)):
                continue
            result = e.evaluate("egress", c.id, dst, e.classes[dst].named_ports)
            if any(result.ports.contains(*p) for p in probes):
                continue
            decider = result.full_walk.at(*probes[0]).decider
            if _baseline_deny(ctx, decider):
                cut[(decider, what)] = cut.get((decider, what), 0) | (1 << c.id)  # type: ignore[index]
    tests = {"DNS": is_dns_pod, "the API server": is_api_server_pod}
    for (ref, what), bits in sorted(cut.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        ports = ", ".join(f"{p}/{n}" for p, n in (DNS_PROBES if what == "DNS" else API_SERVER_PROBES))
        owner = ctx.owner(ref)
        assert owner is not None
        action = ref.written_action if isinstance(ref, TierRuleRef) else ref.action
        yield finding("NP209", owner, f"{ref.direction}[{ref.index}] ({action}) cuts "
                      f"{ctx.pods(bits, tests[what])} off from {what} ({ports})", f"spec.egress[{ref.index}]")


def _baseline_deny(ctx: _Context, decider: object) -> bool:
    """A Baseline deny rule: netpol's Baseline stage, or a BaselineAdminNetworkPolicy's or a Baseline
    ClusterNetworkPolicy's rule in Calico's baseline tier."""
    if isinstance(decider, TierRuleRef):
        return decider.tier == "Baseline" and decider.action == "Deny"
    if isinstance(decider, CalicoRuleRef) and decider.action == "Deny":
        owner = ctx.tiered.get((decider.kind, decider.policy))
        return owner is not None and owner.tier == "Baseline"
    return False
