"""Shell completion through the installed `netpol`: the bash script loads, and the shell's questions get
netpol's commands, options and the values of enumerated options."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

NETPOL = shutil.which("netpol")
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(NETPOL is None and not os.environ.get("CI"), reason="netpol is not installed on PATH")


def complete(*words: str) -> list[str]:
    """What bash offers for the last word of `words`, after sourcing `netpol completion bash`."""
    assert BASH is not None
    quoted = " ".join(f"'{w}'" for w in words)
    script = (f'source <(netpol completion bash) && COMP_WORDS=({quoted}) && COMP_CWORD={len(words) - 1} && '
              '_netpol_completion netpol && printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run([BASH, "--norc", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line]


def test_bash_script_registers_netpol() -> None:
    assert BASH is not None
    r = subprocess.run([BASH, "--norc", "-c", "source <(netpol completion bash) && complete -p netpol"],
                       capture_output=True, text=True, timeout=60, check=False)
    # -o default: where netpol offers nothing (the PATH of -f), bash completes file names
    assert (r.returncode, r.stdout, r.stderr) == (0, "complete -o default -F _netpol_completion netpol\n", "")


def test_commands_options_and_enumerated_values() -> None:
    assert complete("netpol", "ma") == ["matrix"]
    assert complete("netpol", "matrix", "-o", "") == ["table", "json", "csv", "md"]
    assert complete("netpol", "lint", "--fail-on", "w") == ["warning"]
    assert complete("netpol", "completion", "") == ["bash", "zsh", "fish"]
    assert "--port" in complete("netpol", "matrix", "--po")
    assert complete("netpol", "matrix", "-f", "fix") == []  # file names: bash's default completion


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells(shell: str) -> None:
    r = subprocess.run([NETPOL or "netpol", "completion", shell], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0 and "_NETPOL_COMPLETE=complete_" + shell in r.stdout, r.stderr


def test_unknown_shell_is_a_usage_error() -> None:
    r = subprocess.run([NETPOL or "netpol", "completion", "tcsh"], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 2
    assert r.stderr == ("netpol: error: Invalid value for 'SHELL': 'tcsh' is not one of 'bash', 'zsh', 'fish'. "
                        "(see 'netpol completion --help')\n")
