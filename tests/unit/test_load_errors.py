"""Bad input: one line naming the file, the document, the object and the field path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netpol import InputError, load_manifests
from netpol.errors import QueryError, UnknownEndpointError

NP = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: api-allow\n  namespace: default\n"
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
C = "spec:\n  containers: [{name: c}]\n"  # the one field of a pod spec the API server requires


def np(spec: str) -> str:
    return NP + "spec:\n" + spec


OBJ = "(NetworkPolicy default/api-allow)"

CASES = {
    "invalid yaml": ("a: [1, 2\n", "f.yaml: document 1, line 2: invalid YAML: ..."),
    "invalid yaml in a later document": (
        POD + C + "---\n" + POD.replace("web", "x") + C + "---\nkind: : :\n",
        "f.yaml: document 3, line 15: invalid YAML: ..."),
    "duplicate key": (np("  podSelector: {}\n  ingress: []\n  ingress:\n  - {}\n"),
                      "f.yaml: document 1, line 9: invalid YAML: duplicate key 'ingress'"),
    "not a mapping": ("- 1\n- 2\n", "f.yaml: document 1, line 1: expected an object (a mapping), found list"),
    "missing kind": ("apiVersion: v1\nmetadata: {name: x}\n", "f.yaml: document 1, line 1: kind: required field is missing"),
    "missing apiVersion": ("kind: Pod\nmetadata: {name: x}\n", "f.yaml: document 1, line 1 (Pod x): apiVersion: required field is missing"),
    "missing metadata.name": ("apiVersion: v1\nkind: Pod\nmetadata: {}\n",
                              "f.yaml: document 1, line 1 (Pod): metadata.name: required field is missing"),
    "invalid name": ("apiVersion: v1\nkind: Pod\nmetadata: {name: Web_1}\n",
                     "f.yaml: document 1, line 1 (Pod Web_1): metadata.name: 'Web_1' is not a valid object name"),
    "label value not a string": (POD + "  labels: {version: 1}\n",
                                 "f.yaml: document 1, line 1 (Pod web): metadata.labels.version: must be a string, not an integer"),
    "wrong type": (np("  podSelector: {}\n  ingress: {from: []}\n"),
                   f"f.yaml: document 1, line 1 {OBJ}: spec.ingress: must be a list, not an object"),
    "port neither number nor name": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - port: '80'\n"),
                                     f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[0].port: '80' is neither a port number (1-65535) nor a valid port name"),
    "port out of range": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 70000\n"),
                          f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[0].port: must be between 1 and 65535, not 70000"),
    "endPort below port": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 80, endPort: 79}\n"),
                           f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[0].endPort: must be >= port (80)"),
    "endPort with a named port": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - {port: http, endPort: 90}\n"),
                                  f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[0].endPort: may not be used with a named port (http)"),
    "endPort without port": (np("  podSelector: {}\n  egress:\n  - ports:\n    - {endPort: 90}\n"),
                             f"f.yaml: document 1, line 1 {OBJ}: spec.egress[0].ports[0].endPort: requires port to be set"),
    "unknown operator": (np("  podSelector:\n    matchExpressions:\n    - {key: app, operator: Equals, values: [a]}\n"),
                         f"f.yaml: document 1, line 1 {OBJ}: spec.podSelector.matchExpressions[0].operator: unknown operator 'Equals' (expected one of: In, NotIn, Exists, DoesNotExist)"),
    "In without values": (np("  podSelector:\n    matchExpressions:\n    - {key: app, operator: In}\n"),
                          f"f.yaml: document 1, line 1 {OBJ}: spec.podSelector.matchExpressions[0].values: must be non-empty for operator In"),
    "invalid value in an expression": (np("  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: ['a b']}\n"),
                                       f"f.yaml: document 1, line 1 {OBJ}: spec.podSelector.matchExpressions[0].values[0]: 'a b' is not a valid label value"),
    "Exists with values": (np("  podSelector:\n    matchExpressions:\n    - {key: app, operator: Exists, values: [a]}\n"),
                           f"f.yaml: document 1, line 1 {OBJ}: spec.podSelector.matchExpressions[0].values: must be empty for operator Exists"),
    "unparsable CIDR": (np("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n"),
                        f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0].ipBlock.cidr: '10.0.0.0/33' is not a CIDR: "
                        "the prefix length must be 0-32 for an IPv4 address"),
}
# CIDR spellings Python's ipaddress reads but the API server (netip.ParsePrefix; Kubernetes 1.36+) refuses.
CIDR = f"f.yaml: document 1, line 1 {OBJ}: spec.egress[0].to[0].ipBlock"
CIDRS = {
    "192.168.0.0/255.255.255.0": "the prefix length must be a number, not a netmask or hostmask (write /24)",
    "172.16.0.0/0.0.255.255": "the prefix length must be a number, not a netmask or hostmask (write /16)",
    "fd00::%lo/8": "a zone (%...) is not allowed in a CIDR",
    "172.16.0.0/012": "the prefix length must not have leading 0s (write /12)",
    "172.016.0.0/12": "leading 0s are not allowed in an address, some software reads them as octal (write 172.16.0.0)",
    "'::ffff:192.168.0.0/112'": "an IPv4-mapped IPv6 address is not allowed (write 192.168.0.0/16)",
    "'::ffff:0.0.0.0/90'": "an IPv4-mapped IPv6 address is not allowed",
    "fd00::/129": "the prefix length must be 0-128 for an IPv6 address",
    "10.0.0.0/-1": "write an address and a prefix length, such as 10.9.8.0/24 or 2001:db8::/64",
    "10.0.0.0/٣": "write an address and a prefix length, such as 10.9.8.0/24 or 2001:db8::/64",
}
for written, why in CIDRS.items():
    CASES[f"CIDR {written}"] = (np(f"  podSelector: {{}}\n  egress:\n  - to:\n    - ipBlock: {{cidr: {written}}}\n"),
                                f"{CIDR}.cidr: {written.strip(chr(39))!r} is not a CIDR: {why}")
CASES["except 10.0.0.0/255.255.255.0"] = (
    np("  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/255.255.255.0]}\n"),
    f"{CIDR}.except[0]: '10.0.0.0/255.255.255.0' is not a CIDR: the prefix length must be a number, not a netmask or "
    "hostmask (write /24)")
CASES.update({
    "except outside cidr": (np("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}\n"),
                            f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0].ipBlock.except[0]: 10.1.0.0/24 must be a strict subset of cidr 10.0.0.0/16"),
    "except equal to cidr": (np("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}\n"),
                             f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0].ipBlock.except[0]: 10.0.0.0/16 must be a strict subset of cidr 10.0.0.0/16"),
    "unknown protocol": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 80, protocol: tcp}\n"),
                         f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[0].protocol: unknown protocol 'tcp' (expected one of: TCP, UDP, SCTP)"),
    "ipBlock combined with a selector": (np("  podSelector: {}\n  ingress:\n  - from:\n    - {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}\n"),
                                         f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0]: ipBlock may not be combined with podSelector or namespaceSelector"),
    "empty peer": (np("  podSelector: {}\n  ingress:\n  - from:\n    - {}\n"),
                   f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)"),
    "to in an ingress rule": (np("  podSelector: {}\n  ingress:\n  - to: []\n"),
                              f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].to: unknown field (ingress rules use 'from')"),
    "misspelled field": (np("  podselector: {}\n"),
                         f"f.yaml: document 1, line 1 {OBJ}: spec.podselector: unknown field (expected one of: podSelector, policyTypes, ingress, egress)"),
    "unknown policy type": (np("  podSelector: {}\n  policyTypes: [Ingres]\n"),
                            f"f.yaml: document 1, line 1 {OBJ}: spec.policyTypes[0]: unknown policy type 'Ingres' (expected Ingress or Egress)"),
    "missing spec": (NP, f"f.yaml: document 1, line 1 {OBJ}: spec: required field is missing"),
    "conflicting duplicate object": (POD + C + "---\n" + POD + "  labels: {app: web}\n" + C, "f.yaml: document 2, line 8 (Pod web): Pod default/web is defined twice, differently (first at f.yaml: document 1, line 1 (Pod web))"),
    "CIDR without a prefix length": (np("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1}\n"),
                                     f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0].ipBlock.cidr: '10.0.0.1' is not a CIDR: it needs a prefix length, e.g. 10.0.0.1/32"),
    "except without a prefix length": (np("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.1]}\n"),
                                       f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[0].ipBlock.except[0]: '10.0.0.1' is not a CIDR: it needs a prefix length, e.g. 10.0.0.1/32"),
    "duplicate container port name": (POD + "spec:\n  containers:\n  - name: a\n    ports: [{containerPort: 80, name: http}]\n"
                                      "  - name: b\n    ports: [{containerPort: 8080, name: http}]\n",
                                      "f.yaml: document 1, line 1 (Pod web): spec.containers[1].ports[0].name: duplicate port name 'http' in the pod"),
    "nested too deeply": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "f.yaml: document 1, line 1: nested deeper than 1000 levels; no Kubernetes object is"),
    "an alias bomb": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join(['*' + p] * 10)}]\n" for p, k in zip("abcdefgh", "bcdefghi", strict=True)),
        "f.yaml: document 1, line 1: its aliases expand to more than 1,000,000 nodes (a 'billion laughs' document?); netpol refuses it rather than using unbounded memory"),
    "a recursive alias": ("a: &a [*a]\n", "f.yaml: document 1, line 1: its aliases expand to more than 1,000,000 nodes (a 'billion laughs' document?); netpol refuses it rather than using unbounded memory"),
    "an empty file": ("# nothing here\n", "f.yaml: holds no Kubernetes objects (empty input)"),
    "bad container port": (POD + "spec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 0\n",
                           "f.yaml: document 1, line 1 (Pod web): spec.containers[0].ports[0].containerPort: must be between 1 and 65535, not 0"),
    "bad pod IP": (POD + C + "status: {podIP: 10.0.0.300}\n",
                   "f.yaml: document 1, line 1 (Pod web): status.podIP: '10.0.0.300' is not an IP address"),
    "bad item in a List": ("apiVersion: v1\nkind: List\nitems:\n- " + (POD + C).replace("\n", "\n  ").rstrip() + "\n- 3\n",
                           "f.yaml: document 1, items[1]: expected an object, found int"),
    "port as a boolean": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - port: true\n"),
                          f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[0].port: must be an integer, not a boolean"),
    "bad address in podIPs": (POD + C + "status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::zz'}]}\n",
                              "f.yaml: document 1, line 1 (Pod web): status.podIPs[1].ip: 'fd00::zz' is not an IP address"),
    "address not a string": (POD + C + "status: {podIPs: [{ip: 167772161}]}\n",
                             "f.yaml: document 1, line 1 (Pod web): status.podIPs[0].ip: must be a string, not an integer"),
    "podIPs entry not an object": (POD + C + "status: {podIPs: [10.0.0.1]}\n",
                                   "f.yaml: document 1, line 1 (Pod web): status.podIPs[0]: must be an object, not a string"),
    "podIPs not a list": (POD + C + "status: {podIPs: 10.0.0.1}\n",
                          "f.yaml: document 1, line 1 (Pod web): status.podIPs: must be a list, not a string"),
    "pod without containers": (POD + "spec: {containers: []}\n",
                               "f.yaml: document 1, line 1 (Pod web): spec.containers: must list at least one container"),
    "pod without a spec": (POD, "f.yaml: document 1, line 1 (Pod web): spec: required field is missing"),
    "template without containers": ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
                                    "    metadata: {labels: {app: web}}\n    spec: {nodeName: n1}\n",
                                    "f.yaml: document 1, line 1 (Deployment web): spec.template.spec.containers: required field "
                                    "is missing"),
    "nodeName not a DNS subdomain": (POD + C + "  nodeName: " + "n" * 254 + "\n",
                                     "f.yaml: document 1, line 1 (Pod web): spec.nodeName: '" + "n" * 254 + "' is not a valid "
                                     "node name (a DNS subdomain of at most 253 characters)"),
    "nodeName with capitals": (POD + C + "  nodeName: Node_1\n",
                               "f.yaml: document 1, line 1 (Pod web): spec.nodeName: 'Node_1' is not a valid node name (a DNS "
                               "subdomain of at most 253 characters)"),
    "bad host IP": (POD + C + "status: {hostIP: node-1}\n",
                    "f.yaml: document 1, line 1 (Pod web): status.hostIP: 'node-1' is not an IP address"),
    "IPv4-mapped pod IP": (POD + C + "status: {podIP: '::ffff:10.0.0.1'}\n",
                           "f.yaml: document 1, line 1 (Pod web): status.podIP: '::ffff:10.0.0.1' is not an IP address the "
                           "API server takes: it is IPv4-mapped (write 10.0.0.1)"),
    "pod IP with a zone": (POD + C + "status: {podIPs: [{ip: 'fe80::1%eth0'}]}\n",
                           "f.yaml: document 1, line 1 (Pod web): status.podIPs[0].ip: 'fe80::1%eth0' is not an IP address: "
                           "a zone (%...) is not allowed"),
    "host IP with leading 0s": (POD + C + "status: {hostIP: 10.0.0.010}\n",
                                "f.yaml: document 1, line 1 (Pod web): status.hostIP: '10.0.0.010' is not an IP address: "
                                "leading 0s are not allowed, some software reads them as octal (write 10.0.0.10)"),
    "ownerReferences entry not an object": (POD + "  ownerReferences: [web-1]\n" + C,
                                            "f.yaml: document 1, line 1 (Pod web): metadata.ownerReferences[0]: must be an object, not a string"),
    "nodeName not a string": (POD + C + "  nodeName: 7\n",
                              "f.yaml: document 1, line 1 (Pod web): spec.nodeName: must be a string, not an integer"),
    "hostNetwork not a boolean": (POD + C + "  hostNetwork: 'yes'\n",
                                  "f.yaml: document 1, line 1 (Pod web): spec.hostNetwork: must be a boolean, not a string"),
    "ports not a list": (POD + "spec:\n  containers:\n  - name: c\n    ports: {containerPort: 80}\n",
                         "f.yaml: document 1, line 1 (Pod web): spec.containers[0].ports: must be a list, not an object"),
    "duplicate port name": (POD + "spec:\n  containers:\n  - name: c\n    ports:\n    - {containerPort: 80, name: web}\n"
                            "    - {containerPort: 81, name: web}\n",
                            "f.yaml: document 1, line 1 (Pod web): spec.containers[0].ports[1].name: duplicate port name 'web' in the pod"),
    "namespace not a string": (POD + "  namespace: 5\n",
                               "f.yaml: document 1, line 1 (Pod web): metadata.namespace: must be a string, not an integer"),
    "invalid namespace": (POD + "  namespace: Prod\n",
                          "f.yaml: document 1, line 1 (Pod Prod/web): metadata.namespace: 'Prod' is not a valid namespace name"),
    "name not a string": ("apiVersion: v1\nkind: Namespace\nmetadata: {name: [a]}\n",
                          "f.yaml: document 1, line 1 (Namespace): metadata.name: must be a string, not a list"),
    # Parsed values are kept by content: a bad value after a good one that looks alike is still checked.
    "bad peer after a good one": (np("  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {a: b}}\n"
                                     "    - podSelector: {matchLabels: {a: 1}}\n"),
                                  f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].from[1].podSelector.matchLabels.a: must be a string, not an integer"),
    "bad port after a good one": (np("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n    - port: '80'\n"),
                                  f"f.yaml: document 1, line 1 {OBJ}: spec.ingress[0].ports[1].port: '80' is neither a port number (1-65535) nor a valid port name"),
})


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_message(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, expected = CASES[name]
    monkeypatch.chdir(tmp_path)
    Path("f.yaml").write_text(text)
    with pytest.raises(InputError) as info:
        load_manifests(["f.yaml"])
    if expected.endswith("..."):  # the wording of YAML errors depends on libyaml vs pure Python
        assert str(info.value).startswith(expected[:-3]) and "\n" not in str(info.value)
    else:
        assert str(info.value) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('{\n  "kind": "Pod",\n  "x": ]\n}', "f.json: line 3: invalid JSON: Expecting value"),
    ('{"kind": "Pod", "kind": "Namespace"}', "f.json: invalid JSON: duplicate key 'kind'"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "f.json: invalid JSON: nested too deeply"),
])
def test_invalid_json(text: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("f.json").write_text(text)
    with pytest.raises(InputError) as info:
        load_manifests(["f.json"])
    assert str(info.value) == expected


def test_missing_file() -> None:
    with pytest.raises(InputError) as info:
        load_manifests(["/nonexistent/x.yaml"])
    assert str(info.value) == "/nonexistent/x.yaml: no such file or directory"


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_manifests([str(tmp_path)])
    assert str(info.value) == f"{tmp_path}: directory holds no .yaml, .yml or .json files"



LONG = "a" * 5_000_000
CUT = r"(a+)…\[([\d,]+) characters\]…(a+)"  # a long run: its start, how much is left out, its end


def cut_runs(message: str, pattern: str) -> list[int]:
    """The full length of each cut run of a's that `message`, matching `pattern`, stands for (its shown
    start and end and the count left out); the line itself is short."""
    assert len(message) < 1000
    found = re.fullmatch(pattern, message)
    assert found is not None, message
    groups = found.groups()
    return [len(groups[i].lstrip("v")) + int(groups[i + 1].replace(",", "")) + len(groups[i + 2])
            for i in range(0, len(groups), 3)]


@pytest.mark.parametrize(("name", "text", "pattern", "lengths"), [
    ("label value", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {k: " + LONG + "}}\n",
     r"f\.yaml: document 1, line 1 \(Namespace x\): metadata\.labels\.k: '" + CUT + "' is not a valid label value",
     [5_000_000]),
    ("label key", '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"' + LONG + '": "v"}}}',
     r"f\.json: document 1, line 1 \(Namespace x\): metadata\.labels\." + CUT + ": '" + CUT + "' is not a valid label key",
     [5_000_000, 5_000_000]),
    ("object name", "apiVersion: v1\nkind: Pod\nmetadata: {name: " + LONG + "}\n",
     r"f\.yaml: document 1, line 1 \(Pod " + CUT + r"\): metadata\.name: '" + CUT + "' is not a valid object name",
     [5_000_000, 5_000_000]),
])
def test_long_values_are_cut_in_errors(name: str, text: str, pattern: str, lengths: list[int], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A 5 MB value is echoed as its start, its end and how much is left out, in every part of the line."""
    monkeypatch.chdir(tmp_path)
    file = "f.json" if text.startswith("{") else "f.yaml"
    Path(file).write_text(text)
    with pytest.raises(InputError) as info:
        load_manifests([file])
    assert cut_runs(str(info.value), pattern) == lengths


