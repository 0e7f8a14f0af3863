"""The installed `netpol` with standard error on a real terminal (a pseudo-terminal) and standard output
piped: the progress line is on the terminal, and the piped answer is the same bytes as without it."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import threading

import pytest

from tests.builders import FIXTURES

NETPOL = shutil.which("netpol")
pytestmark = pytest.mark.skipif(NETPOL is None and not os.environ.get("CI"), reason="netpol is not installed on PATH")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """(exit code, standard output, what the terminal on standard error received)."""
    assert NETPOL is not None
    leader, follower = pty.openpty()
    child = subprocess.Popen([NETPOL, *args], stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL,
                             env={**os.environ, "TERM": "xterm", **(env or {})})
    os.close(follower)
    received: list[bytes] = []

    def drain() -> None:  # beside the pipe, so that neither fills up while the other is read
        while True:
            try:
                data = os.read(leader, 1 << 16)
            except OSError:  # the terminal's last writer is gone
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out = child.stdout.read() if child.stdout else b""
    code = child.wait(timeout=60)
    reader.join(timeout=60)
    os.close(leader)
    return code, out, b"".join(received)


def test_the_line_is_on_the_terminal_and_never_in_the_answer() -> None:
    args = ("matrix", "-f", str(FIXTURES / "limit"), "-o", "csv")
    code, out, terminal = run(*args)
    assert code == 0
    assert b"netpol: reading manifests" in terminal and b"netpol: compiling 3 pods and 1 policies" in terminal
    quiet = run(*args, env={"NETPOL_PROGRESS": "0"})
    assert quiet[1] == out and b"\x1b" not in out
    assert quiet[2] == b"netpol: assumption: a pod's traffic to itself ('self') is assumed allowed\r\n"
    assert run("--no-progress", *args)[2] == quiet[2] == run(*args, "--no-progress")[2]
