"""--render never and --helm-values/--helm-set on the command line, through typer's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.unit.test_inputs import POD, write
from tests.unit.test_render_sources import tool

runner = CliRunner()


@pytest.fixture
def chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    tool(bin_dir, "helm", POD.format(name="a"))
    write(tmp_path / "chart" / "Chart.yaml", "name: c\n")
    return tmp_path / "chart"


def test_helm_options_reach_helm_template(chart: Path) -> None:
    r = runner.invoke(app, ["list", "-f", str(chart), "--helm-values", "v.yaml", "--helm-set", "a=1", "--input-only"])
    assert r.exit_code == 0, r.stderr
    assert (chart.parent / "bin" / "helm.args").read_text().splitlines() == [
        "template", str(chart), "--values", "v.yaml", "--set", "a=1"]
    assert f"netpol: info: {chart}: rendered with `helm template {chart} --values v.yaml --set a=1`" in r.stderr


def test_render_never_is_the_hint(chart: Path) -> None:
    r = runner.invoke(app, ["matrix", "-f", str(chart), "--render", "never"])
    assert r.exit_code == 2
    assert r.stderr == (f"netpol: error: {chart}: is a Helm chart (Chart.yaml), not manifests: render it first, "
                        f"e.g. helm template RELEASE {chart} | netpol ... -f -\n")
    assert not (chart.parent / "bin" / "helm.args").exists()
