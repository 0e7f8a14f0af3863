"""can-reach answers: one connection's verdict per side, with provenance and the assumptions it rests on.

A side's verdict is built from the engine's DirectionResult for that pair:
who isolates the subject, which NetworkPolicy rule or tiered rule decided the
port, and the plugin-dependent assumptions (hostNetwork, ipBlock and pod
IPs, same-priority ties) the answer relies on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from netpol.analyses.calico_walk import WalkStep, calico_walk, is_calico
from netpol.analyses.families import families
from netpol.engine import DirectionResult, Engine
from netpol.errors import name_list
from netpol.model import Direction, IPAddress, Pod, Service, ServicePort, TieredPolicy
from netpol.model.portsets import Protocol, probe_json, probe_text
from netpol.policies.cilium import CiliumRuleRef
from netpol.policies.networkpolicy import RuleRef
from netpol.policies.stages import Provenance
from netpol.policies.tiered import TierRuleRef

ASSUME_SELF = (
    "traffic from a pod to itself is assumed allowed: policies cannot block a pod's own "
    "local traffic, and plugins differ for traffic to its own pod IP"
)
ASSUME_EXTERNAL = (
    "{ip} is outside the cluster: only the in-cluster side's policies apply; NAT or load "
    "balancers may change the address the plugin sees"
)
ASSUME_HOST_NETWORK = (
    "{pod} uses hostNetwork: assuming the plugin cannot tell its traffic from its node's, so "
    "policies do not isolate it and pod/namespace selectors do not match it (ipBlock may, by node IP)"
)
ASSUME_DOMAINS = (
    "{pod}'s egress has domainNames rules ({names}): which addresses they match depends on DNS at run time, "
    "so netpol assumes they match no pod or address it knows; the network plugin may allow more"
)
NODE_RULE = "traffic to and from a pod's own node is always allowed"
NODE_INGRESS_RULE = "traffic from a pod's own node to the pod is always allowed (under this network plugin)"
ASSUME_NO_IP = "{pod} has no known IP (status.podIP): ipBlock rules are assumed not to match it"
ASSUME_IPBLOCK_POD = (
    "{rule} matches {pod} only through an ipBlock containing its IP; plugins differ on whether "
    "ipBlock applies to pod IPs"
)


def pod_names(pods: list[Pod]) -> str:
    return name_list([p.key for p in pods])


def egress_domains(engine: Engine, cls: int) -> list[str]:
    """The domainNames a class's egress tier rules name (ASSUME_DOMAINS: they match nothing netpol knows)."""
    admin, baseline = families(engine).tier_lists("egress", cls)
    return sorted({d for rule, _ in (*admin, *baseline) for p in rule.peers for d in p.domains})


@dataclass(frozen=True)
class Endpoint:
    """A pod of the cluster, or an address outside it."""

    pod: Pod | None = None
    ip: IPAddress | None = None
    # A possible pod (a region) in the policies' terms ("any pod in any other namespace"): what text says
    # instead of its key, which stays its identity (`name`).
    described: str | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.pod.key if self.pod is not None else str(self.ip)

    def __str__(self) -> str:
        return self.described or self.name


@dataclass(frozen=True)
class DirectionVerdict:
    """One side of a connection: the source's egress or the destination's ingress."""

    direction: Direction
    allowed: bool
    governed: bool  # False when this side is outside the cluster
    isolated_by: tuple[str, ...] = ()
    allowed_by: tuple[RuleRef, ...] = ()
    reason: str = ""
    # With tiered policies: the tier that decided (Admin, NetworkPolicy, Baseline, default), the
    # tiered rule that decided, and the Admin Pass rule that handed the decision on, if any.
    tier: str | None = None
    decided_by: TierRuleRef | None = None
    passed_by: TierRuleRef | None = None
    walk: tuple[WalkStep, ...] = ()  # under Calico's tiers: every Pass that handed on, then what decided
    # Under Cilium: the CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy rules that allowed, or the deny that won.
    cilium_rules: tuple[CiliumRuleRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "direction": self.direction,
            "allowed": self.allowed,
            "governed": self.governed,
            "isolated": bool(self.isolated_by),
            "isolated_by": list(self.isolated_by),
            "allowed_by": [r.to_dict() for r in self.allowed_by],
            "reason": self.reason,
        }
        if self.tier is not None:
            out["tier"] = self.tier
            out["decided_by"] = self.decided_by.to_dict() if self.decided_by else None
            out["passed_by"] = self.passed_by.to_dict() if self.passed_by else None
        if self.walk:
            out["walk"] = [step.to_dict() for step in self.walk]
        if self.cilium_rules:
            out["cilium_rules"] = [r.to_dict() for r in self.cilium_rules]
        return out