def test_long_messages_are_cut_in_warnings_summaries_and_query_errors(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("apiVersion: v" + "1" * 100_000 + "\nkind: Pod\nmetadata: {name: x}\n")
    result = load_manifests([str(path)])
    ones = r"(v?1+)…\[([\d,]+) characters\]…(1+)"
    [warning] = [str(d) for d in result.diagnostics]
    assert cut_runs(warning, re.escape(f"warning: {path}: document 1, line 1 (Pod x): Pod x of apiVersion ") + ones
                    + re.escape(" is not analysed (only v1 is)")) == [100_000]
    assert cut_runs(result.ignored_summary(), r"Pod \(" + ones + r"\) x1") == [100_000]
    [ignored] = result.ignored  # what --verbose prints of it
    assert cut_runs(f"{ignored.location}: {ignored.kind} ({ignored.api_version}) {ignored.name}",
                    re.escape(f"{path}: document 1, line 1 (Pod x): Pod (") + ones + r"\) x") == [100_000]
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + LONG + "}\n")
    [ignored] = load_manifests([str(path)]).ignored
    assert cut_runs(f"{ignored.location} {ignored.name}", re.escape(f"{path}: document 1, line 1 (ConfigMap ") + CUT
                    + r"\) " + CUT) == [5_000_000, 5_000_000]
    spaced = " ".join(["word"] * 1_000_000)  # no long run, one long message: its start and its end stay
    message = str(QueryError(f"unknown namespace {spaced} (expected one of: a, b)"))
    found = re.fullmatch(r"unknown namespace ([word ]+)…\[([\d,]+) characters\]…([word ]+) \(expected one of: a, b\)",
                         message)
    assert found is not None and len(message) <= 2000
    assert len(found[1]) + int(found[2].replace(",", "")) + len(found[3]) == len(spaced)
    assert cut_runs(str(UnknownEndpointError(LONG, ())), "unknown pod '" + CUT + "'") == [5_000_000]


