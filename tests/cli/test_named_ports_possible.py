"""Possible pods declare named ports at the numbers rules name too: `TCP:http@80` where a pod that declares http
at 80 is reached though 80 alone is not, and `not TCP:http` where declaring http closes what the numbers open
(docs/exposure.md, "Named ports of possible pods")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import pod, policy


def _run(tmp_path: Path, objects: list[dict[str, Any]], *args: str) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    r = CliRunner().invoke(app, [*args, "-f", str(path)])
    assert r.exit_code == 0, r.stderr
    return r.stdout


GAP = [pod("client", "b"), policy("client", "b", egress=[{"ports": [{"port": 80}, {"port": 8000, "endPort": 8100}]}]),
       policy("server", "a", ingress=[{"ports": [{"port": "http"}, {"port": 8080}]}])]


def test_a_pod_declaring_http_at_a_number_the_egress_names_is_reached(tmp_path: Path) -> None:
    """b's egress names 80 and 8000-8100, a's ingress `http` and 8080: a pod of a that declares http at 80 (or in
    8000-8100) is reached from b/client there; one that declares it elsewhere is not. The line used to be
    `TCP:8080` alone (http only at a number no rule names)."""
    assert _run(tmp_path, GAP, "list").splitlines() == [
        "b/client => any pod in any other namespace; any address : TCP:80,8000-8100",
        "b/client => any pod in namespace a : TCP:8080 TCP:http@80,8000-8079,8081-8100",
        "any pod in any namespace except any pod in namespace b => any address : all",
        "any pod in namespace b => any address : TCP:80,8000-8100",
        "any address => any pod in any other namespace : all",
        "any address => any pod in namespace a : TCP:8080 TCP:http"]
    rows = json.loads(_run(tmp_path, GAP, "list", "-o", "json"))["connections"]
    row = next(r for r in rows if (r["source"], r["destination"]) == ("b/client", "any pod in namespace a"))
    assert (row["ranges"], row["named_ports"]) == ({"TCP": [[8080, 8080]]}, ["TCP:http@80,8000-8079,8081-8100"])


def test_an_admin_deny_on_a_named_port_is_not_all(tmp_path: Path) -> None:
    """An Admin Deny on namedPort http below an Allow on 80: every number is open, but not where a pod declares
    http (under any protocol), save at 80, which the Allow decides first. It read `all`."""
    deny = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": "no-http"}, "spec": {
                "priority": 1, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}},
                "ingress": [{"action": "Deny", "from": [{"namespaces": {}}], "ports": [{"namedPort": "http"}]}]}}
    allow = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
             "metadata": {"name": "web"}, "spec": {
                 "priority": 0, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}},
                 "ingress": [{"action": "Allow", "from": [{"namespaces": {}}],
                              "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}]}]}}
    assert _run(tmp_path, [deny, allow], "list").splitlines() == [
        "any pod in any namespace => any pod in any other namespace; any address : all",
        "any pod in any namespace => any pod in namespace a : all not SCTP:http not TCP:http not UDP:http",
        "any address => any pod in any namespace : all"]
