"""Files netpol writes (-o, --junit): whole or not at all, and never through a symbolic link unless --force."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol import cli
from tests.builders import FIXTURES

POD = """\
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Pod
metadata: {name: only, namespace: default, labels: {app: only}}
spec: {containers: [{name: c, image: x}]}
"""


@pytest.fixture()
def one_pod(tmp_path: Path) -> str:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pod.yaml").write_text(POD)
    return str(tmp_path / "in" / "pod.yaml")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, list(args))


def test_a_link_to_an_existing_file_is_refused_and_the_file_kept(tmp_path: Path, one_pod: str) -> None:
    (tmp_path / "target.txt").write_text("precious\n")
    (tmp_path / "r.html").symlink_to("target.txt")
    r = run("report", "-f", one_pod, "-o", str(tmp_path / "r.html"))
    assert r.exit_code == 2
    assert r.stderr == (f"netpol: error: {tmp_path}/r.html is a symbolic link (to target.txt): netpol does not "
                        "write through a link; remove it, or pass --force to write the file it points to\n")
    assert (tmp_path / "target.txt").read_text() == "precious\n"


def test_a_dangling_link_creates_nothing_outside(tmp_path: Path, one_pod: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "g.dot").symlink_to("../outside.dot")
    assert run("graph", "-f", one_pod, "-o", str(tmp_path / "sub" / "g.dot")).exit_code == 2
    intents = str(FIXTURES.parent / "intents" / "allow-all.intent.yaml")
    (tmp_path / "sub" / "j.xml").symlink_to("../outside.xml")
    assert run("check", intents, "--junit", str(tmp_path / "sub" / "j.xml")).exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "sub"]


def test_force_writes_the_file_the_link_points_to(tmp_path: Path, one_pod: str) -> None:
    (tmp_path / "g.dot").symlink_to("drawn.dot")
    r = run("graph", "-f", one_pod, "-o", str(tmp_path / "g.dot"), "--force")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "g.dot").is_symlink()
    assert (tmp_path / "drawn.dot").read_text().startswith("digraph netpol {")


def test_a_file_is_replaced_whole_with_its_mode(tmp_path: Path, one_pod: str) -> None:
    out = tmp_path / "g.dot"
    out.write_text("old\n")
    out.chmod(0o640)
    assert run("graph", "-f", one_pod, "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("digraph netpol {")
    assert (out.stat().st_mode & 0o777, sorted(p.name for p in tmp_path.iterdir())) == (0o640, ["g.dot", "in"])


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, one_pod: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g.dot"
    out.write_text("old\n")

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    r = run("graph", "-f", one_pod, "-o", str(out))
    assert (r.exit_code, r.stderr.splitlines()[-1]) == (2, f"netpol: error: cannot write {out}: No space left on device")
    assert [line for line in r.stderr.splitlines() if "error" in line] == [r.stderr.splitlines()[-1]]
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "in"]


def test_a_device_is_written_in_place(one_pod: str) -> None:
    r = run("graph", "-f", one_pod, "--format", "dot", "-o", os.devnull)
    assert r.exit_code == 0, r.stderr
    assert not Path(os.devnull).is_file()  # still the device, not a file renamed over it
