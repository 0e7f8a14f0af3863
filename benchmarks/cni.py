"""The generator's clusters (benchmarks/generate.py) as Calico and Cilium clusters run them, measured under --cni
calico and --cni cilium, beside the same cluster's NetworkPolicies alone (no --cni: netpol's generic answer).

The Calico variant keeps every pod, namespace and Kubernetes NetworkPolicy of the generated cluster (they sit in
Calico's default tier at order 1000) and adds what Calico recipes hold: a `security` tier (default action Pass)
whose GlobalNetworkPolicy denies GlobalNetworkSets of blocked addresses both ways and whose PCI policy decides
the `env == 'prod'` namespaces of one team; a `platform` tier that allows DNS and scraping, then Passes; a
GlobalNetworkPolicy default deny for every namespace but kube-system; GlobalNetworkSets of partner addresses; and
one Calico NetworkPolicy per ten namespaces (selectors with `in`, `has`, `starts with`, named ports, egress to the
partners).

The Cilium variant (issue 25's shapes) keeps the pods and namespaces and writes every NetworkPolicy as a
CiliumNetworkPolicy (its podSelector the endpointSelector, namespaceSelector as namespace labels, ipBlock as
toCIDRSet, ports with their protocol, a default deny as `ingress: [{}]`), one in twenty of them as a
CiliumClusterwideNetworkPolicy pinned to its namespace, and adds deny rules: per twenty namespaces a CNP that
denies the data tier the metrics port without isolating (`enableDefaultDeny`), and a CCNP that denies a
blocked range to every pod.

It measures, in a child process: load, the profile and the compile (one Analyzer), median and maximum
`can-reach` point queries between random pods, and the class-level reachability of one probe (what `matrix`
and `list` compute); peak RSS.

    python benchmarks/cni.py --pods 150000            # measures every variant, prints JSON
    python benchmarks/cni.py --pods 150000 --write    # and writes its section of docs/performance.md
    python benchmarks/cni.py --pods 10000 --variant cilium
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import SIZES, TEAMS, Size, generate, write  # noqa: E402
from benchmarks.run import PROBE, QUERIES, compile_and_query  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- benchmarks/cni.py -->", "<!-- end of benchmarks/cni.py -->"
V3 = "projectcalico.org/v3"
Obj = dict[str, Any]


def calico(size: Size, seed: int = 1) -> list[Obj]:
    """The generated cluster with Calico's tiers, GlobalNetworkPolicies, network sets and NetworkPolicies."""
    rng = random.Random(seed)
    objects = generate(size, seed)
    namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
    objects += [_tier("security", 100, "Pass"), _tier("platform", 200, "Deny")]
    objects += [_set(f"partners-{i}", "partner", f"198.51.{i}.0/24") for i in range(20)]
    objects += [_set(f"blocked-{i}", "blocked", f"203.0.{i}.0/25") for i in range(20)]
    objects += [_global("security.block", "security", 10, "all()", [
        {"action": "Deny", "source": {"selector": "role == 'blocked'"}}], [
        {"action": "Deny", "destination": {"selector": "role == 'blocked'"}}]),
        _global("security.pci", "security", 20, "all()", [
            {"action": "Allow", "protocol": "TCP", "source": {"namespaceSelector": "env == 'prod'"},
             "destination": {"ports": ["https", "postgres"]}},
            {"action": "Deny"}], [
            {"action": "Allow", "protocol": "UDP", "destination": {
                "namespaceSelector": "projectcalico.org/name == 'kube-system'", "ports": [53]}},
            {"action": "Allow", "protocol": "TCP", "destination": {"selector": "role == 'partner'", "ports": [443]}},
            {"action": "Deny"}], namespace_selector=f"team == '{TEAMS[0]}' && env == 'prod'"),
        _global("platform.dns-and-scraping", "platform", 10, "all()", [
            {"action": "Allow", "protocol": "TCP", "source": {"selector": "role == 'worker'"},
             "destination": {"ports": [9100]}},
            {"action": "Pass"}], [
            {"action": "Allow", "protocol": "UDP", "destination": {"selector": "k8s-app == 'kube-dns'", "ports": [53]}},
            {"action": "Pass"}]),
        _global("default-deny", "default", 2000, "all()", None, None,
                namespace_selector="projectcalico.org/name != 'kube-system'")]
    for ns in namespaces[1::10]:
        objects.append(_namespaced(ns, rng))
    return objects


NAMESPACE = "k8s:io.kubernetes.pod.namespace"
NAMESPACE_LABELS = "k8s:io.cilium.k8s.namespace.labels."
CILIUM = "cilium.io/v2"


