"""exposure, list and can-reach on possible pods, through the CLI: exit codes and exact lines."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import POLICY_ONLY, labels, namespace, pod, policy

REPO = str(POLICY_ONLY / "repo")
runner = CliRunner()


def test_can_reach_every_possible_pod() -> None:
    r = runner.invoke(app, ["can-reach", "payments{app=api}", "payments{app=db}", "-p", "postgres", "-f", REPO])
    assert r.exit_code == 0, r.stdout
    assert r.stdout.splitlines()[0] == "ALLOWED for every possible pod: payments{app=api} -> payments{app=db} TCP/postgres"
    r = runner.invoke(app, ["can-reach", "web{}", "payments{app=db}", "-p", "postgres", "-f", REPO])
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == ("DENIED for every possible pod: web{} -> payments{app=db} TCP/postgres "
                                        "(2 of 2 kind(s) of pair denied)")
    r = runner.invoke(app, ["can-reach", "payments{}", "payments{app=db}", "-p", "postgres", "-f", REPO])
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == ("DENIED for some possible pods: payments{} -> payments{app=db} TCP/postgres "
                                        "(2 of 3 kind(s) of pair denied)")


def test_list_filters() -> None:
    r = runner.invoke(app, ["list", "-f", REPO, "--from", "payments{app=api}", "--port", "53", "--protocol", "UDP"])
    assert (r.exit_code, r.stdout) == (0, "pods with app=api in namespace payments => pods with k8s-app=kube-dns in "
                                          "namespace kube-system : TCP:53 UDP:53\n")
    r = runner.invoke(app, ["list", "-f", REPO, "--to", "203.0.113.7"])
    assert r.stdout == ("any pod in any namespace except pods with app=api in namespace payments => 0.0.0.0/0 except "
                        "10.0.0.0/8 : all\n")  # the outside range that holds the address


def test_list_json_named_ports_are_every_name_a_connection_opens_at_a_possible_pod() -> None:
    """`named_ports` lists the rules' port names a possible destination may declare and the connection
    opens: on `all` ports every name (postgres here, though no kube-system rule names it), as the
    numbers in `ranges` cannot say it; `[]` towards outside addresses. The text's `all` says it already."""
    rows = json.loads(runner.invoke(app, ["list", "-f", REPO, "-o", "json", "--from", "kube-system{k8s-app=kube-dns}"]
                                    ).stdout)["connections"]
    assert {(r["destination_kind"], r["ports"], tuple(r["named_ports"])) for r in rows} == {
        ("region", "all", ("TCP:postgres",)), ("outside", "all", ())}
    text = runner.invoke(app, ["list", "-f", REPO, "--from", "kube-system{k8s-app=kube-dns}"]).stdout
    assert [line.rsplit(" : ", 1)[1] for line in text.splitlines()] == ["all"]


