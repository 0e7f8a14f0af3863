"""benchmarks/cni.py at a small size: its Calico variant loads under --cni calico with every kind evaluated, its
Calico policies act, and its section of docs/performance.md is replaced between its markers (numbers live in
docs/performance.md, not in assertions)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import cni  # noqa: E402
from benchmarks.generate import Size  # noqa: E402
from netpol import Analyzer, load_objects  # noqa: E402
from netpol.policies.profiles import apply  # noqa: E402


def test_the_calico_variant_is_evaluated_under_calico() -> None:
    objects = cni.calico(Size(200, 100, 14))
    assert objects == cni.calico(Size(200, 100, 14))  # seeded
    result = apply(load_objects(objects), "calico")
    assert result.ignored == ()  # every Calico kind is evaluated, nothing named as unmodelled
    kinds = [o["kind"] for o in objects]
    assert (kinds.count("Tier"), kinds.count("GlobalNetworkSet"), kinds.count("GlobalNetworkPolicy")) == (2, 40, 4)
    analyzer = Analyzer(result.cluster)
    web = next(p for p in result.cluster.pods if p.namespace != "kube-system")
    denied = analyzer.can_reach("203.0.1.7", web.key, 8080)  # a blocked address, denied by the security tier
    assert not denied.allowed and "security.block" in denied.ingress.reason


def test_the_section_is_replaced_between_its_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nbefore\n")
    monkeypatch.setattr(cni, "DOC", doc)
    row = {"size": "200 pods", "variant": "calico", "plugin_policies": 5, "classes": 9, "load_cpu_s": 0.1,
           "compile_s": 0.2, "query_ms": 0.1, "query_max_ms": 1.0, "reach_s": 0.3, "reach_pairs": 4, "rss_mb": 40.0,
           "wall_s": 2.0, "load_end": 3.0}
    base = {**row, "variant": "networkpolicy", "compile_s": 0.1, "rss_mb": 20.0}
    cni.write_section(cni.section([base, row]))
    cni.write_section(cni.section([{**base, "size": "300 pods"}, {**row, "size": "300 pods"}]))
    text = doc.read_text()
    assert text.startswith("# Performance\n\nbefore\n\n" + cni.BEGIN)
    assert text.count(cni.BEGIN) == 1 and text.rstrip().endswith(cni.END)
    assert "| 300 pods |" in text and "| 200 pods |" not in text
    assert "| 0.20 s (2.0x) |" in text and "| 40 MiB (2.0x) |" in text  # against the NetworkPolicies alone


def test_the_cilium_variant_allows_what_its_networkpolicies_allow() -> None:
    """Every NetworkPolicy written as a CNP (some clusterwide) allows the same on TCP/8080 under --cni cilium; the
    added denies name the metrics port and a blocked range only."""
    size = Size(300, 150, 20)
    result = apply(load_objects(cni.cilium(size)), "cilium")
    assert result.ignored == ()
    kinds = [o["kind"] for o in cni.cilium(size)]
    assert (kinds.count("CiliumNetworkPolicy"), kinds.count("CiliumClusterwideNetworkPolicy")) == (143 + 1, 8)
    plain = Analyzer(apply(load_objects(cni.generate(size)), None).cluster)
    cilium = Analyzer(result.cluster)
    pods = sorted(p.key for p in result.cluster.pods)
    assert [cilium.can_reach(a, b, 8080).allowed for a in pods[::7] for b in pods[::5]] == \
        [plain.can_reach(a, b, 8080).allowed for a in pods[::7] for b in pods[::5]]
