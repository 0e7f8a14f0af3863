"""The world is open: check, exposure, list and graph answer for every pod that could exist, and
`--input-only` restricts them to the input's pods and says so."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from netpol.analyses.connectivity import INPUT_ONLY_NOTE
from netpol.cli import app
from tests.builders import labels, namespace, pod, policy

runner = CliRunner()


def write(path: Path, *objects: dict) -> str:  # type: ignore[type-arg]
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


def bank(tmp_path: Path, peer: dict) -> str:  # type: ignore[type-arg]
    """bank/vault admits `peer` on TCP/8443; bank/teller is the input's other pod."""
    return write(tmp_path / "bank.yaml", namespace("bank", team="money"), pod("teller", "bank", {"app": "teller"}),
                 pod("vault", "bank", {"app": "vault"}), policy("vault", "bank", labels(app="vault"), ingress=[
                     {"from": [peer], "ports": [{"port": 8443}]}]))


def test_check_only_fails_on_the_pods_of_other_namespaces(tmp_path: Path) -> None:
    manifests = bank(tmp_path, {"namespaceSelector": {}})
    path = tmp_path / "vault.intent.yaml"
    path.write_text(f"apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [{manifests}]\nexpectations:\n"
                    "- name: only bank reaches the vault\n  only: {from: [{namespace: bank}], to: bank/vault}\n"
                    "  port: 8443\n")
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo"])
    assert r.exit_code == 1, r.stdout
    assert r.stdout.splitlines()[1:3] == [
        "  expected: only namespace bank may reach bank/vault on 8443 (1 of 2 pairs wrong)",
        "    any pod in any other namespace -> bank/vault should be denied but is allowed on TCP:8443"]
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo", "--input-only", "-o", "json"])
    assert r.exit_code == 0, r.stdout
    assert json.loads(r.stdout)["assumptions"] == [INPUT_ONLY_NOTE]
    assert r.stderr.splitlines() == [f"netpol: note: {INPUT_ONLY_NOTE}"]


def test_exposure_and_list_name_every_pod_that_could_reach(tmp_path: Path) -> None:
    """With pods, peers are the input's pods and the possible pods beside them: a vault open to every
    namespace is reached by any pod in any namespace, not only by the input's teller."""
    manifests = bank(tmp_path, {"namespaceSelector": {}})
    r = runner.invoke(app, ["exposure", "bank/vault", "-f", manifests])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[2:4] == [
        "  reached by:",
        "    bank/teller; any pod in any namespace : TCP:8443  (egress: not isolated; ingress: bank/vault ingress[0])"]
    r = runner.invoke(app, ["list", "-f", manifests])
    assert r.stdout.splitlines() == [
        "bank/teller => any pod in any namespace except pods with app=vault in namespace bank; any address : all",
        "bank/teller => bank/vault; pods with app=vault in namespace bank : TCP:8443",
        "bank/vault => bank/teller; any pod in any namespace except pods with app=vault in namespace bank; "
        "any address : all",
        "bank/vault => pods with app=vault in namespace bank : TCP:8443",
        "any pod in any namespace => bank/teller; any address : all",
        "any pod in any namespace => bank/vault : TCP:8443",
        "any address => bank/teller; any pod in any namespace except pods with app=vault in namespace bank : all"]
    # connections between two possible pods are listed when asked about possible pods
    r = runner.invoke(app, ["list", "-f", manifests, "--to", "bank{app=vault}"])
    assert r.stdout.splitlines() == [
        "bank/teller; bank/vault; any pod in any namespace => pods with app=vault in namespace bank : TCP:8443"]


def test_input_only_answers_for_the_input_alone_and_says_so(tmp_path: Path) -> None:
    manifests = bank(tmp_path, {"namespaceSelector": {}})
    r = runner.invoke(app, ["list", "-f", manifests, "--input-only"])
    assert (r.exit_code, r.stdout.splitlines()) == (0, [
        "bank/teller => any address : all", "bank/teller => bank/vault : TCP:8443",
        "bank/vault => bank/teller; any address : all", "any address => bank/teller : all"])
    assert r.stderr.splitlines() == [f"netpol: note: {INPUT_ONLY_NOTE}"]
    for command in (["list"], ["exposure"]):
        r = runner.invoke(app, [*command, "-f", manifests, "--input-only", "-o", "json"])
        assert json.loads(r.stdout)["assumptions"] == [INPUT_ONLY_NOTE]
    r = runner.invoke(app, ["exposure", "bank{app=vault}", "-f", manifests, "--input-only"])
    assert (r.exit_code, r.stderr.splitlines()[-1]) == (
        2, "netpol: error: bank{app=vault} names possible pods, but --input-only answers for the input's pods alone")
    policies_only = write(tmp_path / "p.yaml", policy("vault", "bank", labels(app="vault"), ingress=[{}]))
    r = runner.invoke(app, ["list", "-f", policies_only, "--input-only"])
    assert r.exit_code == 2
    assert "--input-only leaves nothing to answer about" in r.stderr


