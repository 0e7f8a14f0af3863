"""Exit codes, and the one place that turns errors into them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from netpol.cli.output import _note
from netpol.errors import NetpolError

EXIT_OK = 0


EXIT_DENIED = 1


EXIT_ERROR = 2


EXIT_INTERNAL = 3


DEBUG_FLAG = "--debug"


def _fail(message: str) -> NoReturn:
    _note(f"netpol: error: {message}")
    raise typer.Exit(EXIT_ERROR)


@contextmanager
def _user_errors() -> Iterator[None]:
    """The one place where library errors become a message and exit code 2."""
    try:
        yield
    except NetpolError as exc:
        _fail(str(exc))


def _internal_error(exc: BaseException, debug: bool) -> int:
    """One line and exit 3 for anything that is netpol's fault, never 1 (a verdict) or 2 (the user's)."""
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, RecursionError):
        what = "recursion limit reached"
    else:
        what = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}"
    hint = "" if debug else f"; rerun with {DEBUG_FLAG} for the traceback"
    _note(f"netpol: error: internal error: {what}{hint}")
    return EXIT_INTERNAL