def test_default_namespace_is_given_as_kubectl_apply_n_gives_it(tmp_path: Path) -> None:
    """Namespaced objects without metadata.namespace land in it; one that names its own keeps it;
    cluster-scoped kinds have none; a name the API would refuse is an error."""
    path = tmp_path / "install.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: argocd}\n---\n"
        + POD + C + "---\n"
        + POD.replace("name: web", "name: mon\n  namespace: monitoring") + C + "---\n"
        + np("  podSelector: {}\n").replace("  namespace: default\n", "") + "---\n"
        + "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: server}\nspec:\n  template:\n"
          "    metadata: {labels: {app: server}}\n    spec: {containers: [{name: c}]}\n---\n"
        + "apiVersion: v1\nkind: Service\nmetadata: {name: server}\nspec: {selector: {app: server}, ports: [{port: 80}]}\n"
          "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n"
          "spec: {priority: 1, subject: {namespaces: {}}}\n")
    cluster = load_manifests([str(path)], default_namespace="argocd").cluster
    assert ([p.key for p in cluster.pods], [p.key for p in cluster.policies], [s.key for s in cluster.services],
            [n.name for n in cluster.namespaces], [t.name for t in cluster.tiered]) == (
        ["argocd/deployment/server", "argocd/web", "monitoring/mon"], ["argocd/api-allow"], ["argocd/server"],
        ["argocd", "monitoring"], ["a"])
    assert [p.key for p in load_manifests([str(path)]).cluster.pods] == [
        "default/deployment/server", "default/web", "monitoring/mon"]
    with pytest.raises(InputError) as info:
        load_manifests([str(path)], default_namespace="Argo_CD")
    assert str(info.value) == ("default namespace 'Argo_CD' is not a valid namespace name (a DNS label: lowercase "
                               "letters, digits and '-', at most 63 characters)")


