"""Under the cilium profile, can-reach evaluates CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy and names
the deciding rules: the deny that won, the allows of the union, or the policies that isolate (issue 25)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()


def _pod(name: str, ip: str, ports: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "ports": ports or []}]}, "status": {"podIP": ip}}


OBJECTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    _pod("web", "10.0.0.1", [{"containerPort": 80, "name": "http"}]), _pod("client", "10.0.0.2"),
    _pod("bad", "10.0.0.3"),
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "web-in", "namespace": "shop"},
     "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
              "ingress": [{"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "80"}]}]},
                          {"fromEntities": ["cluster"], "icmps": [{"fields": [{"type": "EchoRequest"}]}]}],
              "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"app": "bad"}}]}]}},
    {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "no-world"},
     "spec": {"endpointSelector": {}, "egressDeny": [{"toEntities": ["world"]}],
              "enableDefaultDeny": {"egress": False}}},  # a deny-only policy would isolate egress (brief §3.2)
]


@pytest.fixture
def manifests(tmp_path: Path) -> str:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all(OBJECTS))
    return str(path)


@pytest.mark.parametrize(("args", "code", "egress", "ingress"), [
    (["shop/client", "shop/web", "-p", "80"], 0,
     "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates shop/client "
     "for egress, and no deny rule matches", "allowed by CNP shop/web-in spec ingress[0]"),
    (["shop/client", "shop/web", "-p", "80", "--protocol", "UDP"], 0,  # no protocol in a CNP: TCP, UDP and SCTP
     "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates shop/client "
     "for egress, and no deny rule matches", "allowed by CNP shop/web-in spec ingress[0]"),
    (["shop/bad", "shop/web", "-p", "80"], 1,
     "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates shop/bad "
     "for egress, and no deny rule matches",
     "denied by CNP shop/web-in spec ingressDeny[0]: a deny wins over every allow"),
    (["shop/client", "shop/web", "-p", "81"], 1,
     "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates shop/client "
     "for egress, and no deny rule matches",
     "denied: shop/web is isolated for ingress by CNP shop/web-in and no rule allows receiving TCP/81 from "
     "shop/client"),
    (["shop/client", "shop/web", "--protocol", "ICMP", "--icmp-type", "8"], 0,
     "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates shop/client "
     "for egress, and no deny rule matches", "allowed by CNP shop/web-in spec ingress[1]"),
    (["shop/web", "198.51.100.7", "-p", "443"], 1,
     "denied by CCNP no-world spec egressDeny[0]: a deny wins over every allow", "not governed: 198.51.100.7 is "
     "outside the cluster"),
])
def test_can_reach_names_the_deciding_cilium_rules(manifests: str, args: list[str], code: int, egress: str,
                                                   ingress: str) -> None:
    r = runner.invoke(app, ["can-reach", *args, "-f", manifests])
    assert r.exit_code == code, r.stderr
    lines = r.stdout.splitlines()
    assert [lines[1].split(": ", 1)[1], lines[2].split(": ", 1)[1]] == [egress, ingress]
    assert "not evaluated" not in r.stderr


def test_json_gives_the_rules_as_data(manifests: str) -> None:
    r = runner.invoke(app, ["can-reach", "shop/bad", "shop/web", "-p", "80", "-f", manifests, "-o", "json"])
    assert r.exit_code == 1
    ingress = json.loads(r.stdout)["ingress"]
    assert (ingress["allowed"], ingress["isolated_by"], ingress["cilium_rules"]) == (False, ["CNP shop/web-in"], [
        {"kind": "CiliumNetworkPolicy", "api_version": "cilium.io/v2", "policy": "shop/web-in", "namespace": "shop",
         "rule": "spec", "direction": "ingress", "section": "ingressDeny", "index": 0, "action": "Deny"}])
    r = runner.invoke(app, ["can-reach", "shop/client", "shop/web", "-p", "80", "-f", manifests, "-o", "json"])
    assert json.loads(r.stdout)["ingress"]["cilium_rules"] == [
        {"kind": "CiliumNetworkPolicy", "api_version": "cilium.io/v2", "policy": "shop/web-in", "namespace": "shop",
         "rule": "spec", "direction": "ingress", "section": "ingress", "index": 0, "action": "Allow"}]


def test_explain_lists_cilium_policies_with_their_sections(manifests: str) -> None:
    r = runner.invoke(app, ["explain", "-f", manifests])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[2:] == [
        "CCNP no-world spec  (CiliumClusterwideNetworkPolicy, cilium.io/v2)",
        "  subject: [{}] in every namespace -> 3 pod(s): shop/bad, shop/client, shop/web",
        "  isolates: nothing (it only adds rules)",
        "  egressDeny[0]: deny on all ports and ICMP, to:",
        "    - entity world",
        "",
        "CNP shop/web-in spec  (CiliumNetworkPolicy, cilium.io/v2)",
        "  subject: [any:app=web] in namespace shop -> 1 pod(s): shop/web",
        "  isolates: ingress",
        "  ingress[0]: allow on ANY:80, from:",
        "    - endpoints [{}]",
        "  ingress[1]: allow on ICMP:8, from:",
        "    - entity cluster",
        "  ingressDeny[0]: deny on all ports and ICMP, from:",
        "    - endpoints [any:app=bad]",
        "",
        "NetworkPolicies: none", ""]
    r = runner.invoke(app, ["explain", "-f", manifests, "-o", "json"])
    first = json.loads(r.stdout)[0]
    assert (first["kind"], first["policy"], first["isolates"], first["entries"]) == (
        "CiliumClusterwideNetworkPolicy", "no-world", [], [
            {"section": "egressDeny", "index": 0, "action": "Deny", "peers": ["entity world"],
             "ports": "all ports and ICMP"}])


def test_possible_pods_are_cut_by_cilium_selectors(tmp_path: Path) -> None:
    """Possible pods are cut where a CNP's selectors tell pods apart: a pod with app=bad that could exist in shop is
    denied by the deny rule, so the pods that reach web are those with app notin (bad), never 'any pod in shop'."""
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all(OBJECTS[:5]))  # the CNP, without the CCNP
    r = runner.invoke(app, ["list", "-f", str(path), "--to", "shop/web"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "shop/client; pods with app notin (bad) in namespace shop => shop/web : TCP:80 UDP:80 SCTP:80 ICMP:8",
        "any pod in any other namespace => shop/web : ICMP:8"]  # fromEntities: [cluster] on ICMP echo


def test_diff_sees_a_changed_cilium_policy(tmp_path: Path) -> None:
    """A CNP changed from 'every pod of shop on 80' to one outside CIDR: diff names both sides (a change of a CNP
    alone reaches every pod, as a changed node does)."""
    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(yaml.safe_dump_all(OBJECTS[:5]))
    changed = {**OBJECTS[4], "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
                                      "ingress": [{"fromCIDR": ["198.51.100.0/24"]}]}}
    head.write_text(yaml.safe_dump_all([*OBJECTS[:4], changed]))
    r = runner.invoke(app, ["diff", str(base), str(head), "--input-only"])
    assert r.exit_code == 1, r.stderr
    assert r.stdout.splitlines() == [  # shop/bad was denied everything by the deny rule, before and after
        "1 pair(s) gained, 1 lost, 0 with changed ports",
        "+ 198.51.100.0/24 -> shop/web: all",
        "- shop/client -> shop/web: was TCP:80 UDP:80 SCTP:80 ICMP:8"]


def test_exposure_of_many_classes_asks_the_engine(tmp_path: Path) -> None:
    """Exposure of more than 16 classes reads rows and columns (netpol.engine.slices); under Cilium's stages each
    pair is the engine's answer: the deny rule keeps bad-* out of web, the CIDR admits only outside addresses."""
    pods = [_pod(f"bad-{i}", f"10.0.1.{i}") for i in range(20)]
    for i, p in enumerate(pods):
        p["metadata"]["labels"] = {"app": "bad", "n": str(i)}  # type: ignore[index]
    cnp = {**OBJECTS[4], "spec": {**OBJECTS[4]["spec"],  # type: ignore[dict-item]
                                  "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"app": "bad"}}]}]}}
    path = tmp_path / "many.yaml"
    extra = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
             "metadata": {"name": "n", "namespace": "shop"},
             "spec": {"endpointSelector": {"matchExpressions": [{"key": "n", "operator": "In",
                                                                  "values": [str(i) for i in range(20)]}]},
                      "egress": [{"toEndpoints": [{"matchLabels": {"app": "web"}}]}]}}
    path.write_text(yaml.safe_dump_all([*OBJECTS[:4], cnp, *pods, extra]))
    r = runner.invoke(app, ["exposure", "-f", str(path), "-n", "shop", "--input-only", "-o", "json"])
    assert r.exit_code == 0, r.stderr
    web = next(e for e in json.loads(r.stdout)["exposure"] if e["target"] == "shop/web")
    sources = {s for link in web["reached_by"] for s in link["peers"]}
    assert "shop/client" in sources and not any(s.startswith("shop/bad") for s in sources)


def test_lint_under_cilium_runs_the_checks_that_read_its_rules(manifests: str) -> None:
    """No crash and no false 'selects no pod': every cluster check runs on the compiled stages (branch lint); only
    NP204 waits for DNS pods, said."""
    r = runner.invoke(app, ["lint", "-f", manifests])
    assert r.exit_code == 0, r.stderr
    notes = [line for line in r.stdout.splitlines() if line.startswith("note:")]
    assert "warning NP201" not in r.stdout and notes == [
        "note: NP204 (DNS blocked) was not checked: the input has no DNS pods (k8s-app=kube-dns in kube-system), "
        "and under the cilium profile it needs them"]


def test_a_node_address_is_the_node_not_world(tmp_path: Path) -> None:
    """An address of a node (Node status.addresses) is Cilium's `host` for the pods on that node and `remote-node`
    for the others, never `world` (cilium-policies.md §2.4): the world deny does not match it, the cluster entity
    does, and allow-localhost admits only the pod's own node."""
    web = {**OBJECTS[1], "spec": {**OBJECTS[1]["spec"], "nodeName": "n1"}}  # type: ignore[dict-item]
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
              "status": {"addresses": [{"type": "InternalIP", "address": a}]}}
             for n, a in (("n1", "192.168.0.1"), ("n2", "192.168.0.2"))]
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml.safe_dump_all([OBJECTS[0], web, *OBJECTS[2:], *nodes]))
    cases = [
        (["192.168.0.1", "shop/web", "-p", "80"], 0,
         "allowed: 192.168.0.1 is an address of shop/web's node (n1), and traffic from a pod's own node to the pod "
         "is always allowed (under this network plugin)"),
        (["192.168.0.2", "shop/web", "-p", "80"], 1,
         "denied: shop/web is isolated for ingress by CNP shop/web-in and no rule allows receiving TCP/80 from "
         "192.168.0.2"),
        (["192.168.0.2", "shop/web", "--protocol", "ICMP", "--icmp-type", "8"], 0,
         "allowed by CNP shop/web-in spec ingress[1]"),  # fromEntities: [cluster] holds remote nodes
        (["shop/web", "192.168.0.2", "-p", "443"], 0,  # the egress world deny does not match a node
         "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy rule isolates shop/web "
         "for egress, and no deny rule matches"),
    ]
    for args, code, reason in cases:
        r = runner.invoke(app, ["can-reach", *args, "-f", str(path)])
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        side = 2 if args[0].startswith("192") else 1
        assert r.stdout.splitlines()[side].split(": ", 1)[1] == reason, args
        assert ("assumption: 192.168.0.2 is an address of node n2: Cilium sees it as `host` from the pods on that "
                "node and as `remote-node` from the others, never as `world`") in r.stdout or "192.168.0.1" in args


