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
    row = {"size": "200 pods", "calico_policies": 5, "classes": 9, "load_cpu_s": 0.1, "compile_s": 0.2,
           "query_ms": 0.1, "query_max_ms": 1.0, "reach_s": 0.3, "reach_pairs": 4, "rss_mb": 40.0, "wall_s": 2.0}
    cni.write_section(cni.section([row]))
    cni.write_section(cni.section([{**row, "size": "300 pods"}]))
    text = doc.read_text()
    assert text.startswith("# Performance\n\nbefore\n\n" + cni.BEGIN)
    assert text.count(cni.BEGIN) == 1 and text.rstrip().endswith(cni.END)
    assert "| 300 pods |" in text and "| 200 pods |" not in text
