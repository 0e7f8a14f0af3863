"""-n NS means the same in every command: a namespace the input does not know is exit 2 naming it, never an
empty answer. On policy-only input, a namespace a selector names (kubernetes.io/metadata.name) is known."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app

SHOP = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
"""
POD = """\
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: x}]}
"""
COMMANDS = [["matrix"], ["explain"], ["graph"], ["list"], ["exposure"], ["lint"], ["report", "-o", "{dir}/r.html"]]


@pytest.fixture(params=["policies", "with-pods"])
def manifests(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP + (POD if request.param == "with-pods" else ""))
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_an_unknown_namespace_is_an_error_everywhere(manifests: Path, command: list[str]) -> None:
    args = [a.format(dir=manifests.parent) for a in command]
    r = CliRunner().invoke(app, [*args, "-f", str(manifests), "-n", "shpo"])
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1] == ("netpol: error: unknown namespace(s) for -n: shpo (did you mean shop?); "
                                         "the input knows monitoring, shop")
    assert r.stdout == ""


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_namespace_a_selector_names_is_known(manifests: Path, command: list[str]) -> None:
    args = [a.format(dir=manifests.parent) for a in command]
    for ns in ("shop", "monitoring"):
        r = CliRunner().invoke(app, [*args, "-f", str(manifests), "-n", ns])
        assert r.exit_code in (0, 1), (ns, r.stderr)  # an answer (lint's findings are exit 1), not an error