def _nodes_input(tmp_path: Path) -> str:
    """web on n1 behind a CNP that admits 192.168.0.0/16, client on n2; the nodes' addresses in that range."""
    web = {**OBJECTS[1], "spec": {**OBJECTS[1]["spec"], "nodeName": "n1"}}  # type: ignore[dict-item]
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
              "status": {"addresses": [{"type": "InternalIP", "address": a}]}}
             for n, a in (("n1", "192.168.0.1"), ("n2", "192.168.0.2"))]
    cnp = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
           "metadata": {"name": "web-in", "namespace": "shop"},
           "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"fromCIDR": ["192.168.0.0/16"]}]}}
    path = tmp_path / "options.yaml"
    path.write_text(yaml.safe_dump_all([OBJECTS[0], web, OBJECTS[2], *nodes, cnp]))
    return str(path)


@pytest.mark.parametrize(("options", "src", "code", "reason"), [
    ([], "192.168.0.2", 1, "denied: shop/web is isolated for ingress by CNP shop/web-in and no rule allows receiving "
                           "TCP/80 from 192.168.0.2"),
    (["policy-cidr-match-mode=nodes"], "192.168.0.2", 0, "allowed by CNP shop/web-in spec ingress[0]"),
    ([], "192.168.0.1", 0, "allowed: 192.168.0.1 is an address of shop/web's node (n1), and traffic from a pod's own "
                           "node to the pod is always allowed (under this network plugin)"),
    (["allow-localhost=policy"], "192.168.0.1", 1, "denied: shop/web is isolated for ingress by CNP shop/web-in and no "
                                                   "rule allows receiving TCP/80 from 192.168.0.1"),
    (["enable-policy=never"], "192.168.0.2", 0, "not isolated: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy "
                                                "or NetworkPolicy rule isolates shop/web for ingress, and no deny rule "
                                                "matches"),
    (["enable-policy=always"], "shop/client", 1, "denied: shop/web is isolated for ingress by CNP shop/web-in, "
                                                 "enable-policy=always and no rule allows receiving TCP/80 from "
                                                 "shop/client"),
])
def test_cni_options_change_the_answer_and_are_stated(tmp_path: Path, options: list[str], src: str, code: int,
                                                      reason: str) -> None:
    args = [a for o in options for a in ("--cni-option", o)]
    r = runner.invoke(app, ["can-reach", src, "shop/web", "-p", "80", "-f", _nodes_input(tmp_path), *args])
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert r.stdout.splitlines()[2].split(": ", 1)[1] == reason
    stated = [line for line in r.stdout.splitlines() if "Cilium agent options" in line]
    assert stated == [
        "  assumption: Cilium agent options " + (f"set by --cni-option: {options[0].split('=')[0]}" if options else
                                                  "at their 1.20 defaults") +
        ": enable-policy=" + next((o.split("=")[1] for o in options if o.startswith("enable-policy")), "default") +
        ", allow-localhost=" + ("policy" if "allow-localhost=policy" in options else "always") +
        ", policy-cidr-match-mode=" + ("nodes" if "policy-cidr-match-mode=nodes" in options else "(empty)") +
        ", policy-default-local-cluster=true, enable-non-default-deny-policies=true, enable-host-firewall=false, "
        "enable-k8s-cluster-network-policy=false, cluster-name=default"]


