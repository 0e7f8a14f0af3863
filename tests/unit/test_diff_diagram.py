"""`netpol diff -o md --diagram`: the change as a Mermaid flowchart (graph's conventions), bounded for a
pull-request comment, with every edge it leaves out listed; asserted exactly."""

from __future__ import annotations

import re

import pytest

from netpol.analyses.diff import ReachabilityDiff, diff
from netpol.render.diff import DIAGRAM_EDGES, diff_markdown, diff_mermaid, endpoint_class
from tests.builders import analyzer, labels, namespace, pod, policy
from tests.unit.test_diff import BASE

HEAD = (*BASE[:4], namespace("shop"), pod("api", ns="shop", labels={"role": "a"}),
        policy("web", selector=labels(app="web"), ingress=[
            {"from": [{"podSelector": labels(role="a")}], "ports": [{"port": 80}, {"port": 443}]},
            {"from": [{"podSelector": labels(role="b")}], "ports": [{"port": 443}]}]),
        policy("no-egress", selector=labels(role="b"), policyTypes=["Egress"]))
LEGEND_NOTE = ('    legend{}("+ gained: may connect now, on these ports<br>- lost: was allowed on these ports '
               '#40;was ...#41;<br>#126; changed: the ports before =#62; after")')


def mixed() -> ReachabilityDiff:
    """Gained, lost and changed edges, two namespaces and an outside address."""
    return diff(analyzer(*BASE), analyzer(*HEAD))


def test_gained_lost_and_changed_exactly() -> None:
    assert diff_mermaid(mixed()).text == """\
---
title: "netpol diff: 6 pair(s) gained, 2 lost, 1 with changed ports, pods: 1 added, 0 removed"
---
flowchart LR
  n1{{"any address"}}
  subgraph ns_default["namespace default"]
    n2("a")
    n3("b")
    n4("web")
  end
  subgraph ns_shop["namespace shop"]
    n0("api")
  end
  n0 -->|"+ all"| n1
  n0 -->|"+ all"| n2
  n0 -->|"+ all"| n3
  n1 -->|"+ all"| n0
  n2 -->|"+ all"| n0
  n4 -->|"+ all"| n0
  n3 -.->|"- was all"| n1
  n3 -.->|"- was all"| n2
  n2 -->|"#126; TCP:80 =#62; TCP:80,443"| n4
  subgraph legend[legend]
    direction TB
    legend0("a pod or workload of the input")
    legend1("addresses outside the cluster")
""" + LEGEND_NOTE.format(2) + """
  end
  classDef pod fill:#ffffff,stroke:#2c3e50,color:#000000
  classDef external fill:#eaf2f8,stroke:#2e86c1,color:#000000
  classDef namespace fill:none,stroke:#7f8c8d
  classDef note fill:none,stroke:none,color:#000000
  class n0,n2,n3,n4,legend0 pod
  class n1,legend1 external
  class ns_default,ns_shop,legend namespace
  class legend2 note
  linkStyle 0,1,2,3,4,5 stroke:#1e8449,stroke-width:2px
  linkStyle 6,7 stroke:#c0392b,stroke-width:2px,stroke-dasharray:5 4
  linkStyle 8 stroke:#d68910,stroke-width:2px
"""


def test_bounds_keep_the_table_order_and_return_what_is_left_out() -> None:
    d = mixed()
    drawn = diff_mermaid(d, max_edges=3)
    assert drawn.edges == 3
    assert [(c.kind, c.destination, sources) for c, sources in drawn.left_out] == [
        ("gained", "shop/api", ("any address", "default/a", "default/web")),
        ("lost", "any address", ("default/b",)), ("lost", "default/a", ("default/b",)),
        ("changed", "default/web", ("default/a",))]
    assert 'title: "netpol diff: 6 pair(s) gained, 2 lost, 1 with changed ports, pods: 1 added, 0 removed; 3 of 9 ' \
           'connection(s) drawn"' in drawn.text
    # the node bound: shop/api and any address only; an edge between drawn nodes still comes after a skipped one
    drawn = diff_mermaid(d, max_nodes=2)
    assert re.findall(r"^  (n\d) -[.-]+>\|\"([^\"]*)\"\| (n\d)$", drawn.text, re.M) == [
        ("n0", "+ all", "n1"), ("n1", "+ all", "n0")]
    assert sum(len(s) for _, s in drawn.left_out) == 7


def test_markdown_lists_every_edge_beyond_the_bound() -> None:
    pods = [pod(f"p{i}", labels={"app": f"p{i}"}) for i in range(9)]
    d = diff(analyzer(namespace("default"), *pods),
             analyzer(namespace("default"), *pods, policy("deny", policyTypes=["Ingress", "Egress"])))
    text = "".join(diff_markdown(d, diagram=True))
    head, chart, rest = text.split("```")
    assert head == "### netpol: reachability changes\n\n**0 pair(s) gained, 90 lost, 0 with changed ports**\n\n"
    assert chart.count(" -.->|") == DIAGRAM_EDGES == 40
    others = [f"`default/p{i}`" for i in range(9)]
    listed = [f"- lost: {', '.join(['`any address`', *(o for o in others if o != f'`default/p{i}`')])} -> "
              f"`default/p{i}`: was all" for i in range(4, 9)]
    assert rest.split("\n| change |")[0] == "\n".join([
        "", "", "<details><summary>50 of 90 changed connection(s) not drawn (the diagram stops at 40 edges and 40 "
        "nodes)</summary>", "",
        "- lost: `default/p4`, `default/p5`, `default/p6`, `default/p7`, `default/p8` -> `default/p3`: was all",
        *listed, "", "</details>", ""])


def test_without_the_flag_or_without_changes_no_diagram() -> None:
    assert "mermaid" not in "".join(diff_markdown(mixed()))
    same = diff(analyzer(*BASE), analyzer(*BASE))
    assert "".join(diff_markdown(same, diagram=True)) == ("### netpol: reachability changes\n\n"
                                                          "**no reachability change**\n")


@pytest.mark.parametrize(("name", "kind"), [
    ("default/web", "pod"), ("shop/deployment/api", "pod"),
    ("any address", "external"), ("any IPv6 address", "external"), ("10.0.0.0/8", "external"),
    ("10.0.0.0/8, 192.168.0.0/16", "external"), ("0.0.0.0/0 except 10.0.0.0/8", "external"),
    ("fd00::/8; 10.0.0.0/8", "external"), ("any pod in namespace web", "anchor"),
    ("pods with app=db in namespace payments", "anchor"), ("any pod in any other namespace; any address", "anchor"),
])
def test_endpoint_class(name: str, kind: str) -> None:
    assert endpoint_class(name) == kind
