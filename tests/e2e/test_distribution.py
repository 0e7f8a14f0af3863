"""The distribution as PyPI would get it: sdist and wheel built and checked, the wheel installed into a fresh
virtualenv, and the README's quick start run from there.

A file the package needs but the wheel lacks (the report's JavaScript and CSS are package data) fails here,
where an editable install would hide it. pip may use its cache; nothing is fetched beyond PyPI.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["k8s_netpol-0.1.0-py3-none-any.whl", "k8s_netpol-0.1.0.tar.gz"]
    r = run(sys.executable, "-m", "twine", "check", "--strict", *sorted(out.iterdir()))
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ of a fresh virtualenv holding only the wheel and its dependencies."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=True)
    wheel = next(dist.glob("*.whl"))
    r = run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return env / "bin"


def quick_start() -> list[str]:
    """The netpol command of the README's quick start, as the README spells it."""
    block = re.search(r"## Quick start\n.*?```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None
    line = block.group(1).splitlines()[0]
    command = line.split(" && ")[-1]
    assert command.startswith(".venv/bin/netpol ")
    return shlex.split(command.removeprefix(".venv/bin/netpol "))


def test_wheel_and_sdist_contents(dist: Path) -> None:
    import tarfile
    import zipfile

    wheel = zipfile.ZipFile(next(dist.glob("*.whl"))).namelist()
    for data in ("netpol/render/report.js", "netpol/render/report-diff.js", "netpol/render/report.css"):
        assert data in wheel
    assert "k8s_netpol-0.1.0.dist-info/licenses/LICENSE" in wheel
    sdist = tarfile.open(next(dist.glob("*.tar.gz"))).getnames()
    assert "k8s_netpol-0.1.0/LICENSE" in sdist
    assert not [n for n in wheel if n.startswith("tests/")]


def test_quick_start_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    r = run(installed / "netpol", *quick_start())
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ALLOWED: default/test-2 -> default/apiserver TCP/80\n")
    r = run(installed / "netpol", "--version")
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, "netpol 0.1.0")


def test_report_package_data_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    r = run(installed / "netpol", "report", "-f", ROOT / "fixtures" / "limit", "-o", page)
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    css = (ROOT / "netpol" / "render" / "report.css").read_text()
    js = (ROOT / "netpol" / "render" / "report.js").read_text()
    assert css.strip().splitlines()[0] in html and js.strip().splitlines()[0] in html


def test_kubectl_plugin_from_the_wheel(installed: Path) -> None:
    r = run(installed / "kubectl-netpol", "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: kubectl netpol [OPTIONS] COMMAND [ARGS]...\n")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: its plugin mechanism (PATH lookup of kubectl-netpol) is not run")
    env = {**os.environ, "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run([kubectl, "netpol", *quick_start()], capture_output=True, text=True, env=env, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ALLOWED: default/test-2 -> default/apiserver TCP/80\n")
