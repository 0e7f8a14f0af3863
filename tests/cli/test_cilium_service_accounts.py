"""Under the cilium profile a pod's service account is part of its identity (io.cilium.k8s.policy.serviceaccount),
so possible pods run under any service account a selector tells apart: every answer about "who" (list, exposure,
diff, check's only, graph) covers a pod that could exist under another service account than `default` (issue 25).
Before, every possible pod ran as `default`: a CNP that denies one service account was said to admit every pod."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from netpol import load_objects
from netpol.analyses.regions import ACCOUNT_NOTE, regions
from netpol.cli import app
from netpol.policies.profiles import apply

runner = CliRunner()
ACCOUNT = "io.cilium.k8s.policy.serviceaccount"


def _pod(name: str, account: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}], **({"serviceAccountName": account} if account else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
            "spec": spec}


def _cnp(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": "web-in", "namespace": "shop"},
            "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, **spec}}


PODS = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, _pod("web"), _pod("client")]
FROM_SHOP = {"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}
BASE = [*PODS, _cnp(ingress=[FROM_SHOP])]
# every pod of shop on 80, but no pod that runs as the service account robot
DENY_ROBOT = [*PODS, _cnp(ingress=[FROM_SHOP], ingressDeny=[{"fromEndpoints": [{"matchLabels": {ACCOUNT: "robot"}}]}])]
# only pods that run as robot (the client does), on 80
ROBOT_ONLY = [*PODS[:2], _pod("client", "robot"),
              _cnp(ingress=[{"fromEndpoints": [{"matchLabels": {f"k8s:{ACCOUNT}": "robot"}}],
                             "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}])]


def _write(tmp_path: Path, name: str, objects: list[dict[str, Any]]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


@pytest.mark.parametrize(("objects", "lines"), [
    (DENY_ROBOT, [f"shop/client; pods with {ACCOUNT} notin (robot) in namespace shop => shop/web : TCP:80"]),
    (ROBOT_ONLY, [f"shop/client; pods with {ACCOUNT}=robot in namespace shop => shop/web : TCP:80"]),
])
def test_list_names_the_service_accounts(tmp_path: Path, objects: list[dict[str, Any]], lines: list[str]) -> None:
    r = runner.invoke(app, ["list", "-f", _write(tmp_path, "in.yaml", objects), "--to", "shop/web", "--cni", "cilium",
                            "-v"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == lines
    assert f"netpol: note: {ACCOUNT_NOTE}" in r.stderr.splitlines()


def test_exposure_names_the_service_accounts(tmp_path: Path) -> None:
    r = runner.invoke(app, ["exposure", "-f", _write(tmp_path, "in.yaml", DENY_ROBOT), "-n", "shop", "--cni", "cilium"])
    assert r.exit_code == 0, r.stderr
    web = r.stdout.split("shop/web\n")[1].splitlines()
    assert web[:3] == [
        "  ingress isolated by CNP shop/web-in; egress not isolated", "  reached by:",
        f"    shop/client; pods with {ACCOUNT} notin (robot) in namespace shop : TCP:80  (egress: not isolated; "
        "ingress: CNP shop/web-in spec ingress[0])"]


def test_diff_sees_a_service_account_denied(tmp_path: Path) -> None:
    """Adding a deny of one service account changes nothing for the input's pods (both run as default), but a pod
    of shop that runs as robot loses web."""
    base, head = _write(tmp_path, "base.yaml", BASE), _write(tmp_path, "head.yaml", DENY_ROBOT)
    r = runner.invoke(app, ["diff", base, head, "--cni", "cilium"])
    assert r.exit_code == 1, r.stderr
    assert r.stdout.splitlines() == [
        "0 change(s) gained, 1 lost, 0 with changed ports",
        f"- pods with {ACCOUNT}=robot in namespace shop -> pods with app=web in namespace shop; shop/web: was TCP:80 "
        "(ingress: CNP shop/web-in spec ingress[0])"]
    r = runner.invoke(app, ["diff", base, head, "--cni", "cilium", "--input-only"])
    assert (r.exit_code, r.stdout) == (0, "no reachability change\n")


def test_check_only_fails_on_another_pod_of_the_service_account(tmp_path: Path) -> None:
    """`only: shop/client` does not hold: any other pod of shop that runs as robot reaches web too."""
    _write(tmp_path, "shop.yaml", ROBOT_ONLY)
    intent = tmp_path / "shop.intent.yaml"
    intent.write_text(yaml.safe_dump({"apiVersion": "netpol/v1", "kind": "NetworkPolicyIntent",
                                      "manifests": ["shop.yaml"], "expectations": [
                                          {"name": "only the client reaches web", "ports": [80],
                                           "only": {"from": ["shop/client"], "to": "shop/web"}}]}))
    r = runner.invoke(app, ["check", str(intent), "--cni", "cilium", "--allow-outside-repo"])
    assert r.exit_code == 1, r.stdout
    failed = [line for line in r.stdout.splitlines() if "should be denied" in line or not line.startswith("   ")]
    assert failed == [
        f"FAIL shop.intent.yaml: only the client reaches web ({intent}:3)",
        "  expected: only shop/client may reach shop/web on 80 (2 of 9 pairs wrong)",
        f"    pods with app notin (web) and {ACCOUNT}=robot in namespace shop -> shop/web should be denied but is "
        "allowed on TCP:80",
        f"    pods with app=web and {ACCOUNT}=robot in namespace shop -> shop/web should be denied but is allowed on "
        "TCP:80",
        "0 passed, 1 failed"]
    r = runner.invoke(app, ["check", str(intent), "--cni", "cilium", "--allow-outside-repo", "--input-only"])
    assert r.exit_code == 0, r.stdout


def test_graph_draws_no_edge_from_every_pod_of_the_namespace(tmp_path: Path) -> None:
    """The anchor 'any pod of shop' stands for every pod that could exist there, robot's too: it has no edge to web
    (before, it had TCP:80); the client, which runs as default, does."""
    r = runner.invoke(app, ["graph", "-f", _write(tmp_path, "in.yaml", DENY_ROBOT), "-n", "shop", "--cni", "cilium"])
    assert r.exit_code == 0, r.stderr
    assert sorted(re.findall(r'\t("[^"]+" -> "[^"]+" \[label=[^\]]+\])', r.stdout)) == [
        '"any-pod" -> "ext%3Aany other address" [label=all]', '"any-pod" -> "shop/client" [label=all]',
        '"ext%3Aany other address" -> "shop/client" [label=all]', '"shop/client" -> "shop/web" [label="TCP:80"]']


def test_a_concrete_pod_falls_in_the_region_of_its_service_account() -> None:
    rs = regions(apply(load_objects(DENY_ROBOT), "cilium").cluster)
    assert [rs.name(rs.region_of("shop", {}, {"app": "client"}, account).key) for account in (None, "robot", "x")] == [
        f"pods with app notin (web) and {ACCOUNT} notin (robot) in namespace shop",
        f"pods with app notin (web) and {ACCOUNT}=robot in namespace shop",
        f"pods with app notin (web) and {ACCOUNT} notin (robot) in namespace shop"]
    generic = regions(load_objects(DENY_ROBOT).cluster)  # elsewhere the CNP is not evaluated: no account is cut
    assert generic.assumed == () and generic.account_key is None
