"""Dataplane profiles: which policy kinds a network plugin enforces, and how it answers what the NetworkPolicy
API leaves open, per release, each answer with its source (docs/semantics.md §15).

An analyzer with one answer to each open question is exact on the API and wrong on the cluster: under
Cilium an ipBlock never matches a pod, under Calico it does. So the answers are the plugin's: the engine
computes those it has a switch for (model.Dataplane), and every answer states the others as "not
modelled", never as if computed. Under the cilium profile, CiliumNetworkPolicy and
CiliumClusterwideNetworkPolicy are evaluated (policies/cilium.py); under the calico profile Calico's
own kinds are (netpol/policies/calico.py). The other plugins' own kinds, and each plugin's under any
other profile, stay refused unless --ignore-unmodelled (sources/unmodelled.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from netpol.errors import Diagnostic, NetpolError, name_list
from netpol.model import DIRECTIONS, Cluster, Dataplane, Direction, NetworkPolicy, Pod, PolicyType
from netpol.policies.calico import calico_compiles, calico_stages
from netpol.policies.cilium import CNI_OPTION, cilium_assumptions, cilium_stages, parse_options
from netpol.policies.networkpolicy import compile_stages
from netpol.policies.stages import Stages
from netpol.sources import IgnoredObject, LoadResult
from netpol.sources.calico import API_VERSION as CALICO_API
from netpol.sources.calico import KINDS as CALICO_KINDS
from netpol.sources.cilium import CILIUM_KINDS

OPTION = "--cni"
NETWORK_POLICY = ("networking.k8s.io/v1", "NetworkPolicy")
ANP = ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy")
BANP = ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy")
CNP = ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy")


class ProfileError(NetpolError):
    """An unknown profile or release, or an input that holds the kinds of two network plugins."""


@dataclass(frozen=True)
class Answer:
    """One open question of the API, as the plugin answers it; `modelled`: the engine computes it."""

    question: str
    answer: str
    source: str
    modelled: bool = True


@dataclass(frozen=True)
class Release:
    """A release whose semantics netpol knows: what it enforces of the kinds netpol reads, and its answers."""

    version: str
    enforces: frozenset[tuple[str, str]]  # (apiVersion, kind)
    not_enforced: tuple[tuple[tuple[str, str], str], ...]  # the other kinds netpol reads, and why
    answers: tuple[Answer, ...]
    dataplane: Dataplane
    rules_isolate: bool = False  # a direction with rules is isolated whatever policyTypes says (Cilium)


@dataclass(frozen=True)
class Profile:
    name: str
    product: str
    groups: frozenset[str]  # the API groups of its own kinds: an input holding them runs it
    daemonsets: frozenset[tuple[str, str]]  # (namespace, name) of its agent: a live cluster running it
    releases: tuple[Release, ...]  # oldest first; the last is the default

    @property
    def newest(self) -> Release:
        return self.releases[-1]


_ALL = frozenset({NETWORK_POLICY, ANP, BANP, CNP})
_CILIUM_BRIEF = "shared/reference/cilium-policies.md"
_CALICO_BRIEF = "shared/reference/calico-policies.md"

GENERIC = Profile("generic", "the Kubernetes API", frozenset(), frozenset(), (
    Release("", _ALL, (), (), Dataplane()),))

CILIUM = Profile("cilium", "Cilium", frozenset({"cilium.io"}), frozenset({("kube-system", "cilium")}), (
    Release("1.20", frozenset({NETWORK_POLICY}), (
        (ANP, "Cilium does not implement AdminNetworkPolicy (cilium#23380)"),
        (BANP, "Cilium does not implement BaselineAdminNetworkPolicy (cilium#23380)"),
        (CNP, "Cilium 1.20 enforces ClusterNetworkPolicy only with --enable-k8s-cluster-network-policy, off by "
              "default (cilium#47227)"),
    ), (
        Answer("ipBlock", "an ipBlock matches only addresses outside the cluster, never a pod's, a node's or a "
               "host-network pod's (policy-cidr-match-mode empty, the default)",
               "docs.cilium.io security/policy/layer3 'IP/CIDR based': CIDR selectors do not match in-cluster "
               f"entities; {_CILIUM_BRIEF} §4.2, §6.1"),
        Answer("own node", "ingress from the pod's own node (its host-network pods) is always allowed "
               "(allow-localhost=always); egress to it is decided by the pod's egress policy, where under "
               "NetworkPolicy only a rule without peers matches a node",
               f"docs.cilium.io security/policy/layer3 'Access to/from local host'; {_CILIUM_BRIEF} §3.5"),
        Answer("host-network pods", "never isolated, never matched by podSelector or namespaceSelector; as a "
               "peer a host-network pod is its node, which no ipBlock matches", f"{_CILIUM_BRIEF} §2.5"),
        Answer("named ports", "resolved on the destination pod, on its container port's protocol (1.20 resolves "
               "egress names per destination); never on a host-network pod, which Cilium sees as its node",
               f"docs.cilium.io security/policy/layer4; {_CILIUM_BRIEF} §5, §9.3"),
        Answer("SCTP", "SCTP rules take effect only with the agent option enable-sctp (off by default); netpol "
               "evaluates them as written", f"{_CILIUM_BRIEF} §1.3, §5", modelled=False),
        Answer("endPort", "an inclusive range, as the API says",
               f"pkg/k8s/network_policy.go parsePorts; {_CILIUM_BRIEF} §6.1"),
        Answer("policyTypes", "a direction that has rules is isolated by them even where policyTypes omits it "
               "(cilium#48703, open in 1.20; a fix is proposed in cilium#48708)", f"{_CILIUM_BRIEF} §6.1, §9.2"),
        Answer("identity labels", "selectors read a pod's identity: its labels but those Cilium leaves out "
               "(statefulset.kubernetes.io/pod-name, pod-template-hash, controller-revision-hash, ...), its "
               "namespace (io.kubernetes.pod.namespace), its namespace's labels (io.cilium.k8s.namespace.labels.*), "
               "its service account (io.cilium.k8s.policy.serviceaccount) and the cluster (default)",
               f"docs.cilium.io operations/performance/scalability/identity-relevant-labels; {_CILIUM_BRIEF} §2.1"),
        Answer("node addresses", "an address asked about that is a node's (Node status.addresses, a pod's "
               "status.hostIP), not a pod's, is that node: `host` for the pods on it, `remote-node` for the others, "
               "never `world`, and no CIDR or ipBlock matches it", f"{_CILIUM_BRIEF} §2.4, §2.5, §4.2"),
    ), Dataplane("cilium", ip_block_matches_cluster=False, own_node_egress_allowed=False,
                 host_network_named_ports=False, ip_block_matches_nodes=False), rules_isolate=True),
))

_CALICO_ANSWERS = (
    Answer("ipBlock", "an ipBlock matches every address in it, pods', nodes' and host-network pods' included (it "
           "becomes Calico's nets)", f"libcalico-go conversion.go k8sRuleToCalico; {_CALICO_BRIEF} §2, §6"),
    Answer("own node", "traffic from the pod's own node is not policed (allowed); traffic to it is decided by the "
           "pod's egress policy, then Felix's DefaultEndpointToHostAction, assumed ACCEPT as manifests/calico.yaml "
           "sets it (Felix's own default, DROP, denies it all)",
           f"felix/rules/static.go filterWorkloadToHostChain, filterOutputChain; {_CALICO_BRIEF} §1"),
    Answer("host-network pods", "not workload endpoints: never isolated, never matched by podSelector or "
           "namespaceSelector, matched by an ipBlock through their address",
           f"libcalico-go conversion.go IsValidCalicoWorkloadEndpoint; {_CALICO_BRIEF} §2"),
    Answer("named ports", "resolved on the destination pod, on the rule's protocol (TCP by default)",
           f"felix/calc/rule_scanner.go, felix/labelindex/named_port_index.go; {_CALICO_BRIEF} §5, §6"),
    Answer("SCTP", "enforced as written", f"api/pkg/lib/numorstring/protocol.go; {_CALICO_BRIEF} §5"),
    Answer("endPort", "an inclusive range (port:endPort)", f"conversion.go k8sRuleToCalico; {_CALICO_BRIEF} §6"),
)
_CALICO_DATAPLANE = Dataplane("calico", ip_block_matches_cluster=True, own_node_egress_allowed=False)
_CALICO_ANP = Answer(
    "AdminNetworkPolicy named ports", "a namedPort entry of an AdminNetworkPolicy or BaselineAdminNetworkPolicy "
    "makes Calico's rule match every port and protocol",
    f"calico v3.31 libcalico-go conversion.go unpackANPPorts; {_CALICO_BRIEF} §6, §8.10")
_CALICO_V1ALPHA1 = (
    (CNP, "Calico enforces ClusterNetworkPolicy from 3.32 on (projectcalico/calico#10810)"),)

CALICO = Profile("calico", "Calico", frozenset({"projectcalico.org", "crd.projectcalico.org"}),
                 frozenset({("kube-system", "calico-node"), ("calico-system", "calico-node")}), (
    Release("3.30", frozenset({NETWORK_POLICY, ANP, BANP}), _CALICO_V1ALPHA1, (*_CALICO_ANSWERS, _CALICO_ANP),
            _CALICO_DATAPLANE),
    Release("3.31", frozenset({NETWORK_POLICY, ANP, BANP}), _CALICO_V1ALPHA1, (*_CALICO_ANSWERS, _CALICO_ANP),
            _CALICO_DATAPLANE),
    Release("3.32", frozenset({NETWORK_POLICY, CNP}), (
        (ANP, "Calico 3.32 no longer enforces AdminNetworkPolicy v1alpha1 (projectcalico/calico#11144)"),
        (BANP, "Calico 3.32 no longer enforces BaselineAdminNetworkPolicy v1alpha1 (projectcalico/calico#11144)"),
    ), (*_CALICO_ANSWERS, Answer(
        "ClusterNetworkPolicy nodes and domainNames", "Calico 3.32 drops a rule with such peers if it accepts, and "
        "makes it deny everything if it denies or passes",
        f"libcalico-go conversion/clusternetworkpolicy.go; {_CALICO_BRIEF} §6")),
        _CALICO_DATAPLANE),
))

PROFILES = (GENERIC, CILIUM, CALICO)
_BY_NAME = {p.name: p for p in PROFILES}


def known() -> str:
    """The profiles and releases netpol knows, newest last: `netpol --version` and errors name them."""
    return ", ".join(p.name + (f" ({', '.join(r.version for r in p.releases)})" if p.newest.version else "")
                     for p in PROFILES)


@dataclass(frozen=True)
class Chosen:
    profile: Profile
    release: Release
    why: str  # how it was chosen: the option, or what recognised it

    @property
    def title(self) -> str:
        return f"{self.profile.name} {self.release.version}".rstrip()


def parse(text: str) -> Chosen:
    """`NAME[:VERSION]` of --cni; a patch release (3.32.1) is its minor's."""
    name, _, version = text.strip().partition(":")
    profile = _BY_NAME.get(name.strip().lower())
    if profile is None:
        raise ProfileError(f"{OPTION} {text!r}: unknown network plugin; netpol knows {known()}")
    if not version:
        return Chosen(profile, profile.newest, f"{OPTION} {text}")
    wanted = version.strip().removeprefix("v")
    for release in profile.releases:
        if release.version and (wanted == release.version or wanted.startswith(release.version + ".")):
            return Chosen(profile, release, f"{OPTION} {text}")
    versions = ", ".join(r.version for r in profile.releases if r.version)
    raise ProfileError(f"{OPTION} {text!r}: netpol knows no release {version!r} of {profile.name}" +
                       (f"; it knows {versions}" if versions else "; it has no releases: pass --cni generic"))


