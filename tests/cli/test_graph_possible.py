"""`netpol graph` draws the possible pods as `list` names them: a pod alone in an undeclared namespace still
has every other pod that could exist there as a source (the edge was lost before)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import labels, pod, policy

runner = CliRunner()


def shop(tmp_path: Path) -> str:
    """shop/web, alone and with no Namespace object, admits every pod of shop on TCP/80 and may send anywhere."""
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all([pod("web", "shop", {"app": "web"}), policy(
        "web", "shop", labels(app="web"), ingress=[{"from": [{"podSelector": {}}], "ports": [{"port": 80}]}],
        egress=[{}])]))
    return str(path)


def drawn(path: Path, arrow: str) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if arrow in line and "legend" not in line]


def test_the_other_pods_of_a_lone_pods_namespace_are_drawn_as_any_pod_in_it(tmp_path: Path) -> None:
    manifests = shop(tmp_path)
    r = runner.invoke(app, ["list", "-f", manifests])
    assert r.exit_code == 0 and "any pod in namespace shop => shop/web : TCP:80" in r.stdout.splitlines()
    for extra, dot, mermaid in (
            ([], ['"any-pod" -> "ext%3Aany" [label=all]', '"ns%3Ashop" -> "shop/web" [label="TCP:80"]'],
             ['n_any_2d_pod -->|"all"| n_ext_3a_any', 'n_ns_3a_shop -->|"TCP:80"| n_shop_2f_web']),
            (["--input-only"], ['"shop/web" -> "ext%3Aany" [label=all]'], ['n_shop_2f_web -->|"all"| n_ext_3a_any'])):
        for name, arrow, want in (("x.dot", " -> ", dot), ("x.mmd", " -->", mermaid)):
            r = runner.invoke(app, ["graph", "-f", manifests, "-n", "shop", "-o", str(tmp_path / name), *extra])
            assert r.exit_code == 0, r.stderr
            assert drawn(tmp_path / name, arrow) == want, (extra, name)