@pytest.mark.parametrize(("options", "error"), [
    (["--cni-option", "enable-policy=nevr"], "netpol: error: --cni-option 'enable-policy=nevr': enable-policy takes "
                                             "default or always or never"),
    (["--cni-option", "bpf-lb-mode"], "netpol: error: --cni-option 'bpf-lb-mode': expected KEY=VALUE with KEY one of "
                                      "enable-policy, allow-localhost, policy-cidr-match-mode, "
                                      "policy-default-local-cluster, enable-non-default-deny-policies, "
                                      "enable-host-firewall, enable-k8s-cluster-network-policy (the Cilium agent "
                                      "options that change an answer)"),
    (["--cni-option", "enable-k8s-cluster-network-policy=true"],
     "netpol: error: --cni-option 'enable-k8s-cluster-network-policy=true': enable-k8s-cluster-network-policy takes "
     "false (ClusterNetworkPolicy under Cilium is not modelled: it is left out and named in every answer)"),
    (["--cni-option", "policy-cidr-match-mode=pods"], "netpol: error: --cni-option 'policy-cidr-match-mode=pods': "
                                                      "policy-cidr-match-mode takes '' or nodes (pods: netpol does not "
                                                      "model it yet)"),
    (["--cni", "generic", "--cni-option", "enable-policy=never"],
     "netpol: error: --cni-option sets Cilium agent options, and the plugin is generic (--cni generic): pass --cni "
     "cilium"),
])
def test_a_wrong_cni_option_is_one_line_exit_2(tmp_path: Path, options: list[str], error: str) -> None:
    r = runner.invoke(app, ["can-reach", "shop/client", "shop/web", "-p", "80", "-f", _nodes_input(tmp_path), *options])
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1] == error


