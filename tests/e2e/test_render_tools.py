"""The real renderers through the installed `netpol`: a Helm chart with a NetworkPolicy (--helm-values,
--helm-set) and a Kustomize overlay with a patch, analysed without a manual render. `helm` is the one on
PATH, else the one ./scripts/helm builds from the Go module proxy into .tools/bin; Kustomize is `kustomize` or
`kubectl kustomize` (./scripts/test builds kustomize where neither is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_inputs import write

ROOT = Path(__file__).resolve().parents[2]
NETPOL = shutil.which("netpol")
BUILT_HELM = ROOT / ".tools" / "bin" / "helm"
HELM = shutil.which("helm") or (str(BUILT_HELM) if os.access(BUILT_HELM, os.X_OK) else None)
KUSTOMIZE = shutil.which("kustomize") or shutil.which("kubectl")
pytestmark = pytest.mark.skipif(NETPOL is None and not os.environ.get("CI"), reason="netpol is not installed on PATH")

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "values.yaml": "port: 80\nclient: web\n",
    "templates/np.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-db
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: {{ .Values.client }}}}}]
    ports: [{port: {{ .Values.port }}}]
""",
    "templates/pods.yaml": """\
{{- range list "db" "web" "api" }}
---
apiVersion: v1
kind: Pod
metadata: {name: {{ . }}, labels: {app: {{ . }}}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
{{- end }}
""",
}


def netpol(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert NETPOL is not None
    tools = [os.path.dirname(t) for t in (HELM, KUSTOMIZE) if t]
    env = {**os.environ, "PATH": os.pathsep.join([*tools, os.environ.get("PATH", "")]), "HOME": str(cwd)}
    return subprocess.run([NETPOL, *args], capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
                          env=env)


@pytest.mark.skipif(HELM is None, reason="helm is not installed, and ./scripts/helm has not built it into .tools/bin "
                    "(it needs go: ./scripts/test runs it where go is present)")
def test_a_chart_with_values_and_sets(tmp_path: Path) -> None:
    for name, text in CHART.items():
        write(tmp_path / "repo" / "charts" / "shop" / name, text)
    write(tmp_path / "repo" / "namespaces.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n")
    write(tmp_path / "api.yaml", "client: api\n")
    question = ("can-reach", "default/api", "default/db", "-p", "5432", "-f", "repo")
    r = netpol(*question, cwd=tmp_path)  # the chart's own values: web on port 80
    assert (r.returncode, r.stdout.splitlines()[0]) == (1, "DENIED: default/api -> default/db TCP/5432"), r.stderr
    assert "netpol: info: repo/charts/shop: rendered with `helm template repo/charts/shop`; its objects are located " \
           "in that output\n" in r.stderr
    r = netpol(*question, "--helm-values", "api.yaml", "--helm-set", "port=5432", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("ALLOWED: default/api -> default/db TCP/5432\n"
                        "  egress  of default/api: not isolated: no NetworkPolicy selects default/api for egress\n"
                        "  ingress of default/db: allowed by default/release-name-db ingress[0]\n")
    assert "netpol: info: repo/charts/shop: rendered with `helm template repo/charts/shop --values api.yaml --set " \
           "port=5432`; its objects are located in that output\n" in r.stderr
    r = netpol(*question, "--render", "never", cwd=tmp_path)  # the chart is not read: no pod to ask about
    assert r.returncode == 2
    assert "netpol: warning: repo/charts/shop: not read: it is a Helm chart (Chart.yaml)" in r.stderr


@pytest.mark.skipif(KUSTOMIZE is None, reason="neither kustomize nor kubectl is installed (./scripts/test builds "
                    "kustomize into .tools/bin where go is present)")
def test_an_overlay_with_a_patch(tmp_path: Path) -> None:
    write(tmp_path / "base" / "kustomization.yaml", "resources: [all.yaml]\n")
    write(tmp_path / "base" / "all.yaml", "\n---\n".join([
        "apiVersion: v1\nkind: Pod\nmetadata: {name: db, labels: {app: db}}\nspec: {containers: [{name: c}]}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec: {containers: [{name: c}]}\n",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db}\nspec:\n"
        "  podSelector: {matchLabels: {app: db}}\n"
        "  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]\n"]))
    write(tmp_path / "overlay" / "kustomization.yaml", "namespace: shop\nresources: [../base]\npatches:\n"
          "- target: {kind: NetworkPolicy, name: db}\n  patch: |\n"
          "    - {op: replace, path: /spec/ingress/0/ports/0/port, value: 5432}\n")
    r = netpol("matrix", "-f", "overlay", "-n", "shop", "-o", "csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from,shop/db,shop/web\nshop/db,self,all\nshop/web,TCP:5432,self\n"  # the patched port
    tool = os.path.basename(KUSTOMIZE or "")
    assert (f"netpol: info: overlay: rendered with `{tool} {'build' if tool == 'kustomize' else 'kustomize'} "
            "overlay`; its objects are located in that output\n") in r.stderr
