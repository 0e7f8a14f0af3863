"""Every lint rule: a stable id, a severity, and what to tell the user about it.

Ids never change meaning: NP0xx are about netpol's own annotations, NP1xx need
only the policies (they run on a pull request that holds no pods), NP2xx use
the pods in the input through the engine (NP212 also the possible pods, when
the input has none). docs/lint.md has one section per id,
and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LintSeverity = Literal["error", "warning", "info"]
SEVERITIES: tuple[LintSeverity, ...] = ("error", "warning", "info")  # most severe first
Scope = Literal["policy", "cluster"]
DOCS_URL = "https://github.com/netpol/netpol/blob/main/docs/lint.md"


@dataclass(frozen=True)
class LintRule:
    id: str
    name: str  # kebab-case, also the docs anchor
    severity: LintSeverity
    scope: Scope
    summary: str  # one line: what the rule catches
    why: str  # why it matters and how to fix it

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.id.lower()}-{self.name}"


def _rules(*rules: LintRule) -> dict[str, LintRule]:
    return {r.id: r for r in rules}


RULES: dict[str, LintRule] = _rules(
    LintRule("NP001", "unknown-lint-ignore", "warning", "policy",
             "A netpol.io/lint-ignore annotation names a rule id that does not exist.",
             "A misspelt id suppresses nothing. Use the ids listed in docs/lint.md, comma-separated, or 'all'."),
    LintRule("NP101", "egress-rules-ignored", "error", "policy",
             "policyTypes lists Ingress only, but the policy has egress rules: they are ignored.",
             "The API server keeps the egress rules but no plugin applies them, so the policy allows less than "
             "it reads. Add Egress to policyTypes, or delete the egress rules."),
    LintRule("NP102", "ingress-rules-ignored", "error", "policy",
             "policyTypes lists Egress only, but the policy has ingress rules: they are ignored.",
             "The ingress rules are dead text, and the selected pods stay open for ingress unless another policy "
             "isolates them. Add Ingress to policyTypes, or delete the ingress rules."),
    LintRule("NP103", "peers-or-not-and", "warning", "policy",
             "A rule has a namespaceSelector-only peer next to a podSelector-only peer: they are ORed.",
             "Two list items are two peers, and a rule allows either. The namespaceSelector-only item allows every "
             "pod of those namespaces, which is rarely what was meant. To require both conditions, write them in "
             "one item (remove the '-' before podSelector)."),
    LintRule("NP104", "cidr-host-bits", "warning", "policy",
             "An ipBlock CIDR has host bits set, e.g. 10.0.1.1/24.",
             "The prefix wins: 10.0.1.1/24 means all of 10.0.1.0/24, not one address. Write the network address, "
             "or /32 (/128) for a single address."),
    LintRule("NP105", "except-covers-cidr", "error", "policy",
             "The excepts of an ipBlock together cover its whole CIDR: the peer matches no address.",
             "The peer allows nothing. (An except equal to the CIDR is refused by the API server, and by netpol "
             "as an input error.) Remove the peer, or narrow the excepts."),
    LintRule("NP106", "every-namespace", "warning", "policy",
             "A peer has `namespaceSelector: {}` with a podSelector: it matches those pods in every namespace.",
             "An empty namespaceSelector selects all namespaces, not the policy's own. To mean the policy's own "
             "namespace, leave namespaceSelector out; to mean some namespaces, give it labels."),
    LintRule("NP107", "rule-undoes-isolation", "warning", "policy",
             "An ingress rule allows every port from every pod of every namespace, or from 0.0.0.0/0 or ::/0.",
             "Isolating the pods and then allowing everything leaves them open: the policy's isolation does "
             "nothing for that traffic. Narrow the peers or the ports, or delete the policy if openness is meant."),
    LintRule("NP108", "duplicate-policy", "warning", "policy",
             "Two policies in one namespace have the same podSelector, policy types and rules.",
             "One of them is a copy: a change to one will not take effect while the other stays. Delete one."),
    LintRule("NP109", "deny-all-beside-allow", "warning", "policy",
             "A deny-all policy selects the same pods as a policy that allows some traffic in that direction.",
             "NetworkPolicies only add allows: the other policy's rules still apply, so the deny-all denies "
             "nothing it does not. If the intent is a default deny with exceptions, this is expected; if the "
             "intent was to block that traffic, remove the allowing rule."),
    LintRule("NP110", "tier-rule-shadowed", "warning", "policy",
             "An Admin or Baseline rule is never reached: earlier rules of its tier decide all it would.",
             "Tiered policies are first-match: the earlier rules take every pod, peer and port this rule names, "
             "so it never decides anything. Reorder the rules, change the priority, or delete it."),
    LintRule("NP111", "same-priority-overlap", "warning", "policy",
             "Two Admin policies with the same priority have rules with different actions that match the same "
             "connection.",
             "The API leaves the order of equal priorities undefined, so which action wins depends on the network "
             "plugin (and may change). Give the policies different priorities."),
    LintRule("NP112", "domain-names-deny", "error", "policy",
             "A Deny or Pass rule has a domainNames peer.",
             "domainNames is meant for Allow/Accept rules only (API doc comment), and plugins do not enforce it "
             "elsewhere: the rule denies nothing. Deny by networks, or accept the names and deny the rest below."),
    LintRule("NP113", "mixed-tier-versions", "warning", "policy",
             "v1alpha1 (AdminNetworkPolicy, BaselineAdminNetworkPolicy) and v1alpha2 (ClusterNetworkPolicy) "
             "objects are both present.",
             "A cluster serves one version of the network-policy-api CRDs; the other version's objects will not "
             "apply. netpol evaluates both, which a real cluster will not. Convert to one version."),
    LintRule("NP114", "rule-covered", "warning", "policy",
             "A rule allows nothing that another rule of the same policy does not: its peers and ports lie within "
             "the other's.",
             "This holds for every pod and namespace that could exist, so removing the rule changes no verdict "
             "anywhere. It is usually a leftover, or a narrower rule written before a broader one. Delete it, or "
             "narrow the broader rule if it allows more than meant."),
    LintRule("NP115", "not-evaluated", "warning", "policy",
             "The input holds an object of a kind that allows or denies traffic and that netpol does not evaluate "
             "(a Cilium, Calico, Antrea or Istio policy, ...); lint ran without it (--ignore-unmodelled).",
             "Its rules may allow or deny connections that the other findings, and every netpol verdict, do not "
             "see: a clean lint says nothing about it. Review it with its own tool, remove it from the input, or "
             "accept it knowingly with --disable NP115."),
    LintRule("NP116", "cilium-allow-denied", "warning", "policy",
             "A Cilium allow entry is shadowed by deny entries: for every pod that could exist that it selects, "
             "every peer and port it allows is denied by them, one or several together.",
             "Under Cilium a matching deny wins over every allow, in any policy, so the allow decides nothing, "
             "for every pod that could exist. Remove the allow, or narrow the deny."),
    LintRule("NP117", "calico-rule-never-reached", "warning", "policy",
             "A Calico rule is never reached: for every pod that could exist, whatever it matches is decided first "
             "by earlier rules of its tier or by an earlier tier.",
             "Calico walks tiers in order and a tier's policies and rules in order, first match: an Allow, Deny or "
             "Pass before this rule (or an earlier tier that decides) takes every packet it names, so it decides "
             "nothing. Reorder the rules or the policies' order, narrow the earlier rule, or delete this one."),
    LintRule("NP118", "calico-pass-to-profile", "warning", "policy",
             "A Calico Pass rule hands everything it matches past the last tier: no later tier decides it, so the "
             "namespace profile allows it.",
             "A Pass skips the rest of its tier; where no later tier selects the pods (or every later one passes "
             "too), Calico's profile allows the traffic, so this Pass is an Allow. Write Allow if that is meant, "
             "or add the policy of the later tier that should decide."),
    LintRule("NP119", "calico-types-unused", "error", "policy",
             "A Calico policy's `types` leaves out a direction it has rules for: those rules are ignored.",
             "Calico obeys explicit `types`: the rules of an unlisted direction never apply, so the policy allows "
             "or denies less than it reads. Add the direction to `types`, or delete the rules."),
    LintRule("NP201", "selects-no-pod", "warning", "cluster",
             "A policy selects none of the pods in the input.",
             "Usually a label typo or a podSelector written for another namespace: the policy protects nothing. "
             "Fix the selector, or delete the policy if its pods are gone."),
    LintRule("NP202", "peer-matches-nothing", "warning", "cluster",
             "A peer's selectors match no pod in the input, or no namespace that could exist.",
             "The rule allows nothing through this peer, usually because of a label typo. Fix the selector."),
    LintRule("NP203", "named-port-undeclared", "warning", "cluster",
             "A named port is declared by none of the destination pods, for that protocol.",
             "Named ports resolve on the destination pod; where none declares the name, the port matches "
             "nothing. Fix the name or the protocol, or use the number."),
    LintRule("NP204", "dns-blocked", "warning", "cluster",
             "Pods isolated for egress cannot reach DNS (UDP or TCP 53).",
             "Almost every workload resolves names; without DNS it fails in ways that look like other outages. "
             "Allow egress to the kube-dns pods (namespace kube-system, k8s-app=kube-dns) on UDP and TCP 53."),
    LintRule("NP205", "redundant-rule", "warning", "cluster",
             "A rule allows nothing that other rules do not already allow, for the pods in the input.",
             "Removing it changes no verdict here. It may be a leftover, or written for pods that are not in the "
             "input. Delete it, or keep it knowingly."),
    LintRule("NP206", "redundant-policy", "warning", "cluster",
             "A policy changes no verdict: other policies isolate its pods and allow all it allows.",
             "Removing it changes nothing for the pods in the input. Delete it, or keep it knowingly."),
    LintRule("NP207", "unprotected-pods", "info", "cluster",
             "Pods that no policy isolates for ingress.",
             "Every pod in the cluster may connect to them on every port. Add a default-deny ingress policy to "
             "their namespace and allow what they need."),
    LintRule("NP208", "no-default-deny", "info", "cluster",
             "A namespace has no default-deny ingress policy (podSelector: {}, or an Admin or Baseline deny "
             "of all pods).",
             "Without one, a new workload starts open to every pod. Add a policy with `podSelector: {}` and "
             "`policyTypes: [Ingress]`."),
    LintRule("NP209", "baseline-cuts-dns-or-apiserver", "warning", "cluster",
             "A Baseline deny rule cuts pods off from DNS or the API server.",
             "Baseline decides only for pods that no NetworkPolicy selects, which are often system pods; denying "
             "DNS or the API server there breaks them. Accept those first, or narrow the deny."),
    LintRule("NP210", "ipblock-contains-pods", "warning", "cluster",
             "An ipBlock contains pod IPs: whether it matches those pods depends on the network plugin.",
             "The API says ipBlock is meant for traffic outside the cluster; plugins differ on pod IPs. netpol "
             "assumes the block matches them (docs/semantics.md). Select the pods by labels instead."),
    LintRule("NP211", "peer-namespace-unknown", "info", "cluster",
             "A peer's namespaceSelector matches none of the input's namespaces, only namespaces it does not "
             "declare.",
             "Those namespaces (kube-system for DNS, a monitoring namespace) may exist with labels the input does "
             "not show, so netpol cannot tell whether the peer matches. Declare the Namespace in the input to have "
             "it judged, or check the selector against the cluster."),
    LintRule("NP212", "other-side-denies", "warning", "cluster",
             "A rule's peer lets traffic through one side that the other side denies: egress to pods whose ingress "
             "accepts none of it, or ingress from pods whose egress sends none of it.",
             "A connection needs the source's egress and the destination's ingress to allow it. The rule allows "
             "its half, but nothing passes: usually the other side's policy forgot these pods. Allow the "
             "connection on the other side too, or remove the peer."),
    LintRule("NP213", "cilium-cidr-in-cluster", "warning", "cluster",
             "A Cilium CIDR rule (toCIDR, fromCIDR, toCIDRSet, fromCIDRSet) holds pod or node addresses of the "
             "input, inside a private range: under Cilium it matches no pod or node.",
             "With the agent's default policy-cidr-match-mode (empty) a CIDR matches addresses outside the cluster "
             "only, so the rule does not allow or deny those pods and nodes. Select the pods by labels "
             "(toEndpoints, fromEndpoints) or the nodes by entities (host, remote-node)."),
)
