"""The GitHub Action (action.yml): its structure, its scripts (bash -n, shellcheck, and run as a runner
runs them, on fixtures, with the installed netpol), and docs/ci.md's example workflows (actionlint).

A composite action's steps are not a workflow, so actionlint checks them through the examples: each is
written into a throw-away repository beside a copy of action.yml, with `uses: ./` for the published
action, so actionlint also checks every `with:` against the action's inputs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION_TEXT = (ROOT / "action.yml").read_text(encoding="utf-8")
ACTION: dict[str, Any] = yaml.safe_load(ACTION_TEXT)
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
SCRIPTS = {s["name"]: s["run"] for s in STEPS if "run" in s}
PUBLISHED = "netpol/netpol@v0.1.0"  # how docs/ci.md names the action
RUNNER_VARIABLES = {"RUNNER_TEMP", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_SERVER_URL"}


def test_the_action_declares_what_it_uses_and_uses_what_it_declares() -> None:
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    code = "\n".join(line for line in ACTION_TEXT.splitlines() if not line.lstrip().startswith("#"))
    assert set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", code)) == set(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        assert spec["description"], name
        assert spec.get("required", False) != ("default" in spec), name  # required, or a default
    ids = {s["id"] for s in STEPS if "id" in s}
    for name, spec in ACTION["outputs"].items():
        m = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert m is not None and m[1] in ids, name
        writer = next(s for s in STEPS if s.get("id") == m[1])
        assert f'echo "{m[2]}=' in writer["run"], name  # the step writes that output


def test_every_step_is_named_pinned_and_takes_inputs_only_through_env() -> None:
    for step in STEPS:
        assert step["name"]
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w/-]+@v\d+", step["uses"]), step["uses"]
            continue
        assert step["shell"] == "bash", step["name"]
        assert "${{" not in step["run"], step["name"]  # script injection: expressions go through env
        used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", step["run"]))
        assert used <= set(step.get("env", {})) | RUNNER_VARIABLES, (step["name"], used)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_scripts_parse_and_pass_shellcheck(name: str, tmp_path: Path) -> None:
    script = tmp_path / "step.sh"
    script.write_text(SCRIPTS[name])
    r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is required in CI (./scripts/test installs Debian's)")
        pytest.skip("shellcheck is not installed (apt-get install shellcheck; ./scripts/test installs it)")
    r = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def actionlint() -> list[str]:
    if (ROOT / ".tools/bin/actionlint").exists() or shutil.which("go"):
        return [str(ROOT / "scripts/actionlint")]  # builds the pinned version once
    if shutil.which("actionlint"):
        return ["actionlint"]
    pytest.skip("go is not installed, so actionlint cannot be built from the Go module proxy "
                "(./scripts/test builds it into .tools/bin when go is present)")


def workflows(tmp_path: Path, blocks: list[str]) -> Path:
    """A throw-away repository: a copy of action.yml and each block as a workflow using it as `./`."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for i, block in enumerate(blocks):
        (folder / f"example-{i}.yml").write_text(block.replace(PUBLISHED, "./"))
    return tmp_path


def doc_workflows() -> list[str]:
    text = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
    return [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "\njobs:" in b]


