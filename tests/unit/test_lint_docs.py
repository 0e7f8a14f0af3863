"""docs/lint.md stays true: one section per rule, each example fires its rule, the sample output is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol import load_manifests
from netpol.analyses.lint import RULES, lint
from netpol.cli import app
from netpol.policies import profiles

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "lint.md").read_text()
SECTIONS = dict(re.findall(r"^### (NP\d{3}) [a-z-]+\n(.*?)(?=^### |\Z)", DOC, re.S | re.M))


def test_one_section_per_rule_in_catalogue_order() -> None:
    headings = re.findall(r"^### (NP\d{3}) ([a-z-]+)$", DOC, re.M)
    assert headings == [(r.id, r.name) for r in RULES.values()]
    for rule in RULES.values():  # the SARIF helpUri anchors are GitHub's ids for these headings
        assert rule.help_uri.endswith(f"#{rule.id.lower()}-{rule.name}")
        assert f"**{rule.severity}, {rule.scope} check" in SECTIONS[rule.id]


@pytest.mark.parametrize("rule_id", list(RULES))
def test_the_example_fires_its_rule(rule_id: str, tmp_path: Path) -> None:
    (example,) = re.findall(r"```yaml\n(.*?)```", SECTIONS[rule_id], re.S)
    path = tmp_path / "example.yaml"
    path.write_text(example)
    loaded = load_manifests([str(path)])
    for family in ("cilium", "calico"):  # read under the profile that evaluates the family's kinds
        if RULES[rule_id].name.startswith(f"{family}-"):
            loaded = profiles.apply(loaded, family)
    fired = {f.rule.id for f in lint(loaded.cluster, unmodelled=loaded.unmodelled).active}
    assert rule_id in fired


def test_the_sample_output_is_what_netpol_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    sample = re.search(r"\$ netpol lint -f tests/data/lint\n(.*?)\$ echo \$\?\n(\d)\n", DOC, re.S)
    assert sample is not None
    r = CliRunner().invoke(app, ["lint", "-f", "tests/data/lint"])
    assert (r.stdout, str(r.exit_code)) == (sample.group(1), sample.group(2))
