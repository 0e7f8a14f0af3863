"""netpol replay through typer's runner: outputs, --fail-on and exit codes, input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES

runner = CliRunner()
HUBBLE = str(Path(__file__).resolve().parent.parent / "data" / "flows" / "hubble.json")
LIMIT = str(FIXTURES / "limit")
# test-1 is denied to the apiserver by default/api-allow; test-2 is allowed
FLOWS = ("source,destination,protocol,port,verdict,time\n"
         "default/test-1,default/apiserver,TCP,80,allowed,2026-12-01T10:00:00Z\n"
         "default/test-1,10.244.2.10,tcp,80,,2026-12-01T10:00:09Z\n"
         "default/test-2,default/apiserver,TCP,80,denied,\n"
         "default/test-2,default/apiserver,TCP,80,allowed,\n")


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["replay", *args], input=stdin)


def test_text_break_first_exit_1() -> None:
    r = run("-", "-f", LIMIT, stdin=FLOWS)
    assert r.exit_code == 1
    assert r.stdout == (
        "WOULD BREAK: observed traffic these policies deny (1)\n"
        "  default/test-1 -> default/apiserver TCP/80: 2 record(s), 2026-12-01T10:00:00Z .. 2026-12-01T10:00:09Z; "
        "observed allowed\n"
        "    decided by ingress: isolated by default/api-allow; no rule allows TCP/80\n"
        "    observed passing, but these policies deny it: applying them breaks this traffic (if they are applied "
        "already, the plugin does not enforce them as written)\n"
        "MISMATCH: observed denied, but these policies allow it (1)\n"
        "  default/test-2 -> default/apiserver TCP/80: 2 record(s); observed denied\n"
        "    decided by egress: not isolated\n"
        "    decided by ingress: default/api-allow ingress[0]\n"
        "    observed denied, but these policies allow it: the plugin enforces something the input does not hold "
        "(plugin-specific policies, a host firewall, policies changed since), or the input opens what was closed\n"
        "0 connection(s) unchanged; 2 connection(s) from 4 record(s)\n"
    )


@pytest.mark.parametrize(("fail_on", "code"), [("break", 1), ("mismatch", 1), ("never", 0)])
def test_fail_on(fail_on: str, code: int) -> None:
    assert run("-", "-f", LIMIT, "--fail-on", fail_on, stdin=FLOWS).exit_code == code


def test_fail_on_mismatch_alone() -> None:
    mismatch_only = "source,destination,protocol,port,verdict\ndefault/test-2,default/apiserver,TCP,80,denied\n"
    assert run("-", "-f", LIMIT, stdin=mismatch_only).exit_code == 0
    assert run("-", "-f", LIMIT, "--fail-on", "mismatch", stdin=mismatch_only).exit_code == 1


def test_json_contract() -> None:
    r = run("-", "-f", LIMIT, "-o", "json", stdin=FLOWS)
    data = json.loads(r.stdout)
    first = data["connections"][0]
    assert {k: first[k] for k in ("source", "destination", "protocol", "port", "records", "observed", "predicted",
                                  "classification", "decided_by")} == {
        "source": "default/test-1", "destination": "default/apiserver", "protocol": "TCP", "port": 80,
        "records": ["-:2", "-:3"], "observed": "allowed", "predicted": "denied", "classification": "break",
        "decided_by": ["ingress: isolated by default/api-allow; no rule allows TCP/80"]}
    assert data["summary"] == {"connections": 2, "records": 4, "break": 1, "mismatch": 1, "unknown": 0,
                               "unmatched": 0, "unchanged": 0, "policy_mismatch": 0, "skipped": {}, "invalid": 0}


def test_csv_one_row_per_connection() -> None:
    r = run("-", "-f", LIMIT, "-o", "csv", "--fail-on", "never", stdin=FLOWS)
    assert r.exit_code == 0
    assert r.stdout.splitlines()[1] == (
        "default/test-1,default/apiserver,TCP,80,2,2026-12-01T10:00:00Z,2026-12-01T10:00:09Z,allowed,denied,break,"
        "ingress: isolated by default/api-allow; no rule allows TCP/80,\"observed passing, but these policies deny "
        "it: applying them breaks this traffic (if they are applied already, the plugin does not enforce them as "
        "written)\",,,")
    assert len(r.stdout.splitlines()) == 3


def test_markdown() -> None:
    r = run("-", "-f", LIMIT, "-o", "md", stdin=FLOWS)
    assert "| `default/test-1` | `default/apiserver` | TCP/80 | 2 | 2026-12-01T10:00:00Z .. 2026-12-01T10:00:09Z | " \
           "allowed | ingress: isolated by default/api-allow; no rule allows TCP/80<br>" in r.stdout


def test_hubble_file_skips_are_reported() -> None:
    r = run(HUBBLE, "-f", LIMIT)
    assert r.exit_code == 0
    assert r.stdout.splitlines()[:4] == [
        "4 connection(s) unchanged; 4 connection(s) from 5 record(s)",
        "1 line(s) skipped: not a flow (lost_events, node status, ...)",
        "1 line(s) skipped: not an L3/L4 record (L7, ...)",
        "1 line(s) skipped: reply",
    ]


def test_malformed_line_exit_2_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "flows.csv"
    bad.write_text("source,destination,protocol,port\ndefault/test-1,default/apiserver,TCP,eighty\n")
    r = run(str(bad), "-f", LIMIT)
    assert r.exit_code == 2
    assert r.stderr == f"netpol: error: {bad}: line 2: port: 'eighty' is not a port number (1-65535)\n"
    r = run(str(bad), "-f", LIMIT, "--skip-invalid")
    assert r.exit_code == 0
    assert "1 invalid line(s) skipped (--skip-invalid)\n" in r.stdout


def test_missing_file_and_stdin_twice() -> None:
    r = run("/nonexistent/flows.json", "-f", LIMIT)
    assert (r.exit_code, r.stderr) == (2, "netpol: error: /nonexistent/flows.json: no such file or directory\n")
    r = run("-", "-", "-f", LIMIT, stdin="")
    assert r.exit_code == 2
    assert r.stderr == "netpol: error: standard input ('-') can be read once: give it to one of FLOWS, -f or --base\n"


def test_kube_network_policies_log() -> None:
    """The klog sample: test-1 -> apiserver dropped (netpol agrees), test-2 -> an outside address accepted."""
    knp = str(Path(HUBBLE).with_name("knp.log"))
    r = run(knp, "-f", LIMIT, "-o", "json")
    assert r.exit_code == 0, r.stderr
    rows = [(c["source"], c["destination"], c["records"], c["observed"], c["predicted"], c["classification"])
            for c in json.loads(r.stdout)["connections"]]
    assert rows == [
        ("default/test-1", "default/apiserver", [f"{knp}:2", f"{knp}:7", f"{knp}:8"], "denied", "denied", "unchanged"),
        ("default/test-2", "172.66.147.243", [f"{knp}:9", f"{knp}:12"], "allowed", "allowed", "unchanged"),
    ]


def test_base_and_head_say_what_the_change_does(tmp_path: Path) -> None:
    """The head version adds an egress default-deny: test-2's observed traffic to the apiserver is newly denied."""
    head = tmp_path / "head"
    head.mkdir()
    (head / "cluster.yaml").write_text((FIXTURES / "limit" / "cluster.yaml").read_text())
    (head / "deny.yaml").write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-out, "
                                    "namespace: default}\nspec: {podSelector: {}, policyTypes: [Egress]}\n")
    flows = "source,destination,protocol,port,verdict\ndefault/test-2,default/apiserver,TCP,80,allowed\n"
    r = run("-", "--base", str(FIXTURES / "limit" / "cluster.yaml"), "--head", str(head), "-o", "json", stdin=flows)
    assert r.exit_code == 1, r.stderr
    (conn,) = json.loads(r.stdout)["connections"]
    assert (conn["base_predicted"], conn["predicted"], conn["change"], conn["classification"]) == (
        "allowed", "denied", "newly denied", "break")
    text = run("-", "--base", str(FIXTURES / "limit" / "cluster.yaml"), "--head", str(head), stdin=flows).stdout
    assert text.startswith("THE CHANGE DENIES observed traffic the base version allows (1)\n"
                           "  default/test-2 -> default/apiserver TCP/80: 1 record(s); observed allowed\n"
                           "WOULD BREAK: observed traffic these policies deny (1)\n")
    r = run("-", "--head", str(head), stdin=flows)
    assert (r.exit_code, r.stderr) == (2, "netpol: error: --head names the version after a change: give the version "
                                          "before it with --base\n")


def test_progress_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records read, connections and rate on stderr when it is a terminal; nothing in piped output."""
    import re

    from netpol.cli import progress_line

    monkeypatch.setattr("netpol.sources.flows.PROGRESS_EVERY", 2)
    monkeypatch.delenv("NETPOL_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    r = run("-", "-f", LIMIT, stdin=FLOWS)  # the runner's stderr is no terminal
    assert "records" not in r.stderr
    monkeypatch.setattr(progress_line, "_stderr_is_terminal", lambda: True)
    r = run("-", "-f", LIMIT, stdin=FLOWS)
    assert r.exit_code == 1
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.stderr)
    assert "netpol: replaying -: 5 lines, 4 records, 2 connections, " in shown and " lines/s" in shown