def test_too_many_possible_pods_is_said_never_a_fallback(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import netpol.analyses.query
    from netpol.analyses.regions import regions

    monkeypatch.setattr(netpol.analyses.query, "regions",
                        lambda cluster, scopes=(), limit=None, **kw: regions(cluster, scopes, limit=1, **kw))
    manifests = bank(tmp_path, {"namespaceSelector": {}})
    for command in (["list"], ["exposure", "bank/vault"]):
        r = runner.invoke(app, [*command, "-f", manifests])
        assert r.exit_code == 2
        assert r.stderr.splitlines()[-1].startswith("netpol: error: the input names 1 namespaces, each at least one kind of pod")
        assert r.stderr.splitlines()[-1].endswith("; or answer for the input's pods alone with --input-only")


def test_exposure_counts_isolation_of_every_tier(tmp_path: Path) -> None:
    """A Baseline deny-all isolates every pod for ingress: exposure names it, and the address traffic that
    no rule of any tier matches is said to be allowed by no rule, not "not isolated"."""
    banp = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
            "metadata": {"name": "default"}, "spec": {"subject": {"namespaces": {}}, "ingress": [
                {"name": "deny", "action": "Deny", "from": [{"namespaces": {}}]}]}}
    manifests = write(tmp_path / "t.yaml", namespace("shop"), pod("api", "shop", {"app": "api"}), banp)
    r = runner.invoke(app, ["exposure", "shop/api", "-f", manifests])
    assert r.stdout.splitlines() == [
        "shop/api", "  ingress isolated by BANP default; egress not isolated",
        "  reached by:", "    any address : all  (ingress: no rule of any tier matches)",
        "  reaches:", "    any address : all  (egress: not isolated)"]


def test_graph_anchor_for_one_namespace_is_that_namespace(tmp_path: Path) -> None:
    manifests = write(tmp_path / "g.yaml", namespace("shop"), pod("api", "shop", {"app": "api"}),
                      pod("db", "shop", {"app": "db"}), policy("db", "shop", labels(app="db"), ingress=[
                          {"from": [{"podSelector": {}}], "ports": [{"port": 5432}]}]))
    r = runner.invoke(app, ["graph", "-f", manifests])
    assert r.exit_code == 0
    assert [line.strip() for line in r.stdout.splitlines() if '-> "shop/db"' in line] == [
        '"ns%3Ashop" -> "shop/db" [label="TCP:5432"]']
    r = runner.invoke(app, ["graph", "-f", manifests, "--input-only"])
    assert '"any-pod" [label="any pod of the input\n(any namespace)"' in r.stdout
    assert r.stderr.splitlines() == [f"netpol: note: {INPUT_ONLY_NOTE}"]


