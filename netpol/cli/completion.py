"""`netpol completion`: print the shell completion script: commands, options, the values of enumerated options,
file paths.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from netpol.cli.options import app


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


COMPLETE_VAR = "_NETPOL_COMPLETE"  # set by the completion scripts when the shell asks netpol for candidates


@app.command()
def completion(shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script: commands, options, the values of enumerated options, file paths.

    The script asks netpol itself for the candidates (click's completion, through typer), so it never goes
    stale. See docs/cli.md#netpol-completion for where to put it.

    \b
    Example:
      source <(netpol completion bash)
    """
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name="netpol", complete_var=COMPLETE_VAR, shell=shell.value))