def recognise(result: LoadResult) -> Chosen:
    """The profile of the plugin an input shows: its own kinds, its agent's DaemonSet (its pods, or the
    DaemonSet: a live cluster, its snapshot, a rendered install), its CRDs among the API groups a live
    cluster serves; generic when none, an error when two."""
    evidence: dict[str, list[str]] = {}
    objects = [*((o.api_version.rpartition("/")[0], o.kind, o.location) for o in result.ignored),
               *(("cilium.io", o.kind, o.location) for o in result.cluster.cilium),  # Cilium's kinds netpol reads
               *(("cilium.io", "CiliumCIDRGroup", None) for _ in result.cluster.cidr_groups[:1])]
    kinds = {(group, kind) for group, kind, _ in objects}
    first: dict[str, str] = {}  # each plugin's first object, so that the error below names a file
    for group, _, location in objects:
        for profile in PROFILES:
            if group in profile.groups and location is not None:
                first.setdefault(profile.name, f", first at {location}")
    for profile in PROFILES:
        found = sorted(f"{kind} ({group})" for group, kind in kinds if group in profile.groups)
        if found:
            evidence.setdefault(profile.name, []).append(f"the input holds {name_list(found)}")
        served = sorted(profile.groups & set(result.served_groups or ()))
        if served:
            evidence.setdefault(profile.name, []).append(f"the API server serves {', '.join(served)}")
        agents = sorted({f"DaemonSet {p.namespace}/{name}" for p in result.cluster.pods
                         if (name := _daemonset(p)) and (p.namespace, name) in profile.daemonsets})
        if agents:
            evidence.setdefault(profile.name, []).append(f"the input runs {', '.join(agents)}")
    if len(evidence) > 1:
        raise ProfileError("the input shows two network plugins: " + "; ".join(
            f"{name} ({'; '.join(why)}{first.get(name, '')})" for name, why in sorted(evidence.items()))
            + f". Pass {OPTION} NAME to say which one enforces the policies")
    if not evidence:
        return Chosen(GENERIC, GENERIC.newest, "the default")
    (name, why), = evidence.items()
    profile = _BY_NAME[name]
    return Chosen(profile, profile.newest, f"recognised: {'; '.join(why)}")


