"""`netpol diff -o md --diagram` through typer's runner: the diagram in the Markdown, and only there."""

from __future__ import annotations

from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES, POLICY_ONLY

runner = CliRunner()


def test_the_diagram_sits_under_the_summary() -> None:
    r = runner.invoke(app, ["diff", str(POLICY_ONLY / "repo"), str(POLICY_ONLY / "repo-head"), "-o", "md",
                            "--diagram"])
    assert r.exit_code == 1, r.stderr
    assert r.stdout.split("\n| change |")[0] == """\
### netpol: reachability changes

**1 change(s) gained, 0 lost, 0 with changed ports**

```mermaid
---
title: "netpol diff: 1 change(s) gained, 0 lost, 0 with changed ports"
---
flowchart LR
  n0("any pod in namespace web")
  n1("pods with app=db in namespace payments")
  n2("any pod in any other namespace with team=web")
  n0 -->|"+ TCP:postgres"| n1
  n2 -->|"+ TCP:postgres"| n1
  subgraph legend[legend]
    direction TB
    legend0("possible pods, in the policies' terms")
    legend1("+ gained: may connect now, on these ports<br>- lost: was allowed on these ports #40;was ...#41;<br>#126; \
changed: the ports before =#62; after")
  end
  classDef anchor fill:#ffffff,stroke:#566573,stroke-dasharray:5 4,color:#000000
  classDef namespace fill:none,stroke:#7f8c8d
  classDef note fill:none,stroke:none,color:#000000
  class n0,n1,n2,legend0 anchor
  class legend namespace
  class legend1 note
  linkStyle 0,1 stroke:#1e8449,stroke-width:2px
```
"""


def test_the_diagram_is_for_markdown_only() -> None:
    for output in ("text", "json", "html"):
        r = runner.invoke(app, ["diff", str(FIXTURES / "deny-all"), str(FIXTURES / "allow-all"), "-o", output,
                                "--diagram"])
        assert (r.exit_code, r.stdout) == (2, "")
        assert r.stderr == "netpol: error: --diagram draws the change in Markdown: use it with -o md\n"
