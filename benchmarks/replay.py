"""Benchmark `netpol replay` on a generated cluster and a generated Hubble export.

    python benchmarks/replay.py --pods 10000 --records 1000000      # the target of issue 27
    python benchmarks/replay.py --pods 1000 --records 100000        # a quick run
    python benchmarks/replay.py ... --flows /tmp/flows.json          # keep the flow file, replay it again later

Flows go between pods of a fixed set of workload pairs (as real traffic does: a few thousand kinds of
connection, each seen many times), as `hubble observe -o json` writes them, SYN only. It prints the time
to read and replay them (not the cluster's compile time), the connections and the peak RSS of the
process (ru_maxrss): memory must follow connections, not records.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import Size, generate  # noqa: E402
from netpol import load_objects  # noqa: E402
from netpol.analyses.label_space import RegionLimitError  # noqa: E402
from netpol.analyses.query import Analyzer  # noqa: E402
from netpol.analyses.replay import Replayer  # noqa: E402
from netpol.sources.flows import FlowStats, read_flows  # noqa: E402

PORTS = (80, 443, 5432, 6379, 8080, 8443, 9090, 53)


def write_flows(path: Path, analyzer: Analyzer, records: int, pairs: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    pods = [p for p in analyzer.cluster.pods if p.ips and not p.hypothetical]
    kinds = [(rng.choice(pods), rng.choice(pods), rng.choice(PORTS)) for _ in range(pairs)]
    with open(path, "w", encoding="utf-8") as out:
        for i in range(records):
            src, dst, port = kinds[rng.randrange(pairs)]
            flow = {"flow": {
                "time": f"2026-12-01T10:{i // 60_000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z",
                "verdict": "FORWARDED", "IP": {"source": str(src.ips[0]), "destination": str(dst.ips[0])},
                "l4": {"TCP": {"source_port": 30000 + i % 30000, "destination_port": port, "flags": {"SYN": True}}},
                "source": {"namespace": src.namespace, "pod_name": src.name,
                           "labels": [f"k8s:{k}={v}" for k, v in src.labels]},
                "destination": {"namespace": dst.namespace, "pod_name": dst.name,
                                "labels": [f"k8s:{k}={v}" for k, v in dst.labels]},
                "Type": "L3_L4", "node_name": "node-1", "traffic_direction": "EGRESS", "is_reply": False},
                "node_name": "node-1"}
            out.write(json.dumps(flow, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=5000, help="distinct (source pod, destination pod, port)")
    parser.add_argument("--flows", type=Path, help="the flow file: written there if absent, else replayed as it is")
    args = parser.parse_args()
    started = time.perf_counter()
    cluster = load_objects(generate(Size(args.pods, args.pods // 2, max(1, args.pods * 2 // 30)))).cluster
    try:
        analyzer = Analyzer.with_possible(cluster)
    except RegionLimitError as exc:  # as `netpol replay` does: endpoints the input lacks are then unmatched
        print(f"note: {exc}; replaying without possible pods")
        analyzer = Analyzer(cluster)
    compiled = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = args.flows or Path(tmp) / "flows.json"
        if not path.exists():
            write_flows(path, analyzer, args.records, args.pairs)
        size = path.stat().st_size
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        started, cpu = time.perf_counter(), time.process_time()
        replayer, stats = Replayer(analyzer), FlowStats()
        with open(path, "rb") as fh:
            replayer.add(read_flows(str(path), fh, "auto", stats))
        result = replayer.result()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{len(cluster.pods)} pods, compiled in {compiled:.1f} s; {replayer.records} records ({size // 2**20} MiB), "
          f"{result.summary()['connections']} connections: replayed in {elapsed:.1f} s, {cpu:.1f} s CPU "
          f"({replayer.records / elapsed:,.0f} records/s); peak RSS {rss} MiB ({rss_before} MiB before the replay)")


if __name__ == "__main__":
    main()
