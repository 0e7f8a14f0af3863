"""Reachability diffs between two versions, asserted exactly."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from netpol.diff import Change, ReachabilityDiff, diff
from netpol.portsets import ALL_PORTS, NO_PORTS
from netpol.render.diff import diff_json, diff_markdown, diff_text
from netpol.render.markdown import md_code, md_text
from tests.builders import analyzer, labels, namespace, pod, policy

BASE = (
    namespace("default"),
    pod("web", labels={"app": "web"}, ports=[80, 443]), pod("a", labels={"role": "a"}), pod("b", labels={"role": "b"}),
    policy("web", selector=labels(app="web"), ingress=[{"from": [{"podSelector": labels(role="a")}],
                                                        "ports": [{"port": 80}]}]),
)


def changes(base: tuple, head: tuple) -> list[tuple[str, tuple[str, ...], str, str, str]]:  # type: ignore[type-arg]
    d = diff(analyzer(*base), analyzer(*head))
    return [(c.kind, c.sources, c.destination, str(c.before), str(c.after)) for c in d.changes]


def test_no_change() -> None:
    d = diff(analyzer(*BASE), analyzer(*BASE))
    assert not d.changed and d.changes == ()
    assert "".join(diff_text(d)) == "no reachability change\n"


def test_gained_lost_and_changed_ports() -> None:
    head = (*BASE[:4], policy("web", selector=labels(app="web"), ingress=[
        {"from": [{"podSelector": labels(role="a")}], "ports": [{"port": 80}, {"port": 443}]},
        {"from": [{"podSelector": labels(role="b")}], "ports": [{"port": 443}]}]))
    assert changes(BASE, head) == [
        ("gained", ("default/b",), "default/web", "none", "TCP:443"),
        ("changed", ("default/a",), "default/web", "TCP:80", "TCP:80,443"),
    ]
    assert changes(head, BASE) == [
        ("lost", ("default/b",), "default/web", "TCP:443", "none"),
        ("changed", ("default/a",), "default/web", "TCP:80,443", "TCP:80"),
    ]


def test_egress_isolation_changes_external_edges_and_groups_sources() -> None:
    head = (*BASE, policy("no-egress", policyTypes=["Egress"]))
    assert changes(BASE, head) == [
        ("lost", ("default/a", "default/b", "default/web"), "any address", "all", "none"),
        ("lost", ("default/b", "default/web"), "default/a", "all", "none"),
        ("lost", ("default/a", "default/web"), "default/b", "all", "none"),
        ("lost", ("default/a",), "default/web", "TCP:80", "none"),
    ]


def test_added_and_removed_pods_and_renderings() -> None:
    head = (*BASE[:3], pod("c", labels={"role": "c"}), BASE[4])
    d = diff(analyzer(*BASE), analyzer(*head))
    assert d.added_pods == ("default/c",) and d.removed_pods == ("default/b",)
    assert d.changed
    text = "".join(diff_text(d))
    assert text.splitlines() == [  # what the added pod gained and the removed one lost, like any change
        "5 connection(s) gained, 5 lost, 0 with changed ports, pods: 1 added, 1 removed",
        "+ default/c -> any address: all",
        "+ default/c -> default/a: all",
        "+ any address, default/a, default/web -> default/c: all",
        "- default/b -> any address: was all",
        "- default/b -> default/a: was all",
        "- any address, default/a, default/web -> default/b: was all",
        "pod added: default/c", "pod removed: default/b"]
    opened = diff(analyzer(*BASE), analyzer(*BASE[:4]))
    assert "".join(diff_markdown(opened)).splitlines()[2:] == [
        "**2 connection(s) gained, 0 lost, 1 with changed ports**", "",
        "| change | from | to | before | after |", "|---|---|---|---|---|",
        "| + gained | `any address`, `default/b` | `default/web` | none | all |",
        "| ~ changed | `default/a` | `default/web` | TCP:80 | all |",
    ]
    data = json.loads("".join(diff_json(opened)))
    assert (data["changed"], data["gained"], data["lost"], data["ports_changed"]) == (True, 2, 0, 1)
    assert data["changes"][0] == {"kind": "gained", "sources": ["any address", "default/b"],
                                  "destination": "default/web", "before": "none", "after": "all"}


def test_every_source_is_listed_and_long_markdown_lists_fold() -> None:
    clients = tuple(pod(f"c{i}", labels={"role": "c"}) for i in range(12))
    base = (*BASE, *clients)
    head = (*base, policy("c", selector=labels(app="web"), ingress=[{"from": [{"podSelector": labels(role="c")}]}]))
    d = diff(analyzer(*base), analyzer(*head))
    names = ", ".join(f"default/c{i}" for i in range(12))  # natural order: c2 before c10
    assert "".join(diff_text(d)).splitlines()[1] == f"+ {names} -> default/web: all"
    row = "".join(diff_markdown(d)).splitlines()[-1]
    assert row.startswith("| + gained | <details><summary>12 sources</summary>`default/c0`, `default/c1`, ")
    assert row.endswith("`default/c10`, `default/c11`</details> | `default/web` | none | all |")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=4) | st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)),
                                               min_size=1, max_size=4))
@example(['a", "b', '\\", "', "é\n\x01", "", ", ", 'x\\"'])
def test_json_is_what_json_dumps_writes_for_any_name(names: list[str]) -> None:
    """The change list is written without json's (slow) indent mode, byte for byte as it writes it: names
    that need no escape (printable ASCII without quote or backslash) are only quoted, the others encoded."""
    first = names[0] if names else "x"
    d = ReachabilityDiff((Change("gained", tuple(names), first, NO_PORTS, ALL_PORTS, because=tuple(names[:2])),
                          Change("lost", (), "x", ALL_PORTS, NO_PORTS)), tuple(names[:1]), ())
    gained: dict[str, object] = {"kind": "gained", "sources": names, "destination": first, "before": "none",
                                 "after": "all"}
    if names[:2]:
        gained["rules"] = names[:2]
    want = {"changed": True, "gained": len(names), "lost": 0, "ports_changed": 0, "changes": [
        gained, {"kind": "lost", "sources": [], "destination": "x", "before": "all", "after": "none"}],
        "added_pods": names[:1], "removed_pods": []}
    assert "".join(diff_json(d)) == json.dumps(want, indent=2) + "\n"


def test_many_port_atoms_compare_as_wide_codes() -> None:
    """Over 32 port atoms, a (before, after) pair of codes no longer fits one word (netpol.diff._Lines)."""
    def web(ports: list[int]) -> tuple:  # type: ignore[type-arg]
        return (*BASE[:4], policy("web", selector=labels(app="web"), ingress=[
            {"from": [{"podSelector": labels(role="a")}], "ports": [{"port": p} for p in ports]}]))

    spread = list(range(1000, 1080, 2))  # 40 ports, 81 atoms on TCP
    assert changes(web(spread), web([*spread[:-1], 2000])) == [
        ("changed", ("default/a",), "default/web", "TCP:" + ",".join(map(str, spread)),
         "TCP:" + ",".join(map(str, [*spread[:-1], 2000]))),
    ]
    assert changes(web([80]), web([81])) == [("changed", ("default/a",), "default/web", "TCP:80", "TCP:81")]


def test_markdown_cells_show_input_text_as_itself() -> None:
    """A rule or pod name from the input cannot split a cell, open a code span, an image, a link or a tag
    in the pull-request comment (audit-3 M8): one escaping helper, netpol.render.markdown."""
    hostile = "a|b`c<img src=x>[l](u)*_~&$#!\nnext"
    d = ReachabilityDiff((Change("changed", ("default/a", "ns/p|q"), "x`y", NO_PORTS, ALL_PORTS,
                                 because=(f"ingress: ANP e priority 1 ingress[0] '{hostile}' (Allow)",)),), ("n/a|b",), ())
    lines = "".join(diff_markdown(d)).splitlines()
    assert lines[6] == ("| ~ changed | `default/a`, `ns/p\\|q` | x\\`y | none | all | ingress: ANP e priority 1 "
                        "ingress\\[0\\] 'a\\|b\\`c\\<img src=x\\>\\[l\\]\\(u\\)\\*\\_\\~\\&\\$\\#\\! next' \\(Allow\\) |")
    assert lines[-1] == "- pod added: `n/a\\|b`"
    assert md_text("plain text-1.2") == "plain text-1.2" and md_code("x") == "`x`"