def test_bad_endpoints_are_exit_2() -> None:
    for args in (["exposure", "payments{app in x}", "-f", REPO], ["list", "-f", REPO, "--to", "nowhere/pod"],
                 ["can-reach", "payments{a b}", "web{}", "-p", "80", "-f", REPO],
                 ["exposure", "payments{app=db}}", "-f", REPO], ["exposure", "PAYMENTS{app=db}", "-f", REPO],
                 ["list", "-f", REPO, "--from", "payments{app=<x>}"],
                 ["can-reach", "web{}", "payments{app=db}}", "-p", "80", "-f", REPO]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, args
        assert r.stderr.splitlines()[-1].startswith("netpol: error: "), args
        assert "Traceback" not in r.stderr


def test_exposure_formats() -> None:
    for fmt in ("json", "csv", "md", "text"):
        r = runner.invoke(app, ["exposure", "web{app=frontend}", "-f", REPO, "-o", fmt])
        assert r.exit_code == 0
        assert "0.0.0.0/0 except 10.0.0.0/8" in r.stdout, fmt


def test_possible_pods_are_answered_beside_real_ones() -> None:
    """The world is open: the input's pods and every possible pod; --any-pod is a no-op kept for old scripts."""
    fixtures = POLICY_ONLY.parent / "limit"
    for extra in ([], ["--any-pod"]):
        r = runner.invoke(app, ["list", "-f", str(fixtures), *extra, "--to", "default/apiserver"])
        assert r.exit_code == 0
        assert r.stdout.splitlines() == [
            "default/test-2; pods with app=bibliotheque in namespace default => default/apiserver : all"]


def test_diff_with_pods_compares_every_possible_pod_unless_input_only() -> None:
    """With pods, diff compares the input's pods and every possible pod in one answer; --input-only the
    input's pods alone, and says so; --any-pod (the old way to ask for both) is a deprecated no-op."""
    fixtures = POLICY_ONLY.parent
    args = ["diff", str(fixtures / "deny-all"), str(fixtures / "allow-all")]
    pods_only = runner.invoke(app, [*args, "--input-only"])
    both = runner.invoke(app, args)
    assert (pods_only.exit_code, both.exit_code) == (1, 1)
    assert "+ any address, default/test-1, default/test-2 -> default/web: all" in pods_only.stdout.splitlines()
    assert "any pod" not in pods_only.stdout
    assert ("netpol: note: --input-only: the diff compares the input's pods only; pods that are not in the input "
            "(new pods of its namespaces, pods of other namespaces) are not compared") in pods_only.stderr.splitlines()
    assert both.stdout.splitlines() == [
        "5 change(s) gained, 0 lost, 0 with changed ports, pods: 1 added, 0 removed",
        "+ default/test-2 -> any pod in any other namespace; any address: all",
        "+ any pod in any namespace, any address, default/test-1, default/test-2, default/web -> any pod in "
        "namespace default: all",
        "+ any pod in any namespace, any address, default/test-2, default/web -> default/test-1: all",
        "+ any pod in any namespace, any address, default/test-1, default/web -> default/test-2: all",
        "+ any pod in any namespace, any address, default/test-1, default/test-2 -> default/web: all "
        "(ingress: default/web-allow-all ingress[0])",
        "pod added: default/test-2"]
    data = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)  # an outside end grouped with a region
    assert [(c["destination"], c.get("destination_addresses")) for c in data["changes"]][0] == (
        "any pod in any other namespace; any address",
        [["0.0.0.0", "255.255.255.255"], ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]])
    deprecated = runner.invoke(app, [*args, "--any-pod"])
    assert (deprecated.exit_code, deprecated.stdout) == (1, both.stdout)
    assert "netpol: note: --any-pod is deprecated: every possible pod is compared by default" in deprecated.stderr


def test_exposure_of_a_real_pod() -> None:
    """Its peers are every pod that could exist (a new bibliotheque pod reaches the API too), or with
    --input-only the input's pods alone."""
    limit = str(POLICY_ONLY.parent / "limit")
    r = runner.invoke(app, ["exposure", "default/apiserver", "-f", limit])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[:4] == [
        "default/apiserver", "  ingress isolated by default/api-allow; egress not isolated", "  reached by:",
        "    default/test-2; pods with app=bibliotheque in namespace default : all  (egress: not isolated; "
        "ingress: default/api-allow ingress[0])"]
    r = runner.invoke(app, ["exposure", "default/apiserver", "-f", limit, "--input-only"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[3] == (
        "    default/test-2 : all  (egress: not isolated; ingress: default/api-allow ingress[0])")


def test_the_region_limit_is_exit_2_naming_what_to_narrow(tmp_path: Path) -> None:
    """A NetworkPolicy with 1,000 label keys: refused before any region is built, one line. (`list` of every
    namespace then goes a namespace at a time, within the larger budget of one namespace's regions.)"""
    keys = ", ".join(f"k{i:04}: v" for i in range(1000))
    path = tmp_path / "wide.yaml"
    path.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: wide, namespace: a}\n"
                    f"spec: {{podSelector: {{matchLabels: {{{keys}}}}}}}\n")
    r = runner.invoke(app, ["list", "-f", str(path)])
    assert r.exit_code == 0 and "so the list is made some namespaces at a time" in r.stderr
    for args in (["exposure", "-f", str(path)],):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, args
        assert r.stderr.splitlines()[-1].startswith(
            "netpol: error: the policies tell apart kinds of pod that take more than 320,000 label terms to name "
            "(1,002 kinds so far); netpol does not sample: narrow the input to fewer selectors on the keys that multiply "
            "the kinds of pods in namespace a: k0000, k0001, k0002, k0003, k0004 +995 more")
    same = runner.invoke(app, ["diff", str(path), str(path)])  # a diff builds what its changes reach: nothing here
    assert (same.exit_code, same.stdout) == (0, "no reachability change\n")


