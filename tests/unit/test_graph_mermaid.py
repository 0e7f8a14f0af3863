"""Mermaid output: exact text for a fixture, the same picture as the DOT (nodes, boxes, edges and labels), and
labels that stay text whatever they hold."""

from __future__ import annotations

import re

import pytest

from netpol.analyses.diagram import Diagram, NamespaceBox
from netpol.render.graph import _mermaid_id, _mermaid_text, diagram_dot, diagram_mermaid
from tests.builders import fixture, scenario_dirs

SCENARIOS = [p.name for p in scenario_dirs()]
LEGEND = """\
  subgraph legend[legend]
    direction TB
    legend0("pod: not isolated in either direction")
    legend1("pod: ingress isolated: only the drawn edges come in")
    legend2("pod: egress isolated: only the drawn edges go out<br>#40;an allow-all egress policy is no restriction#41;")
    legend3("any pod of the input: every pod of the input, or of one of its namespaces<br>#40;--input-only: pods not in the input are left out#41;")
    legend4("address: outside the cluster: an ipBlock, or any address")
    legend5("A → B: A may connect to B on the labelled ports<br>#40;A's egress and B's ingress allow; all = every port#41;")
    legend6("x N: N pods that every policy treats alike<br>#40;a pod's traffic to itself is not drawn#41;")
  end
  classDef pod fill:#ffffff,stroke:#2c3e50,color:#000000
  classDef ingress stroke:#c0392b,stroke-width:2.5px
  classDef egress fill:#fdebd0
  classDef tiered stroke-dasharray:8 3 2 3
  classDef anchor fill:#ffffff,stroke:#566573,stroke-dasharray:5 4,color:#000000
  classDef external fill:#eaf2f8,stroke:#2e86c1,color:#000000
  classDef namespace fill:none,stroke:#7f8c8d
  classDef note fill:none,stroke:none,color:#000000
  classDef ignored fill:#fdedec,stroke:#c0392b,stroke-width:2px,color:#000000
"""


def test_deny_all_exactly() -> None:
    assert diagram_mermaid(fixture("deny-all").diagram()) == """\
---
title: "netpol allow-graph (allowed ports)"
---
flowchart LR
  subgraph ns_default["namespace default"]
    n_default_2f_test_2d_1("test-1, web<br>#91;ingress isolated#93;")
  end
  n_ext_3a_any{{"any address<br>#40;outside the cluster#41;"}}
  n_default_2f_test_2d_1 -->|"all"| n_ext_3a_any
""" + LEGEND + """\
  class n_default_2f_test_2d_1,legend0,legend1,legend2 pod
  class n_default_2f_test_2d_1,legend1 ingress
  class legend2 egress
  class legend3 anchor
  class n_ext_3a_any,legend4 external
  class ns_default,legend namespace
  class legend5,legend6 note
  linkStyle default stroke:#34495e
"""


def test_probe_focus_and_egress_marks() -> None:
    text = diagram_mermaid(fixture("limit").diagram(80, "TCP", None, "default/apiserver"))
    assert text.startswith('---\ntitle: "netpol allow-graph (probe TCP/80); neighbourhood of default/apiserver"\n')
    text = diagram_mermaid(fixture("egress-to-a-namespace").diagram())
    assert '    n_default_2f_test("test<br>app=foo<br>#91;egress isolated#93;")\n' in text
    assert '  n_default_2f_test -->|"TCP:53 UDP:53"| n_kube_2d_system_2f_coredns\n' in text
    assert "  class n_default_2f_test,legend2 egress\n" in text
    assert "  class n_any_2d_pod,n_any_2d_unrestricted_2d_pod,legend3 anchor\n" in text


NODE = re.compile(r'^ {2,4}(n_[A-Za-z0-9_]+)(\("[^"]*"\)|\{\{"[^"]*"\}\})$')
EDGE = re.compile(r'^  (n_[A-Za-z0-9_]+) -->\|"([^"|]*)"\| (n_[A-Za-z0-9_]+)$')
BOX = re.compile(r'^  subgraph (ns_[A-Za-z0-9_]+)\["[^"]*"\]$')


def parse(text: str) -> tuple[dict[str, str | None], list[tuple[str, str, str]]]:
    """node id -> its box, and the edges; every line must be one this module writes."""
    head, body = text.split("\nflowchart LR\n")
    assert re.fullmatch(r'---\ntitle: "[^"\n]*"\n---', head)
    nodes: dict[str, str | None] = {}
    edges = []
    box = None
    for line in body.splitlines():
        if m := BOX.match(line):
            box = m.group(1)
        elif line == "  end":
            box = None
        elif m := NODE.match(line):
            nodes[m.group(1)] = box
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(3), m.group(2)))
        else:
            assert re.match(r"  (subgraph legend\[legend\]|  direction TB|  legend\d\(\"[^\"]*\"\)|classDef |class |"
                            r"linkStyle )", line), line
    return nodes, edges


@pytest.mark.parametrize("name", SCENARIOS)
def test_same_picture_as_the_dot(name: str) -> None:
    """Every node in its namespace's box, every edge with its DOT label, nothing else."""
    d = fixture(name).diagram()
    nodes, edges = parse(diagram_mermaid(d))
    expected = {_mermaid_id("n", g.id): _mermaid_id("ns", box.name) for box in d.namespaces for g in box.groups}
    expected |= {_mermaid_id("n", f"ns:{box.name}"): _mermaid_id("ns", box.name)
                 for box in d.namespaces if box.has_anchor}
    expected |= {_mermaid_id("n", e.id): None for e in d.externals}
    expected |= {_mermaid_id("n", n): None for n, on in (("any-pod", d.any_pod),
                                                        ("any-unrestricted-pod", d.any_unrestricted_pod)) if on}
    assert nodes == expected
    assert edges == [(_mermaid_id("n", e.source), _mermaid_id("n", e.target), str(e.ports)) for e in d.edges]
    dot_labels = re.findall(r" -> .* \[label=\"?([^\"\]]*)\"?\]", diagram_dot(d))
    assert [label for _, _, label in edges] == dot_labels


def test_labels_stay_text() -> None:
    hostile = 'a"b#c<b>d</b>&e`f`*g*_h_[i](j){k}|l~m\\n'
    assert _mermaid_text([hostile, "x"]) == (
        '"a#34;b#35;c#60;b#62;d#60;/b#62;#38;e#96;f#96;#42;g#42;#95;h#95;#91;i#93;#40;j#41;#123;k#125;#124;l'
        '#126;m#92;n<br>x"')
    box = NamespaceBox('ns"]end', (("team", '"><script>x</script>'),), (), False)
    text = diagram_mermaid(Diagram((box,), (), False, False, (), None, None))
    assert ('  subgraph ns_ns_22__5d_end["namespace ns#34;#93;end<br>team=#34;#62;#60;script#62;x#60;/script#62;"]\n'
            in text)
    parse(text)


def test_ids_are_one_to_one_and_never_keywords() -> None:
    names = ["a-b", "a_2d_b", "a_b", "end", "o", "x", "default/web", "default:web", "ns:é"]
    ids = [_mermaid_id("n", n) for n in names]
    assert len(set(ids)) == len(names)
    assert all(re.fullmatch(r"n_[A-Za-z0-9_]+", i) for i in ids)