@dataclass(frozen=True)
class Verdict:
    source: Endpoint
    destination: Endpoint
    protocol: Protocol
    port: int  # for ICMP and ICMPv6: the type and code as portsets.icmp_value gives them
    allowed: bool
    egress: DirectionVerdict
    ingress: DirectionVerdict
    assumptions: tuple[str, ...] = ()
    port_name: str | None = None  # asked by name of a possible pod, whose number for it is only a placeholder

    @property
    def probe(self) -> str:
        """What was asked, as a person reads it: `TCP/80`, `ICMP type 8 code 0`, `TCP/postgres`."""
        return _probe(self.protocol, self.port, self.port_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "destination": self.destination.name,
            "protocol": self.protocol,
            # ICMP: no port, its type and code; a possible pod's named port: its name, not its placeholder
            **({"port": None, "port_name": self.port_name} if self.port_name else probe_json(self.protocol, self.port)),
            "allowed": self.allowed,
            "egress": self.egress.to_dict(),
            "ingress": self.ingress.to_dict(),
            "assumptions": list(self.assumptions),
        }


@dataclass(frozen=True)
class Backend:
    """One pod behind a Service port: the port it resolves to there, and the verdict."""

    pod: Pod
    port: int | None  # None: the pod declares no container port of that name, so it serves nothing here
    verdict: Verdict | None


@dataclass(frozen=True)
class ServiceVerdict:
    source: Endpoint
    service: Service
    port: ServicePort
    backends: tuple[Backend, ...]
    written: str | None = None  # the reference as the user gave it (`svc/web:http`), echoed beside the Service

    @property
    def reference(self) -> str:
        """What was asked, as written; else the canonical `NS/svc/NAME:PORT`."""
        return self.written or f"{self.service.namespace}/svc/{self.service.name}:{self.port.port}"

    @property
    def reachable(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.verdict is not None and b.verdict.allowed)

    @property
    def summary(self) -> str:
        """all / some / none of the backing pods that serve this port are reachable."""
        serving = [b for b in self.backends if b.verdict is not None]
        if serving and len(self.reachable) == len(serving):
            return "all"
        return "some" if self.reachable else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "service": self.service.key,
            "reference": self.reference,
            "service_port": {"port": self.port.port, "name": self.port.name, "protocol": self.port.protocol,
                             "target_port": self.port.target},
            "summary": self.summary,
            "backends": [
                {"pod": b.pod.key, "port": b.port, "allowed": b.verdict.allowed if b.verdict else None,
                 "verdict": b.verdict.to_dict() if b.verdict else None}
                for b in self.backends
            ],
        }



