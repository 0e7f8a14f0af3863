"""A seeded generator of realistic clusters, for the benchmark and for scale tests.

Namespaces are labelled team/env; each holds a few workloads (apps) whose
replicas carry app/tier/role labels, a per-workload pod-template-hash, and
container ports (some named). Policies mix what real clusters have: a
default-deny per namespace, podSelector allows on named ports, allows from
other teams' namespaces, combined namespace+pod peers, matchExpressions,
port ranges (endPort), and egress with DNS and an ipBlock with except.

    python benchmarks/generate.py --pods 1000 --policies 500 -o /tmp/c.yaml

`--policy-only` writes a policy repository instead: Namespaces and NetworkPolicies, no pods, one namespace
per five policies (`repository`), as a platform team's repository holds them (docs/performance.md):

    python benchmarks/generate.py --policy-only --policies 2000 [--tiered 100] -o /tmp/repo.yaml
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEAMS = [f"team-{i}" for i in range(40)]
ENVS = ["prod", "staging", "dev"]
TIERS = ["frontend", "backend", "data"]
ROLES = ["web", "api", "worker", "db", "cache", "gateway"]
APPS = [f"{role}-{i}" for role in ROLES for i in range(30)]
PORTS = {"web": (8080, "http"), "api": (8443, "https"), "worker": (9090, "metrics"), "db": (5432, "postgres"),
         "cache": (6379, "redis"), "gateway": (443, "tls")}

Obj = dict[str, Any]


@dataclass(frozen=True)
class Size:
    pods: int
    policies: int
    namespaces: int

    @property
    def name(self) -> str:
        return f"{self.pods // 1000}k-pods" if self.pods >= 1000 else f"{self.pods}-pods"


SIZES = (
    Size(1_000, 500, 67),
    Size(10_000, 5_000, 667),
    Size(50_000, 25_000, 3_334),
    Size(150_000, 75_000, 10_000),
)


def generate(size: Size, seed: int = 1) -> list[Obj]:
    """Namespaces, then pods, then policies; the same size and seed give the same objects."""
    rng = random.Random(seed)
    namespaces = [f"ns-{i:05d}" for i in range(size.namespaces)]
    objects: list[Obj] = [_namespace("kube-system", "platform", "prod")]
    objects += [_namespace(ns, rng.choice(TEAMS), rng.choice(ENVS)) for ns in namespaces]
    objects += _dns_pods()
    apps: dict[str, list[str]] = {}
    per_ns = _spread(size.pods - 2, size.namespaces, rng)
    ip = 1
    for ns, count in zip(namespaces, per_ns, strict=True):
        apps[ns] = []
        for app, replicas in _workloads(count, rng):
            apps[ns].append(app)
            template_hash = _template_hash(rng.getrandbits(40))
            for r in range(replicas):
                objects.append(_pod(ns, app, f"{app}-{template_hash[:5]}-{r}", template_hash, ip))
                ip += 1
    per_ns_policies = _spread(size.policies, size.namespaces, rng)
    for ns, count in zip(namespaces, per_ns_policies, strict=True):
        objects += _policies(ns, apps[ns] or ["web-0"], count, rng)
    return objects


SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of Kubernetes' pod-template-hash (rand.SafeEncodeString)


def _template_hash(bits: int) -> str:
    """Ten letters of Kubernetes' own alphabet: hex such as `2563243e53` is a float to Go's YAML reader, which
    then refuses the label (np-guard did), while no vowel and no `e` can make a number."""
    letters = []
    for _ in range(10):
        bits, digit = divmod(bits, len(SAFE))
        letters.append(SAFE[digit])
    return "".join(letters)


def _spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """total split over buckets, uneven but with every bucket near the mean."""
    base, extra = divmod(total, buckets)
    counts = [base + (1 if i < extra else 0) for i in range(buckets)]
    for _ in range(buckets // 2):
        a, b = rng.randrange(buckets), rng.randrange(buckets)
        move = min(counts[a] // 3, counts[a])
        counts[a] -= move
        counts[b] += move
    return counts


def _workloads(pods: int, rng: random.Random) -> Iterator[tuple[str, int]]:
    used: set[str] = set()
    while pods > 0:
        app = rng.choice(APPS)
        if app in used:
            continue
        used.add(app)
        replicas = min(pods, rng.choice([1, 1, 2, 3, 3, 5, 8]))
        pods -= replicas
        yield app, replicas


def _namespace(name: str, team: str, env: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team, "env": env}}}


def _dns_pods() -> list[Obj]:
    return [{
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"coredns-{i}", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"containers": [{"name": "coredns", "image": "coredns", "ports": [
            {"containerPort": 53, "protocol": "UDP", "name": "dns"},
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}]}]},
        "status": {"podIP": f"10.96.0.{10 + i}"},
    } for i in range(2)]


def _pod(ns: str, app: str, name: str, template_hash: str, ip: int) -> Obj:
    role = app.split("-")[0]
    number, port_name = PORTS[role]
    tier = "frontend" if role in ("web", "gateway") else "data" if role in ("db", "cache") else "backend"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"app": app, "tier": tier, "role": role, "pod-template-hash": template_hash}},
        "spec": {"containers": [{"name": role, "image": f"registry.example/{role}:1", "ports": [
            {"containerPort": number, "name": port_name}, {"containerPort": 9100}]}]},
        "status": {"podIP": f"10.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}"},
    }


def _policies(ns: str, apps: list[str], count: int, rng: random.Random) -> list[Obj]:
    makers = [_default_deny, _allow_from_app, _allow_from_team, _allow_combined, _allow_tiers, _egress]
    out = []
    for i in range(count):
        maker = makers[i] if i < len(makers) else rng.choice(makers[1:])
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"{maker.__name__.strip('_').replace('_', '-')}-{i}", "namespace": ns},
                    "spec": maker(apps, rng)})
    return out


def _app_port(app: str) -> Obj:
    return {"port": PORTS[app.split("-")[0]][1]}


def _default_deny(apps: list[str], rng: random.Random) -> Obj:
    return {"podSelector": {}, "policyTypes": ["Ingress"]}


def _allow_from_app(apps: list[str], rng: random.Random) -> Obj:
    target, source = rng.choice(apps), rng.choice(apps)
    return {"podSelector": {"matchLabels": {"app": target}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": source}}}], "ports": [_app_port(target)]}]}


def _allow_from_team(apps: list[str], rng: random.Random) -> Obj:
    target = rng.choice(apps)
    return {"podSelector": {"matchLabels": {"app": target}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}}}],
                         "ports": [_app_port(target), {"port": 9100, "protocol": "TCP"}]}]}


def _allow_combined(apps: list[str], rng: random.Random) -> Obj:
    return {"podSelector": {"matchLabels": {"tier": rng.choice(TIERS)}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": rng.choice(ENVS)}},
                                   "podSelector": {"matchLabels": {"role": rng.choice(ROLES)}}}],
                         "ports": [{"port": 8000, "endPort": 8100}]}]}


def _allow_tiers(apps: list[str], rng: random.Random) -> Obj:
    return {"podSelector": {"matchExpressions": [{"key": "role", "operator": "In",
                                                  "values": rng.sample(ROLES, 2)}]},
            "ingress": [{"from": [{"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["data"]},
                {"key": "app", "operator": "Exists"}]}}]}]}


def _egress(apps: list[str], rng: random.Random) -> Obj:
    return {"podSelector": {"matchLabels": {"app": rng.choice(apps)}}, "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"port": 53, "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"}]},
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.96.0.0/12"]}}],
                 "ports": [{"port": 443}]},
                {"to": [{"podSelector": {}}]},
            ]}


def tiered_policies(count: int, seed: int = 1) -> list[Obj]:
    """About `count` cluster-scoped policies of both API versions, as a platform team writes them: Admin
    Denies between teams, Passes that delegate to the namespaces, an Allow for DNS and monitoring, an
    egress Deny of the internet with carve-outs, and a Baseline that denies across teams."""
    if count <= 0:
        return []
    rng = random.Random(seed)
    out: list[Obj] = []

    def team(name: str) -> Obj:
        return {"namespaces": {"matchLabels": {"team": name}}}

    def policy(v2: bool, name: str, priority: int, subject: Obj, tier: str = "Admin", **rules: Any) -> Obj:
        spec: Obj = {"priority": priority, "subject": subject, **rules}
        if v2:
            spec["tier"] = tier
            for direction in ("ingress", "egress"):
                for r in spec.get(direction, []):
                    r["action"] = "Accept" if r["action"] == "Allow" else r["action"]
                    if "ports" in r:
                        r["protocols"] = [{p["portNumber"]["protocol"].lower(): {"destinationPort": {
                            "number": p["portNumber"]["port"]}}} for p in r.pop("ports")]
        return {"apiVersion": f"policy.networking.k8s.io/{'v1alpha2' if v2 else 'v1alpha1'}",
                "kind": "ClusterNetworkPolicy" if v2 else "AdminNetworkPolicy", "metadata": {"name": name},
                "spec": spec}

    dns = {"action": "Allow", "to": [{"pods": {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}}],
           "ports": [{"portNumber": {"protocol": "UDP", "port": 53}}]}
    out.append(policy(False, "allow-dns", 0, {"namespaces": {}}, egress=[dns]))
    for i in range(max(0, count - 3)):
        v2 = i % 2 == 1
        a, b = rng.sample(TEAMS, 2)
        action = rng.choice(["Deny", "Deny", "Pass", "Allow"])
        rule: Obj = {"name": f"{action.lower()}-{b}", "action": action, "from": [team(b)]}
        if rng.random() < 0.5:
            rule["ports"] = [{"portNumber": {"protocol": "TCP", "port": rng.choice([5432, 6379, 8080, 443])}}]
        out.append(policy(v2, f"{a}-from-{b}-{i}", 10 + i, team(a), ingress=[rule]))
    out.append(policy(True, "internet-egress", 900, {"namespaces": {"matchLabels": {"env": "prod"}}}, egress=[
        {"action": "Allow", "to": [{"networks": ["10.0.0.0/8"]}]},
        {"action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}]))
    out.append(policy(True, "baseline-teams", 0, {"namespaces": {}}, tier="Baseline", ingress=[
        {"action": "Deny", "from": [{"namespaces": {"matchLabels": {"env": "dev"}}}]}]))
    return out


def changed(objects: list[Obj], fraction: float, seed: int = 7) -> list[Obj]:
    """A later version of the same cluster: `fraction` of the NetworkPolicies, chosen at random, have each
    numbered port (and range) moved up by one (a policy without one gets TCP/9999 on its first rule, which
    allows no port or only named ones); every other object is the same."""
    import copy

    rng = random.Random(seed)
    policies = [i for i, o in enumerate(objects) if o["kind"] == "NetworkPolicy"]
    out = list(objects)
    for i in rng.sample(policies, max(1, int(len(policies) * fraction)) if fraction else 0):
        policy = out[i] = copy.deepcopy(objects[i])
        rules = [*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])]
        moved = False
        for rule in rules:
            for port in rule.get("ports", []):
                if isinstance(port.get("port"), int):
                    port["port"] += 1
                    moved = True
                    if "endPort" in port:
                        port["endPort"] = max(port["endPort"], port["port"])
        if not moved and rules:
            rules[0].setdefault("ports", []).append({"port": 9999, "protocol": "TCP"})
    return out


COMPLIANCE = ["pci", "hipaa", "sox"]
VERSIONS = ["v1", "v2", "v3"]
TRACKS = ["stable", "canary"]
REPOSITORIES = (500, 2_000, 5_000)  # NetworkPolicies of the policy-only variants (docs/performance.md)


def repository(policies: int, seed: int = 1) -> list[Obj]:
    """A policy repository without pods: one namespace per five NetworkPolicies, labelled team, env and
    (most) compliance, each with a default deny that allows DNS egress, a same-namespace allow on `app`, a
    cross-namespace allow (by kubernetes.io/metadata.name, team, or env with a pod selector), a policy of
    matchExpressions (In, NotIn, Exists, DoesNotExist on team, env, compliance, tier, role, version,
    track), and an egress policy (ipBlock with except, a team's namespaces, an endPort range). Ports are
    named and numbered. The same size and seed give the same objects."""
    rng = random.Random(seed)
    count = max(1, policies // 5)
    names = [f"ns-{i:05d}" for i in range(count)]
    objects: list[Obj] = [_namespace("kube-system", "platform", "prod")]
    apps: dict[str, list[str]] = {}
    for ns in names:
        ns_obj = _namespace(ns, rng.choice(TEAMS), rng.choice(ENVS))
        if rng.random() < 0.7:
            ns_obj["metadata"]["labels"]["compliance"] = rng.choice(COMPLIANCE)
        objects.append(ns_obj)
        apps[ns] = rng.sample(APPS, 4)
    makers = [_repo_default_deny, _repo_same_app, _repo_cross, _repo_expressions, _repo_egress]
    for i in range(policies):
        ns = names[min(i // 5, count - 1)]
        maker = makers[i % len(makers)]
        objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": f"{maker.__name__.removeprefix('_repo_').replace('_', '-')}-{i}",
                                     "namespace": ns},
                        "spec": maker(ns, apps, names, rng)})
    return objects


def _named_port(app: str) -> Obj:
    return {"port": PORTS[app.split("-")[0]][1], "protocol": "TCP"}


def _numbered_port(app: str) -> Obj:
    return {"port": PORTS[app.split("-")[0]][0], "protocol": "TCP"}


def _repo_default_deny(ns: str, apps: dict[str, list[str]], names: list[str], rng: random.Random) -> Obj:
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}


def _repo_same_app(ns: str, apps: dict[str, list[str]], names: list[str], rng: random.Random) -> Obj:
    target, source = rng.sample(apps[ns], 2)
    return {"podSelector": {"matchLabels": {"app": target}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": source}}}],
                         "ports": [_named_port(target)]}]}


def _repo_cross(ns: str, apps: dict[str, list[str]], names: list[str], rng: random.Random) -> Obj:
    target = rng.choice(apps[ns])
    how = rng.randrange(3)
    if how == 0:  # one namespace by name, its pods of one app
        other = rng.choice(names)
        peer: Obj = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": other}},
                     "podSelector": {"matchLabels": {"app": rng.choice(apps[other])}}}
    elif how == 1:  # a team's namespaces
        peer = {"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}}}
    else:  # an environment's namespaces, pods of one role
        peer = {"namespaceSelector": {"matchLabels": {"env": rng.choice(ENVS)}},
                "podSelector": {"matchLabels": {"role": rng.choice(ROLES)}}}
    ports = [_numbered_port(target)] if rng.random() < 0.5 else [_named_port(target), {"port": 9100}]
    return {"podSelector": {"matchLabels": {"app": target}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": ports}]}


def _repo_expressions(ns: str, apps: dict[str, list[str]], names: list[str], rng: random.Random) -> Obj:
    subject = [{"key": "tier", "operator": "In", "values": rng.sample(TIERS, 2)},
               rng.choice([{"key": "version", "operator": "Exists"},
                           {"key": "track", "operator": "DoesNotExist"},
                           {"key": "version", "operator": "NotIn", "values": [rng.choice(VERSIONS)]}])]
    namespaces = [rng.choice([{"key": "compliance", "operator": "In", "values": rng.sample(COMPLIANCE, 2)},
                              {"key": "compliance", "operator": "Exists"},
                              {"key": "team", "operator": "In", "values": rng.sample(TEAMS, 3)}]),
                  {"key": "env", "operator": "NotIn", "values": ["dev"]}]
    pods = [{"key": "role", "operator": "In", "values": rng.sample(ROLES, 2)},
            rng.choice([{"key": "track", "operator": "NotIn", "values": ["canary"]},
                        {"key": "version", "operator": "DoesNotExist"}])]
    return {"podSelector": {"matchExpressions": subject}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": namespaces},
                                   "podSelector": {"matchExpressions": pods}}],
                         "ports": [{"port": 8000, "endPort": 8000 + 10 * rng.randrange(1, 10)},
                                   {"port": "metrics", "protocol": "TCP"}]}]}


def _repo_egress(ns: str, apps: dict[str, list[str]], names: list[str], rng: random.Random) -> Obj:
    target = rng.choice(apps[ns])
    a, b = rng.randrange(1, 250), rng.randrange(1, 250)
    return {"podSelector": {"matchLabels": {"app": target}}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": [f"10.{a}.0.0/16", f"10.{b}.{a}.0/24"]}}],
         "ports": [{"port": 443, "protocol": "TCP"}]},
        {"to": [{"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}},
                 "podSelector": {"matchLabels": {"tier": "data"}}}],
         "ports": [{"port": "postgres", "protocol": "TCP"}, {"port": 6379, "endPort": 6389, "protocol": "TCP"}]},
        {"to": [{"podSelector": {"matchLabels": {"app": rng.choice(apps[ns])}}}]},
    ]}


def write(objects: list[Obj], path: Path) -> None:
    """A v1 List as JSON, or multi-document YAML through libyaml, by the file's extension."""
    with path.open("w") as fh:
        if path.suffix == ".json":
            json.dump({"apiVersion": "v1", "kind": "List", "items": objects}, fh, separators=(",", ":"))
        else:
            yaml.dump_all(objects, fh, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=0)
    parser.add_argument("--policies", type=int, required=True)
    parser.add_argument("--namespaces", type=int, help="default: one per 15 pods")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tiered", type=int, default=0, help="add about this many Admin and Baseline policies")
    parser.add_argument("--changed", type=float, default=0.0,
                        help="a later version: move the ports of this fraction of the NetworkPolicies (0.01: 1%%)")
    parser.add_argument("--policy-only", action="store_true",
                        help="a policy repository without pods: one namespace per five NetworkPolicies")
    parser.add_argument("-o", "--output", type=Path, required=True, help="a .yaml or .json file")
    args = parser.parse_args()
    if args.policy_only:
        objects = repository(args.policies, args.seed) + tiered_policies(args.tiered, args.seed)
    elif not args.pods:
        parser.error("--pods is required (or --policy-only)")
    else:
        size = Size(args.pods, args.policies, args.namespaces or max(1, args.pods // 15))
        objects = generate(size, args.seed) + tiered_policies(args.tiered, args.seed)
    if args.changed:
        objects = changed(objects, args.changed, args.seed)
    write(objects, args.output)
    print(f"wrote {len(objects)} objects to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
