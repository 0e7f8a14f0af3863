"""netpol check on real repositories: directories, one bad file among good ones, safe JUnit and paths."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES

runner = CliRunner()
INTENTS = FIXTURES.parent / "intents"
GOOD = """apiVersion: netpol/v1
kind: NetworkPolicyIntent
metadata: {{name: {name}}}
manifests: [{manifests}]
expectations:
- name: {expectation}
  from: default/test-2
  to: default/apiserver
  port: 80
  expect: allow
"""


def intent(path: Path, manifests: str, name: str = "t", expectation: str = "test-2 reaches the API") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD.format(name=name, manifests=manifests, expectation=expectation))
    return path


def test_a_directory_of_intent_files() -> None:
    r = runner.invoke(app, ["check", str(INTENTS)])
    assert r.exit_code == 0, r.stdout
    assert r.stdout.endswith("98 passed, 0 failed\n")


def test_one_invalid_file_is_reported_and_the_others_run(tmp_path: Path) -> None:
    limit = str(FIXTURES / "limit")
    good = intent(tmp_path / "a.intent.yaml", limit)
    (tmp_path / "b.intent.yaml").write_text("apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nexpectations: 3\n")
    late = intent(tmp_path / "c.intent.yaml", limit, name="c")
    r = runner.invoke(app, ["check", str(tmp_path), "--allow-outside-repo", "--junit", str(tmp_path / "j.xml")])
    assert r.exit_code == 2  # an invalid intent file fails the gate, but not silently and not alone
    assert r.stdout == (
        "PASS t: test-2 reaches the API (1 pair)\n"
        "PASS c: test-2 reaches the API (1 pair)\n"
        f"ERROR {tmp_path / 'b.intent.yaml'}\n"
        f"  {tmp_path / 'b.intent.yaml'}: line 1: expectations: must be a list, not an integer\n"
        "2 passed, 0 failed, 1 errors\n")
    suites = ET.parse(tmp_path / "j.xml").getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("3", "0", "1")
    assert {s.get("file") for s in suites} == {str(good), str(late), str(tmp_path / "b.intent.yaml")}


def test_junit_is_well_formed_whatever_the_names_hold(tmp_path: Path) -> None:
    path = intent(tmp_path / "x.intent.yaml", str(FIXTURES / "deny-all"),
                  expectation='"bell\\x07 & <tag> \\"q\\" \\x1b[31m"')  # YAML escapes: BEL and ESC
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo", "--junit", str(tmp_path / "j.xml")])
    assert r.exit_code == 2  # deny-all has no apiserver: an error outcome, still in the XML
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    assert case is not None and case.get("name") == 'bell\\x07 & <tag> "q" \\x1b[31m'
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout  # nor raw on the terminal
    assert "bell\\x07" in r.stdout


def test_manifests_stay_inside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    outside = intent(repo / "intents" / "a.intent.yaml", str(FIXTURES / "limit"))
    r = runner.invoke(app, ["check", str(outside), "-o", "json"])
    assert r.exit_code == 2
    assert json.loads(r.stdout)["file_errors"] == [{
        "file": str(outside),
        "error": f"{outside}: line 1: manifests[0]: {FIXTURES / 'limit'} is outside the repository ({repo}); "
                 "pass --allow-outside-repo to read it"}]
    r = runner.invoke(app, ["check", str(outside), "--allow-outside-repo"])
    assert r.exit_code == 0
    (repo / "k8s").symlink_to(FIXTURES / "limit")  # a symlink out of the repository is outside too
    inside_by_name = intent(repo / "intents" / "b.intent.yaml", "../k8s")
    assert runner.invoke(app, ["check", str(inside_by_name)]).exit_code == 2


def test_a_newline_in_a_name_cannot_start_a_line(tmp_path: Path) -> None:
    """A GitHub workflow command needs a line of its own: names from the input never end one."""
    folder = tmp_path / "x\n::error file=README.md::forged"
    path = intent(folder / "a.intent.yaml", str(FIXTURES / "limit"),
                  name='"n\\n::warning::n"', expectation='"e\\n::error::e\\u2028f"')
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo"])
    assert r.exit_code == 0, r.stdout
    assert r.stdout == "PASS n\\n::warning::n: e\\n::error::e\\u2028f (1 pair)\n1 passed, 0 failed\n"
