from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from netpol.render.explain import explain_table
from netpol.render.matrix import _probe_cells
from netpol.render.verdict import verdict_text
from tests.builders import analyzer, labels, pod, policy


def _text(renderable: object) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(renderable)
    return buf.getvalue()


def test_verdict_text_lists_directions_and_assumptions() -> None:
    a = analyzer(pod("a", labels={"app": "a"}), pod("b", labels={"app": "b"}),
                 policy("p", selector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]))
    assert verdict_text(a.can_reach("a", "b", 443)) == (
        "DENIED: default/a -> default/b TCP/443\n"
        "  egress  of default/a: not isolated: no NetworkPolicy selects default/a for egress\n"
        "  ingress of default/b: denied: default/b is isolated for ingress by default/p and no rule allows "
        "receiving TCP/443 from default/a\n"
        "  assumption: default/a has no known IP (status.podIP): ipBlock rules are assumed not to match it"
    )


def test_explain_table_shows_markup_characters_literally() -> None:
    a = analyzer(pod("a", labels={"app": "a"}),
                 policy("p", selector=labels(app="a"), egress=[{"to": [{"podSelector": labels(app="b")}],
                                                                "ports": [{"port": 53, "protocol": "UDP"}]}]))
    text = _text(explain_table(a.explain()))
    assert "pods [app=b] in namespace default" in text
    assert "none: deny all ingress" in text  # Ingress defaulted on, with no rules
    assert "egress (defaulted)" in text and "UDP:53" in text


def test_name_lists_are_in_natural_order_with_long_names_cut() -> None:
    from netpol.errors import name_list

    assert name_list([f"p{i}" for i in range(100_000)]) == "p0, p1, p2 +99,997 more"
    assert name_list(["web-10", "web-9", "api"]) == "api, web-9, web-10"
    assert name_list(["x" * 300]) == "x" * 159 + "…"


@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 23])
def test_probe_csv_cells_match_cell_by_cell_text(n: int) -> None:
    """Rows joined from packed bytes read exactly as one cell at a time, wherever the self cell falls."""
    rng = np.random.default_rng(n)
    for _ in range(20):
        allowed = rng.random(n) < 0.5
        for self_at in [None, *range(n)]:
            cells = ["allow" if v else "deny" for v in allowed.tolist()]
            if self_at is not None:
                cells[self_at] = "self"
            assert _probe_cells(allowed, self_at) == ",".join(cells)


def test_one_line_escapes_every_line_break_and_control() -> None:
    from netpol.render.text import one_line, terminal_safe

    assert one_line("a\nb\rc\td\x1b[1me\x85f\u2028g\u2029h\x7f") == (
        "a\\nb\\x0dc\\td\\x1b[1me\\x85f\\u2028g\\u2029h\\x7f")
    assert terminal_safe("a\nb\tc\x1b") == "a\nb\tc\\x1b"  # a whole output keeps its own lines


def test_a_deny_by_thousands_of_policies_names_a_few_and_counts_the_rest() -> None:
    """The text names three policies in natural order and counts the rest; JSON keeps every one."""
    import json

    from netpol.render.verdict import verdict_json

    isolating = [policy(f"p{i}", selector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="x")}]}])
                 for i in range(2500, 0, -1)]
    a = analyzer(pod("a", labels={"app": "a"}), pod("b", labels={"app": "b"}), *isolating)
    v = a.can_reach("a", "b", 80)
    assert verdict_text(v).splitlines()[2] == (
        "  ingress of default/b: denied: default/b is isolated for ingress by default/p1, default/p2, default/p3 "
        "+2,497 more and no rule allows receiving TCP/80 from default/a")
    assert len(json.loads(verdict_json(v))["ingress"]["isolated_by"]) == 2500
    allowing = [policy(f"q{i}", selector=labels(app="b"), ingress=[{}]) for i in range(12, 0, -1)]
    text = verdict_text(analyzer(pod("a"), pod("b", labels={"app": "b"}), *allowing).can_reach("a", "b", 80))
    assert text.splitlines()[2] == ("  ingress of default/b: allowed by default/q1 ingress[0], default/q2 ingress[0], "
                                    "default/q3 ingress[0] +9 more")


def test_list_lines_break_at_semicolons_only_for_a_terminal_width() -> None:
    from netpol.analyses.connectivity import Connection
    from netpol.render.exposure import list_text

    c = Connection(("shop/api", "shop/web", "shop/worker"), ("shop/db", "shop/cache"), "TCP:5432")
    assert "".join(list_text([c])) == "shop/api; shop/web; shop/worker => shop/db; shop/cache : TCP:5432\n"
    assert "".join(list_text([c], width=30)) == (
        "shop/api; shop/web;\n"
        "    shop/worker => shop/db;\n"
        "    shop/cache : TCP:5432\n")
    assert "".join(list_text([c], width=200)) == "".join(list_text([c]))
    one = Connection(("a-very-long-namespace/a-very-long-pod-name",), ("b/c",), "all")
    assert "".join(list_text([one], width=10)) == "a-very-long-namespace/a-very-long-pod-name => b/c : all\n"


HOSTILE = ("a|b", "x`y", "<img src=x>", "[x](http://e)", "line\nbreak")
HOSTILE_MD = (r"a\|b", r"x\`y", r"\<img src=x\>", r"\[x\]\(http://e\)", "line break")


def _md_cells(row: str) -> list[str]:
    """A GitHub table row's cells: split at bars not escaped by a backslash."""
    import re

    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_exposure_and_list_show_hostile_names_as_text() -> None:
    """Names, rules and notes from the input cannot split a Markdown cell, end the table or inject markup,
    nor break a text line."""
    from netpol.analyses.connectivity import Connection
    from netpol.analyses.exposure import Exposure, Peers
    from netpol.render.exposure import exposure_markdown, exposure_text, list_markdown, list_text

    peers = Peers(HOSTILE, "TCP:80", ("e|1",), ("i`2",))
    e = Exposure("t|<b>", "pod", (("ingress", ("p\nq",)),), (peers,), ())
    md = "".join(exposure_markdown([e], ["n|`<i>`"])).split("\n")
    row = next(line for line in md if line.startswith("| reached by"))
    assert _md_cells(row) == ["reached by", "<br>".join(HOSTILE_MD), "TCP:80", r"egress: e\|1; ingress: i\`2"]
    assert r"> n\|\`\<i\>\`" in md and r"#### t\|\<b\>" in md and "ingress isolated by p q" in md
    assert "".join(exposure_text([e])).splitlines() == [
        "t|<b>", r"  ingress isolated by p\nq", "  reached by:",
        r"    a|b; x`y; <img src=x>; [x](http://e); line\nbreak : TCP:80  (egress: e|1; ingress: i`2)",
        "  reaches: nothing"]
    c = Connection(HOSTILE, ("d\ne",), "all")
    rows = "".join(list_markdown([c])).split("\n")
    assert _md_cells(rows[-2]) == ["<br>".join(HOSTILE_MD), "d e", "all"]
    assert "".join(list_text([c])) == r"a|b; x`y; <img src=x>; [x](http://e); line\nbreak => d\ne : all" + "\n"
