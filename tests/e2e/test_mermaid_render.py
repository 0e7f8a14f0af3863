"""Mermaid output rendered by mermaid-cli (npm, installed into .tools/ by ./scripts/test) in Debian's chromium:
every fixture's flowchart draws, with every node in its classes, every namespace box and every edge, and a
hostile label draws as text; so do the diagrams of `diff -o md --diagram`.

All charts go through one mmdc run (a Markdown file of ```mermaid blocks): one browser start, not one each.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from netpol.analyses.diagram import Diagram, NamespaceBox
from netpol.analyses.diff import Change, ReachabilityDiff, diff, possible_diff
from netpol.model.portsets import ALL_PORTS, NO_PORTS
from netpol.render.diff import diff_mermaid
from netpol.render.graph import _mermaid_id, diagram_mermaid
from tests.builders import POLICY_ONLY, analyzer, fixture, namespace, pod, policy, scenario_dirs
from tests.unit.test_diff_diagram import mixed
from tests.unit.test_graph_mermaid import parse

ROOT = Path(__file__).resolve().parents[2]
MMDC = ROOT / ".tools" / "mermaid" / "node_modules" / ".bin" / "mmdc"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCENARIOS = [p.name for p in scenario_dirs()] + [f"policy-only/{p.name}" for p in sorted(POLICY_ONLY.iterdir())
                                                 if p.is_dir() and p.name != "expected"]
HOSTILE = Diagram((NamespaceBox("evil", (("team", '"]<b>x</b>`*y*`#z'),), (), False),), (), False, False, (), None,
                  None)
HOSTILE_DIFF = ReachabilityDiff((Change("gained", ('evil/"]<b>x</b>`*y*`#z',), "any pod in namespace a&b", NO_PORTS,
                                         ALL_PORTS),), (), ())


def diffs() -> dict[str, ReachabilityDiff]:
    """Diffs whose diagrams are drawn: pods, possible pods and addresses; every kind of change; past the bound."""
    pods = [pod(f"p{i}", labels={"app": f"p{i}"}) for i in range(9)]
    return {
        "diff:deny-all..allow-all": possible_diff(fixture("deny-all").cluster, fixture("allow-all").cluster),
        "diff:policy-only": possible_diff(fixture(str(POLICY_ONLY / "repo")).cluster,
                                          fixture(str(POLICY_ONLY / "repo-head")).cluster),
        "diff:mixed": mixed(),
        "diff:bounded": diff(analyzer(namespace("default"), *pods),
                             analyzer(namespace("default"), *pods, policy("deny", policyTypes=["Ingress", "Egress"]))),
        "diff:hostile": HOSTILE_DIFF,
    }


pytestmark = pytest.mark.skipif(shutil.which("npm") is None,
                                reason="npm is not installed: mermaid-cli cannot be (apt-get install npm; "
                                       "./scripts/test installs both)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Chart name -> its SVG."""
    assert MMDC.exists(), "mermaid-cli is not in .tools/mermaid: run ./scripts/test, which installs it with npm"
    assert CHROMIUM is not None, "chromium is required (./scripts/test installs it)"
    work = tmp_path_factory.mktemp("mermaid")
    charts = {name: diagram_mermaid(fixture(name).diagram()) for name in SCENARIOS}
    charts["hostile"] = diagram_mermaid(HOSTILE)
    charts.update((name, diff_mermaid(d).text) for name, d in diffs().items())
    (work / "charts.md").write_text("".join(f"```mermaid\n{text}```\n\n" for text in charts.values()))
    config = {"executablePath": CHROMIUM, "args": ["--no-sandbox"] if os.geteuid() == 0 else []}
    (work / "puppeteer.json").write_text(json.dumps(config))
    r = subprocess.run([str(MMDC), "--quiet", "-p", str(work / "puppeteer.json"), "-i", str(work / "charts.md"),
                        "-o", str(work / "out.md"), "-e", "svg"],
                       capture_output=True, text=True, timeout=600, check=False,
                       env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return {name: (work / f"out-{i}.svg").read_text() for i, name in enumerate(charts, start=1)}


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_fixture_renders(rendered: dict[str, str], name: str) -> None:
    svg = rendered[name]
    assert 'aria-roledescription="error"' not in svg
    diagram = fixture(name).diagram()
    nodes, edges = parse(diagram_mermaid(diagram))
    drawn = {node: classes.split() for classes, node in re.findall(
        r'<g class="node default ([a-z ]*)" id="my-svg-flowchart-([A-Za-z0-9_]+)-\d+"', svg)}
    legend = {n for n in drawn if n.startswith("legend")}
    assert set(drawn) - legend == set(nodes) and len(legend) in (7, 8)
    for box in diagram.namespaces:
        for group in box.groups:
            marks = {"ingress": group.ingress_isolated, "egress": group.egress_isolated, "tiered": group.tiered}
            assert drawn[_mermaid_id("n", group.id)] == ["pod", *(m for m, on in marks.items() if on)]
    boxes = set(re.findall(r'class="cluster namespace" id="my-svg-([A-Za-z0-9_]+)"', svg))
    assert boxes == {_mermaid_id("ns", box.name) for box in diagram.namespaces} | {"legend"}
    assert len(set(re.findall(r'data-id="(L_[^"]+)"', svg))) == len(edges)


def test_a_hostile_label_is_text(rendered: dict[str, str]) -> None:
    svg = rendered["hostile"]
    assert "<b>x</b>" not in svg
    assert re.search(r"team=&quot;\]&lt;b&gt;x&lt;/b&gt;`\*y\*`#z|team=\"\]&lt;b&gt;x&lt;/b&gt;`\*y\*`#z", svg), svg


@pytest.mark.parametrize("name", list(diffs()))
def test_every_diff_diagram_renders(rendered: dict[str, str], name: str) -> None:
    svg, drawn = rendered[name], diff_mermaid(diffs()[name])
    assert 'aria-roledescription="error"' not in svg
    nodes = set(re.findall(r"^ +(n\d+)[({]", drawn.text, re.M))
    edges = re.findall(r"^  (n\d+) -[.-]+>\|", drawn.text, re.M)
    assert len(edges) == drawn.edges and drawn.edges <= 40 and len(nodes) <= 40
    shown = {node: classes.split() for classes, node in re.findall(
        r'<g class="node default ([a-z ]*)" id="my-svg-flowchart-([A-Za-z0-9_]+)-\d+"', svg)}
    assert {n for n in shown if not n.startswith("legend")} == nodes
    assert len(set(re.findall(r'data-id="(L_[^"]+)"', svg))) == drawn.edges
    if name == "diff:hostile":
        assert "<b>x</b>" not in svg and "&lt;b&gt;x&lt;/b&gt;`*y*`#z" in svg