def test_the_documented_workflows_pass_actionlint(tmp_path: Path) -> None:
    blocks = doc_workflows()
    assert len(blocks) == 3 and all(PUBLISHED in b for b in blocks)  # lint, check, diff
    assert "security-events: write" in blocks[0] and "--junit" in blocks[1] and "base.sha" in blocks[2]
    command = actionlint()
    r = subprocess.run([*command, "-no-color"], cwd=workflows(tmp_path, blocks), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_actionlint_catches_an_input_the_action_does_not_declare(tmp_path: Path) -> None:
    """The check above is a real one: a misspelt input and a missing required one are caught."""
    block = re.sub(r"^ *command: lint\n", "", doc_workflows()[0].replace("fail-on:", "fail_on:"), flags=re.M)
    command = actionlint()
    r = subprocess.run([*command, "-no-color"], cwd=workflows(tmp_path, [block]), capture_output=True, text=True)
    assert r.returncode == 1
    assert 'input "fail_on" is not defined in action' in r.stdout
    assert 'missing input "command"' in r.stdout


# -- the scripts, run as a runner runs them ----------------------------------------------------------

NETPOL = shutil.which("netpol")


class Runner:
    """The runner's side of a step: its files (GITHUB_OUTPUT, the job summary) and `bash -eo pipefail`."""

    def __init__(self, tmp_path: Path) -> None:
        self.temp = tmp_path / "runner-temp"
        self.temp.mkdir()
        self.summary = tmp_path / "summary.md"
        self.summary.touch()
        self.tmp = tmp_path

    def step(self, name: str, env: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        """Exit code, log (stdout and stderr) and outputs of one step."""
        output = self.tmp / f"output-{len(list(self.tmp.glob('output-*')))}"
        output.touch()
        script = self.tmp / "step.sh"
        script.write_text(SCRIPTS[name])
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=ROOT,
                           env={**base, "RUNNER_TEMP": str(self.temp), "GITHUB_OUTPUT": str(output),
                                "GITHUB_STEP_SUMMARY": str(self.summary), **env},
                           capture_output=True, text=True, timeout=300)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
        return r.returncode, r.stdout + r.stderr, outputs

    def run(self, command: str, args: str, **inputs: str) -> tuple[str, dict[str, str], int, str]:
        """The Run step then the Exit step, as the action wires them: (Run's log, Run's outputs, the
        action's exit code, Exit's log)."""
        assert NETPOL is not None
        env = {"NETPOL": NETPOL, "NETPOL_COMMAND": command, "NETPOL_ARGS": args,
               "NETPOL_FAIL_ON": inputs.get("fail_on", ""), "NETPOL_SARIF": inputs.get("sarif", ""),
               "NETPOL_STEP_SUMMARY": inputs.get("summary", "true")}
        code, log, outputs = self.step("Run netpol", env)
        assert code == 0, log  # the Run step always ends well, so that the SARIF upload can follow
        exit_code, exit_log, _ = self.step("Exit as netpol did", {
            "CODE": outputs.get("exit-code", ""), "NETPOL_COMMAND": command,
            "NETPOL_FAIL_ON": inputs.get("fail_on", "")})
        return log, outputs, exit_code, exit_log


pytestmark_netpol = pytest.mark.skipif(NETPOL is None, reason="netpol is not installed (.venv/bin first on PATH)")


@pytestmark_netpol
def test_lint_writes_sarif_prints_findings_and_exits_as_netpol(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    sarif = tmp_path / "out dir" / "netpol.sarif"
    sarif.parent.mkdir()
    log, outputs, code, exit_log = runner.run("lint", "-f fixtures/allow-all", sarif=str(sarif))
    assert (outputs["exit-code"], outputs["sarif-file"], code) == ("1", str(sarif), 1)
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert results and all(r["ruleId"].startswith("NP") for r in results)
    assert f"netpol lint: {len(results)} finding(s), written to {sarif}" in log
    assert exit_log.startswith("::error title=netpol lint::findings at or above the fail-on severity (exit 1)")
    log, outputs, code, _ = runner.run("lint", "-f fixtures/allow-all", sarif=str(sarif), fail_on="never")
    assert (outputs["exit-code"], code) == ("0", 0)
    log, outputs, code, _ = runner.run("lint", "-f fixtures/allow-all")  # no SARIF: lint's text
    assert (outputs["exit-code"], code, "sarif-file" in outputs) == ("1", 1, False)
    assert "NP109" in log


@pytestmark_netpol
def test_netpol_output_cannot_issue_workflow_commands(tmp_path: Path) -> None:
    log, _, _, _ = Runner(tmp_path).run("lint", "-f fixtures/allow-all")
    token = re.search(r"^::stop-commands::([0-9a-f]{32})$", log, re.M)
    assert token is not None
    start, end = log.index(token[0]), log.index(f"::{token[1]}::")
    assert start < log.index("NP109") < end


@pytestmark_netpol
def test_check_takes_quoted_arguments_and_writes_junit(tmp_path: Path) -> None:
    junit = tmp_path / "a b" / "netpol junit.xml"
    junit.parent.mkdir()
    log, outputs, code, _ = Runner(tmp_path).run("check", f"intents/limit.intent.yaml --junit '{junit}'")
    assert (outputs["exit-code"], code) == ("0", 0), log
    assert junit.read_text().startswith("<?xml")


@pytestmark_netpol
def test_diff_goes_to_the_job_summary_and_fail_on_never_keeps_the_step_green(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    log, outputs, code, exit_log = runner.run("diff", "fixtures/deny-all fixtures/allow-all")
    markdown = Path(outputs["markdown-file"]).read_text()
    assert (outputs["exit-code"], code) == ("1", 1)
    assert markdown and markdown in log and runner.summary.read_text() == markdown
    assert exit_log.startswith("::error title=netpol diff::reachability changed between BASE and HEAD (exit 1)")
    _, outputs, code, exit_log = runner.run("diff", "fixtures/deny-all fixtures/allow-all", fail_on="never",
                                            summary="false")
    assert (outputs["exit-code"], code) == ("1", 0)
    assert exit_log.startswith("::notice title=netpol diff::reachability changed")
    assert runner.summary.read_text() == markdown  # not appended again
    _, outputs, code, _ = runner.run("diff", "fixtures/limit fixtures/limit")
    assert (outputs["exit-code"], code) == ("0", 0)


@pytestmark_netpol
@pytest.mark.parametrize("args", ['fixtures/limit "$(touch pwned)"', "fixtures/limit ; touch pwned",
                                  "fixtures/limit `touch pwned` | touch pwned"])
def test_arguments_are_words_never_shell_code(tmp_path: Path, args: str) -> None:
    """Metacharacters in `args` reach netpol as text: nothing runs, and netpol refuses the odd words as
    paths (exit 2, with the annotation that says it is an input error, not a verdict)."""
    runner = Runner(tmp_path)
    log, outputs, code, exit_log = runner.run("diff", args)
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()
    assert (outputs["exit-code"], code) == ("2", 2), log
    assert exit_log.startswith("::error title=netpol (exit 2)::a usage, input or environment error")
    assert runner.summary.read_text() == "" and "markdown-file" not in outputs


@pytestmark_netpol
@pytest.mark.parametrize(("command", "args", "fail_on", "message"), [
    ("apply", "-f k8s", "", "input command must be lint, check or diff"),
    ("lint", "-f 'k8s", "", "input args could not be split into words (an unclosed quote?)"),
    ("diff", "a b", "warning", "input fail-on must be error, warning, info or never for lint; never or empty "
                               "for check and diff"),
])
def test_bad_inputs_are_input_errors(tmp_path: Path, command: str, args: str, fail_on: str, message: str) -> None:
    log, outputs, code, exit_log = Runner(tmp_path).run(command, args, fail_on=fail_on)
    assert log == f"::error title=netpol action::{message}\n"
    assert (outputs, code) == ({"exit-code": "2"}, 2)
    assert exit_log.startswith("::error title=netpol (exit 2)::")


@pytest.mark.parametrize(("code", "command", "fail_on", "exit_code", "annotation"), [
    ("0", "check", "", 0, ""),
    ("1", "check", "", 1, "::error title=netpol check::an intent expectation failed (exit 1)"),
    ("1", "check", "never", 0, "::notice title=netpol check::an intent expectation failed (exit 1)"),
    ("1", "lint", "never", 1, "::error title=netpol lint::findings at or above"),
    ("3", "diff", "never", 3, "::error title=netpol (exit 3)::an internal error in netpol, not a verdict"),
    ("", "diff", "", 2, "::error title=netpol action::netpol did not report an exit code"),
])
def test_the_action_exits_with_netpols_code(tmp_path: Path, code: str, command: str, fail_on: str, exit_code: int,
                                            annotation: str) -> None:
    got, log, _ = Runner(tmp_path).step("Exit as netpol did", {"CODE": code, "NETPOL_COMMAND": command,
                                                               "NETPOL_FAIL_ON": fail_on})
    assert got == exit_code and log.startswith(annotation)


@pytest.mark.parametrize(("version", "repository", "message"), [
    ("v1; touch pwned", "netpol/netpol", "input version must be a git ref"),
    ("v1", "", "input version needs the action used from its repository"),
])
def test_install_refuses_a_version_it_cannot_use(tmp_path: Path, version: str, repository: str, message: str) -> None:
    code, log, _ = Runner(tmp_path).step("Install netpol", {
        "ACTION_PATH": str(ROOT), "ACTION_REPOSITORY": repository, "NETPOL_VERSION": version,
        "GITHUB_SERVER_URL": "https://github.com"})
    assert code == 2 and log.startswith(f"::error title=netpol action::{message}")
    assert not (tmp_path / "runner-temp" / "netpol-action-venv").exists()
