"""End to end: `netpol replay` as installed, on a Hubble export and on CSV from standard input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.builders import FIXTURES

NETPOL = shutil.which("netpol")
pytestmark = pytest.mark.skipif(NETPOL is None and not os.environ.get("CI"), reason="netpol is not installed on PATH")
HUBBLE = Path(__file__).resolve().parent.parent / "data" / "flows" / "hubble.json"


def netpol(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert NETPOL is not None
    return subprocess.run([NETPOL, *args], capture_output=True, text=True, timeout=120, check=False, input=stdin)


def test_hubble_export_against_a_deny_all_change(tmp_path: Path) -> None:
    """The change under review adds a default-deny for egress in `default`: what Hubble saw flowing breaks."""
    (tmp_path / "deny.yaml").write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                        "metadata: {name: deny-out, namespace: default}\n"
                                        "spec: {podSelector: {}, policyTypes: [Egress]}\n")
    r = netpol("replay", str(HUBBLE), "-f", str(FIXTURES / "limit"), "-f", str(tmp_path), "-o", "json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    rows = [(c["source"], c["destination"], c["protocol"], c["port"], c["records"], c["observed"], c["predicted"],
             c["classification"]) for c in data["connections"]]
    assert rows == [
        ("default/front-5d9c7-x2x9z", "default/apiserver", "TCP", 80, [f"{HUBBLE}:7"], None, "denied", "break"),
        ("default/test-2", "93.184.215.14", "UDP", 443, [f"{HUBBLE}:6"], "allowed", "denied", "break"),
        ("default/test-2", "default/apiserver", "TCP", 80, [f"{HUBBLE}:1"], "allowed", "denied", "break"),
        ("default/test-1", "default/apiserver", "TCP", 80, [f"{HUBBLE}:4", f"{HUBBLE}:5"], "denied", "denied",
         "unchanged"),
    ]
    assert data["connections"][2]["decided_by"] == ["egress: isolated by default/deny-out; no rule allows TCP/80"]
    assert data["summary"]["skipped"] == {"not a flow (lost_events, node status, ...)": 1,
                                          "not an L3/L4 record (L7, ...)": 1, "reply": 1}


def test_csv_from_stdin_exit_codes() -> None:
    flows = "source,destination,protocol,port,verdict\ndefault/test-1,default/apiserver,TCP,80,allowed\n"
    r = netpol("replay", "-", "-f", str(FIXTURES / "limit"), stdin=flows)
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("WOULD BREAK: observed traffic these policies deny (1)\n"
                               "  default/test-1 -> default/apiserver TCP/80: 1 record(s); observed allowed\n")
    r = netpol("replay", "-", "-f", str(FIXTURES / "limit"), stdin="source,destination,protocol,port\nx,y,TCP,80\n")
    assert (r.returncode, r.stderr) == (2, "netpol: error: -: line 2: source: 'x' is not an IP address\n")


def test_closed_stdin_and_a_directory_are_input_errors(tmp_path: Path) -> None:
    assert NETPOL is not None
    r = subprocess.run([NETPOL, "replay", "-", "-f", str(FIXTURES / "limit")], capture_output=True, text=True,
                       timeout=120, check=False, stdin=subprocess.DEVNULL, close_fds=True)
    assert r.returncode == 0, r.stderr  # empty standard input: no connections
    r = subprocess.run(f"{NETPOL} replay - -f {FIXTURES / 'limit'} <&-", shell=True, capture_output=True, text=True,
                       timeout=120, check=False)
    assert (r.returncode, r.stderr) == (2, "netpol: error: -: standard input is closed\n")
    r = netpol("replay", str(tmp_path), "-f", str(FIXTURES / "limit"))
    assert (r.returncode, r.stderr) == (2, f"netpol: error: {tmp_path}: is a directory\n")