def test_the_kube_apiserver_entity_is_the_api_servers_endpoints(tmp_path: Path) -> None:
    """toEntities: [kube-apiserver] reaches the endpoints of Service default/kubernetes (an outside address here)
    and the nodes that hold one (n2), nothing else; the answer names the addresses."""
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
              "status": {"addresses": [{"type": "InternalIP", "address": a}]}}
             for n, a in (("n1", "192.168.0.1"), ("n2", "192.168.0.2"))]
    slices = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
              "metadata": {"name": "kubernetes", "namespace": "default",
                           "labels": {"kubernetes.io/service-name": "kubernetes"}},
              "endpoints": [{"addresses": ["192.168.0.2", "203.0.113.1"]}]}
    cnp = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
           "metadata": {"name": "api", "namespace": "shop"},
           "spec": {"endpointSelector": {"matchLabels": {"app": "client"}},
                    "egress": [{"toEntities": ["kube-apiserver"]}]}}
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump_all([OBJECTS[0], OBJECTS[2], *nodes, slices, cnp]))
    got = {}
    for dst in ("203.0.113.1", "192.168.0.2", "192.168.0.1", "198.51.100.7"):
        r = runner.invoke(app, ["can-reach", "shop/client", dst, "-p", "6443", "-f", str(path)])
        assert r.exit_code in (0, 1), r.stderr
        got[dst] = r.stdout.splitlines()[1].split(": ", 1)[1]
    assert got == {"203.0.113.1": "allowed by CNP shop/api spec egress[0]",
                   "192.168.0.2": "allowed by CNP shop/api spec egress[0]",
                   "192.168.0.1": "denied: shop/client is isolated for egress by CNP shop/api and no rule allows "
                                  "sending TCP/6443 to 192.168.0.1",
                   "198.51.100.7": "denied: shop/client is isolated for egress by CNP shop/api and no rule allows "
                                   "sending TCP/6443 to 198.51.100.7"}
    assert ("assumption: CNP shop/api spec egress[0]: entity kube-apiserver: the endpoints of Service "
            "default/kubernetes (192.168.0.2, 203.0.113.1), and the nodes that hold one of them") in r.stdout