def side_verdict(direction: Direction, subject: Endpoint, peer: Endpoint, result: DirectionResult | None,
          protocol: Protocol, port: int, node_rule: str | None = NODE_RULE,
          port_name: str | None = None, cilium: bool = False, calico: bool = False) -> DirectionVerdict:
    """`node_rule`: why traffic with the subject's own node is allowed whatever its policies say, or None where
    the plugin does not exempt it in this direction (model.Dataplane); `port_name`: as Verdict's; `cilium`: the
    result of Cilium's stages; `calico`: of Calico's tiers (its walk names the own node, or the profile)."""
    if result is None:
        return DirectionVerdict(direction, True, False,
                                reason=f"not governed: {subject} is outside the cluster")
    if subject.pod is not None and subject.pod.host_network:
        return DirectionVerdict(direction, True, True,
                                reason=f"not isolated: {subject} uses hostNetwork (see assumptions)")
    if calico or is_calico(result):
        steps = calico_walk(result, protocol, port)
        return DirectionVerdict(direction, result.full_walk.at(protocol, port).allowed, True, result.isolated_by,
                                reason=" -> ".join(str(s) for s in steps), tier=steps[-1].tier, walk=steps)
    if cilium:
        return _cilium_side(direction, subject, peer, result, protocol, port)
    if result.walk is None:
        return _v1_side(direction, subject, peer, result, protocol, port, node_rule, port_name)
    seg = result.walk.at(protocol, port)
    by = _tier_rule(seg.passed)
    passed = f"passed on by {by}; " if by is not None else ""
    if isinstance(seg.decider, TierRuleRef) and seg.decider.tier == "Admin":
        verb = "allowed" if seg.allowed else "denied"
        return DirectionVerdict(direction, seg.allowed, True, result.isolated_by, (),
                                f"{verb} by {seg.decider} (Admin tier)", "Admin", seg.decider, by)
    if seg.decider == "NetworkPolicy" or (node_rule is not None and _is_node_address(subject, peer)):
        v1 = _v1_side(direction, subject, peer, result, protocol, port, node_rule, port_name)
        return replace(v1, reason=f"{passed}NetworkPolicy tier: {v1.reason}", tier="NetworkPolicy",
                       passed_by=by)
    if isinstance(seg.decider, TierRuleRef):
        verb = "allowed" if seg.allowed else "denied"
        return DirectionVerdict(direction, seg.allowed, True, (), (),
                                f"{passed}no NetworkPolicy selects {subject} for {direction}; {verb} by "
                                f"{seg.decider} (Baseline tier)", "Baseline", seg.decider, by)
    why = "no rule of any tier matched" if by is None else \
        "no NetworkPolicy selects it and no Baseline rule matched" if by.tier == "Admin" else \
        "the Baseline tier passed"
    return DirectionVerdict(direction, True, True, (), (), f"{passed}allowed by default: {why}", "default",
                            None, by)


def _tier_rule(ref: Provenance | None) -> TierRuleRef | None:
    """The Pass rule that handed a port on: only tiered rules pass."""
    assert ref is None or isinstance(ref, TierRuleRef)
    return ref


def tie_notes(tiered: Iterable[TieredPolicy]) -> list[str]:
    """Policies of one tier sharing a priority: where they disagree, the answer depends on the plugin."""
    groups: dict[tuple[str, int | None], list[str]] = {}
    for pol in tiered:
        groups.setdefault((pol.tier, pol.priority), []).append(f"{pol.short_kind} {pol.name}")
    return [f"{tier} policies {', '.join(names)} share priority {priority}: where they decide a connection "
            "differently the API leaves their order undefined; netpol applies name order (can-reach names the "
            "pairs affected)" for (tier, priority), names in groups.items() if len(names) > 1]


def tie_note(side: DirectionVerdict, result: DirectionResult, protocol: Protocol, port: int) -> str:
    """A same-priority policy of the deciding tier that would decide differently: the API leaves their
    order undefined, so the answer is ambiguous and says so (empty when it is not)."""
    d = side.decided_by
    if d is None:
        return ""
    first: dict[str, TierRuleRef] = {}
    for hit in result.first_match_hits:
        ref = hit.ref
        if isinstance(ref, TierRuleRef) and (ref.tier, ref.priority) == (d.tier, d.priority) \
                and hit.ports.contains(protocol, port):
            first.setdefault(ref.policy, ref)
    rivals = [r for p, r in first.items() if p != d.policy and r.action != d.action]
    if not rivals:
        return ""
    names = ", ".join(f"{r.short_kind} {r.policy} ({r.written_action})" for r in rivals)
    return (f"ambiguous: {names} has the same priority {d.priority} as {d.short_kind} {d.policy} "
            f"({d.written_action}) and decides this {side.direction} differently; the API leaves their order "
            f"undefined (netpol applied {d.policy}, by name), so the network plugin may do either")


