"""What reaches a terminal: verdicts in colour for a person (never with NO_COLOR), never raw control bytes."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from netpol import cli
from netpol.cli import output
from tests.builders import FIXTURES

LIMIT = str(FIXTURES / "limit")


def test_verdict_words_are_coloured_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "_colour", lambda: True)
    r = CliRunner().invoke(cli.app, ["can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT])
    assert r.stdout.startswith("\x1b[1;31mDENIED\x1b[0m: default/test-1 -> default/apiserver TCP/80\n")
    r = CliRunner().invoke(cli.app, ["can-reach", "test-2", "apiserver", "-p", "80", "-f", LIMIT])
    assert r.stdout.startswith("\x1b[1;32mALLOWED\x1b[0m: ")
    monkeypatch.undo()
    r = CliRunner().invoke(cli.app, ["can-reach", "test-2", "apiserver", "-p", "80", "-f", LIMIT])
    assert r.stdout.startswith("ALLOWED: ")  # not a terminal: plain


def test_no_color_and_dumb_terminals_get_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert output._colour()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not output._colour()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not output._colour()


def test_control_characters_are_escaped() -> None:
    assert output.terminal_safe("a\x1b[31mb\x07c\td\ne\x9b") == "a\\x1b[31mb\\x07c\td\ne\\x9b"


@pytest.mark.parametrize("command", ["can-reach", "matrix", "explain", "graph", "check", "diff", "snapshot", "lint"])
def test_help_is_clean_and_has_an_example(command: str) -> None:
    r = CliRunner().invoke(cli.app, [command, "--help"])
    assert r.exit_code == 0
    assert "<" not in r.stdout and "list[" not in r.stdout  # no <bool>, <str>, <list[str]> type labels
    assert "Example" in r.stdout and f"netpol {command} " in r.stdout
