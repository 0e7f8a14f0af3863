"""End to end on a terminal (a pseudo-terminal as standard output): `netpol list` refuses a list of more than
1,000,000 connections there unless --max-lines says otherwise; the same list to a pipe is written."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.test_listing import namespace_keys

NETPOL = shutil.which("netpol")
pytestmark = pytest.mark.skipif(NETPOL is None and not os.environ.get("CI"), reason="netpol is not installed on PATH")


def on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Exit code, what reached the terminal, and standard error."""
    assert NETPOL is not None
    main, other = pty.openpty()
    try:
        r = subprocess.run([NETPOL, *args], stdout=other, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
        shown = b""
        while select.select([main], [], [], 0.5)[0]:
            shown += os.read(main, 1 << 16)
    finally:
        os.close(other)
        os.close(main)
    return r.returncode, shown.decode(), r.stderr


def test_a_million_connections_are_refused_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump_all(namespace_keys(10)))  # 1,026 endpoints, 3 lines, 1,052,672 links
    code, shown, errors = on_a_terminal("list", "-f", str(path), "-o", "csv")
    assert (code, shown) == (2, "")
    assert errors.endswith("netpol: error: the list would write 1,052,672 connections (rows), more than --max-lines "
                           "1,000,000 (the default on a terminal): narrow it with --from X, --to X or -n NS, or raise "
                           "--max-lines (0: no limit)\n")
    code, shown, errors = on_a_terminal("list", "-f", str(path))  # the same connections folded: 3 lines
    assert code == 0 and len(shown.splitlines()) == 3 and "writing" not in errors
