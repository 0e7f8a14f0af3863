"""A list of millions of connections says so before its first line, and --max-lines refuses it (exit 2) before
writing any: by default on a terminal, where nobody reads a million lines."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from netpol import cli
from netpol.analyses import connectivity
from tests.unit.test_listing import namespace_keys

LINES = [
    "any pod in namespace a; any pod in any other namespace with k00 notin (v) and k01 notin (v) and k02 notin (v) "
    "=> any pod in any other namespace; any address : all",
    "any pod in any namespace except any pod in namespace a or any pod in any other namespace with k00 notin (v) and "
    "k01 notin (v) and k02 notin (v) => any pod in any namespace; any address : all",
    "any address => any pod in any other namespace : all",
]
NARROW = "--from X, --to X or -n NS"


@pytest.fixture
def three_keys(tmp_path: Path) -> str:
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump_all(namespace_keys(3)))
    return str(path)


@pytest.mark.parametrize(("output", "what"), [
    ("text", "3 lines (one per connection)"), ("md", "3 lines (one per connection)"),
    ("csv", "96 connections (rows)"), ("json", "96 connections (JSON objects)")])
def test_a_large_list_says_how_large_before_writing(three_keys: str, output: str, what: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = CliRunner().invoke(cli.app, ["list", "-f", three_keys, "-o", output])
    monkeypatch.setattr(connectivity, "LARGE_LIST", 2)
    r = CliRunner().invoke(cli.app, ["list", "-f", three_keys, "-o", output])
    assert r.exit_code == 0 and quiet.exit_code == 0
    assert r.stdout == quiet.stdout  # the same list, with a note
    assert f"netpol: note: writing {what}; {NARROW} narrow the list\n" in r.stderr
    assert "writing" not in quiet.stderr
    if output == "text":
        assert r.stdout == "".join(line + "\n" for line in LINES)


def test_max_lines_refuses_before_writing(three_keys: str) -> None:
    r = CliRunner().invoke(cli.app, ["list", "-f", three_keys, "--max-lines", "2"])
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.endswith("netpol: error: the list would write 3 lines (one per connection), more than "
                             f"--max-lines 2: narrow it with {NARROW}, or raise --max-lines (0: no limit)\n")
    r = CliRunner().invoke(cli.app, ["list", "-f", three_keys, "-o", "json", "--max-lines", "95"])
    assert r.exit_code == 2 and "would write 96 connections (JSON objects), more than --max-lines 95" in r.stderr
    for enough in ("3", "0"):
        r = CliRunner().invoke(cli.app, ["list", "-f", three_keys, "--max-lines", enough])
        assert (r.exit_code, r.stdout.splitlines()) == (0, LINES)
    r = CliRunner().invoke(cli.app, ["list", "-f", three_keys, "--max-lines", "-1"])
    assert r.exit_code == 2 and r.stdout == ""
