"""The library's progress reports (netpol.progress), exactly: what long phases say to a listener, and that
nothing happens without one."""

from __future__ import annotations

from pathlib import Path

from netpol import load_manifests
from netpol.analyses.query import Analyzer
from netpol.analyses.regions import regions
from netpol.progress import listener, report
from tests.unit.test_inputs import POD, write
from tests.unit.test_render_sources import NP, tool


def heard(run) -> list[str]:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    with listener(lines.append):
        run()
    return lines


def test_reading_counts_files_and_every_thousand_objects(tmp_path: Path) -> None:
    items = "".join(f"- {{apiVersion: v1, kind: Pod, metadata: {{name: p{i}}}, spec: {{containers: [{{name: c}}]}}}}\n"
                    for i in range(2500))
    write(tmp_path / "a.yaml", f"apiVersion: v1\nkind: List\nitems:\n{items}")
    write(tmp_path / "b.yaml", POD.format(name="b") + "---\n" + NP)
    assert heard(lambda: load_manifests([str(tmp_path)])) == [
        "1 of 2 files, 0 objects", "1 of 2 files, 1,000 objects", "1 of 2 files, 2,000 objects",
        "2 of 2 files, 2,500 objects"]


def test_rendering_is_said(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "bin").mkdir()
    tool(tmp_path / "bin", "kubectl", POD.format(name="a"))
    write(tmp_path / "overlay" / "kustomization.yaml", "resources: []\n")
    assert heard(lambda: load_manifests([str(tmp_path / "overlay")])) == [
        f"rendering {tmp_path / 'overlay'} with kubectl", "1 of 1 files, 0 objects"]


def test_compiling_and_regions(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", POD.format(name="a") + "---\n" + POD.format(name="web") + "---\n" + NP)
    cluster = load_manifests([str(tmp_path)]).cluster
    assert heard(lambda: Analyzer(cluster).engine) == ["2 classes of pods; applying 1 policy rules"]
    assert heard(lambda: regions(cluster)) == ["namespace 1 of 2, 0 regions", "namespace 2 of 2, 2 regions"]


def test_nothing_without_a_listener_and_the_innermost_wins() -> None:
    report("no one listens")  # no error, no output
    outer: list[str] = []
    inner: list[str] = []
    with listener(outer.append):
        report("a")
        with listener(inner.append):
            report("b")
        report("c")
    assert (outer, inner) == (["a", "c"], ["b"])
