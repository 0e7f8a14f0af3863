"""Objects that enforce traffic and that netpol does not evaluate are never ignored in silence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from netpol.cli import app
from netpol.sources.unmodelled import CATALOGUE
from tests.builders import FIXTURES

runner = CliRunner()

OBJECTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
     "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}, "status": {"podIP": "10.0.0.1"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "db"}},
     "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 5432}]}]}, "status": {"podIP": "10.0.0.2"}},
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "db-only-api",
                                                                              "namespace": "shop"},
     "spec": {"endpointSelector": {"matchLabels": {"app": "db"}},
              "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "api"}}]}]}},
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["world"]}]}},
    {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "deny",
                                                                                      "namespace": "shop"},
     "spec": {"action": "DENY"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}},
]
CILIUM = "2 CiliumNetworkPolicy (cilium.io/v2): shop/db-only-api, shop/web, not evaluated by netpol"
ISTIO = "1 AuthorizationPolicy (security.istio.io/v1): shop/deny, not evaluated by netpol"
ASSUMED = [f"ignored (--ignore-unmodelled): {ISTIO}; they may allow or deny this traffic"]
# The CiliumNetworkPolicies make the input Cilium's (netpol/policies/profiles.py), which evaluates them (issue 25):
# only the Istio policy is not evaluated.
REFUSAL = (f"netpol: error: the answer cannot see everything that allows or denies traffic here: {ISTIO}. "
           "netpol does not answer as if they were absent; pass --ignore-unmodelled to answer without them (every "
           "answer then says what it ignored), or remove them from the input\n")
# Under another profile Cilium's kinds are not evaluated: named and refused like any other.
GENERIC_REFUSAL = (f"netpol: error: the answer cannot see everything that allows or denies traffic here: {ISTIO}; "
                   f"{CILIUM}. netpol does not answer as if they were absent; pass --ignore-unmodelled to answer "
                   "without them (every answer then says what it ignored), or remove them from the input\n")


@pytest.fixture
def manifests(tmp_path: Path) -> str:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all(OBJECTS))
    return str(path)


def intent(tmp_path: Path, manifests: str) -> str:
    path = tmp_path / "shop.intent.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "netpol/v1", "kind": "NetworkPolicyIntent", "manifests": [manifests],
                                    "expectations": [{"name": "web reaches db", "from": "shop/web", "to": "shop/db",
                                                      "port": 5432, "expect": "allow"}]}))
    return str(path)


COMMANDS = {
    "can-reach": ["can-reach", "shop/web", "shop/db", "-p", "5432", "-f", "{m}"],
    "matrix": ["matrix", "-f", "{m}"],
    "list": ["list", "-f", "{m}"],
    "exposure": ["exposure", "-f", "{m}"],
    "graph": ["graph", "-f", "{m}"],
    "check": ["check", "{i}", "--allow-outside-repo"],
    "diff": ["diff", "{m}", "{m}"],
    "report": ["report", "-f", "{m}", "-o", "{t}/r.html"],
    "lint": ["lint", "-f", "{m}"],
}


def argv(command: str, tmp_path: Path, manifests: str) -> list[str]:
    values = {"m": manifests, "t": str(tmp_path), "i": intent(tmp_path, manifests) if command == "check" else ""}
    return [a.format(**values) for a in COMMANDS[command]]


@pytest.mark.parametrize("command", COMMANDS)
def test_commands_that_state_reachability_refuse(command: str, tmp_path: Path, manifests: str) -> None:
    r = runner.invoke(app, argv(command, tmp_path, manifests))
    assert r.exit_code == 2
    if command == "check":  # one error per intent file, in the report
        assert REFUSAL.removeprefix("netpol: error: ").strip() in r.stdout
    else:
        assert r.stderr.endswith(REFUSAL) and r.stdout == ""
    # a ConfigMap is counted apart, not among what the answer cannot see
    assert "netpol: ignored 1 object(s) of other kinds: ConfigMap (v1) x1 (--verbose lists them)" in r.stderr
    assert "ConfigMap" not in (r.stdout if command == "check" else r.stderr.splitlines()[-1])


@pytest.mark.parametrize("command", COMMANDS)
def test_ignore_unmodelled_answers_and_names_them(command: str, tmp_path: Path, manifests: str) -> None:
    r = runner.invoke(app, [*argv(command, tmp_path, manifests), "--ignore-unmodelled"])
    assert r.exit_code in (0, 1), r.stderr + r.stdout
    warned = [line.removeprefix("netpol: warning: ") for line in r.stderr.splitlines()
              if line.startswith("netpol: warning: ignored")]
    assert warned == ASSUMED * (2 if command == "diff" else 1)
    assert "netpol: ignored 1 object(s) of other kinds: ConfigMap (v1) x1 (--verbose lists them)" in r.stderr


def test_every_verdict_says_what_it_ignored(manifests: str) -> None:
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db", "-p", "5432", "-f", manifests, "--ignore-unmodelled"])
    assert r.exit_code == 1  # the CiliumNetworkPolicy db-only-api lets only app=api reach db
    assert r.stdout.splitlines()[0] == "DENIED: shop/web -> shop/db TCP/5432"
    assert [line.strip() for line in r.stdout.splitlines()[3:] if "ignored (" in line] == [
        f"assumption: {a}" for a in ASSUMED]
    assert r.stdout.splitlines()[3].startswith("  assumption: dataplane profile cilium 1.20 (recognised: ")
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db", "-p", "5432", "-f", manifests, "--ignore-unmodelled",
                            "-o", "json"])
    assert [a for a in json.loads(r.stdout)["assumptions"] if a.startswith("ignored")] == ASSUMED
    r = runner.invoke(app, ["matrix", "-f", manifests, "--ignore-unmodelled", "-o", "json"])
    assert [a for a in json.loads(r.stdout)["assumptions"] if a.startswith("ignored")] == ASSUMED
    r = runner.invoke(app, ["matrix", "-f", manifests, "--ignore-unmodelled"])
    assert [line for line in r.stdout.splitlines() if "--ignore-unmodelled" in line] == [
        f"assumption: {a}" for a in ASSUMED]
    for command in ("list", "exposure"):
        r = runner.invoke(app, [command, "-f", manifests, "--ignore-unmodelled", "-o", "json"])
        assert [a for a in json.loads(r.stdout)["assumptions"] if a.startswith("ignored")] == ASSUMED


def test_explain_answers_with_a_warning(manifests: str) -> None:
    r = runner.invoke(app, ["explain", "-f", manifests])
    assert r.exit_code == 0
    warned = [line.removeprefix("netpol: warning: ") for line in r.stderr.splitlines() if "not evaluated" in line]
    assert warned == [ISTIO]


def test_cilium_kinds_are_unmodelled_under_another_profile(manifests: str) -> None:
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db", "-p", "5432", "-f", manifests, "--cni", "generic"])
    assert r.exit_code == 2 and r.stderr.endswith(GENERIC_REFUSAL)


def test_a_kubernetes_kind_at_another_version_is_unmodelled(tmp_path: Path) -> None:
    path = tmp_path / "anp.yaml"
    path.write_text(yaml.safe_dump_all([*OBJECTS[:3], {
        "apiVersion": "policy.networking.k8s.io/v1beta1", "kind": "AdminNetworkPolicy",
        "metadata": {"name": "deny-db"}, "spec": {"priority": 1, "subject": {"namespaces": {}}}}]))
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db", "-p", "5432", "-f", str(path)])
    assert r.exit_code == 2
    assert ("1 AdminNetworkPolicy (policy.networking.k8s.io/v1beta1): deny-db, not evaluated by netpol"
            in r.stderr.splitlines()[-1])


def test_the_repro_no_longer_says_allowed() -> None:
    cnp = FIXTURES.parent.parent / "shared" / "repro" / "newcomer-3" / "cnp-ignored"
    if not cnp.exists():
        pytest.skip("the shared reproduction is not here")
    r = runner.invoke(app, ["can-reach", "default/deployment/other", "default/deployment/backend", "-p", "80",
                            "-f", str(cnp)])
    assert r.exit_code == 2 and "CiliumNetworkPolicy" in r.stderr and "GlobalNetworkPolicy" in r.stderr


def test_the_docs_list_the_catalogue() -> None:
    text = (FIXTURES.parent / "docs" / "semantics.md").read_text().split("## 14.")[1]
    rows = re.findall(r"^\| `([^`]+)` \| (\w+) \| `([^`]+)` \| (.+) \|$", text, re.MULTILINE)
    assert rows == [(k.group, k.kind, k.plural, k.product) for k in CATALOGUE]
