"""End to end: the installed `netpol` command, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.builders import FIXTURES

NETPOL = shutil.which("netpol")
# scripts/test installs it; in CI a missing command is a failure, not a skip.
pytestmark = pytest.mark.skipif(NETPOL is None and not os.environ.get("CI"), reason="netpol is not installed on PATH")


def netpol(*args: str) -> subprocess.CompletedProcess[str]:
    assert NETPOL is not None
    return subprocess.run([NETPOL, *args], capture_output=True, text=True, timeout=120, check=False)


def test_quick_start_question() -> None:
    r = netpol("can-reach", "default/test-2", "default/apiserver", "--port", "80", "-f", str(FIXTURES / "limit"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ALLOWED: default/test-2 -> default/apiserver TCP/80\n")


def test_exit_codes() -> None:
    assert netpol("can-reach", "test-1", "apiserver", "-p", "80", "-f", str(FIXTURES / "limit")).returncode == 1
    r = netpol("can-reach", "test-1", "apiserver", "-p", "80", "-f", "/nonexistent")
    assert r.returncode == 2
    assert r.stderr == "netpol: error: /nonexistent: no such file or directory\n"


def test_matrix_json_over_all_fixtures_dirs() -> None:
    r = netpol("matrix", "-f", str(FIXTURES / "multiple-selectors"), "-p", "6379", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert ["default/test-2", "default/db"] not in data["allowed"]
    assert ["default/test-1", "default/db"] in data["allowed"]


def test_usage_errors_are_one_line() -> None:
    r = netpol("matrix", "--bogus")
    assert r.returncode == 2
    assert r.stderr.startswith("netpol: error: No such option: --bogus")
    assert r.stderr.count("\n") == 1
    r = netpol("can-reach", "a", "b", "-f", str(FIXTURES / "limit"))
    assert r.returncode == 2
    assert r.stderr == "netpol: error: --port is required (or DST is a Service: svc/NAME:PORT)\n"


def test_graph_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "deny-all.png"
    r = netpol("graph", "-f", str(FIXTURES / "deny-all"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_check_and_diff(tmp_path) -> None:  # type: ignore[no-untyped-def]
    intents = sorted(str(p) for p in (FIXTURES.parent / "intents").glob("*.intent.yaml"))
    r = netpol("check", *intents, "--junit", str(tmp_path / "j.xml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.endswith("98 passed, 0 failed\n")
    assert (tmp_path / "j.xml").read_text().count("<testcase ") == 98
    r = netpol("diff", str(FIXTURES / "deny-all"), str(FIXTURES / "allow-all"), "-o", "json", "--input-only")
    assert r.returncode == 1 and json.loads(r.stdout)["gained"] == 10  # pairs of the input's pods
    r = netpol("diff", str(FIXTURES / "deny-all"), str(FIXTURES / "allow-all"), "-o", "json")
    assert r.returncode == 1 and (json.loads(r.stdout)["gained"], json.loads(r.stdout)["counts"]) == (5, "changes")


def test_a_reader_that_stops_early_ends_netpol_quietly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`netpol ... | head` ends with the command's own exit code (0 for a matrix), no traceback, no error line."""
    pods = "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n" + "".join(f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, labels: {{i: '{i}'}}}}\n"
                                                                                 f"spec: {{containers: [{{name: c}}]}}\n"
                   for i in range(150))
    (tmp_path / "pods.yaml").write_text(pods)
    assert NETPOL is not None
    reader = subprocess.Popen([NETPOL, "matrix", "-o", "csv", "-f", str(tmp_path / "pods.yaml")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # like `| head -c 10`
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 0
    assert "error" not in err


def test_lint_sarif_and_exit_codes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lint_data = FIXTURES.parent / "tests" / "data" / "lint"
    r = netpol("lint", "-f", str(lint_data), "-o", "sarif")
    assert r.returncode == 1, r.stderr
    log = json.loads(r.stdout)
    assert log["version"] == "2.1.0"
    assert [x["ruleId"] for x in log["runs"][0]["results"]] == ["NP103", "NP101", "NP104", "NP106", "NP110"]
    assert netpol("lint", str(lint_data), "--fail-on", "never").returncode == 0
    assert netpol("lint", "-f", str(FIXTURES / "deny-all")).returncode == 0


def test_policy_only_review() -> None:
    """The README's policy-only review: a diff that exits 1 with the change in the policies' terms."""
    repo = FIXTURES / "policy-only"
    r = netpol("diff", str(repo / "repo"), str(repo / "repo-head"))
    assert r.returncode == 1, r.stderr
    assert r.stdout == (repo / "expected" / "repo.diff.txt").read_text()
    r = netpol("exposure", "payments{app=db}", "-f", str(repo / "repo"), "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["exposure"][0]["target"] == "pods with app=db in namespace payments"


def test_cni_profiles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from tests.unit.test_dataplane import OBJECTS

    f = tmp_path / "shop.yaml"
    f.write_text(yaml.safe_dump_all(list(OBJECTS)))
    ask = ("can-reach", "shop/web", "shop/db", "-p", "80", "-f", str(f))
    assert [netpol(*ask, "--cni", cni).returncode for cni in ("generic", "cilium", "calico:3.31")] == [0, 1, 0]
    r = netpol(*ask, "--cni", "cilium:9")
    assert r.returncode == 2 and r.stderr == (
        "netpol: error: --cni 'cilium:9': netpol knows no release '9' of cilium; it knows 1.20\n")
    assert netpol("--version").stdout.splitlines()[1] == (
        "dataplane profiles (--cni): generic, cilium (1.20), calico (3.30, 3.31, 3.32)")