def cilium(size: Size, seed: int = 1) -> list[Obj]:
    """The generated cluster's NetworkPolicies as CiliumNetworkPolicies (one in twenty clusterwide), and denies."""
    objects = generate(size, seed)
    out = [o for o in objects if o["kind"] != "NetworkPolicy"]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    out += [_cnp(p, clusterwide=i % 20 == 19) for i, p in enumerate(policies)]
    namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
    out += [{"apiVersion": CILIUM, "kind": "CiliumNetworkPolicy", "metadata": {"name": "no-metrics-from-data",
                                                                               "namespace": ns},
             "spec": {"endpointSelector": {}, "enableDefaultDeny": {"ingress": False},
                      "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"tier": "data"}}],
                                       "toPorts": [{"ports": [{"port": "9100", "protocol": "TCP"}]}]}]}}
            for ns in namespaces[1::20]]
    out.append({"apiVersion": CILIUM, "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "blocked"},
                "spec": {"endpointSelector": {}, "enableDefaultDeny": {"ingress": False},
                         "ingressDeny": [{"fromCIDRSet": [{"cidr": "203.0.113.0/24"}]}]}})
    return out


def _cnp(policy: Obj, clusterwide: bool) -> Obj:
    """A NetworkPolicy as the CiliumNetworkPolicy (or, pinned to its namespace, the clusterwide one) that
    allows the same."""
    ns, spec = policy["metadata"]["namespace"], policy["spec"]
    types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]

    def endpoints(selector: Obj | None, namespace: Obj | None) -> Obj:
        """A peer's selector: namespace labels where it has a namespaceSelector, else the policy's namespace
        (implied in a CNP, written in a clusterwide one)."""
        out = {k: v for k, v in (selector or {}).items()}
        labels = dict(out.get("matchLabels", {}))
        if namespace is not None:
            for k, v in namespace.get("matchLabels", {}).items():
                labels[NAMESPACE if k == "kubernetes.io/metadata.name" else NAMESPACE_LABELS + k] = v
        elif clusterwide:
            labels[NAMESPACE] = ns
        if labels:
            out["matchLabels"] = labels
        return out

    def rule(r: Obj, direction: str) -> Obj:
        peers = r.get("from" if direction == "ingress" else "to")
        prefix = "from" if direction == "ingress" else "to"
        out: Obj
        if not peers:
            out = {f"{prefix}Entities": ["all"]}
        elif "ipBlock" in peers[0]:
            out = {f"{prefix}CIDRSet": [{"cidr": p["ipBlock"]["cidr"], "except": p["ipBlock"].get("except", [])}
                                        for p in peers]}
        else:
            out = {f"{prefix}Endpoints": [endpoints(p.get("podSelector"), p.get("namespaceSelector")) for p in peers]}
        if r.get("ports"):
            out["toPorts"] = [{"ports": [{"port": str(p["port"]), "protocol": p.get("protocol", "TCP"),
                                          **({"endPort": p["endPort"]} if "endPort" in p else {})}
                                         for p in r["ports"]]}]
        return out

    cnp: Obj = {"endpointSelector": endpoints(spec["podSelector"], None)}
    for direction, kind in (("ingress", "Ingress"), ("egress", "Egress")):
        if kind in types:
            cnp[direction] = [rule(r, direction) for r in spec.get(direction, [])] or [{}]
    kind = "CiliumClusterwideNetworkPolicy" if clusterwide else "CiliumNetworkPolicy"
    metadata = {"name": f"{ns}-{policy['metadata']['name']}"} if clusterwide else dict(policy["metadata"])
    return {"apiVersion": CILIUM, "kind": kind, "metadata": metadata, "spec": cnp}


VARIANTS = {"networkpolicy": (generate, None), "calico": (calico, "calico"), "cilium": (cilium, "cilium")}


def _tier(name: str, order: int, action: str) -> Obj:
    return {"apiVersion": V3, "kind": "Tier", "metadata": {"name": name}, "spec": {"order": order,
                                                                                    "defaultAction": action}}


def _set(name: str, role: str, net: str) -> Obj:
    return {"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {"name": name, "labels": {"role": role}},
            "spec": {"nets": [net]}}


def _global(name: str, tier: str, order: int, selector: str, ingress: list[Obj] | None, egress: list[Obj] | None,
            namespace_selector: str | None = None) -> Obj:
    spec: Obj = {"tier": tier, "order": order, "selector": selector, "types": ["Ingress", "Egress"]}
    if namespace_selector is not None:
        spec["namespaceSelector"] = namespace_selector
    spec.update({k: v for k, v in (("ingress", ingress), ("egress", egress)) if v})
    return {"apiVersion": V3, "kind": "GlobalNetworkPolicy", "metadata": {"name": name}, "spec": spec}


def _namespaced(ns: str, rng: random.Random) -> Obj:
    role = rng.choice(["web", "api", "db"])
    return {"apiVersion": V3, "kind": "NetworkPolicy", "metadata": {"name": f"calico-{role}", "namespace": ns},
            "spec": {"order": rng.choice([100, 500, 1500]), "selector": f"role == '{role}' && has(app)",
                     "ingress": [{"action": "Allow", "protocol": "TCP",
                                  "source": {"selector": "tier in {'frontend', 'backend'}"},
                                  "destination": {"ports": ["http", "https", 8080]}},
                                 {"action": "Deny", "source": {"selector": "app starts with 'cache-'"}}],
                     "egress": [{"action": "Allow", "protocol": "TCP",
                                 "destination": {"selector": "role == 'partner'", "ports": [443]}}]}}