def _is_node_address(subject: Endpoint, peer: Endpoint) -> bool:
    """The peer is the address of the subject pod's node (status.hostIP)."""
    return subject.pod is not None and peer.pod is None and peer.ip is not None and peer.ip == subject.pod.host_ip


def _v1_side(direction: Direction, subject: Endpoint, peer: Endpoint, result: DirectionResult,
             protocol: Protocol, port: int, node_rule: str | None, port_name: str | None) -> DirectionVerdict:
    """The NetworkPolicy v1 decision, and why."""
    what = "sending" if direction == "egress" else "receiving"
    if not result.isolated:
        return DirectionVerdict(direction, True, True,
                                reason=f"not isolated: no NetworkPolicy selects {subject} for {direction}")
    if result.from_local_node:
        node = subject.pod.node if subject.pod is not None else None
        return DirectionVerdict(direction, True, True, result.isolated_by, (),
                                f"allowed: {peer} uses the host network of {subject}'s node ({node}), and "
                                f"{node_rule}")
    if node_rule is not None and _is_node_address(subject, peer):
        return DirectionVerdict(direction, True, True, result.isolated_by, (),
                                f"allowed: {peer} is the address of {subject}'s node (status.hostIP), and {node_rule}")
    allowed_by = tuple(m.ref for m in result.allowed_by(protocol, port) if isinstance(m.ref, RuleRef))
    prep = "to" if direction == "egress" else "from"
    if allowed_by:  # thousands of policies stay one readable line: a few named, the rest counted (JSON: all)
        return DirectionVerdict(direction, True, True, result.isolated_by, allowed_by,
                                f"allowed by {name_list([str(r) for r in allowed_by])}")
    policies = name_list(list(result.isolated_by))
    return DirectionVerdict(
        direction, False, True, result.isolated_by, (),
        f"denied: {subject} is isolated for {direction} by {policies} and no rule allows "
        f"{what} {_probe(protocol, port, port_name)} {prep} {peer}",
    )


def _probe(protocol: Protocol, port: int, port_name: str | None) -> str:
    return f"{protocol}/{port_name}" if port_name else probe_text(protocol, port)


def _cilium_side(direction: Direction, subject: Endpoint, peer: Endpoint, result: DirectionResult,
                 protocol: Protocol, port: int) -> DirectionVerdict:
    """Cilium's decision (cilium-policies.md §3.3): a matching deny wins; else a pod no rule isolates is allowed;
    else the union of every CNP, CCNP and NetworkPolicy allow, and the pod's own node (allow-localhost)."""
    seg = result.full_walk.at(protocol, port)
    if isinstance(seg.decider, CiliumRuleRef):  # only deny rules decide first-match
        return DirectionVerdict(direction, False, True, result.isolated_by, (),
                                f"denied by {seg.decider}: a deny wins over every allow", cilium_rules=(seg.decider,))
    if not result.isolated:
        return DirectionVerdict(direction, True, True, reason=f"not isolated: no CiliumNetworkPolicy, "
                                f"CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates {subject} for "
                                f"{direction}, and no deny rule matches")
    refs = [m.ref for m in result.allowed_by(protocol, port)]
    if refs:
        return DirectionVerdict(direction, True, True, result.isolated_by,
                                tuple(r for r in refs if isinstance(r, RuleRef)),
                                f"allowed by {name_list([str(r) for r in refs])}",
                                cilium_rules=tuple(r for r in refs if isinstance(r, CiliumRuleRef)))
    if seg.allowed:  # the node rule: allow-localhost
        node = subject.pod.node if subject.pod is not None else None
        how = "is an address of" if peer.pod is None else "uses the host network of"
        return DirectionVerdict(direction, True, True, result.isolated_by, (),
                                f"allowed: {peer} {how} {subject}'s node ({node}), and {NODE_INGRESS_RULE}")
    prep = "to" if direction == "egress" else "from"
    what = "sending" if direction == "egress" else "receiving"
    return DirectionVerdict(
        direction, False, True, result.isolated_by, (),
        f"denied: {subject} is isolated for {direction} by {name_list(list(result.isolated_by))} and no rule "
        f"allows {what} {probe_text(protocol, port)} {prep} {peer}")
