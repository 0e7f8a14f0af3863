"""`netpol graph` writing Mermaid: chosen by -o's extension or --format, to a file or standard output."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.analyses.query import Analyzer
from netpol.cli import app
from netpol.render.graph import diagram_mermaid
from tests.builders import FIXTURES, fixture

runner = CliRunner()
LIMIT = str(FIXTURES / "limit")


@pytest.mark.parametrize("name", ["g.mmd", "g.mermaid", "G.MMD"])
def test_mermaid_from_the_extension(tmp_path: Path, name: str) -> None:
    r = runner.invoke(app, ["graph", "-f", LIMIT, "--input-only", "-o", str(tmp_path / name)])
    assert (r.exit_code, r.stdout) == (0, "")
    assert all(line.startswith("netpol: note: ") for line in r.stderr.splitlines()), r.stderr
    assert (tmp_path / name).read_text() == diagram_mermaid(fixture("limit").diagram())


def test_markdown_wraps_the_chart(tmp_path: Path) -> None:
    r = runner.invoke(app, ["graph", "-f", LIMIT, "--input-only", "-o", str(tmp_path / "g.md")])
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "g.md").read_text() == f"```mermaid\n{diagram_mermaid(fixture('limit').diagram())}```\n"


def test_format_option_to_stdout() -> None:
    r = runner.invoke(app, ["graph", "-f", LIMIT, "--format", "mermaid", "-p", "80"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout == diagram_mermaid(Analyzer.with_possible(fixture("limit").cluster).diagram(80, "TCP"))


def test_beyond_mermaids_edge_limit_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import netpol.render.graph as graph

    monkeypatch.setattr(graph, "MERMAID_MAX_EDGES", 2)
    r = runner.invoke(app, ["graph", "-f", LIMIT, "--format", "mermaid", "--input-only"])
    edges = len(fixture("limit").diagram().edges)
    assert r.exit_code == 0
    assert r.stderr.splitlines()[-1] == (f"netpol: note: {edges} edges; Mermaid (and GitHub) draw at most 2 by "
                                         "default (-n NS or --focus NS/POD draws less)")