def measure(path: str, cni: str | None) -> dict[str, Any]:
    """In a child process: load, apply the plugin's profile, compile, query."""
    from netpol import load_manifests
    from netpol.bulk import frozen_when_built
    from netpol.policies.profiles import apply

    started = time.process_time()
    with frozen_when_built():
        result = apply(load_manifests([path]), cni)
    cluster = result.cluster
    own = len(cluster.calico.policies) if cluster.calico else len(cluster.cilium)
    out: dict[str, Any] = {"load_cpu_s": time.process_time() - started, "pods": len(cluster.pods),
                           "policies": len(cluster.policies), "plugin_policies": own}
    out.update(compile_and_query(cluster, time.process_time)[1])
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run(pods: int, variant: str, workdir: Path) -> dict[str, Any]:
    size = next((s for s in SIZES if s.pods == pods), None) or Size(pods, pods // 2, max(1, pods // 15))
    make, cni = VARIANTS[variant]
    path = workdir / f"{variant}-{size.name}.json"
    write(make(size), path)
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--measure", str(path), *(["--cni", cni] if cni else [])],
                           capture_output=True, text=True, check=True)
    path.unlink()
    data: dict[str, Any] = json.loads(child.stdout)
    data.update(size=f"{size.pods:,} pods / {size.namespaces:,} ns / {size.policies:,} NetworkPolicies",
                variant=variant, wall_s=time.perf_counter() - started, load_end=os.getloadavg()[0])
    return data


def section(rows: list[dict[str, Any]]) -> str:
    """The section of docs/performance.md this script owns, between its markers."""
    lines = [BEGIN, "## Calico and Cilium (benchmarks/cni.py)", "",
             "The generator's clusters as Calico and Cilium clusters run them (`python benchmarks/cni.py --pods N "
             "--write`; the script's docstring says what each variant holds), beside the same cluster's "
             "NetworkPolicies alone. Calico: every NetworkPolicy in Calico's default tier, plus a security tier "
             "(default action Pass) that blocks 20 GlobalNetworkSets and decides one team's prod namespaces, a "
             "platform tier (DNS, scraping, Pass), a GlobalNetworkPolicy default deny for every namespace but "
             "kube-system, 20 GlobalNetworkSets of partners and a Calico NetworkPolicy per ten namespaces, under "
             "`--cni calico`. Cilium: every NetworkPolicy as a CiliumNetworkPolicy (one in twenty clusterwide), "
             "a deny without isolation per twenty namespaces and a clusterwide deny of a blocked range, under "
             "`--cni cilium`. CPU time (user and system) of each phase in one child process, as the shared "
             "machine's wall times vary, and the compile's and peak RSS's ratio to the NetworkPolicies alone of "
             f"the same size; `can-reach` point queries: median and maximum wall time of {QUERIES} random pairs; "
             f"reachability: the class-level answer of one probe ({PROBE[0]}/{PROBE[1]}), what `matrix` and `list` "
             "compute.", "",
             "| cluster | variant | its own policies | classes | load and profile | compile | point query "
             "| reachability | peak RSS | whole run (wall) | load average |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    base = {r["size"]: r for r in rows if r["variant"] == "networkpolicy"}
    for r in rows:
        b = base.get(r["size"]) if r["variant"] != "networkpolicy" else None
        compile_ratio = f" ({r['compile_s'] / b['compile_s']:.1f}x)" if b else ""
        rss_ratio = f" ({r['rss_mb'] / b['rss_mb']:.1f}x)" if b else ""
        lines.append(f"| {r['size']} | {r['variant']} | {r['plugin_policies']:,} | {r['classes']:,} "
                     f"| {r['load_cpu_s']:.2f} s | {r['compile_s']:.2f} s{compile_ratio} "
                     f"| {r['query_ms']:.2f} ms (max {r['query_max_ms']:.1f}) "
                     f"| {r['reach_s']:.2f} s ({r['reach_pairs']:,} class pairs) | {r['rss_mb']:,.0f} MiB{rss_ratio} "
                     f"| {r['wall_s']:.0f} s | {r['load_end']:.1f} |")
    lines += ["", f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average (one minute) at "
              "the end of each run, on the machine's 2 shared cores.", END]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace this script's section of docs/performance.md, or append it at the end."""
    doc = DOC.read_text()
    if BEGIN in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1].lstrip("\n")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    DOC.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[150_000])
    parser.add_argument("--write", action="store_true", help="write the section of docs/performance.md")
    parser.add_argument("--variant", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--cni", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.cni)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(p, v, Path(tmp)) for p in args.pods for v in args.variant]
    print(json.dumps(rows, indent=2))
    if args.write:
        write_section(section(rows))


if __name__ == "__main__":
    main()
