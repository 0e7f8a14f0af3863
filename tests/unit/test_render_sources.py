"""Kustomize directories and Helm charts under -f: rendered by their tool on PATH (stand-ins here record the
command line; the real `kustomize`/`kubectl kustomize` where installed), said so in a note, or the hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netpol import InputError, load_manifests
from netpol.sources.render import Rendering
from tests.unit.test_inputs import NEVER, POD, write

CAT = shutil.which("cat")
NP = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web}\n"
      "spec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: 80}]}]\n")


def tool(bin_dir: Path, name: str, output: str, exit_code: int = 0) -> Path:
    """A stand-in for `name` that records its arguments, one per line, and prints `output`."""
    log = bin_dir / f"{name}.args"
    write(bin_dir / "out" / name, output)
    script = write(bin_dir / name, f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{log}"\n{CAT} "{bin_dir / "out" / name}"\n'
                   f'echo "{name}: some detail" >&2\nexit {exit_code}\n')
    script.chmod(0o755)
    return log


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH that holds only the stand-ins: whatever kustomize, kubectl or helm the machine has is not on it."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


def notes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(d) for d in result.diagnostics if d.severity in ("info", "warning") and "namespace" not in d.message]


def test_kustomize_build_first_then_kubectl_kustomize(tmp_path: Path, bin_dir: Path) -> None:
    overlay = tmp_path / "overlay"
    write(overlay / "kustomization.yaml", "resources: []\n")
    for name, arguments, pod in (("kubectl", ["kustomize"], "a"), ("kustomize", ["build"], "b")):
        log = tool(bin_dir, name, POD.format(name=pod))
        result = load_manifests([str(overlay)])
        assert log.read_text().splitlines() == [*arguments, str(overlay)]
        assert [p.key for p in result.cluster.pods] == [f"default/{pod}"]
        assert notes(result) == [f"info: {overlay}: rendered with `{name} {arguments[0]} {overlay}`; its objects "
                                 "are located in that output"]


def test_helm_template_with_values_and_sets(tmp_path: Path, bin_dir: Path) -> None:
    chart = tmp_path / "chart"
    write(chart / "Chart.yaml", "name: c\nversion: 0.1.0\n")
    write(chart / "templates" / "np.yaml", "{{ .Values.broken }")  # a template: never read as a manifest
    helm = tool(bin_dir, "helm", NP + "---\n" + POD.format(name="a"))
    result = load_manifests([str(chart)], rendering=Rendering(True, ("v1.yaml", "v2.yaml"), ("a=1", "b.c=x,y")))
    assert helm.read_text().splitlines() == ["template", str(chart), "--values", "v1.yaml", "--values", "v2.yaml",
                                             "--set", "a=1", "--set", "b.c=x,y"]
    assert [p.key for p in result.cluster.policies] == ["default/web"]
    assert str(result.cluster.policies[0].location).startswith(f"{chart}: document 1")


def test_nested_sources_render_on_their_own_and_bases_only_with_their_overlay(tmp_path: Path, bin_dir: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "plain" / "a.yaml", POD.format(name="a"))
    write(repo / "base" / "kustomization.yaml", "resources: [pods.yaml]\n")
    write(repo / "overlay" / "kustomization.yaml", "resources:\n- ../base\n- https://example.com/x.yaml\n")
    write(repo / "charts" / "c" / "Chart.yaml", "name: c\n")
    kubectl = tool(bin_dir, "kubectl", POD.format(name="rendered"))
    result = load_manifests([str(repo)])
    assert kubectl.read_text() == f"kustomize\n{repo / 'overlay'}\n"
    assert sorted(p.key for p in result.cluster.pods) == ["default/a", "default/rendered"]
    assert notes(result) == [
        f"info: {repo / 'base'}: not rendered on its own: {repo / 'overlay'} includes it",
        f"info: {repo / 'overlay'}: rendered with `kubectl kustomize {repo / 'overlay'}`; its objects are located in "
        "that output",
        f"warning: {repo / 'charts' / 'c'}: not read: it is a Helm chart (Chart.yaml), not manifests: render it "
        f"first, e.g. helm template RELEASE {repo / 'charts' / 'c'} | netpol ... -f -",
    ]
    result = load_manifests([str(repo)], rendering=NEVER)  # --render never: today's hint, as warnings
    assert [p.key for p in result.cluster.pods] == ["default/a"]
    assert [n.split(":")[0] for n in notes(result)] == ["warning"] * 3


def test_a_failing_renderer_is_an_input_error(tmp_path: Path, bin_dir: Path) -> None:
    overlay = tmp_path / "overlay"
    write(overlay / "kustomization.yaml", "resources: [missing.yaml]\n")
    tool(bin_dir, "kubectl", "", exit_code=1)
    with pytest.raises(InputError) as info:
        load_manifests([str(overlay)])
    assert str(info.value) == (f"{overlay}: `kubectl kustomize {overlay}` failed (exit 1): kubectl: some detail")


def test_without_the_tool_the_hint(tmp_path: Path, bin_dir: Path) -> None:
    chart = tmp_path / "chart"
    write(chart / "Chart.yaml", "name: c\n")
    with pytest.raises(InputError) as info:
        load_manifests([str(chart)])
    assert str(info.value) == (f"{chart}: is a Helm chart (Chart.yaml), not manifests: render it first, e.g. "
                               f"helm template RELEASE {chart} | netpol ... -f -")


REAL_KUSTOMIZE = shutil.which("kustomize") or shutil.which("kubectl")


@pytest.mark.skipif(REAL_KUSTOMIZE is None, reason="neither kustomize nor kubectl is installed (./scripts/test "
                    "builds kustomize into .tools/bin where Go is)")
def test_a_real_overlay(tmp_path: Path) -> None:
    """kubectl's (or kustomize's) own rendering: the overlay's namespace applies to the base's objects."""
    write(tmp_path / "base" / "kustomization.yaml", "resources: [pods.yaml, np.yaml]\n")
    write(tmp_path / "base" / "pods.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\n"
          "spec: {containers: [{name: c}]}\n")
    write(tmp_path / "base" / "np.yaml", NP)
    write(tmp_path / "overlay" / "kustomization.yaml", "namespace: shop\nresources: [../base]\n")
    result = load_manifests([str(tmp_path)])
    assert [p.key for p in result.cluster.pods] == ["shop/web"]
    assert [p.key for p in result.cluster.policies] == ["shop/web"]
