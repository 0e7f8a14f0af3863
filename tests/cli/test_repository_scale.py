"""A generated policy repository of 500 NetworkPolicies in 100 namespaces (issue 28's mix): diff, exposure of one
namespace and check answer for every possible pod instead of refusing (the full cut of every namespace by every
selector took more than 20,000 regions), because each command cuts regions for its focus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.generate import changed, repository, write

    folder = tmp_path_factory.mktemp("repository")
    objects = repository(500)
    base, head = folder / "base.yaml", folder / "head.yaml"
    write(objects, base)
    head_objects = list(objects)  # one policy's numbered ports moved up by one
    one = next(i for i, o in enumerate(objects) if o["kind"] == "NetworkPolicy"
               and o["metadata"] == {"name": "cross-2", "namespace": "ns-00000"})
    head_objects[one] = changed([objects[one]], 1.0)[0]
    write(head_objects, head)
    return base, head


def test_a_one_policy_change_is_reviewed(repository: tuple[Path, Path]) -> None:
    base, head = repository
    r = runner.invoke(app, ["diff", str(base), str(head), "-o", "json"])
    assert r.exit_code == 1, r.stderr
    assert '"kind": "changed"' in r.stdout and "ns-00000" in r.stdout
    same = runner.invoke(app, ["diff", str(base), str(base)])
    assert (same.exit_code, same.stdout) == (0, "no reachability change\n")


def test_exposure_and_check_of_one_namespace(repository: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = repository
    r = runner.invoke(app, ["exposure", "ns-00001{tier=data}", "-f", str(base)])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("pods with ")
    intent = tmp_path / "dns.intent.yaml"
    intent.write_text("apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmetadata: {name: dns}\nexpectations:\n"
                      "- from: {namespace: ns-00001}\n  to: 'kube-system{k8s-app=kube-dns}'\n  ports: [53]\n"
                      "  protocol: UDP\n  expect: allow\n"
                      "- only: {from: ['ns-00001{tier=backend}'], to: 'ns-00001{tier=data}'}\n  ports: [5432]\n")
    r = runner.invoke(app, ["check", str(intent), "--allow-outside-repo", "-f", str(base)])
    assert r.exit_code == 1, r.stderr  # the DNS expectation passes; the `only` one fails: backend is not allowed
    assert "PASS dns:" in r.stdout and "1 passed, 1 failed" in r.stdout


def test_list_of_one_namespace_cuts_regions_for_it(repository: tuple[Path, Path]) -> None:
    """`list` with -n, or --to / --from naming a namespace, cuts regions for that namespace (every listed link
    has an end there), as exposure does, instead of refusing. (Without either, the list is made a namespace at a
    time: tests/unit/test_list_by_namespace.py; here that is a hundred compiles, too slow for a test.)"""
    base, _ = repository
    r = runner.invoke(app, ["list", "-f", str(base), "--from", "ns-00003{}"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "any pod in namespace ns-00003 => pods with k8s-app=kube-dns in namespace kube-system : TCP:53 UDP:53",
        "pods with app=web-6 in namespace ns-00003 => 0.0.0.0/0 except 0.0.0.0/5, 8.0.0.0/7, 10.67.184.0/24, "
        "10.184.0.0/16, 11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/4, 32.0.0.0/3, 64.0.0.0/2, 128.0.0.0/1 : TCP:443",
        "pods with app=web-6 in namespace ns-00003 => pods with tier=data in any other namespace with team=team-21 "
        ": TCP:6379-6389 TCP:postgres",
    ]
    r = runner.invoke(app, ["list", "-f", str(base), "-n", "ns-00001"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout and all("ns-00001" in line for line in r.stdout.splitlines())