def test_json_carries_port_ranges_and_address_ranges(tmp_path: Path) -> None:
    """list and exposure JSON: ports per protocol as [first, last] ranges (as matrix -o json), a region's
    named ports apart, and outside endpoints as [first, last] address ranges, beside the display text."""
    manifests = write(tmp_path / "t.yaml", namespace("bank"), pod("teller", "bank", {"app": "teller"}),
                      policy("teller", "bank", labels(app="teller"), policyTypes=["Egress"], egress=[
                          {"to": [{"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}}],
                           "ports": [{"port": 443}, {"port": 8000, "endPort": 8100}]},
                          {"to": [{"podSelector": {}}], "ports": [{"port": "dns", "protocol": "UDP"}]}]))
    rows = json.loads(runner.invoke(app, ["list", "-f", manifests, "-o", "json", "--from", "bank/teller"]).stdout)
    outside = [r for r in rows["connections"] if r["destination_kind"] == "outside"]
    assert [{k: r[k] for k in ("destination", "destination_addresses", "ports", "ranges", "named_ports")}
            for r in outside] == [{
                "destination": "203.0.113.0/25", "destination_addresses": [["203.0.113.0", "203.0.113.127"]],
                "ports": "TCP:443,8000-8100", "ranges": {"TCP": [[443, 443], [8000, 8100]]}, "named_ports": []}]
    to_pods = [r for r in rows["connections"] if r["destination_kind"] == "region"]
    assert [(r["destination"], r["ranges"], r["named_ports"], r["source_addresses"]) for r in to_pods] == [
        (f"pods with app{labels_} in namespace bank", {}, ["UDP:dns"], []) for labels_ in (" notin (teller)", "=teller")]
    got = json.loads(runner.invoke(app, ["exposure", "bank/teller", "-f", manifests, "-o", "json"]).stdout)
    reached = got["exposure"][0]["reached_by"]
    assert [(p["peers"], p["addresses"], p["ranges"]) for p in reached if p["addresses"]] == [
        (["any address"], [["0.0.0.0", "255.255.255.255"], ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]],
         {"TCP": [[1, 65535]], "UDP": [[1, 65535]], "SCTP": [[1, 65535]], "ICMP": [[[0, 0], [255, 255]]],
          "ICMPv6": [[[0, 0], [255, 255]]]})]


def test_graph_with_too_many_possible_pods_is_of_the_input_and_says_so(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import netpol.analyses.query
    from netpol.analyses.regions import regions

    monkeypatch.setattr(netpol.analyses.query, "regions",
                        lambda cluster, scopes=(), limit=None, **kw: regions(cluster, scopes, limit=1, **kw))
    r = runner.invoke(app, ["graph", "-f", bank(tmp_path, {"namespaceSelector": {}})])
    assert r.exit_code == 0
    assert '"any-pod" [label="any pod of the input\n(any namespace)"' in r.stdout
    assert r.stderr.splitlines()[-1].endswith(
        "so the picture's 'any pod' nodes stand for the input's pods, and say so ('any pod of the input')")


def test_check_failures_name_possible_pods_in_the_policies_terms(tmp_path: Path) -> None:
    """The explanation under a failing pair names a possible pod as list and exposure do, never by its
    region key ("(any other namespace)/{}"); so does a deny expectation about possible pods."""
    manifests = bank(tmp_path, {"namespaceSelector": {}})
    path = tmp_path / "vault.intent.yaml"
    path.write_text(f"apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [{manifests}]\nexpectations:\n"
                    "- name: only bank reaches the vault\n  only: {from: [{namespace: bank}], to: bank/vault}\n"
                    "  port: 8443\n"
                    "- name: no tellers anywhere reach the vault\n  from: '*{app=teller}'\n  to: bank/vault\n"
                    "  port: 8443\n  expect: deny\n")
    r = runner.invoke(app, ["check", str(path), "--allow-outside-repo"])
    assert r.exit_code == 1, r.stdout

    def explained(src: str) -> list[str]:
        return [f"    {src} -> bank/vault should be denied but is allowed on TCP:8443",
                f"      ALLOWED: {src} -> bank/vault TCP/8443",
                f"        egress  of {src}: not isolated: no NetworkPolicy selects {src} for egress",
                "        ingress of bank/vault: allowed by bank/vault ingress[0]"]

    assert r.stdout.replace(str(tmp_path), "T").splitlines() == [
        "FAIL vault.intent.yaml: only bank reaches the vault (T/vault.intent.yaml:5)",
        "  expected: only namespace bank may reach bank/vault on 8443 (2 of 3 pairs wrong)",
        *explained("pods with app notin (teller) in any other namespace"),
        *explained("pods with app=teller in any other namespace"),
        "FAIL vault.intent.yaml: no tellers anywhere reach the vault (T/vault.intent.yaml:8)",
        "  expected: *{app=teller} -> bank/vault on 8443: deny (2 of 2 pairs wrong)",
        *explained("pods with app=teller in namespace bank"),
        *explained("pods with app=teller in any other namespace"),
        "0 passed, 2 failed",
    ]
    data = json.loads(runner.invoke(app, ["check", str(path), "--allow-outside-repo", "-o", "json"]).stdout)
    assert [(f["source"], f["destination"]) for f in data["results"][1]["failures"]] == [
        ("pods with app=teller in namespace bank", "bank/vault"),
        ("pods with app=teller in any other namespace", "bank/vault")]
