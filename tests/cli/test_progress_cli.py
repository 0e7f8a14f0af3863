"""The progress line through typer's runner: on a terminal's standard error (forced here), each phase says
what it does and how far, and clears itself; the answer on standard output is the same byte for byte; with
standard error piped, --no-progress or NETPOL_PROGRESS=0 there is none."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from netpol.cli import app, progress_line
from tests.builders import FIXTURES

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LIMIT = str(FIXTURES / "limit")


def shown(stderr: str) -> list[str]:
    """The texts the progress line showed, in order, each once (spinner frames and times left out)."""
    out: list[str] = []
    for frame in re.split(r"[\r\n]", ANSI.sub("", stderr)):
        match = re.match(r"^\S netpol: (.*?) \d+:\d\d:\d\d$", frame.strip())
        if match and (not out or out[-1] != match.group(1)):
            out.append(match.group(1))
    return out


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_line, "_stderr_is_terminal", lambda: True)
    monkeypatch.delenv("NETPOL_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_each_phase_shows_and_clears_itself(terminal: None) -> None:
    quiet = runner.invoke(app, ["--no-progress", "matrix", "-f", LIMIT, "-o", "csv"])
    r = runner.invoke(app, ["matrix", "-f", LIMIT, "-o", "csv"])
    assert (r.exit_code, r.stdout) == (0, quiet.stdout)
    assert "\x1b" not in r.stdout
    phases = shown(r.stderr)
    assert phases[0] == "reading manifests"
    assert phases[-1].startswith("writing the answer")
    assert "compiling 3 pods and 1 policies" in phases
    assert "computing the matrix of 3 classes" in phases
    assert any(re.fullmatch(r"reading manifests: 2 of 2 files, \d+ objects", p) for p in phases), phases
    # every line shown is erased when its phase ends (transient): the cursor comes back, the line is cleared
    starts, ends = r.stderr.count("\x1b[?25l"), r.stderr.count("\x1b[?25h\r\x1b[1A\x1b[2K")
    assert starts == ends == 4  # reading, compiling, computing, writing
    assert r.stderr.endswith("\x1b[?25h\r\x1b[1A\x1b[2Knetpol: assumption: a pod's traffic to itself ('self') is "
                             "assumed allowed\n")


def test_notes_print_above_the_line(terminal: None) -> None:
    r = runner.invoke(app, ["list", "-f", str(FIXTURES / "policy-only" / "repo")])
    assert r.exit_code == 0
    plain = ANSI.sub("", r.stderr)
    assert "netpol: note: possible pods: every pod the policies could select" in plain
    assert "compiling 0 pods and 6 policies, with every possible pod" in shown(r.stderr)


@pytest.mark.parametrize("off", [["--no-progress"], ["NETPOL_PROGRESS=0"], ["TERM=dumb"]])
def test_turned_off(terminal: None, monkeypatch: pytest.MonkeyPatch, off: list[str]) -> None:
    args = ["matrix", "-f", LIMIT, "-o", "csv"]
    if off[0].startswith("--"):
        args = [*off, *args]
    else:
        monkeypatch.setenv(*off[0].split("="))
    r = runner.invoke(app, args)
    assert r.exit_code == 0
    assert r.stderr == "netpol: assumption: a pod's traffic to itself ('self') is assumed allowed\n"


def test_piped_standard_error_has_none() -> None:
    r = runner.invoke(app, ["matrix", "-f", LIMIT, "-o", "csv"])
    assert (r.exit_code, r.stderr) == (0, "netpol: assumption: a pod's traffic to itself ('self') is assumed allowed\n")
