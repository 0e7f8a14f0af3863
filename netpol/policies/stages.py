"""The one intermediate form every policy family compiles into, and the only one the engine reads.

Per direction (ingress at the destination, egress at the source; a connection needs both), a
family's policies become an ordered list of **stages**. A stage is an ordered list of rules; a
rule says which pods it governs (`subject`), which peers it matches (`peers`), on which
destination ports (`ports`), and what it does (`action`). Every port of a connection walks the
stages on its own:

- In a stage, the rules whose subject holds the pod are read in order; the first rule whose peers
  and ports match decides: `Allow` allows and `Deny` denies (final), `Pass` hands the port on to
  the next stage (skipping the rest of this one), `Log` records and reads on.
- No rule decided, and some policy of the stage selects the pod (`Stage.policies`): the stage's
  `end` decides (`Deny`: denied; `Pass`: the next stage). A pod no policy of the stage selects
  passes on to the next stage.
- After the last stage: the profile's default, allowed.

A stage whose `first_match` is False holds Allow rules only, so their order cannot matter: it
decides as a whole (its verdict names every rule that allows the port, not a first one).

How each family maps onto it (netpol/policies/networkpolicy.py, tiered.py, cilium.py and calico.py hold the
compilers):

- **NetworkPolicy** (networking.k8s.io/v1): one stage, not first-match, `end` Deny. Each policy
  that applies to the direction (policyTypes) is one of `policies` with its podSelector in its
  namespace as subject; each rule an Allow with that subject. The node rule (traffic with a pod's
  own node, from a host-network pod there, is always allowed; egress only where the plugin exempts
  it) is an Allow of this stage with no policy: it allows without isolating.
- **AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy** (tiered): a stage
  `Admin` before NetworkPolicy and a stage `Baseline` after it, both first-match with `end` Pass
  (they isolate nothing); rules in evaluation order (priority, then name; written order inside a
  policy); Accept/Allow -> Allow, Deny -> Deny, Pass -> Pass. A peer netpol does not know fails
  closed: the compiler drops it from an Allow and makes a Deny or Pass match everything.
- **Cilium** (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy under Cilium): the
  union of allows, any deny wins, and a pod is isolated in a direction once any rule of either
  selects it. Compile to two stages: first the deny rules (first-match, Deny actions, `end` Pass,
  no policies: a deny that matches wins wherever it stands); then every allow rule of every kind in
  one stage that is not first-match, with `end` Deny and as `policies` every policy with a rule (or
  an empty rule list that isolates) for the direction.
- **Calico** (NetworkPolicy, GlobalNetworkPolicy in ordered tiers, Kubernetes NetworkPolicy in the
  default tier at order 1000): one first-match stage per tier, in tier order; its rules are the
  tier's policies by `order` then name, each policy's rules in written order with their actions
  (Allow, Deny, Pass, Log); the tier's default action is the stage's `end` (Deny, or Pass where the
  tier says so), applied to the pods some policy of the tier selects.

Who: subjects and peers name no family. `Identified` matches endpoints by a predicate over their identity
labels, which the family's compiler supplies per pod (`Identities`); `AllOf`, `AnyOf`, `Not` and `IPv6`
combine pods, identities and address blocks into one condition (a Calico rule side). Whatever is
family-specific (identities, network sets, the terms an agent adds to a selector) is computed here, in
the compilers; the engine only evaluates the form.

Provenance: every rule carries its family's reference (`Provenance`), which names kind, API
version, policy, priority or order, rule index and name and the written action; a stage carries
its name; the walk records the Pass rule that handed a port range on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from netpol.model import Cluster, ContainerPort, Direction, IPAddress, IPBlock, Pod
from netpol.model.portsets import ALL_PORTS, NO_PORTS, PortSet
from netpol.model.portsets import Protocol as IPProtocol
from netpol.model.selectors import LabelSelector

Verdict = Literal["Allow", "Deny", "Pass", "Log"]
End = Literal["Deny", "Pass"]


class Provenance(Protocol):
    """What a verdict names about the rule that decided it (compile.RuleRef, tiers.TierRuleRef, NodeRule)."""

    @property
    def direction(self) -> Direction: ...


@dataclass(frozen=True, order=True)
class NodeRule:
    """The node rule's provenance: traffic between a pod and a host-network pod on its own node."""

    node: str
    direction: Direction

    def __str__(self) -> str:
        return f"the node rule ({self.node})"


# -- who: subjects and peers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pods:
    """Pods by namespace and labels; host-network pods never match (the plugin sees their node).

    `namespace` fixes one namespace (a namespaced policy's own); otherwise `namespace_selector`
    chooses them (None with no namespace: every namespace). `pod_selector` None: every pod there.
    """

    namespace: str | None
    namespace_selector: LabelSelector | None
    pod_selector: LabelSelector | None


