"""Exit codes carry results: a crash is exit 3 with one line, never 1 (a verdict) or 2 (the user's error)."""

from __future__ import annotations

import sys

import pytest

from netpol import cli
from netpol.errors import QueryError
from netpol.query import Analyzer
from netpol.render import matrix as render_matrix
from tests.builders import FIXTURES

LIMIT = str(FIXTURES / "limit")


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["netpol", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def _boom(*_: object, **__: object) -> None:
    raise KeyError("matrix")


def test_unexpected_exception_is_exit_3_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(Analyzer, "can_reach", _boom)
    code = run_main(monkeypatch, "can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT)
    err = capsys.readouterr().err
    assert code == 3
    assert err == "netpol: error: internal error: KeyError: 'matrix'; rerun with --debug for the traceback\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback_wherever_it_is_given(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], where: str) -> None:
    monkeypatch.setattr(Analyzer, "can_reach", _boom)
    args = ["can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    code = run_main(monkeypatch, *args)
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith("netpol: error: internal error: KeyError: 'matrix'\n")


def test_recursion_limit_is_internal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def deep(*_: object, **__: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(Analyzer, "matrix", deep)
    assert run_main(monkeypatch, "matrix", "-f", LIMIT) == 3
    assert "internal error: recursion limit reached" in capsys.readouterr().err


def test_a_user_error_outside_a_command_block_stays_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    def bad(*_: object, **__: object) -> None:
        raise QueryError("unknown thing")

    monkeypatch.setattr(render_matrix, "matrix_table", bad)
    assert run_main(monkeypatch, "matrix", "-f", LIMIT) == 2
    assert capsys.readouterr().err == "netpol: error: unknown thing\n"


def test_verdicts_keep_their_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_main(monkeypatch, "can-reach", "test-2", "apiserver", "-p", "80", "-f", LIMIT) == 0
    assert run_main(monkeypatch, "can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT) == 1
    assert run_main(monkeypatch, "can-reach", "test-9", "apiserver", "-p", "80", "-f", LIMIT) == 2
    assert run_main(monkeypatch, "matrix", "--no-such-option") == 2


def test_hoisting_debug_leaves_arguments_after_double_dash() -> None:
    assert cli._hoist_debug(["netpol", "check", "--", "--debug"]) == (["netpol", "check", "--", "--debug"], False)
    assert cli._hoist_debug(["netpol", "check", "x", "--debug"]) == (["netpol", "--debug", "check", "x"], True)
