"""DOT, SVG and PNG output: the gallery's DOT byte for byte, real Graphviz renders, a missing `dot`."""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from netpol.analyses.query import Analyzer
from netpol.render.graph import GraphvizMissingError, diagram_dot, render_image
from tests.builders import fixture, scenario_dirs

GALLERY = Path(__file__).resolve().parents[2] / "docs" / "gallery"
SCENARIOS = [p.name for p in scenario_dirs()]
FEATURED = ["deny-all", "allow-all", "allow-from-a-namespace", "egress-to-a-namespace"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (scripts/test installs it)")


@pytest.mark.parametrize("name", SCENARIOS)
def test_dot_matches_the_gallery_byte_for_byte(name: str) -> None:
    """A change to the drawing must come with ./scripts/gallery, so the diff shows in review. As `netpol graph`
    draws it: with every possible pod beside the input's."""
    assert diagram_dot(Analyzer.with_possible(fixture(name).cluster).diagram()) == (GALLERY / f"{name}.dot").read_text()
    assert f"![{name}](gallery/{name}.png)" in (GALLERY.parent / "gallery.md").read_text()


def test_dot_is_deterministic() -> None:
    a = fixture("egress-to-a-namespace")
    assert diagram_dot(a.diagram()) == diagram_dot(a.diagram())


def test_deny_all_dot() -> None:
    dot = diagram_dot(fixture("deny-all").diagram())
    assert '\tsubgraph cluster_default {\n\t\tcolor="#7f8c8d" fontsize=11 label="namespace default" style=rounded\n' in dot
    assert '\t\t"default/test-1" [label="test-1, web\n[ingress isolated]" color="#c0392b" penwidth=2.5]\n' in dot
    assert [line.strip() for line in dot.splitlines() if "->" in line] == [
        '"default/test-1" -> "ext%3Aany" [label=all]']


def test_isolation_marks_and_external_nodes() -> None:
    dot = diagram_dot(Analyzer.with_possible(fixture("egress-to-a-namespace").cluster).diagram())
    assert '"default/test" [label="test\napp=foo\n[egress isolated]" fillcolor="#fdebd0"]' in dot
    assert '"any-unrestricted-pod" [label="any pod whose egress\nis not restricted"' in dot
    assert '"ext%3Aany" [label="any address\n(outside the cluster)"' in dot
    assert '"default/test" -> "kube-system/coredns" [label="TCP:53 UDP:53"]' in dot
    assert "legend" in dot and "ingress isolated: only the drawn edges come in" in dot


def _node_titles(svg: bytes) -> set[str]:
    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    return {g.findtext("svg:title", namespaces=ns) or "" for g in root.iter("{http://www.w3.org/2000/svg}g")
            if g.get("class") == "node"}


@needs_dot
@pytest.mark.parametrize("name", FEATURED)
def test_svg_has_every_node(name: str) -> None:
    d = fixture(name).diagram()
    want = {g.id for b in d.namespaces for g in b.groups} | {e.id.replace(":", "%3A") for e in d.externals}
    want |= {"legend"} | ({"any-pod"} if d.any_pod else set())
    want |= {"any-unrestricted-pod"} if d.any_unrestricted_pod else set()
    want |= {f"ns%3A{b.name}" for b in d.namespaces if b.has_anchor}
    assert _node_titles(render_image(diagram_dot(d), "svg")) == want


@needs_dot
def test_png_signature_and_size() -> None:
    png = render_image(diagram_dot(fixture("deny-all").diagram()), "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 300 and height > 100


def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizMissingError, match=r"apt-get install graphviz.*--format dot"):
        render_image("digraph {}", "svg")


def test_an_interrupt_during_layout_ends_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or SIGTERM, which netpol turns into an unwinding exit) while dot lays out: dot ends with netpol."""
    started: list[subprocess.Popen[bytes]] = []
    real_init = subprocess.Popen.__init__

    def spawn(self: subprocess.Popen[bytes], *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        started.append(self)

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "__init__", spawn)
    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render_image("digraph { a -> b }", "svg")
    assert len(started) == 1 and started[0].returncode is not None  # killed and reaped, not left running
