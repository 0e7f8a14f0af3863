"""Every lint rule, table-driven: an input that fires it and a near miss that does not.

Each case lists the exact findings (rule id, object, field path) that lint reports, not "some finding":
a check that fires too often fails its near miss, one that fires too rarely fails its case. NP207 and
NP208 (unprotected pods, no default deny) are left out of the comparison except in their own cases,
since almost every small input has unprotected pods.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netpol import load_manifests
from netpol.analyses.lint import RULES, lint
from netpol.policies import profiles
from netpol.sources.positions import Positions

NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {team: %s}}\n"
POD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s, labels: {app: %s}}\n"
       "spec: {containers: [{name: c, image: x, ports: [%s]}]}\n")


def pod(name: str, ns: str = "default", app: str = "web", ports: str = "", ip: str | None = None) -> str:
    text = POD % (name, ns, app, ports)
    return text + (f"status: {{podIP: {ip}}}\n" if ip else "")


def netpol(name: str, spec: str, ns: str = "default", annotations: str = "") -> str:
    meta = f"{{name: {name}, namespace: {ns}{', annotations: ' + annotations if annotations else ''}}}"
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {meta}\nspec:\n{spec}"


def anp(name: str, priority: int, spec: str, subject: str = "{namespaces: {}}") -> str:
    return ("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
            f"metadata: {{name: {name}}}\nspec:\n  priority: {priority}\n  subject: {subject}\n{spec}")


def pods_in(values: str, namespaces: str = "{}") -> str:
    """A tiered subject: pods whose app label is one of `values`, in the namespaces selected so."""
    return f"{{pods: {{namespaceSelector: {namespaces}, podSelector: {{matchExpressions: [{{key: app, operator: In, values: [{values}]}}]}}}}}}"


DENY_ALL_IN = "  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n"


def banp(spec: str) -> str:
    return ("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
            f"metadata: {{name: default}}\nspec:\n  subject: {{namespaces: {{}}}}\n{spec}")


def cnp(name: str, spec: str) -> str:
    return ("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
            f"metadata: {{name: {name}}}\nspec:\n  tier: Admin\n  priority: 50\n  subject: {{namespaces: {{}}}}\n"
            f"{spec}")


def docs(*parts: str) -> str:
    return "---\n".join(parts)


WEB = pod("web-1") + "---\n" + pod("client", app="client")
DNS = pod("coredns", "kube-system", "x", "{containerPort: 53, protocol: UDP, name: dns}").replace(
    "app: x", "k8s-app: kube-dns")
ING = "  podSelector: {matchLabels: {app: web}}\n  ingress:\n"
NET = "NetworkPolicy default/"

DB_ONLY_FROM_API = netpol("db-in", "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
                          "  - from: [{podSelector: {matchLabels: {app: api}}}]\n")
WEB_TO_DB = netpol("web-out", "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress:\n"
                   "  - to: [{podSelector: {matchLabels: {app: db}}}]\n    ports: [{port: 5432}]\n"
                   "  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{port: 53, protocol: UDP}]\n")

# name -> (manifests, expected {(rule id, object, path)})
CASES: dict[str, tuple[str, set[tuple[str, str, str | None]]]] = {
    # -- NP101 / NP102: rules a policyTypes list ignores
    "NP101 egress rules ignored": (netpol("p", "  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n"),
                                   {("NP101", NET + "p", "spec.egress")}),
    "NP101 near miss: policyTypes lists Egress": (
        netpol("p", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  egress: [{}]\n"), set()),
    "NP101 near miss: policyTypes absent (defaulted from the rules)": (
        netpol("p", "  podSelector: {}\n  egress: [{}]\n"), set()),
    "NP102 ingress rules ignored": (netpol("p", "  podSelector: {}\n  policyTypes: [Egress]\n  ingress: [{}]\n"),
                                    {("NP102", NET + "p", "spec.ingress")}),
    "NP102 near miss: no ingress rules": (netpol("p", "  podSelector: {}\n  policyTypes: [Egress]\n"), set()),
    # -- NP103: OR of a namespaceSelector-only and a podSelector-only peer
    "NP103 OR of peers": (netpol("p", ING + "  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n"
                                 "    - podSelector: {matchLabels: {app: api}}\n"),
                          {("NP103", NET + "p", "spec.ingress[0].from[0]")}),
    "NP103 near miss: one peer with both (AND)": (
        netpol("p", ING + "  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n"
               "      podSelector: {matchLabels: {app: api}}\n"), set()),
    # -- NP104 / NP105: ipBlocks
    "NP104 host bits": (netpol("p", ING + "  - from: [{ipBlock: {cidr: 10.0.1.1/24}}]\n"),
                        {("NP104", NET + "p", "spec.ingress[0].from[0].ipBlock.cidr")}),
    "NP104 near miss: the network address": (netpol("p", ING + "  - from: [{ipBlock: {cidr: 10.0.1.0/24}}]\n"),
                                             set()),
    "NP105 excepts cover the cidr": (
        netpol("p", ING + "  - from: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.0.0.0/25, 10.0.0.128/25]}}]\n"),
        {("NP105", NET + "p", "spec.ingress[0].from[0].ipBlock.except")}),
    "NP105 near miss: half excepted": (
        netpol("p", ING + "  - from: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.0.0.0/25]}}]\n"), set()),
    # -- NP106: namespaceSelector {} with a podSelector
    "NP106 every namespace": (
        netpol("p", ING + "  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: prom}}}]\n"),
        {("NP106", NET + "p", "spec.ingress[0].from[0].namespaceSelector")}),
    "NP106 near miss: own namespace": (netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: prom}}}]\n"),
                                       set()),
    # -- NP107: a rule that undoes the isolation
    "NP107 every pod of every namespace": (netpol("p", ING + "  - from: [{namespaceSelector: {}}]\n"),
                                           {("NP107", NET + "p", "spec.ingress[0]")}),
    "NP107 0.0.0.0/0 on every TCP port": (
        netpol("p", ING + "  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{protocol: TCP}]\n"),
        {("NP107", NET + "p", "spec.ingress[0]")}),
    "NP107 near miss: one port": (netpol("p", ING + "  - from: [{namespaceSelector: {}}]\n    ports: [{port: 80}]\n"),
                                  set()),
    "NP107 near miss: 0.0.0.0/0 with an except": (
        netpol("p", ING + "  - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]\n"), set()),
    # -- NP108 / NP109: policies with the same podSelector
    "NP108 duplicate": (docs(netpol("a", ING + "  - ports: [{port: 80}]\n"), netpol("b", ING + "  - ports: [{port: 80}]\n")),
                        {("NP108", NET + "b", "spec")}),
    "NP108 near miss: another port": (
        docs(netpol("a", ING + "  - ports: [{port: 80}]\n"), netpol("b", ING + "  - ports: [{port: 81}]\n")), set()),
    "NP109 deny-all beside an allow": (
        docs(netpol("deny", "  podSelector: {matchLabels: {app: web}}\n"), netpol("allow", ING + "  - ports: [{port: 80}]\n")),
        {("NP109", NET + "deny", "spec.podSelector")}),
    "NP109 near miss: the deny-all selects every pod": (
        docs(netpol("deny", "  podSelector: {}\n"), netpol("allow", ING + "  - ports: [{port: 80}]\n")), set()),
    # -- NP110 - NP113: tiered policies
    "NP110 shadowed in one policy": (
        anp("a", 10, "  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n"
            "  - {action: Allow, from: [{namespaces: {matchLabels: {team: x}}}]}\n"),
        {("NP110", "AdminNetworkPolicy a", "spec.ingress[1]")}),
    "NP110 shadowed by a lower priority number": (
        docs(anp("a", 10, "  egress:\n  - {action: Pass, to: [{networks: [10.0.0.0/8]}], ports: [{portRange: {protocol: TCP, start: 1, end: 9000}}]}\n"),
             anp("b", 20, "  egress:\n  - {action: Deny, to: [{networks: [10.1.0.0/16]}], ports: [{portNumber: {protocol: TCP, port: 443}}]}\n")),
        {("NP110", "AdminNetworkPolicy b", "spec.egress[0]")}),
    "NP110 shadowed: an In list covers one of its values (missed when selectors were compared as written)": (
        docs(anp("a", 10, DENY_ALL_IN, pods_in("a, b")),
             anp("b", 20, "  ingress:\n  - {action: Allow, from: [{pods: {namespaceSelector: {matchLabels: {team: x}}, "
                 "podSelector: {matchExpressions: [{key: tier, operator: Exists}]}}}]}\n",
                 pods_in("a", "{matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}"))),
        {("NP110", "AdminNetworkPolicy b", "spec.ingress[0]")}),
    "NP110 shadowed: a namespace always has its name label": (
        docs(anp("a", 10, "  egress:\n  - {action: Deny, to: [{namespaces: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: Exists}]}}]}\n"),
             anp("b", 20, "  egress:\n  - {action: Allow, to: [{namespaces: {}}]}\n")),
        {("NP110", "AdminNetworkPolicy b", "spec.egress[0]")}),
    "NP110 near miss: the In list misses a value the later subject allows": (
        docs(anp("a", 10, DENY_ALL_IN, pods_in("a, b")), anp("b", 20, DENY_ALL_IN, pods_in("a, c"))), set()),
    "NP110 near miss: the narrower rule first": (
        anp("a", 10, "  ingress:\n  - {action: Allow, from: [{namespaces: {matchLabels: {team: x}}}]}\n"
            "  - {action: Deny, from: [{namespaces: {}}]}\n"), set()),
    "NP110 near miss: equal priority is not an order": (
        docs(anp("a", 10, "  egress:\n  - {action: Pass, to: [{networks: [10.0.0.0/8]}]}\n"),
             anp("b", 10, "  egress:\n  - {action: Pass, to: [{networks: [10.1.0.0/16]}]}\n")), set()),
    "NP111 same priority, different actions": (
        docs(anp("a", 5, "  ingress:\n  - {action: Allow, from: [{namespaces: {}}]}\n"),
             anp("b", 5, "  ingress:\n  - {action: Deny, from: [{namespaces: {matchLabels: {team: x}}}]}\n")),
        {("NP111", "AdminNetworkPolicy b", "spec.priority")}),
    "NP111 near miss: subjects no pod can match both": (
        docs(anp("a", 5, "  ingress:\n  - {action: Allow, from: [{namespaces: {}}]}\n", "{namespaces: {matchLabels: {team: a}}}"),
             anp("b", 5, "  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n", "{namespaces: {matchLabels: {team: b}}}")),
        set()),
    "NP111 near miss: same action": (
        docs(anp("a", 5, "  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n"),
             anp("b", 5, "  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n")), set()),
    "NP112 domainNames in a Deny": (anp("a", 10, "  egress:\n  - {action: Deny, to: [{domainNames: [example.com]}]}\n"),
                                    {("NP112", "AdminNetworkPolicy a", "spec.egress[0].to[0].domainNames")}),
    "NP112 near miss: in an Allow": (anp("a", 10, "  egress:\n  - {action: Allow, to: [{domainNames: [example.com]}]}\n"),
                                     set()),
    "NP113 versions mixed": (docs(anp("a", 10, "  ingress: []\n"), cnp("c", "  ingress: []\n")),
                             {("NP113", "AdminNetworkPolicy a", "apiVersion")}),
    "NP113 near miss: one version": (docs(anp("a", 10, "  ingress: []\n"), anp("b", 11, "  ingress: []\n")), set()),
    "NP001 unknown id in the annotation": (
        netpol("p", "  podSelector: {}\n", annotations='{"netpol.io/lint-ignore": "NP999"}'),
        {("NP001", NET + "p", "metadata.annotations")}),
    "NP001 near miss: a known id": (
        netpol("p", "  podSelector: {}\n", annotations='{"netpol.io/lint-ignore": "np101, NP102"}'), set()),
    # -- cluster rules (pods in the input)
    "NP201 selects no pod": (docs(WEB, netpol("p", "  podSelector: {matchLabels: {app: wbe}}\n")),
                             {("NP201", NET + "p", "spec.podSelector")}),
    "NP201 near miss: no pods of that namespace in the input": (
        docs(WEB, netpol("p", "  podSelector: {matchLabels: {app: wbe}}\n", ns="other")), set()),
    "NP202 pod peer matches nothing": (
        docs(WEB, netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: clinet}}}]\n")),
        {("NP202", NET + "p", "spec.ingress[0].from[0].podSelector")}),
    "NP202 namespace peer matches nothing": (
        docs(NS % ("default", "a"), WEB, netpol("p", ING + "  - from: [{namespaceSelector: {matchLabels: "
                                                   "{kubernetes.io/metadata.name: default, team: b}}}]\n")),
        {("NP202", NET + "p", "spec.ingress[0].from[0]")}),
    "NP202 namespace peer no namespace could match": (
        docs(NS % ("default", "a"), WEB, netpol("p", ING + "  - from: [{namespaceSelector: {matchLabels: {team: b}, "
                                                   "matchExpressions: [{key: team, operator: DoesNotExist}]}}]\n")),
        {("NP202", NET + "p", "spec.ingress[0].from[0]")}),
    "NP211 namespace peer matches only undeclared namespaces": (
        docs(NS % ("default", "a"), WEB, netpol("p", ING + "  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n")),
        {("NP211", NET + "p", "spec.ingress[0].from[0]")}),
    "NP211 kube-system by name, not declared": (
        docs(NS % ("default", "a"), WEB, netpol("p", ING + "  - from: [{namespaceSelector: {matchLabels: "
                                                   "{kubernetes.io/metadata.name: kube-system}}}]\n")),
        {("NP211", NET + "p", "spec.ingress[0].from[0]")}),
    "NP211 near miss: the namespace is declared and matches": (
        docs(NS % ("default", "a"), NS % ("kube-system", "sys"), WEB,
             netpol("p", ING + "  - from: [{namespaceSelector: {matchLabels: "
                    "{kubernetes.io/metadata.name: kube-system}}}]\n")), set()),
    "NP202 near miss: both match": (
        docs(NS % ("default", "a"), WEB, netpol("p", ING + "  - from: [{namespaceSelector: {matchLabels: {team: a}},"
                                                   " podSelector: {matchLabels: {app: client}}}]\n")), set()),
    "NP203 named port nobody declares": (
        docs(pod("web-1", ports="{containerPort: 80, name: web}"), netpol("p", ING + "  - ports: [{port: http}]\n")),
        {("NP203", NET + "p", "spec.ingress[0].ports[0]")}),
    "NP203 near miss: declared": (
        docs(pod("web-1", ports="{containerPort: 80, name: http}"), netpol("p", ING + "  - ports: [{port: http}]\n")),
        set()),
    "NP204 DNS blocked, DNS pods in the input": (
        docs(WEB, DNS, netpol("deny", "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n")),
        {("NP204", NET + "deny", "spec")}),
    "NP204 near miss: UDP/53 allowed to kube-system": (
        docs(WEB, DNS, netpol("dns", "  podSelector: {matchLabels: {app: client}}\n  egress:\n  - to: [{namespaceSelector: {}}]\n"
                              "    ports: [{port: 53, protocol: UDP}]\n")), set()),
    "NP204 DNS blocked, no DNS pods in the input": (
        docs(WEB, netpol("deny", "  podSelector: {matchLabels: {app: client}}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8}}]\n"
                         "    ports: [{port: 443}]\n")),
        {("NP204", NET + "deny", "spec")}),
    "NP204 near miss: no DNS pods, but a pod peer on port 53": (
        docs(WEB, netpol("dns", "  podSelector: {matchLabels: {app: client}}\n  egress:\n  - to: [{namespaceSelector: {}}]\n"
                         "    ports: [{port: 53, protocol: UDP}]\n")), set()),
    "NP114 rule covered by a broader rule of its policy": (
        netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n"
               "  - from: [{podSelector: {}}]\n    ports: [{port: 80, endPort: 90}]\n"),
        {("NP114", NET + "p", "spec.ingress[0]")}),
    "NP114 with pods: said once, for every pod (not NP205 too)": (
        docs(WEB, netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n"
                         "  - from: [{podSelector: {}}]\n    ports: [{port: 80, endPort: 90}]\n")),
        {("NP114", NET + "p", "spec.ingress[0]")}),
    "NP114 near miss: the broader rule lacks a port": (
        netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 8080}]\n"
               "  - from: [{podSelector: {}}]\n    ports: [{port: 80, endPort: 90}]\n"), set()),
    "NP205 redundant rule": (
        docs(WEB, netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n"
                         "  - from: [{podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [x]}]}}]\n"
                         "    ports: [{port: 80, endPort: 90}]\n")),
        {("NP205", NET + "p", "spec.ingress[0]")}),
    "NP205 near miss: a port the other rule lacks": (
        docs(WEB, netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 8080}]\n"
                         "  - from: [{podSelector: {}}]\n    ports: [{port: 80, endPort: 90}]\n")), set()),
    "NP206 redundant policy": (
        docs(WEB, netpol("all", "  podSelector: {}\n  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]\n"),
             netpol("web", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n")),
        {("NP206", NET + "web", "spec")}),
    "NP206 near miss: allows a source the other does not": (
        docs(WEB, netpol("all", "  podSelector: {}\n  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]\n"),
             netpol("web", ING + "  - from: [{podSelector: {matchLabels: {app: web}}}]\n")), set()),
    "NP209 Baseline denies DNS": (
        docs(WEB, DNS, banp("  egress:\n  - {action: Deny, to: [{namespaces: {}}]}\n")),
        {("NP209", "BaselineAdminNetworkPolicy default", "spec.egress[0]")}),
    "NP209 near miss: a NetworkPolicy decides before Baseline": (
        docs(WEB, DNS, banp("  egress:\n  - {action: Deny, to: [{namespaces: {}}]}\n"),
             netpol("out", "  podSelector: {}\n  egress: [{}]\n")), set()),
    "NP210 ipBlock with pod IPs": (
        docs(pod("web-1", ip="10.1.2.3"), netpol("p", ING + "  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]\n")),
        {("NP210", NET + "p", "spec.ingress[0].from[0]")}),
    "NP210 near miss: outside addresses only": (
        docs(pod("web-1", ip="192.168.1.1"), netpol("p", ING + "  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]\n")), set()),
    # -- NP212: one side allows, the other denies (the input's pods; possible pods without pods)
    "NP212 egress to pods whose ingress accepts none of it": (
        docs(WEB, pod("db-1", app="db"), pod("api-1", app="api"), DB_ONLY_FROM_API, WEB_TO_DB),
        {("NP212", NET + "web-out", "spec.egress[0].to[0]")}),
    "NP212 near miss: the other side accepts one of the ports": (
        docs(WEB, pod("db-1", app="db"), WEB_TO_DB.replace("ports: [{port: 5432}]", "ports: [{port: 5432}, {port: 80}]"),
             DB_ONLY_FROM_API.replace("app: api}}}]", "app: web}}}]\n    ports: [{port: 80}]")), set()),
    "NP212 near miss: one of the peer's pods accepts": (
        docs(WEB, pod("db-1", app="db"), pod("db-2", app="db2"), pod("api-1", app="api"), DB_ONLY_FROM_API,
             WEB_TO_DB.replace("{matchLabels: {app: db}}", "{matchExpressions: [{key: app, operator: In, "
                               "values: [db, db2]}]}")), set()),
    "NP212 ingress from pods whose egress sends none of it": (
        docs(WEB, pod("db-1", app="db"), netpol("db-in", "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
                                                "  - from: [{podSelector: {matchLabels: {app: web}}}]\n"),
             WEB_TO_DB.replace("app: db}}", "app: client}}")),
        {("NP212", NET + "db-in", "spec.ingress[0].from[0]")}),
    "NP212 a Baseline deny on the other side counts": (
        docs(WEB, pod("db-1", app="db"), WEB_TO_DB, banp("  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n")),
        {("NP212", NET + "web-out", "spec.egress[0].to[0]")}),
    "NP212 without pods: for every possible pod": (
        docs(DB_ONLY_FROM_API, WEB_TO_DB), {("NP212", NET + "web-out", "spec.egress[0].to[0]")}),
    "NP212 near miss without pods: an ipBlock may hold a possible pod's IP": (
        docs(DB_ONLY_FROM_API.replace("[{podSelector: {matchLabels: {app: api}}}]",
                                      "[{podSelector: {matchLabels: {app: api}}}, {ipBlock: {cidr: 10.0.0.0/8}}]"),
             WEB_TO_DB), set()),
    "NP212 near miss without pods: a named port may be any number": (
        docs(DB_ONLY_FROM_API, WEB_TO_DB.replace("port: 5432", "port: pg")), set()),
    "NP115 an object of a kind netpol does not evaluate": (
        docs(WEB, "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x, namespace: default}\n"
             "spec: {endpointSelector: {}, ingress: [{}]}\n", "apiVersion: crd.antrea.io/v1beta1\nkind: ClusterNetworkPolicy\n"
             "metadata: {name: y}\nspec: {priority: 1}\n"),
        {("NP115", "CiliumNetworkPolicy default/x", None), ("NP115", "ClusterNetworkPolicy y", None)}),
    "NP115 near miss: other kinds (a ConfigMap, an Ingress) allow or deny nothing": (
        docs(WEB, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n",
             "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x, namespace: default}\n"), set()),
}
QUIET = ("NP207", "NP208")


def cilium(name: str, spec: str, ns: str | None = "default") -> str:
    """A CiliumNetworkPolicy in `ns`, or a CiliumClusterwideNetworkPolicy (ns None)."""
    kind, meta = ("CiliumNetworkPolicy", f"{{name: {name}, namespace: {ns}}}") if ns else \
        ("CiliumClusterwideNetworkPolicy", f"{{name: {name}}}")
    return f"apiVersion: cilium.io/v2\nkind: {kind}\nmetadata: {meta}\nspec:\n{spec}"


NODE = ("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
        "status: {addresses: [{type: InternalIP, address: 10.0.0.10}]}\n")
ADDRESSED = docs(pod("web-1", ip="10.0.1.5"), pod("db-1", app="db", ip="10.0.1.6"), NODE)
WEB_SUBJECT = "  endpointSelector: {matchLabels: {app: web}}\n"
FROM_DB = "fromEndpoints: [{matchLabels: {app: db}}]"
ALLOW_DB_80 = cilium("allow", WEB_SUBJECT + "  ingress:\n  - {" + FROM_DB +
                     ", toPorts: [{ports: [{port: '80', protocol: TCP}]}]}\n")
CNP_NAME = "CiliumNetworkPolicy default/"


def deny_db(spec: str = "", subject: str = "{}", ns: str | None = None) -> str:
    """A deny of ingress from the db pods (with `spec` inside the entry), for the pods `subject` selects."""
    return cilium("deny", f"  endpointSelector: {subject}\n  ingressDeny:\n  - {{{FROM_DB}{spec}}}\n", ns)


# Run under the cilium profile (the only one that evaluates Cilium's kinds): exact findings as in CASES.
CILIUM_CASES: dict[str, tuple[str, set[tuple[str, str, str | None]]]] = {
    "NP213 a toCIDR holding two pods' addresses": (
        docs(ADDRESSED, cilium("out", WEB_SUBJECT + "  egress:\n  - toCIDR: [10.0.1.0/24]\n")),
        {("NP213", CNP_NAME + "out", "spec.egress[0].toCIDR[0]")}),
    "NP213 a fromCIDRSet holding a node's address": (
        docs(ADDRESSED, cilium("in", WEB_SUBJECT + "  ingress:\n  - fromCIDRSet: [{cidr: 10.0.0.0/24}]\n")),
        {("NP213", CNP_NAME + "in", "spec.ingress[0].fromCIDRSet[0]")}),
    "NP213 a CIDR group holding a pod's address": (
        docs(ADDRESSED, "apiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\nmetadata: {name: g}\n"
             "spec: {externalCIDRs: [10.0.1.4/30]}\n",
             cilium("out", WEB_SUBJECT + "  egress:\n  - toCIDRSet: [{cidr: 203.0.113.0/24}, {cidrGroupRef: g}]\n")),
        {("NP213", CNP_NAME + "out", "spec.egress[0].toCIDRSet[1]")}),
    "NP213 near miss: the world, a private range holding no known address, excepts that hold the pods": (
        docs(ADDRESSED, cilium("out", WEB_SUBJECT + "  egress:\n  - toCIDR: [0.0.0.0/0, 192.168.0.0/16]\n"
                               "  - toCIDRSet: [{cidr: 10.0.1.0/24, except: [10.0.1.0/28]}]\n")), set()),
    "NP116 a clusterwide deny of every port shadows an allow of one": (
        docs(ADDRESSED, ALLOW_DB_80, deny_db()), {("NP116", CNP_NAME + "allow", "spec.ingress[0]")}),
    "NP116 a deny of the same pods and a wider port range, in the namespace": (
        docs(ADDRESSED, ALLOW_DB_80, deny_db(", toPorts: [{ports: [{port: '1', endPort: 1024}]}]",
                                             "{matchLabels: {app: web}}", "default")),
        {("NP116", CNP_NAME + "allow", "spec.ingress[0]")}),
    "NP116 near miss: the deny's port, subject, namespace or peers are narrower": (
        docs(ADDRESSED, ALLOW_DB_80, deny_db(", toPorts: [{ports: [{port: '80', protocol: UDP}]}]"),
             deny_db("", "{matchLabels: {app: web, tier: front}}").replace("name: deny", "name: deny2"),
             deny_db("", "{}", "other"),
             cilium("deny3", "  endpointSelector: {}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: db, "
                    "v: '1'}}]\n", None)), set()),
    "NP116 two denies together, each of one port, shadow an allow of both": (
        docs(ADDRESSED, ALLOW_DB_80.replace("{port: '80', protocol: TCP}", "{port: '80', protocol: TCP}, "
                                            "{port: '53', protocol: UDP}"),
             deny_db(", toPorts: [{ports: [{port: '80', protocol: TCP}]}]"),
             deny_db(", toPorts: [{ports: [{port: '53', protocol: UDP}]}]").replace("name: deny", "name: deny2")),
        {("NP116", CNP_NAME + "allow", "spec.ingress[0]")}),
    "NP116 a wider deny selector (In with more values, other terms) shadows the allow": (
        docs(ADDRESSED, ALLOW_DB_80, cilium("wide", "  endpointSelector: {matchExpressions: [{key: app, operator: In, "
                                                    "values: [web, api]}]}\n  ingressDeny:\n  - fromEndpoints: "
                                                    "[{matchExpressions: [{key: app, operator: Exists}]}]\n", None)),
        {("NP116", CNP_NAME + "allow", "spec.ingress[0]")}),
    "NP116 near miss: two denies leave one port of the allow open": (
        docs(ADDRESSED, ALLOW_DB_80.replace("{port: '80', protocol: TCP}",
                                            "{port: '80', endPort: 82, protocol: TCP}"),
             deny_db(", toPorts: [{ports: [{port: '80', protocol: TCP}]}]"),
             deny_db(", toPorts: [{ports: [{port: '82', protocol: TCP}]}]").replace("name: deny", "name: deny2")),
        set()),
    "NP116 near miss: a CNP's subject is in its own namespace, whatever namespace its selector names": (
        docs(ADDRESSED, ALLOW_DB_80.replace("{app: web}", "{app: web, 'k8s:io.kubernetes.pod.namespace': other}"),
             deny_db("", "{matchLabels: {'k8s:io.kubernetes.pod.namespace': other}}")), set()),
}


def calico(name: str, spec: str, ns: str | None = None, kind: str = "GlobalNetworkPolicy") -> str:
    """A Calico policy: a GlobalNetworkPolicy, or a (namespaced) NetworkPolicy where `ns` is given."""
    meta = f"{{name: {name}, namespace: {ns}}}" if ns else f"{{name: {name}}}"
    kind = "NetworkPolicy" if ns else kind
    return f"apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata: {meta}\nspec:\n{spec}"


def tier(name: str, order: int, action: str = "Deny") -> str:
    return (f"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: {name}}}\n"
            f"spec: {{order: {order}, defaultAction: {action}}}\n")


SHOP = docs(pod("web-1", "shop"), pod("db-1", "shop", "db"), pod("api-1", "shop", "api"))
GATE = "GlobalNetworkPolicy gate"
SECURITY = tier("security", 100)
DENY_ALL_GNP = calico("gate", "  tier: security\n  order: 1\n  selector: all()\n  ingress:\n  - action: Deny\n")
PASS_ALL_GNP = calico("gate", "  tier: security\n  order: 1\n  selector: all()\n  ingress:\n  - action: Pass\n")
DB_FROM_API = calico("db", "  selector: app == 'db'\n  ingress:\n  - action: Allow\n"
                           "    source: {selector: app == 'api'}\n", "shop")
PASSING = tier("security", 100, "Pass")
BACKEND_API = pod("api-1", app="api").replace("{app: api}", "{app: api, tier: backend}")
WEB_FROM_BACKEND = netpol("web", ING + "  - from: [{podSelector: {matchLabels: {tier: backend}}}]\n"
                                       "    ports: [{port: 80}]\n"
                                       "  - from: [{podSelector: {matchLabels: {app: client}}}]\n")
CALICO_DNS = pod("coredns", "kube-system", "x", "{containerPort: 53, protocol: UDP, name: dns}").replace(
    "app: x", "k8s-app: kube-dns")

# Run under the calico profile: Calico's own checks (NP117-NP119, NP201 and NP202 of its selectors), exact.
CALICO_CASES: dict[str, tuple[str, set[tuple[str, str, str | None]]]] = {
    "NP117 a rule after an unconditional Deny of the same policy": (
        docs(SHOP, calico("gate", "  selector: all()\n  ingress:\n  - action: Deny\n  - action: Allow\n"
                                  "    protocol: TCP\n    destination: {ports: [80]}\n")),
        {("NP117", GATE, "spec.ingress[1]")}),
    "NP117 an earlier tier that denies everything first": (
        docs(SHOP, SECURITY, DENY_ALL_GNP, DB_FROM_API), {("NP117", "NetworkPolicy shop/db", "spec.ingress[0]")}),
    "NP117 a rule after an unconditional Pass of an earlier policy in its tier": (
        docs(SHOP, calico("gate", "  order: 1\n  selector: all()\n  ingress:\n  - action: Pass\n"), DB_FROM_API),
        {("NP117", "NetworkPolicy shop/db", "spec.ingress[0]"), ("NP118", GATE, "spec.ingress[0]")}),
    "NP117 near miss: the earlier Deny names one port, the earlier tier's policy selects some pods only": (
        docs(SHOP, SECURITY, calico("gate", "  tier: security\n  selector: app == 'web'\n  ingress:\n"
                                            "  - action: Deny\n"),
             calico("db2", "  selector: all()\n  ingress:\n  - action: Deny\n    protocol: TCP\n"
                           "    destination: {ports: [80]}\n  - action: Allow\n", "shop")), set()),
    "NP118 a Pass in a tier after which no tier selects the pods": (
        docs(SHOP, SECURITY, PASS_ALL_GNP), {("NP118", GATE, "spec.ingress[0]")}),
    "NP118 near miss: a policy of the default tier selects the pods after the Pass": (
        docs(SHOP, SECURITY, PASS_ALL_GNP, DB_FROM_API.replace("app == 'db'", "all()")), set()),
    "NP119 types leaves out the egress rules": (
        docs(SHOP, calico("db", "  selector: app == 'db'\n  types: [Ingress]\n  egress:\n  - action: Deny\n",
                          "shop")), {("NP119", "NetworkPolicy shop/db", "spec.types")}),
    "NP119 near miss: types left out is defaulted from the rules, as Calico does": (
        docs(SHOP, calico("db", "  selector: app == 'db'\n  egress:\n  - action: Deny\n", "shop")), set()),
    "NP201 a Calico policy whose selector selects none of the namespace's pods": (
        docs(SHOP, calico("db", "  selector: app == 'dbb'\n", "shop")),
        {("NP201", "NetworkPolicy shop/db", "spec.selector")}),
    "NP202 a Calico rule's source selector that matches no pod, namespace or network set": (
        docs(SHOP, DB_FROM_API.replace("app == 'api'", "app == 'apii'")),
        {("NP202", "NetworkPolicy shop/db", "spec.ingress[0].source")}),
    "NP202 near miss: the selector matches a network set's labels": (
        docs(SHOP, DB_FROM_API.replace("app == 'api'", "role == 'partner'"),
             "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: p, namespace: shop, labels: "
             "{role: partner}}\nspec: {nets: [198.51.100.0/24]}\n"), set()),
    "NP202 a namespaced policy's selector does not match a GlobalNetworkSet": (
        docs(SHOP, DB_FROM_API.replace("app == 'api'", "role == 'partner'"),
             "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: p, labels: {role: partner}}\n"
             "spec: {nets: [198.51.100.0/24]}\n"), {("NP202", "NetworkPolicy shop/db", "spec.ingress[0].source")}),
    "NP110 under Calico: a tiered rule shadowed in its own policy is not also NP117": (
        docs(SHOP, SECURITY, cnp("platform", "  egress:\n  - {action: Deny, to: [{networks: [169.254.0.0/16]}]}\n"
                                             "  - {action: Deny, to: [{networks: [169.254.169.254/32]}]}\n")),
        {("NP110", "ClusterNetworkPolicy platform", "spec.egress[1]")}),
    "NP001 a misspelt id on a Calico policy; its own id suppresses": (
        docs(SHOP, calico("gate", "  selector: all()\n  ingress:\n  - action: Deny\n  - action: Allow\n")
             .replace("metadata: {name: gate}", "metadata: {name: gate, annotations: {netpol.io/lint-ignore: "
                                                "'NP117,NP1l8'}}")),
        {("NP001", GATE, "metadata.annotations")}),
    "NP204 under Calico: a GlobalNetworkPolicy default deny that also denies DNS": (
        docs(SHOP, CALICO_DNS, calico("default-deny", "  selector: projectcalico.org/namespace != 'kube-system'\n"
                                                      "  types: [Ingress, Egress]\n")),
        {("NP204", "GlobalNetworkPolicy default-deny", "spec")}),
    "NP204 near miss under Calico: the default deny lets DNS out first": (
        docs(SHOP, CALICO_DNS, calico("default-deny", "  selector: projectcalico.org/namespace != 'kube-system'\n"
                                                      "  types: [Ingress, Egress]\n  egress:\n  - action: Allow\n"
                                                      "    protocol: UDP\n    destination: {selector: k8s-app == "
                                                      "'kube-dns', namespaceSelector: all(), ports: [53]}\n"
                                                      "  - action: Allow\n    protocol: TCP\n    destination: "
                                                      "{selector: k8s-app == 'kube-dns', namespaceSelector: all(), "
                                                      "ports: [53]}\n")), set()),
    "NP205 under Calico: a NetworkPolicy rule an earlier tier decides for the input's pods": (
        docs(WEB, BACKEND_API, PASSING,
             calico("api-in", "  tier: security\n  selector: app == 'web'\n  ingress:\n  - action: Allow\n"
                              "    source: {selector: app == 'api'}\n"), WEB_FROM_BACKEND),
        {("NP205", NET + "web", "spec.ingress[0]")}),
    "NP205 near miss under Calico: the earlier tier Passes what the rule allows": (
        docs(WEB, BACKEND_API, PASSING,
             calico("api-in", "  tier: security\n  selector: app == 'web'\n  ingress:\n  - action: Pass\n"
                              "    source: {selector: app == 'api'}\n"), WEB_FROM_BACKEND), set()),
    "NP206 under Calico: a NetworkPolicy that an earlier tier and a GlobalNetworkPolicy make redundant": (
        docs(WEB, PASSING, calico("web-in", "  tier: security\n  selector: app == 'web'\n  ingress:\n"
                                            "  - action: Allow\n    protocol: TCP\n    destination: {ports: [80]}\n"),
             calico("web-isolated", "  selector: app == 'web'\n  types: [Ingress]\n"),
             netpol("web", ING + "  - ports: [{port: 80}]\n")),
        {("NP206", NET + "web", "spec"), ("NP117", NET + "web", "spec.ingress[0]")}),
    "NP212 under Calico: the other side denies": (
        docs(WEB, pod("db-1", app="db"), pod("api-1", app="api"), SECURITY, DB_ONLY_FROM_API, WEB_TO_DB),
        {("NP212", NET + "web-out", "spec.egress[0].to[0]")}),
    "NP212 near miss under Calico: a GlobalNetworkPolicy in an earlier tier lets the db pods accept it": (
        docs(WEB, pod("db-1", app="db"), pod("api-1", app="api"), PASSING, DB_ONLY_FROM_API, WEB_TO_DB,
             calico("db-in", "  tier: security\n  selector: app == 'db'\n  ingress:\n  - action: Allow\n"
                             "    source: {selector: app == 'web'}\n")), set()),
}


@pytest.mark.parametrize("name", CALICO_CASES)
def test_calico_rule_fires_exactly(name: str, tmp_path: Path) -> None:
    text, expected = CALICO_CASES[name]
    assert run(tmp_path, text, cni="calico") == expected


@pytest.mark.parametrize("name", CILIUM_CASES)
def test_cilium_rule_fires_exactly(name: str, tmp_path: Path) -> None:
    text, expected = CILIUM_CASES[name]
    assert run(tmp_path, text, cni="cilium") == expected


def run(tmp_path: Path, text: str, disabled: tuple[str, ...] = QUIET, cni: str | None = None
        ) -> set[tuple[str, str, str | None]]:
    """The findings lint reports on `text` (`cni`: read under that profile, as --cni does)."""
    path = tmp_path / "input.yaml"
    path.write_text(text)
    loaded = load_manifests([str(path)])
    if cni is not None:
        loaded = profiles.apply(loaded, cni)
    report = lint(loaded.cluster, disabled=disabled, unmodelled=loaded.unmodelled)
    return {(f.rule.id, f.object, f.path) for f in report.active}


@pytest.mark.parametrize("name", CASES)
def test_rule_fires_exactly(name: str, tmp_path: Path) -> None:
    text, expected = CASES[name]
    assert run(tmp_path, text) == expected


def test_every_rule_has_a_case_that_fires_it_and_a_near_miss() -> None:
    cases = {**CASES, **CILIUM_CASES, **CALICO_CASES}
    fired = {rule for _, expected in cases.values() for rule, _, _ in expected}
    misses = {name.split()[0] for name in cases if "near miss" in name}
    assert fired | set(QUIET) == set(RULES)
    assert misses | set(QUIET) >= set(RULES)


def test_unprotected_pods_and_namespaces_without_a_default_deny(tmp_path: Path) -> None:
    open_ns = docs(WEB)
    assert run(tmp_path, open_ns, ()) == {("NP207", "Pod default/client", None)}
    protected = docs(WEB, netpol("web", ING + "  - {}\n"), netpol("client", "  podSelector: {matchLabels: {app: client}}\n"))
    assert run(tmp_path, protected, ()) == {("NP208", "Pod default/client", None),
                                            ("NP107", NET + "web", "spec.ingress[0]")}
    default_deny = docs(NS % ("default", "a"), WEB, netpol("deny", "  podSelector: {}\n"))
    assert run(tmp_path, default_deny, ()) == set()


def test_suppression_by_annotation_is_counted_not_hidden(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(netpol("p", "  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n",
                           annotations='{"netpol.io/lint-ignore": "NP101"}'))
    report = lint(load_manifests([str(path)]).cluster)
    assert [(f.rule.id, f.suppressed) for f in report.findings] == [("NP101", "annotation")]
    assert report.counts() == {"error": 0, "warning": 0, "info": 0, "suppressed": 1}
    assert not report.fails("info")


def test_suppression_ids_are_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(netpol("p", "  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n",
                           annotations='{"netpol.io/lint-ignore": "np101"}'))
    report = lint(load_manifests([str(path)]).cluster)
    assert [(f.rule.id, f.suppressed) for f in report.findings] == [("NP101", "annotation")]


def test_disable_and_enable(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(netpol("p", "  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n"))
    cluster = load_manifests([str(path)]).cluster
    assert [f.suppressed for f in lint(cluster, disabled=["NP101"]).findings] == ["option"]
    assert [f.suppressed for f in lint(cluster, disabled=["all"], enabled=["np101"]).findings] == [None]


def test_findings_point_at_the_rule_line(tmp_path: Path) -> None:
    text = docs(WEB, netpol("p", ING + "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                            "  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n"
                            "    - podSelector: {matchLabels: {app: api}}\n"))
    path = tmp_path / "input.yaml"
    path.write_text(text)
    loaded = load_manifests([str(path)], keep_texts=True)
    report = lint(loaded.cluster, disabled=QUIET).with_positions(Positions(loaded.texts).find)
    (f,) = [f for f in report.active if f.rule.id == "NP103"]
    line = text.splitlines().index("    - namespaceSelector: {matchLabels: {team: a}}") + 1
    assert (f.line, f.column) == (line, 7)


@pytest.mark.parametrize(("tiered", "expected"), [
    (banp("  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n"), set()),
    (anp("a", 5, "  ingress:\n  - {action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {}}}]}\n"),
     set()),
    # near misses: a deny of one port, of one namespace's pods, or for one namespace's subject leaves pods open
    (banp("  ingress:\n  - {action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}}]}\n"),
     {("NP208", "Pod default/client", None)}),
    (banp("  ingress:\n  - {action: Deny, from: [{namespaces: {matchLabels: {team: a}}}]}\n"),
     {("NP208", "Pod default/client", None)}),
    (anp("a", 5, "  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n",
         subject="{namespaces: {matchLabels: {team: other}}}"), {("NP208", "Pod default/client", None)}),
    (banp("  ingress:\n  - {action: Allow, from: [{namespaces: {}}]}\n"), {("NP208", "Pod default/client", None)}),
])
def test_a_tiered_deny_all_is_a_default_deny(tiered: str, expected: set[tuple[str, str, str | None]],
                                             tmp_path: Path) -> None:
    """NP208 counts every tier: a namespace under an Admin or Baseline deny of all pod traffic is isolated."""
    protected = docs(WEB, netpol("web", ING + "  - {}\n"), netpol("client", "  podSelector: {matchLabels: {app: client}}\n"),
                     tiered)
    assert run(tmp_path, protected, ("NP107", "NP110", "NP201", "NP202", "NP211")) == expected


def test_np212_past_its_work_bound_stops_and_says_so(tmp_path: Path) -> None:
    from netpol.analyses.lint.one_sided import one_sided
    from netpol.engine import Engine

    path = tmp_path / "input.yaml"
    path.write_text(docs(WEB, pod("db-1", app="db"), pod("api-1", app="api"), DB_ONLY_FROM_API, WEB_TO_DB))
    engine = Engine(load_manifests([str(path)]).cluster)
    notes: list[str] = []
    assert [f.path for f in one_sided(engine, notes)] == ["spec.egress[0].to[0]"] and notes == []
    assert list(one_sided(engine, notes, budget=-1)) == []
    assert notes == ["NP212 (other side denies) stopped at default/db-in ingress[0]: the input is too large to check "
                     "every rule in bounded time (its cost grows with policies times pod classes); the policies "
                     "before it were checked"]