OLD = ("unknown field: this is the {kind} peer shape of network-policy-api v0.1.0-v0.1.2 (v0.1.1 is what "
       "policy-assistant's demos use); netpol reads policy.networking.k8s.io/v1alpha1 as v0.1.3 and later define it "
       "(the v0.1.7 CRDs), where namespaces is a label selector: ")


@pytest.mark.parametrize(("kind", "rule", "field", "rewrite"), [
    ("AdminNetworkPolicy", "ingress: [{action: Allow, from: [{namespaces: {namespaceSelector: {}}}]}]",
     "ingress[0].from[0].namespaces.namespaceSelector",
     "write namespaces: <selector> (the namespaceSelector's content, one level up)"),
    ("AdminNetworkPolicy", "egress: [{action: Deny, to: [{namespaces: {sameLabels: [tenant]}}]}]",
     "egress[0].to[0].namespaces.sameLabels", "sameLabels was removed in v0.1.3, with nothing in its place"),
    ("AdminNetworkPolicy", "egress: [{action: Pass, to: [{pods: {namespaces: {namespaceSelector: {}}, podSelector: {}}}]}]",
     "egress[0].to[0].pods.namespaces", "write pods: {namespaceSelector: <selector>, podSelector: <selector>}"),
    ("BaselineAdminNetworkPolicy", "ingress: [{action: Deny, from: [{pods: {namespaces: {notSameLabels: [t]}, "
     "podSelector: {}}}]}]", "ingress[0].from[0].pods.namespaces",
     "write pods: {namespaceSelector: <selector>, podSelector: <selector>}; sameLabels and notSameLabels were "
     "removed in v0.1.3, with nothing in their place"),
])
def test_the_old_tiered_peer_shape_names_the_version_netpol_reads(kind: str, rule: str, field: str, rewrite: str,
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name, priority = ("default", "") if kind.startswith("Baseline") else ("anp1", "priority: 1, ")
    Path("f.yaml").write_text(f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\n"
                              f"spec: {{{priority}subject: {{namespaces: {{}}}}, {rule}}}\n")
    with pytest.raises(InputError) as info:
        load_manifests(["f.yaml"])
    assert str(info.value) == f"f.yaml: document 1, line 1 ({kind} {name}): spec.{field}: " + OLD.format(kind=kind) + rewrite


@pytest.mark.parametrize(("key", "shown"), [("\n", 'metadata.labels["\\n"]'), ("a\tb", 'metadata.labels["a\\tb"]'),
                                            ("a b", "metadata.labels.a b")])
def test_a_field_path_with_a_control_character_stays_on_one_line(tmp_path: Path, key: str,
                                                                          shown: str) -> None:
    f = tmp_path / "f.json"
    f.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {%s: "x"}}, '
                 '"spec": {"containers": [{"name": "c"}]}}' % json.dumps(key))
    with pytest.raises(InputError) as exc:
        load_manifests([str(f)])
    assert "\n" not in str(exc.value) and f"{shown}: " in str(exc.value)


@pytest.mark.parametrize(("kind", "shown"), [("\n", "(\\n default): "), ("Po\u2028d", "(Po\\u2028d default): "),
                                             ("a\x00b", "(a\\x00b default): ")])
def test_a_kind_with_a_line_break_stays_on_one_line(tmp_path: Path, kind: str, shown: str) -> None:
    """The object's own name in the location (its kind, as the input wrote it) is escaped like a field path is;
    found by tests/property/test_fuzz_loader.py."""
    f = tmp_path / "f.json"
    f.write_text('{"apiVersion": "v1", "kind": "List", "items": [{"kind": %s, "metadata": {"name": "default"}}]}'
                 % json.dumps(kind))
    with pytest.raises(InputError) as exc:
        load_manifests([str(f)])
    assert len(str(exc.value).splitlines()) == 1 and shown in str(exc.value), str(exc.value)