def _daemonset(pod: Pod) -> str | None:
    """The DaemonSet a pod runs for (a real pod it controls, or the DaemonSet of the input itself)."""
    if pod.owner is not None and pod.owner.startswith("daemonset/"):
        return pod.owner.partition("/")[2]
    return pod.name.partition("/")[2] if pod.workload == "DaemonSet" else None


def apply(result: LoadResult, cni: str | None, cni_options: Sequence[str] = ()) -> LoadResult:
    """The input as the chosen plugin enforces it: kinds it does not enforce left out (and named), its
    answers in the engine's switches and among every answer's assumptions. Generic changes nothing.
    `cni_options`: the Cilium agent options (--cni-option KEY=VALUE), an error under any other plugin."""
    chosen = parse(cni) if cni is not None else recognise(result)
    if cni_options and chosen.profile is not CILIUM:
        raise ProfileError(f"{CNI_OPTION} sets Cilium agent options, and the plugin is {chosen.title} "
                           f"({chosen.why}): pass {OPTION} cilium")
    if chosen.profile is GENERIC:
        return result
    cluster = result.cluster
    release = chosen.release
    notes = [f"dataplane profile {chosen.title} ({chosen.why}); its answers to what the NetworkPolicy API leaves "
             f"open follow (docs/semantics.md §15)"]
    notes.extend(f"{chosen.title}: {a.question}: {a.answer}" if a.modelled else
                 f"not modelled under {chosen.title}: {a.question}: {a.answer}" for a in release.answers)
    why_not = dict(release.not_enforced)
    left_out = [p for p in cluster.tiered if (p.api_version, p.kind) not in release.enforces]
    for key in sorted({(p.api_version, p.kind) for p in left_out}):
        names = name_list(sorted(p.name for p in left_out if (p.api_version, p.kind) == key))
        notes.append(f"left out, not enforced by {chosen.title}: {key[1]} ({key[0]}) {names}: {why_not[key]}")
    diagnostics = [Diagnostic("info", notes[0]),
                   *(Diagnostic("warning", n) for n in notes if n.startswith("left out"))]
    policies = cluster.policies
    if release.rules_isolate:
        policies = tuple(_rules_isolate(p, chosen.title, diagnostics) for p in policies)
    ignored = result.ignored
    dataplane = release.dataplane
    if chosen.profile is CILIUM:  # its own kinds are evaluated: no longer unmodelled
        options = parse_options(cni_options)
        cluster = replace(cluster, cilium_options=options)
        dataplane = replace(dataplane, ip_block_matches_nodes="nodes" in options.policy_cidr_match_mode)
        notes.extend(cilium_assumptions(cluster))
        ignored = tuple(o for o in ignored if (o.kind, o.api_version) not in CILIUM_KINDS)
    cluster = replace(cluster, dataplane=dataplane, policies=policies,
                      tiered=tuple(p for p in cluster.tiered if (p.api_version, p.kind) in release.enforces),
                      assumptions=(*cluster.assumptions, *notes))
    if chosen.profile is CALICO:  # Calico's tiers, whether or not the input holds Calico's own objects
        ignored = _calico_evaluated(result, ignored, diagnostics)
        cluster = replace(cluster, calico=cluster.calico if cluster.calico is not None else result.calico)
    return replace(result, cluster=cluster, diagnostics=(*result.diagnostics, *diagnostics), ignored=ignored)


