"""Each input is read once: lint and report find their lines in the text the loader kept, so a FIFO, standard
input or `<(kubectl ...)` work as a file does (a second read of a FIFO waited for a writer forever)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.cli.test_exit_codes import EGRESS_IGNORED as POLICY

NETPOL = shutil.which("netpol")
EGRESS_IGNORED = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n" + POLICY
FINDING = (":11:11: error NP101 [egress-rules-ignored] NetworkPolicy shop/e: policyTypes is [Ingress], so its 1 "
           "egress rule is ignored\n")


def test_standard_input_gets_lines_too() -> None:
    r = CliRunner().invoke(app, ["lint", "-f", "-"], input=EGRESS_IGNORED)
    assert r.exit_code == 1
    assert r.stdout.startswith("<stdin>" + FINDING)


@pytest.mark.skipif(NETPOL is None, reason="netpol is not installed on PATH")
@pytest.mark.parametrize("command", [["lint"], ["report", "-o", "{dir}/r.html"]])
def test_a_fifo_is_read_once(tmp_path: Path, command: list[str]) -> None:
    assert NETPOL is not None
    fifo = tmp_path / "policies.yaml"
    os.mkfifo(fifo)

    def write_once() -> None:
        with open(fifo, "w") as pipe:  # waits for netpol to open it; a second open would wait forever
            pipe.write(EGRESS_IGNORED)

    writer = threading.Thread(target=write_once, daemon=True)
    writer.start()
    argv = [NETPOL, *(a.format(dir=tmp_path) for a in command), "-f", str(fifo)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    writer.join(timeout=5)
    if command == ["lint"]:
        assert (r.returncode, r.stdout.splitlines()[0] + "\n") == (1, str(fifo) + FINDING)
    else:
        assert r.returncode == 0, r.stderr
        assert f"{fifo}:11<" in (tmp_path / "r.html").read_text()