@dataclass(frozen=True)
class NodePods:
    """Every pod scheduled on one node (the subject of the node rule)."""

    node: str


Identity = tuple[tuple[str, str], ...]  # a pod's identity labels, sorted by key


@dataclass(frozen=True, eq=False)
class Identities(ABC):
    """How one family's selectors see the pods of one cluster: each pod's identity labels, which the family's
    compiler defines (`labels`: Calico's are a pod's labels with its namespace's and service account's,
    Cilium's its identity labels) and the engine only reads (`of`). A pod's identity depends on its namespace,
    labels and service account only (and whether it stands for possible pods), so it is computed once for each.
    Two are equal when they are of one kind, for the same cluster object, with the same `parameters`."""

    cluster: Cluster
    _seen: dict[tuple[str, tuple[tuple[str, str], ...], str | None, bool], Identity] = field(
        default_factory=dict, init=False, repr=False)

    @property
    def parameters(self) -> tuple[object, ...]:
        """What else the identities depend on (a compiler's options)."""
        return ()

    @abstractmethod
    def labels(self, pod: Pod) -> Mapping[str, str]:
        """The pod's identity labels, as the family's selectors read them."""

    def of(self, pod: Pod) -> Identity:
        key = (pod.namespace, pod.labels, pod.service_account, pod.hypothetical)  # a possible pod's: calico_regions
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = tuple(sorted(self.labels(pod).items()))
        return found

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Identities) and other.cluster is self.cluster \
            and other.parameters == self.parameters

    def __hash__(self) -> int:
        return hash((type(self), id(self.cluster), self.parameters))


class Predicate(Protocol):
    """A test on identity labels other than a LabelSelector (Calico's selector language): on one label map, and
    on many at once as bitsets (the engine evaluates it once for all pods, netpol/engine/predicates.py)."""

    def evaluate(self, labels: Mapping[str, str]) -> bool: ...

    def keys(self) -> frozenset[str]:
        """The label keys it reads."""

    def select(self, bits: Mapping[str, Mapping[str, int]], keys: Mapping[str, int], every: int) -> int:
        """The label maps (bits) that satisfy it, given per key and value the maps with that label (`bits`), per
        key the maps with it (`keys`) and all of them (`every`)."""


@dataclass(frozen=True)
class Identified:
    """Endpoints (pods that are not host-network) whose identity labels (`identities`) satisfy `predicate`.

    A LabelSelector keeps Kubernetes' meaning, and the classes are cut at the values it names; any other
    predicate is evaluated once, as a bitset over the pods grouped by the labels it reads
    (netpol/engine/predicates.py). Never an address outside the cluster.
    """

    identities: Identities
    predicate: LabelSelector | Predicate


@dataclass(frozen=True)
class OnNode:
    """The pods of `pods` on `node`; None: on no node that runs host-network pods. A rule whose peers depend on
    the subject's node (Cilium's `host` and `remote-node`) is split per node."""

    pods: Identified
    node: str | None


@dataclass(frozen=True)
class Addresses:
    """An address block (CIDR minus excepts): the addresses outside the cluster in it, and the pods whose
    IPs it contains where the profile lets blocks match cluster addresses (Dataplane)."""

    block: IPBlock


@dataclass(frozen=True)
class Nodes:
    """Nodes by name: their host-network pods, and their addresses outside the cluster's pod IPs."""

    names: frozenset[str]
    addresses: frozenset[IPAddress]


@dataclass(frozen=True)
class Everything:
    """Every peer, in the cluster and outside it."""


@dataclass(frozen=True)
class HostNetwork:
    """Host-network pods: every one but those on node `but` (None: every one)."""

    but: str | None = None


@dataclass(frozen=True)
class IPv6:
    """Pods whose addresses are all IPv6 (at least one), and IPv6 addresses; `Not(IPv6())` is every other."""


@dataclass(frozen=True)
class AllOf:
    """What every term matches, pods and addresses alike: one side of a rule that is one conjunction (Calico's
    selector, notSelector, nets, notNets, network sets, IP family). As a peer it stands alone and tests an
    address itself (`address_matches`), not as a union of blocks; an empty one is written `Everything`."""

    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """What some term matches."""

    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """What the term does not match."""

    term: Condition


Condition = Pods | Identified | Addresses | IPv6 | AllOf | AnyOf | Not
Subject = Pods | NodePods | Identified | OnNode | AllOf
Peer = Pods | Addresses | Nodes | Everything | Identified | HostNetwork | AllOf


