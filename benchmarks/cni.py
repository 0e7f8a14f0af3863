"""The generator's clusters (benchmarks/generate.py) as a Calico cluster runs them, measured under --cni calico.

The Calico variant keeps every pod, namespace and Kubernetes NetworkPolicy of the generated cluster (they sit in
Calico's default tier at order 1000) and adds what Calico recipes hold: a `security` tier (default action Pass)
whose GlobalNetworkPolicy denies GlobalNetworkSets of blocked addresses both ways and whose PCI policy decides
the `env == 'prod'` namespaces of one team; a `platform` tier that allows DNS and scraping, then Passes; a
GlobalNetworkPolicy default deny for every namespace but kube-system; GlobalNetworkSets of partner addresses; and
one Calico NetworkPolicy per ten namespaces (selectors with `in`, `has`, `starts with`, named ports, egress to the
partners). It measures, in a child process: load, the profile and the compile (one Analyzer), median and
maximum `can-reach` point queries between random pods, and the class-level reachability of one probe
(what `matrix` and `list` compute); peak RSS.

    python benchmarks/cni.py --pods 150000            # measures, prints JSON
    python benchmarks/cni.py --pods 150000 --write    # and writes its section of docs/performance.md
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


def measure(path: str) -> dict[str, Any]:
    """In a child process: load, apply the calico profile, compile, query."""
    from netpol import load_manifests
    from netpol.bulk import frozen_when_built
    from netpol.policies.profiles import apply

    started = time.process_time()
    with frozen_when_built():
        result = apply(load_manifests([path]), "calico")
    cluster = result.cluster
    out: dict[str, Any] = {"load_cpu_s": time.process_time() - started, "pods": len(cluster.pods),
                           "policies": len(cluster.policies),
                           "calico_policies": len(cluster.calico.policies) if cluster.calico else 0}
    out.update(compile_and_query(cluster, time.process_time)[1])
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run(pods: int, workdir: Path) -> dict[str, Any]:
    size = next((s for s in SIZES if s.pods == pods), None) or Size(pods, pods // 2, max(1, pods // 15))
    path = workdir / f"calico-{size.name}.json"
    write(calico(size), path)
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True,
                           check=True)
    data: dict[str, Any] = json.loads(child.stdout)
    data.update(size=f"{size.pods:,} pods / {size.namespaces:,} ns / {size.policies:,} NetworkPolicies",
                wall_s=time.perf_counter() - started)
    return data


def section(rows: list[dict[str, Any]]) -> str:
    """The section of docs/performance.md this script owns, between its markers."""
    lines = [BEGIN, "## Calico (benchmarks/cni.py)", "",
             "The generator's clusters as a Calico cluster runs them (`python benchmarks/cni.py --pods N --write`): "
             "every NetworkPolicy in Calico's default tier, plus a security tier (default action Pass) that blocks "
             "20 GlobalNetworkSets and decides one team's prod namespaces, a platform tier (DNS, scraping, Pass), "
             "a GlobalNetworkPolicy default deny for every namespace but kube-system, 20 GlobalNetworkSets of "
             "partners and a Calico NetworkPolicy per ten namespaces, evaluated under `--cni calico`. CPU time "
             "(user and system) of each phase in one child process, as the shared machine's wall times vary; "
             f"`can-reach` point queries: median and maximum wall time of {QUERIES} random pairs; reachability: "
             f"the class-level answer of one probe ({PROBE[0]}/{PROBE[1]}), what `matrix` and `list` compute.", "",
             "| cluster | Calico policies | classes | load and profile | compile | point query | reachability "
             "| peak RSS | whole run (wall) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['size']} | {r['calico_policies']:,} | {r['classes']:,} | {r['load_cpu_s']:.2f} s "
                     f"| {r['compile_s']:.2f} s | {r['query_ms']:.2f} ms (max {r['query_max_ms']:.1f}) "
                     f"| {r['reach_s']:.2f} s ({r['reach_pairs']:,} class pairs) | {r['rss_mb']:,.0f} MiB "
                     f"| {r['wall_s']:.0f} s |")
    load = os.getloadavg()[0]
    lines += ["", f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load:.1f} at the "
              "end, on the shared machine's cores.", END]
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
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(p, Path(tmp)) for p in args.pods]
    print(json.dumps(rows, indent=2))
    if args.write:
        write_section(section(rows))


if __name__ == "__main__":
    main()
