"""The CLI through typer's runner: output, formats and exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES

runner = CliRunner()


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def fx(name: str) -> str:
    return str(FIXTURES / name)


def test_can_reach_allowed_exit_0() -> None:
    r = run("can-reach", "test-2", "apiserver", "--port", "80", "-f", fx("limit"))
    assert r.exit_code == 0
    assert r.stdout == (
        "ALLOWED: default/test-2 -> default/apiserver TCP/80\n"
        "  egress  of default/test-2: not isolated: no NetworkPolicy selects default/test-2 for egress\n"
        "  ingress of default/apiserver: allowed by default/api-allow ingress[0]\n"
    )


def test_can_reach_denied_exit_1() -> None:
    r = run("can-reach", "default/test-1", "default/apiserver", "-p", "80", "-f", fx("limit"))
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == "DENIED: default/test-1 -> default/apiserver TCP/80"
    assert r.stdout.splitlines()[2] == (
        "  ingress of default/apiserver: denied: default/apiserver is isolated for ingress by "
        "default/api-allow and no rule allows receiving TCP/80 from default/test-1"
    )


def test_can_reach_json() -> None:
    r = run("can-reach", "test", "kube-system/coredns", "-p", "53", "--protocol", "UDP", "-o", "json",
            "-f", fx("egress-allow-dns"))
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["allowed"] is True and data["protocol"] == "UDP" and data["port"] == 53
    assert data["egress"]["allowed_by"] == [{"kind": "NetworkPolicy", "api_version": "networking.k8s.io/v1",
                                             "policy": "default/foo-deny-egress", "direction": "egress", "rule": 0}]
    assert data["ingress"]["isolated"] is False


def test_can_reach_json_provenance_names_kind_and_api_version() -> None:
    """Every rule a verdict names carries its kind and API version in JSON; the text names the rule only."""
    args = ("can-reach", "slytherin/draco", "gryffindor/harry", "-p", "80", "-f", fx("tiered-pass-v1alpha1"))
    ingress = json.loads(run(*args, "-o", "json").stdout)["ingress"]
    assert ingress["allowed_by"] == [{"kind": "NetworkPolicy", "api_version": "networking.k8s.io/v1",
                                      "policy": "gryffindor/allow-from-slytherin", "direction": "ingress", "rule": 0}]
    assert ingress["passed_by"] == {"tier": "Admin", "kind": "AdminNetworkPolicy",
                                    "api_version": "policy.networking.k8s.io/v1alpha1",
                                    "policy": "gryffindor-delegates", "priority": 10, "direction": "ingress", "rule": 0,
                                    "rule_name": "let-namespaces-decide", "action": "Pass"}
    assert run(*args).stdout.splitlines()[2] == (
        "  ingress of gryffindor/harry: passed on by ANP gryffindor-delegates priority 10 ingress[0] "
        "'let-namespaces-decide' (Pass); NetworkPolicy tier: allowed by gryffindor/allow-from-slytherin ingress[0]")


def test_can_reach_by_ip_and_port_name() -> None:
    r = run("can-reach", "10.244.13.11", "kube-system/coredns", "-p", "dns", "--protocol", "udp",
            "-f", fx("egress-allow-dns"))
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == "ALLOWED: default/test -> kube-system/coredns UDP/53"


def test_can_reach_external_address() -> None:
    r = run("can-reach", "test", "198.51.100.7", "-p", "443", "-f", fx("egress-cluster-only"))
    assert r.exit_code == 1
    assert "assumption: 198.51.100.7 is outside the cluster" in r.stdout


def test_unknown_pod_exits_2_with_suggestions() -> None:
    r = run("can-reach", "test-9", "apiserver", "-p", "80", "-f", fx("limit"))
    assert r.exit_code == 2
    assert r.stderr == ("netpol: error: unknown pod 'test-9'; did you mean default/test-2, default/test-1?\n")


def test_unknown_port_name_exits_2() -> None:
    r = run("can-reach", "test-1", "apiserver", "-p", "http", "-f", fx("limit"))
    assert r.exit_code == 2
    assert r.stderr == "netpol: error: default/apiserver declares no TCP container port named 'http'\n"


def test_bad_manifest_is_one_line_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "p.yaml"
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n"
                   "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 80, endPort: 8}]\n")
    r = run("matrix", "-f", str(bad))
    assert r.exit_code == 2
    assert r.stderr == (f"netpol: error: {bad}: document 1, line 1 (NetworkPolicy x): "
                        "spec.ingress[0].ports[0].endPort: must be >= port (80)\n")
    assert "Traceback" not in r.output


def test_no_input_and_no_kube_config_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = runner.invoke(app, ["matrix"], env={"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)})
    assert r.exit_code == 2
    assert r.stderr == (f"netpol: error: cannot load the kube config {tmp_path / 'none'}: no such file "
                        "(to analyse manifests instead, pass -f PATH)\n")
    assert r.stderr.endswith("(to analyse manifests instead, pass -f PATH)\n")


def test_bad_protocol_is_a_usage_error() -> None:
    r = run("can-reach", "a", "b", "-p", "80", "--protocol", "GRE", "-f", fx("limit"))
    assert r.exit_code == 2


def test_matrix_json_contract() -> None:
    r = run("matrix", "-f", fx("external-port-80"), "--port", "80", "--protocol", "TCP", "-o", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "port": 80,
        "protocol": "TCP",
        "pods": ["default/test-1", "default/test-nginx", "default/web"],
        "allowed": [["default/test-1", "default/web"], ["default/test-nginx", "default/web"]],
        "notes": [],
        "assumptions": ["a pod's traffic to itself ('self') is assumed allowed"],
    }


def test_matrix_json_empty_allowed_is_valid_json() -> None:
    r = run("matrix", "-f", fx("deny-all"), "--port", "80", "-o", "json")
    assert json.loads(r.stdout)["allowed"] == []


def test_matrix_ports_json_lists_port_sets() -> None:
    r = run("matrix", "-f", fx("specific-port"), "-o", "json")
    data = json.loads(r.stdout)
    assert data["port"] is None and data["protocol"] is None
    entry = next(e for e in data["ports"] if e["from"] == "default/test-2" and e["to"] == "default/apiserver")
    assert entry == {"from": "default/test-2", "to": "default/apiserver", "ports": "TCP:5000",
                     "ranges": {"TCP": [[5000, 5000]]}}
    assert ["default/test-1", "default/apiserver"] not in data["allowed"]


def test_matrix_csv() -> None:
    r = run("matrix", "-f", fx("limit"), "-p", "80", "-o", "csv")
    assert r.stdout == (
        "from,default/apiserver,default/test-1,default/test-2\n"
        "default/apiserver,self,allow,allow\n"
        "default/test-1,deny,self,allow\n"
        "default/test-2,allow,allow,self\n"
    )


def test_matrix_markdown_with_ports() -> None:
    r = run("matrix", "-f", fx("egress-allow-dns"), "-o", "md")
    assert r.stdout.splitlines()[2:] == [
        "| from \\ to | `default/test` | `default/web` | `kube-system/coredns` |",
        "|---|---|---|---|",
        "| `default/test` | self | TCP:53 UDP:53 | TCP:53 UDP:53 |",
        "| `default/web` | all | self | all |",
        "| `kube-system/coredns` | all | all | self |",
        "",
        "- assumption: a pod's traffic to itself \\('self'\\) is assumed allowed",  # md_text: shown as written
    ]


def test_matrix_namespace_filter() -> None:
    r = run("matrix", "-f", fx("deny-from-other-namespaces"), "-n", "foo", "-p", "80", "-o", "json")
    assert json.loads(r.stdout)["pods"] == ["foo/test-2", "foo/web"]
    r = run("matrix", "-f", fx("deny-from-other-namespaces"), "-n", "nope")
    assert r.exit_code == 2 and r.stderr == ("netpol: error: unknown namespace(s) for -n: nope; the input knows "
                                             "bar, default, foo\n")


def test_matrix_table() -> None:
    r = run("matrix", "-f", fx("limit"), "-p", "80")
    assert r.exit_code == 0
    rows = [line for line in r.stdout.splitlines() if "default/test-1 " in line and "│" in line]
    assert rows and "✗" in rows[0].split("│")[2]


def test_explain_table_and_json() -> None:
    r = run("explain", "-f", fx("egress-to-a-namespace"))
    assert r.exit_code == 0
    assert "pods [k8s-app=kube-dns] in namespaces [kubernetes.io/metadata.name=kube-system]" in r.stdout
    r = run("explain", "-f", fx("deny-all"), "-o", "json")
    assert json.loads(r.stdout) == [{
        "tier": "NetworkPolicy", "namespace": "default", "policy": "default-deny-ingress", "direction": "ingress",
        "policy_types_defaulted": False, "pod_selector": "{}", "targets": ["default/test-1", "default/web"],
        "effect": "deny all ingress", "rules": [],
    }]


def test_explain_namespace_filter() -> None:
    r = run("explain", "-f", fx("allow-from-a-namespace"), "-f", fx("deny-from-other-namespaces"), "-n", "foo", "-o", "json")
    assert r.exit_code == 0  # both fixtures declare the same namespace default: merged, with a note
    assert [s["policy"] for s in json.loads(r.stdout)] == ["deny-from-other-namespaces"]
    assert r.stderr == "netpol: info: merged 1 identical duplicate object(s): Namespace default\n"
    r = run("explain", "-f", fx("deny-from-other-namespaces"), "-n", "foo", "-o", "json")
    assert [s["policy"] for s in json.loads(r.stdout)] == ["deny-from-other-namespaces"]
    r = run("explain", "-f", fx("deny-from-other-namespaces"), "-n", "bar", "-o", "json")
    assert json.loads(r.stdout) == []


def test_stdin_and_verbose_ignored_objects() -> None:
    text = (FIXTURES / "specific-port" / "cluster.yaml").read_text()
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
    r = run("matrix", "-f", "-", "-v", "-o", "csv", stdin=text)
    assert r.exit_code == 0
    assert "netpol: ignored 1 object(s) of other kinds: ConfigMap (v1) x1\n" in r.stderr
    assert "<stdin>: document 6, line 64 (ConfigMap settings): ConfigMap (v1) settings" in r.stderr


def test_matrix_reports_plugin_dependent_assumptions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: node-agent}\nspec: {hostNetwork: true, containers: [{name: c}]}\n"
        "status: {podIP: 192.168.0.5}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: pending}\n"
        "spec: {containers: [{name: c}]}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
        "spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 192.168.0.0/16}}]}]}\n")
    r = run("matrix", "-f", str(tmp_path), "-p", "80", "-o", "json")
    notes = json.loads(r.stdout)["assumptions"]
    assert len(notes) == 4
    assert notes[1].startswith("default/node-agent uses hostNetwork")
    assert notes[2] == "default/pending has no known IP (status.podIP): ipBlock rules are assumed not to match it"
    assert notes[3].startswith("ipBlock rules are assumed to match pods whose IP they contain (default/node-agent)")
    r = run("matrix", "-f", str(tmp_path), "-p", "80", "-o", "csv")
    assert r.stderr.count("netpol: ") == 4 + 1  # the notes, and the undeclared-namespace warning


def test_version() -> None:
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.startswith("netpol ")


@pytest.mark.parametrize("command", ["can-reach", "matrix", "explain"])
def test_help(command: str) -> None:
    assert run(command, "--help").exit_code == 0


def test_graph_dot_to_stdout_and_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("graph", "-f", fx("deny-all"))
    assert r.exit_code == 0
    assert r.stdout.startswith("digraph netpol {\n")
    for ext, magic in (("dot", b"digraph"), ("svg", b"<?xml"), ("png", b"\x89PNG")):
        out = tmp_path / f"g.{ext}"
        r = run("graph", "-f", fx("deny-all"), "-o", str(out))
        assert r.exit_code == 0, r.stderr
        assert out.read_bytes().startswith(magic)
    r = run("graph", "-f", fx("deny-all"), "-o", str(tmp_path / "g.out"), "--format", "svg")
    assert r.exit_code == 0 and (tmp_path / "g.out").read_bytes().startswith(b"<?xml")


def test_graph_options_reach_the_diagram() -> None:
    r = run("graph", "-f", fx("limit"), "--focus", "default/apiserver", "-p", "80")
    assert r.exit_code == 0
    assert 'label="netpol allow-graph (probe TCP/80)\nneighbourhood of default/apiserver"' in r.stdout
    r = run("graph", "-f", fx("allow-from-a-namespace"), "-n", "prod")
    assert "cluster_prod" in r.stdout and "cluster_default" not in r.stdout


def test_graph_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("graph", "-f", fx("limit"), "-o", str(tmp_path / "g.jpg"))
    assert r.exit_code == 2
    assert r.stderr == (f"netpol: error: cannot tell the format of '{tmp_path / 'g.jpg'}' from its extension: "
                        "use .dot, .svg, .png, .mmd or .md, or --format\n")
    r = run("graph", "-f", fx("limit"), "--focus", "default/nope")
    assert r.exit_code == 2 and "unknown" in r.stderr
    r = run("graph", "-f", fx("limit"), "-o", str(tmp_path / "missing-dir" / "g.dot"))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1].startswith(f"netpol: error: cannot write {tmp_path / 'missing-dir' / 'g.dot'}: ")


def test_graph_without_graphviz(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = runner.invoke(app, ["graph", "-f", fx("limit"), "-o", str(tmp_path / "g.png")], env={"PATH": str(tmp_path)})
    assert r.exit_code == 2
    errors = [line for line in r.stderr.splitlines() if not line.startswith("netpol: note: ")]  # notes: possible pods
    assert len(errors) == 1 and errors[0].startswith("netpol: error: Graphviz's 'dot' program is not installed")
    r = runner.invoke(app, ["graph", "-f", fx("limit"), "-o", str(tmp_path / "g.dot")], env={"PATH": str(tmp_path)})
    assert r.exit_code == 0


INTENTS = FIXTURES.parent / "intents"
WRONG = FIXTURES.parent / "tests" / "data" / "limit-wrong.yaml"


def test_check_all_fixture_intents_pass() -> None:
    r = run("check", *sorted(str(p) for p in INTENTS.glob("*.intent.yaml")))
    assert r.exit_code == 0, r.stdout
    assert r.stdout.splitlines()[-1] == "98 passed, 0 failed"


def test_check_failures_explain_and_exit_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    junit = tmp_path / "junit.xml"
    r = run("check", str(WRONG), "--junit", str(junit))
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0] == f"FAIL limit-wrong: test-1 reaches the API ({WRONG}:7)"
    assert lines[1] == "  expected: default/test-1 -> default/apiserver on 80: allow (1 of 1 pairs wrong)"
    assert lines[2] == "    default/test-1 -> default/apiserver should be allowed but is denied on TCP:80"
    assert lines[5].endswith("denied: default/apiserver is isolated for ingress by default/api-allow and no rule "
                             "allows receiving TCP/80 from default/test-1")
    assert "    default/test-2 -> default/apiserver should be denied but is allowed on all" in lines
    assert lines[-2:] == ["PASS limit-wrong: the front end reaches test-1 (1 pair)", "1 passed, 2 failed"]
    import xml.etree.ElementTree as ET
    root = ET.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "3", "2")
    cases = root.findall("testsuite/testcase")
    assert [(c.get("name"), c.get("line"), c.find("failure") is not None) for c in cases] == [
        ("test-1 reaches the API", "7", True), ("nobody reaches the API", "12", True),
        ("the front end reaches test-1", "16", False)]
    assert cases[0].find("failure").get("message") == (  # type: ignore[union-attr]
        "expected: default/test-1 -> default/apiserver on 80: allow (1 of 1 pairs wrong)")


def test_check_json_and_manifest_override() -> None:
    r = run("check", str(WRONG), "-o", "json", "-f", fx("allow-all"))
    assert r.exit_code == 2  # allow-all has no apiserver: two expectations name an unknown pod; the third runs
    data = json.loads(r.stdout)
    assert (data["passed"], data["failed"], data["errors"]) == (1, 0, 2)
    assert data["results"][0]["error"] == (f"{WRONG}: line 7 (test-1 reaches the API): unknown pod "
                                           "'default/apiserver'; did you mean default/web?")
    r = run("check", str(WRONG), "-o", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert (data["passed"], data["failed"]) == (1, 2)
    first = data["results"][0]
    assert (first["name"], first["line"], first["passed"], first["pairs"]) == ("test-1 reaches the API", 7, False, 1)
    assert first["failures"][0]["verdict"]["ingress"]["isolated_by"] == ["default/api-allow"]


def test_diff_exit_codes_and_formats(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("diff", fx("limit"), fx("limit"))
    assert (r.exit_code, r.stdout) == (0, "no reachability change\n")
    r = run("diff", fx("deny-all"), fx("allow-all"), "--input-only")
    assert r.exit_code == 1
    assert r.stdout == (  # the added pod's connections are changes like any other
        "10 pair(s) gained, 0 lost, 0 with changed ports, pods: 1 added, 0 removed\n"
        "+ default/test-2 -> any address: all\n"
        "+ any address, default/test-2, default/web -> default/test-1: all\n"
        "+ any address, default/test-1, default/web -> default/test-2: all\n"
        "+ any address, default/test-1, default/test-2 -> default/web: all\n"
        "pod added: default/test-2\n")
    r = run("diff", fx("allow-all"), fx("deny-all"), "--input-only")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[:3] == [
        "0 pair(s) gained, 10 lost, 0 with changed ports, pods: 0 added, 1 removed",
        "- default/test-2 -> any address: was all",
        "- any address, default/test-2, default/web -> default/test-1: was all"]
    r = run("diff", fx("deny-all"), fx("allow-all"), "-o", "md")
    assert r.stdout.startswith("### netpol: reachability changes\n")
    assert json.loads(run("diff", fx("limit"), fx("deny-all"), "-o", "json").stdout)["changed"] is True
    r = run("diff", "-", "-")
    assert r.exit_code == 2


def test_can_reach_a_service_resolves_the_target_port() -> None:
    r = run("can-reach", "default/test-2", "svc/apiserver:5001", "-f", fx("specific-port"))
    assert r.exit_code == 0
    assert r.stdout.splitlines()[:2] == [
        "ALL: default/test-2 -> svc/apiserver:5001 (Service default/apiserver port 5001/TCP named 5001-5000, "
        "targetPort 5000): 1 of 1 backing pod(s) reachable",
        "  ALLOWED: default/test-2 -> default/apiserver TCP/5000",
    ]
    r = run("can-reach", "default/test-2", "svc/apiserver:8001", "-f", fx("specific-port"), "-o", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert (data["summary"], data["service_port"]["target_port"]) == ("none", 8000)
    r = run("can-reach", "default/test-2", "svc/apiserver:8001", "-p", "80", "-f", fx("specific-port"))
    assert r.exit_code == 2
    assert r.stderr == "netpol: error: a Service destination takes its port as svc/NAME:PORT, not --port\n"


def test_default_namespace_on_every_command_that_reads_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec: {containers: [{name: c}]}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n")
    a = str(tmp_path / "a.yaml")
    r = run("can-reach", "1.2.3.4", "argocd/web", "-p", "80", "-f", a, "--default-namespace", "argocd")
    assert (r.exit_code, r.stdout.splitlines()[0]) == (1, "DENIED: 1.2.3.4 -> argocd/web TCP/80")
    for command in (["matrix"], ["explain"], ["list"], ["exposure", "argocd/web"], ["lint"], ["graph"]):
        r = run(*command, "-f", a, "--default-namespace", "argocd")
        assert r.exit_code in (0, 1) and "namespace 'argocd' is used" in r.stderr, (command, r.stderr)
        assert "namespace 'default'" not in r.stderr and "default/web" not in r.stdout, (command, r.stdout)
    r = run("diff", a, a, "--default-namespace", "argocd")
    assert r.exit_code == 0 and "namespace 'argocd' is used" in r.stderr
    r = run("matrix", "--default-namespace", "argocd", "--kubeconfig", str(tmp_path / "none"))
    assert r.exit_code == 2 and "--default-namespace is for manifests that name no namespace: pass -f PATH" in r.stderr


def test_can_reach_a_service_echoes_the_reference_as_given() -> None:
    """The endpoint as the user wrote it, beside the Service it resolved to; JSON keeps both."""
    for given in ("default/svc/apiserver:5001", "svc/apiserver:5001-5000"):
        r = run("can-reach", "default/test-2", given, "-f", fx("specific-port"))
        assert r.stdout.startswith(f"ALL: default/test-2 -> {given} (Service default/apiserver port 5001/TCP named "
                                   "5001-5000, targetPort 5000): "), r.stdout
        data = json.loads(run("can-reach", "default/test-2", given, "-f", fx("specific-port"), "-o", "json").stdout)
        assert (data["reference"], data["service"]) == (given, "default/apiserver")
