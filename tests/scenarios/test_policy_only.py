"""Policy-only inputs (fixtures/policy-only, and every course scenario's policies without its pods): the
complete exposure, list and diff outputs, byte for byte. NETPOL_REGENERATE=1 rewrites the expected files
after a deliberate change; review them as you would code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import POLICY_ONLY, scenario_dirs

EXPECTED = POLICY_ONLY / "expected"
REPO, HEAD = POLICY_ONLY / "repo", POLICY_ONLY / "repo-head"

CASES: dict[str, tuple[list[str], int]] = {
    **{f"{d.name}.exposure.txt": (["exposure", "-f", str(d / "policies.yaml")], 0) for d in scenario_dirs()},
    "repo.exposure.txt": (["exposure", "-f", str(REPO)], 0),
    "repo.exposure.json": (["exposure", "-f", str(REPO), "-o", "json"], 0),
    "repo.exposure-db.md": (["exposure", "payments{app=db}", "-f", str(REPO), "-o", "md"], 0),
    "repo.list.txt": (["list", "-f", str(REPO)], 0),
    "repo.list.md": (["list", "-f", str(REPO), "-o", "md"], 0),
    "repo.list.csv": (["list", "-f", str(REPO), "-o", "csv"], 0),
    "repo.list-to-db.txt": (["list", "-f", str(REPO), "--to", "payments{app=db}"], 0),
    "repo.diff.txt": (["diff", str(REPO), str(HEAD)], 1),
    "repo.diff.md": (["diff", str(REPO), str(HEAD), "-o", "md"], 1),
    "repo.diff.json": (["diff", str(REPO), str(HEAD), "-o", "json"], 1),
    "course-deny-all-to-allow-all.diff.txt": (
        ["diff", str(POLICY_ONLY.parent / "deny-all" / "policies.yaml"),
         str(POLICY_ONLY.parent / "allow-all" / "policies.yaml")], 1),
}


def _relative(text: str) -> str:
    return text.replace(str(POLICY_ONLY.parent.parent) + "/", "")


@pytest.mark.parametrize("name", sorted(CASES))
def test_policy_only_output(name: str) -> None:
    args, code = CASES[name]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == code, r.stderr
    path = EXPECTED / name
    if os.environ.get("NETPOL_REGENERATE"):
        path.write_text(_relative(r.stdout))
    assert _relative(r.stdout) == path.read_text()


def test_every_expected_file_is_checked() -> None:
    assert sorted(p.name for p in EXPECTED.iterdir()) == sorted(CASES)


def test_the_same_repository_is_no_change(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["diff", str(REPO), str(REPO)])
    assert (r.exit_code, r.stdout) == (0, "no reachability change\n")