def _calico_evaluated(result: LoadResult, ignored: tuple[IgnoredObject, ...],
                      diagnostics: list[Diagnostic]) -> tuple[IgnoredObject, ...]:
    """Under the calico profile Calico's projectcalico.org/v3 kinds are evaluated (netpol/policies/calico.py), and
    ServiceAccounts read for their labels (`pcsa.*`): no longer ignored objects. The staged kinds are read and never
    enforced (--staged asks what if): said."""
    staged = sorted(p.key for p in result.calico.policies if p.staged)
    if staged:
        diagnostics.append(Diagnostic("info", f"{len(staged)} staged Calico policies are read and not enforced (pass "
                                              f"--staged to evaluate them as if applied): {name_list(staged)}"))
    return tuple(o for o in ignored if not (o.api_version == CALICO_API and o.kind in CALICO_KINDS)
                 and (o.api_version, o.kind) != ("v1", "ServiceAccount"))


def _rules_isolate(policy: NetworkPolicy, title: str, diagnostics: list[Diagnostic]) -> NetworkPolicy:
    """The policy as a plugin that isolates every direction with rules enforces it: its policyTypes gain the
    directions whose rules they omit (so every surface reads it alike), with a warning naming them."""
    declared = policy.declared_policy_types
    if not declared:  # the API's defaulting already covers every direction with rules
        return policy
    types: dict[Direction, PolicyType] = {"ingress": "Ingress", "egress": "Egress"}
    added = [d for d in DIRECTIONS if policy.rules(d) and types[d] not in declared]
    if not added:
        return policy
    diagnostics.append(Diagnostic("warning", f"policyTypes omits {' and '.join(types[d] for d in added)}, yet "
                                             f"{title} enforces its {' and '.join(added)} rules (cilium#48703)",
                                  policy.location))
    return replace(policy, declared_policy_types=tuple(types[d] for d in DIRECTIONS
                                                       if types[d] in declared or d in added))


def profile_stages(cluster: Cluster) -> Stages:
    """The intermediate form of a cluster's policies as its plugin combines them: under Cilium its own union of
    CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy; under Calico its tiers; else
    NetworkPolicy between the tiers."""
    if cluster.dataplane.profile == CILIUM.name:
        return cilium_stages(cluster)
    if calico_compiles(cluster):
        return calico_stages(cluster)
    return compile_stages(cluster)
