"""The `netpol` command: a thin typer layer over the library.

This is the only module that prints or exits. Exit codes: 0 success /
allowed, 1 denied / failed / changed, 2 usage, input or environment error
(an answer standard output cannot take), 3 internal error (see
docs/cli.md). A crash must never look like a verdict.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, NoReturn

import typer

try:  # typer >= 0.29 vendors click; older releases use click itself
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import ClickException  # type: ignore[assignment,no-redef,import-not-found,unused-ignore]

from netpol.cli.completion import COMPLETE_VAR
from netpol.cli.errors import DEBUG_FLAG, EXIT_ERROR, EXIT_OK, _internal_error
from netpol.cli.options import app
from netpol.cli.output import OutputFailed, _guard_streams, _note
from netpol.cli.progress_line import _QUIET, NO_PROGRESS_FLAG, PROGRESS_VAR
from netpol.errors import NetpolError


def _version(value: bool) -> None:
    if value:
        from netpol import __version__
        from netpol.policies import profiles

        print(f"netpol {__version__}")
        print(f"dataplane profiles (--cni): {profiles.known()}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option(
        DEBUG_FLAG, help="On an internal error (exit 3), print the traceback. Accepted anywhere on the line.",
    )] = False,
    no_progress: Annotated[bool, typer.Option(
        NO_PROGRESS_FLAG, help=f"No progress line on a terminal (also {PROGRESS_VAR}=0). Accepted anywhere on the "
        "line.")] = False,
) -> None:
    """Analyse Kubernetes NetworkPolicies: who can reach whom, on which ports, and why."""
    _QUIET[:] = [True] if no_progress else []


def _hoist(argv: list[str], flag: str) -> tuple[list[str], bool]:
    """`--debug` and `--no-progress` may be given after the command too; typer only knows them before, so move
    `flag` there."""
    head, rest = argv[:1], argv[1:]
    cut = rest.index("--") if "--" in rest else len(rest)
    present = flag in rest[:cut]
    if present:
        rest = [a for a in rest[:cut] if a != flag] + rest[cut:]
        rest.insert(0, flag)
    return head + rest, present


def _terminated(signum: int, _frame: object) -> NoReturn:
    """SIGTERM unwinds like an interrupt, so that children (Graphviz's dot) end with netpol; exit 128 + 15."""
    raise SystemExit(128 + signum)


def _prog_name(argv0: str) -> str:
    """Run as kubectl-netpol (kubectl's plugin mechanism), usage lines and hints say `kubectl netpol`."""
    return "kubectl netpol" if os.path.basename(argv0) == "kubectl-netpol" else "netpol"


def main() -> None:
    """Console entry point: usage errors become one line, like every other error; crashes exit 3."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    _guard_streams()
    if os.environ.get(COMPLETE_VAR):  # a shell asking for candidates: typer's completion classes, only then
        from typer._completion_classes import completion_init

        completion_init()
    argv, debug = _hoist(_hoist(sys.argv, NO_PROGRESS_FLAG)[0], DEBUG_FLAG)
    # no command: the help on stdout, and exit 2 (not a pass for a script)
    bare = not set(argv[1:]) - {DEBUG_FLAG, NO_PROGRESS_FLAG}
    sys.argv = [*argv, "--help"] if bare else argv
    try:
        code = app(standalone_mode=False, prog_name=_prog_name(sys.argv[0]), complete_var=COMPLETE_VAR)
        if bare:
            code = EXIT_ERROR
        sys.stdout.flush()
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _note(f"netpol: error: {exc.format_message()}{hint}")
        code = EXIT_ERROR
    except typer.Abort:
        _note("netpol: aborted")
        code = EXIT_ERROR
    except OutputFailed as exc:
        _note(f"netpol: error: {exc}")
        code = EXIT_ERROR
    except SystemExit as exc:
        if not isinstance(exc.__context__, BrokenPipeError):
            raise
        # click turns a broken pipe into exit 1, which would read as "denied"; standard output's own broken pipe
        # never gets here (_Stream), so this one is a pipe to a child process: netpol's fault
        code = _internal_error(exc.__context__, debug)
    except NetpolError as exc:  # a user error raised outside a command's _user_errors block
        _note(f"netpol: error: {exc}")
        code = EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the one place every unexpected error is turned into exit 3
        code = _internal_error(exc, debug)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


# the command modules register themselves on `app`; imported in this order, `netpol --help`
# lists them in it
COMMANDS = (
    "can_reach",
    "matrix",
    "explain",
    "graph",
    "check",
    "diff",
    "exposure",
    "connections",
    "report",
    "lint",
    "snapshot",
    "replay",
    "completion",
)
for _command in COMMANDS:
    importlib.import_module(f"netpol.cli.{_command}")
