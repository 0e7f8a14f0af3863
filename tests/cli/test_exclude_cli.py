"""--exclude on every command that reads manifests, through typer's runner: a broken file under the directory
is an error without it, and left out (and named) with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_every_command_that_reads_manifests_takes_it() -> None:
    group = get_command(app)
    reading = {name for name, command in group.commands.items()  # type: ignore[attr-defined]
               if any("--filename" in p.opts for p in command.params) or name == "diff"}
    assert reading == {"can-reach", "matrix", "explain", "graph", "check", "diff", "exposure", "list", "report",
                       "lint", "replay"}
    for name in reading:
        assert any("--exclude" in p.opts for p in group.commands[name].params), name  # type: ignore[attr-defined]


@pytest.fixture
def k8s(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "limit", tmp_path / "k8s")
    (tmp_path / "k8s" / "scratch").mkdir()
    (tmp_path / "k8s" / "scratch" / "wip.yaml").write_text("kind: [\n")
    (tmp_path / "flows.csv").write_text("source,destination,protocol,port\ndefault/test-2,default/apiserver,TCP,80\n")
    return tmp_path / "k8s"


@pytest.mark.parametrize(("command", "code"), [
    (["can-reach", "test-2", "apiserver", "-p", "80"], 0), (["matrix"], 0), (["explain"], 0), (["graph"], 0),
    (["exposure"], 0), (["list"], 0), (["report", "-o", "{tmp}/r.html"], 0), (["lint", "--fail-on", "never"], 0),
    (["check", str(ROOT / "intents" / "limit.intent.yaml")], 0), (["replay", "{tmp}/flows.csv"], 0),
])
def test_each_command(k8s: Path, command: list[str], code: int) -> None:
    args = [a.replace("{tmp}", str(k8s.parent)) for a in command] + ["-f", str(k8s)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    error = f"{k8s}/scratch/wip.yaml: document 1, line 2: invalid YAML: did not find expected node content\n"
    assert r.stderr == f"netpol: error: {error}" or error in r.stdout  # check reports a file's error as its result
    r = runner.invoke(app, [*args, "--exclude", "scratch"])
    assert r.exit_code == code, r.stderr
    assert f"netpol: info: --exclude 'scratch' left out 1 path(s): {k8s}/scratch\n" in r.stderr


def test_diff_excludes_on_both_sides(k8s: Path) -> None:
    r = runner.invoke(app, ["diff", str(k8s), str(FIXTURES / "limit"), "--exclude", "scratch"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "no reachability change\n"
    assert r.stderr.splitlines()[:2] == [
        f"netpol: info: --exclude 'scratch' left out 1 path(s): {k8s}/scratch",
        "netpol: warning: --exclude 'scratch' matched nothing in the directories read (it applies to what a "
        "directory named with -f holds)"]