def test_check_does_not_pass_what_runtime_facts_decide(tmp_path: Path) -> None:
    """An expectation that holds at L3/L4 only because an L7 rule's port is allowed, or a deny towards an outside
    address that a toFQDNs rule may match at run time, is reported as depending on runtime facts and does not pass
    (exit 1); one that no runtime fact touches passes (docs/intent.md)."""
    cnps = [{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
             "metadata": {"name": "web-in", "namespace": "shop"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
                      "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "client"}}],
                                   "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}],
                                                "rules": {"http": [{"method": "GET"}]}}]}]}},
            {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
             "metadata": {"name": "client-out", "namespace": "shop"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "client"}},
                      "egress": [{"toEndpoints": [{}]},
                                 {"toFQDNs": [{"matchName": "api.example.com"}],
                                  "toPorts": [{"ports": [{"port": "443"}]}]}]}}]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all([*OBJECTS[:3], *cnps]))
    (tmp_path / "t.intent.yaml").write_text(yaml.safe_dump({
        "apiVersion": "netpol/v1", "kind": "NetworkPolicyIntent", "metadata": {"name": "shop"},
        "manifests": ["m.yaml"], "expectations": [
            {"name": "client reaches web", "from": "shop/client", "to": "shop/web", "ports": [80], "expect": "allow"},
            {"name": "nothing outside", "from": "shop/client", "to": "203.0.113.7", "ports": [443],
             "expect": "deny"},
            {"name": "never on 81", "from": "shop/client", "to": "shop/web", "ports": [81], "expect": "deny"}]},
        sort_keys=False))
    r = runner.invoke(app, ["check", str(tmp_path / "t.intent.yaml"), "--allow-outside-repo"])
    assert r.exit_code == 1, r.stderr
    path = tmp_path / "t.intent.yaml"
    assert r.stdout.splitlines() == [
        f"DEPENDS shop: client reaches web ({path}:8): holds at L3/L4, but runtime facts decide it",
        "  shop/client -> shop/web: CNP shop/web-in spec ingress[0]: http rules filter requests at run time: allowed "
        "at L4 only on TCP:80",
        f"DEPENDS shop: nothing outside ({path}:14): holds at L3/L4, but runtime facts decide it",
        "  shop/client -> 203.0.113.7: CNP shop/client-out spec egress[1]: toFQDNs api.example.com may match "
        "203.0.113.7 at run time (DNS answers or the cloud provider): denied only if it does not",
        "PASS shop: never on 81 (1 pair)",
        "1 passed, 2 failed (2 of them hold at L3/L4 but depend on runtime facts)"]
    r = runner.invoke(app, ["check", str(tmp_path / "t.intent.yaml"), "--allow-outside-repo", "-o", "json"])
    first = json.loads(r.stdout)["results"][0]
    assert (first["passed"], first["depends_on_runtime"]) == (False, [
        "shop/client -> shop/web: CNP shop/web-in spec ingress[0]: http rules filter requests at run time: allowed "
        "at L4 only on TCP:80"])