def address_matches(condition: Condition, ip: IPAddress) -> bool:
    """An address outside the cluster's pods against a condition: pods and identities never hold one."""
    if isinstance(condition, Addresses):
        return condition.block.contains(ip)
    if isinstance(condition, IPv6):
        return ip.version == 6
    if isinstance(condition, AllOf):
        return all(address_matches(t, ip) for t in condition.terms)
    if isinstance(condition, AnyOf):
        return any(address_matches(t, ip) for t in condition.terms)
    if isinstance(condition, Not):
        return not address_matches(condition.term, ip)
    return False


def named_blocks(condition: Condition) -> Iterator[IPBlock]:
    """The address blocks a condition names, in written order."""
    if isinstance(condition, Addresses):
        yield condition.block
    elif isinstance(condition, AllOf | AnyOf):
        for term in condition.terms:
            yield from named_blocks(term)
    elif isinstance(condition, Not):
        yield from named_blocks(condition.term)


# -- ports ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortRange:
    """Destination ports first..last of one protocol."""

    protocol: IPProtocol
    first: int
    last: int


@dataclass(frozen=True)
class NamedPort:
    """A destination container port by name, resolved on the destination pod; `protocol` None: the
    container port's own protocol. Never matches an address outside the cluster."""

    name: str
    protocol: IPProtocol | None


@dataclass(frozen=True)
class PortExcept:
    """Calico: the traffic of `ports` (None: all) but none of `excluded` (notPorts, notProtocol, notICMP), both
    resolved on the destination."""

    ports: tuple[PortRange | NamedPort, ...] | None
    excluded: tuple[PortRange | NamedPort, ...]


PortMatch = tuple[PortRange | NamedPort | PortExcept, ...] | None  # None: every port of every protocol


def resolve_ports(ports: PortMatch, destination: tuple[ContainerPort, ...] | None) -> PortSet:
    """The traffic a rule's ports cover towards one destination.

    Named ports resolve against the destination pod's container ports (with the
    same protocol, where the rule names one); an endpoint outside the cluster
    (destination None) has no named ports, so a named port never matches it. A
    possible pod's port that stands for a number a rule names (ContainerPort.stands_for)
    is matched by the port numbers that match that number.
    """
    if ports is None:
        return ALL_PORTS
    items = []
    excepts = NO_PORTS
    for p in ports:
        if isinstance(p, PortRange):
            items.append((p.protocol, p.first, p.last))
            items.extend((c.protocol, c.port, c.port) for c in destination or () if c.stands_for is not None
                         and c.protocol == p.protocol and p.first <= c.stands_for[0] <= p.last)
        elif isinstance(p, PortExcept):
            excepts = excepts.union(resolve_ports(p.ports, destination).difference(
                resolve_ports(p.excluded, destination)))
        else:
            items.extend((c.protocol, c.port, c.port) for c in destination or ()
                         if c.name == p.name and (p.protocol is None or c.protocol == p.protocol))
    return (PortSet.of(items) if items else NO_PORTS).union(excepts)


def names_ports(ports: PortMatch | tuple[PortRange | NamedPort, ...]) -> bool:
    """Some of the ports is a named port (resolved per destination)."""
    return any(isinstance(p, NamedPort) or (isinstance(p, PortExcept) and (names_ports(p.ports) or
                                                                           names_ports(p.excluded)))
               for p in ports or ())


# -- rules and stages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRule:
    """One rule: for pods of `subject`, traffic with `peers` (empty: none) on `ports` gets `action`.

    `written` is the family's own compiled rule (compile.CompiledRule, tiers.CompiledTierRule, None
    for the node rule), for the analyses that explain a rule in its family's words.
    """

    ref: Provenance
    subject: Subject
    peers: tuple[Peer, ...]
    ports: PortMatch
    action: Verdict
    written: object = None


@dataclass(frozen=True)
class StagePolicy:
    """A policy of a stage and the pods it selects: the stage's `end` applies to them."""

    name: str
    subject: Subject


@dataclass(frozen=True)
class Stage:
    """An ordered list of rules with an end behaviour (see the module docstring).

    `cuts`: address blocks the stage tells apart besides its peers' (every node's address once a
    rule names nodes), so that answers are computed once per set of addresses treated alike.
    `inert`: rules the family wrote that never apply (a NetworkPolicy's rules of a direction its
    policyTypes leave out): never walked, but the class partition reads them as written, so that
    classes do not depend on policyTypes.
    """

    name: str
    first_match: bool
    end: End
    rules: tuple[StageRule, ...]
    policies: tuple[StagePolicy, ...] = ()
    cuts: tuple[IPBlock, ...] = ()
    inert: tuple[StageRule, ...] = ()


Stages = dict[Direction, tuple[Stage, ...]]  # per direction, in walking order