def test_a_namespace_no_one_names_is_exit_2_on_every_surface() -> None:
    said = ("netpol: error: paymnets{app=db}: namespace paymnets is neither in the input nor named by a policy (did you "
            "mean payments?); to ask about a namespace that does not exist yet, give its Namespace object (in an "
            "intent: namespaceLabels with possible: true)")
    for args in (["exposure", "paymnets{app=db}", "-f", REPO], ["list", "-f", REPO, "--to", "paymnets{app=db}"],
                 ["list", "-f", REPO, "--from", "paymnets{app=db}"],
                 ["can-reach", "web{}", "paymnets{app=db}", "-p", "80", "-f", REPO]):
        r = runner.invoke(app, args)
        assert (r.exit_code, r.stderr.splitlines()[-1]) == (2, said), args
    r = runner.invoke(app, ["list", "-f", REPO, "--from", "kube-system{}", "--to", "monitoring{}"])
    assert r.exit_code == 0  # named by policies only: known


def test_a_possible_pods_named_port_is_shown_by_its_name(tmp_path: Path) -> None:
    """A possible pod declares a named port at a placeholder number that no rule names: every line of the
    verdict (its detail, a denial's reason, JSON) says the name; a real pod's named port stays its number."""
    path = tmp_path / "shop.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        namespace("shop"), pod("web", "shop", {"app": "web"}),
        pod("db-0", "shop", {"app": "db"}, [(5432, "TCP", "pg")]),
        policy("db", "shop", labels(app="db"), ingress=[{"from": [{"podSelector": labels(app="web")}],
                                                         "ports": [{"port": "pg"}]}])]}))
    r = runner.invoke(app, ["can-reach", "shop/web", "shop{app=db}", "-p", "pg", "-f", str(path)])
    assert (r.exit_code, r.stdout.splitlines()) == (0, [
        "ALLOWED for every possible pod: shop/web -> shop{app=db} TCP/pg",
        "  ALLOWED: shop/web -> shop/{app=db} TCP/pg",
        "    egress  of shop/web: not isolated: no NetworkPolicy selects shop/web for egress",
        "    ingress of shop/{app=db}: allowed by shop/db ingress[0]"])
    r = runner.invoke(app, ["can-reach", "shop{app=other}", "shop{app=db}", "-p", "pg", "-f", str(path)])
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1:] == [
        "  DENIED: shop/{app=other} -> shop/{app=db} TCP/pg",
        "    egress  of shop/{app=other}: not isolated: no NetworkPolicy selects shop/{app=other} for egress",
        "    ingress of shop/{app=db}: denied: shop/{app=db} is isolated for ingress by shop/db "
        "and no rule allows receiving TCP/pg from shop/{app=other}"]
    r = runner.invoke(app, ["can-reach", "shop/web", "shop{app=db}", "-p", "pg", "-f", str(path), "-o", "json"])
    pair = json.loads(r.stdout)["pairs"][0]
    assert (pair["port"], pair["port_name"]) == (None, "pg")
    r = runner.invoke(app, ["can-reach", "shop/web", "shop/db-0", "-p", "pg", "-f", str(path)])
    assert (r.exit_code, r.stdout.splitlines()[0]) == (0, "ALLOWED: shop/web -> shop/db-0 TCP/5432")
