"""Reachability diffs between two versions, asserted exactly."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from netpol import load_objects
from netpol.analyses.diff import Change, ReachabilityDiff, diff, possible_diff
from netpol.model.portsets import ALL_PORTS, NO_PORTS
from netpol.render.diff import diff_json, diff_markdown, diff_text
from netpol.render.markdown import md_code, md_text
from tests.builders import analyzer, labels, namespace, pod, policy

# Every ICMP and ICMPv6 message, as JSON writes ICMP ranges: [[type, code], [type, code]].
ICMP_RANGES = {"ICMP": [[[0, 0], [255, 255]]], "ICMPv6": [[[0, 0], [255, 255]]]}
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
        "5 pair(s) gained, 5 lost, 0 with changed ports, pods: 1 added, 1 removed",
        "+ default/c -> any address: all",
        "+ default/c -> default/a: all",
        "+ any address, default/a, default/web -> default/c: all",
        "- default/b -> any address: was all",
        "- default/b -> default/a: was all",
        "- any address, default/a, default/web -> default/b: was all",
        "pod added: default/c", "pod removed: default/b"]
    opened = diff(analyzer(*BASE), analyzer(*BASE[:4]))
    assert "".join(diff_markdown(opened)).splitlines()[2:] == [
        "**2 pair(s) gained, 0 lost, 1 with changed ports**", "",
        "| change | from | to | before | after |", "|---|---|---|---|---|",
        "| + gained | `any address`, `default/b` | `default/web` | none | all |",
        "| ~ changed | `default/a` | `default/web` | TCP:80 | all |",
    ]
    data = json.loads("".join(diff_json(opened)))
    assert (data["changed"], data["gained"], data["lost"], data["ports_changed"]) == (True, 2, 0, 1)
    assert data["changes"][0] == {"kind": "gained", "sources": ["any address", "default/b"],
                                  "destination": "default/web", "before": "none", "after": "all",
                                  "before_ranges": {}, "after_ranges": {"TCP": [[1, 65535]], "UDP": [[1, 65535]],
                                                                        "SCTP": [[1, 65535]], **ICMP_RANGES},
                                  "source_addresses": [["0.0.0.0", "255.255.255.255"],
                                                       ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]]}


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
    every = {"TCP": [[1, 65535]], "UDP": [[1, 65535]], "SCTP": [[1, 65535]], **ICMP_RANGES}
    gained: dict[str, object] = {"kind": "gained", "sources": names, "destination": first, "before": "none",
                                 "after": "all", "before_ranges": {}, "after_ranges": every}
    if names[:2]:
        gained["rules"] = names[:2]
    want = {"changed": True, "gained": len(names), "lost": 0, "ports_changed": 0, "counts": "pairs", "changes": [
        gained, {"kind": "lost", "sources": [], "destination": "x", "before": "all", "after": "none",
                 "before_ranges": every, "after_ranges": {}}],
        "ambiguities": [], "added_pods": names[:1], "removed_pods": [], "assumptions": []}
    assert "".join(diff_json(d)) == json.dumps(want, indent=2) + "\n"


def test_many_port_atoms_compare_as_wide_codes() -> None:
    """Over 32 port atoms, a (before, after) pair of codes no longer fits one word (netpol.analyses.diff._Lines)."""
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


SHOP = (namespace("shop"), pod("web", "shop", labels={"app": "web"}), pod("db", "shop", labels={"app": "db"}))


def _db(*peers: dict) -> dict:  # type: ignore[type-arg]
    return policy("db", "shop", selector=labels(app="db"), ingress=[{"from": list(peers), "ports": [{"port": 5432}]}])


def _open(base: tuple, head: tuple) -> list[str]:  # type: ignore[type-arg]
    return "".join(diff_text(possible_diff(load_objects(base).cluster, load_objects(head).cluster))).splitlines()


def test_with_pods_a_change_is_compared_for_every_pod_that_could_exist() -> None:
    """Opening a database to other namespaces is a change even when the input holds no pod there (issue 30):
    the input's pods and the possible pods of every namespace are compared as one answer."""
    own = (*SHOP, _db({"podSelector": {}}))
    assert _open(own, (*SHOP, _db({"namespaceSelector": {}}))) == [
        "1 change(s) gained, 0 lost, 0 with changed ports",
        "+ any pod in any other namespace -> pods with app=db in namespace shop; shop/db: TCP:5432 "
        "(ingress: shop/db ingress[0])"]
    assert _open(own, (*SHOP, _db({"podSelector": {}}, {"namespaceSelector": labels(team="x")}))) == [
        "1 change(s) gained, 0 lost, 0 with changed ports",
        "+ any pod in any other namespace with team=x -> pods with app=db in namespace shop; shop/db: TCP:5432 "
        "(ingress: shop/db ingress[0])"]
    same = _db({"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "shop"})})
    assert _open(own, (*SHOP, same)) == ["no reachability change"]  # an equivalent rewrite
    only = diff(analyzer(*own), analyzer(*SHOP, _db({"namespaceSelector": {}})))
    assert not only.changed  # the input's pods alone: no change (what --input-only answers)


def test_outside_addresses_compare_as_address_sets() -> None:
    """A new ipBlock that narrows an open database is one changed range and the rest lost, not "gained,
    before: none"; an ipBlock split in its two halves is no change; swapping the versions mirrors."""
    open_db = (*SHOP, pod("api", "shop", labels={"app": "api"}),
               policy("api", "shop", selector=labels(app="api"), policyTypes=["Ingress"], ingress=[{}]))
    narrowed = (*open_db, _db({"ipBlock": {"cidr": "10.0.0.0/24"}}))
    assert changes(open_db, narrowed) == [
        ("lost", ("0.0.0.0/0 except 10.0.0.0/24; any IPv6 address", "shop/api", "shop/web"), "shop/db", "all", "none"),
        ("changed", ("10.0.0.0/24",), "shop/db", "all", "TCP:5432")]
    assert changes(narrowed, open_db) == [
        ("gained", ("0.0.0.0/0 except 10.0.0.0/24; any IPv6 address", "shop/api", "shop/web"), "shop/db", "none",
         "all"),
        ("changed", ("10.0.0.0/24",), "shop/db", "TCP:5432", "all")]
    halves = (*open_db, _db({"ipBlock": {"cidr": "10.0.0.0/25"}}, {"ipBlock": {"cidr": "10.0.0.128/25"}}))
    assert changes(narrowed, halves) == []
    d = diff(analyzer(*open_db), analyzer(*narrowed))
    assert [tuple(tuple((str(a), str(b)) for a, b in ends) for ends in (c.source_addresses, c.destination_addresses))
            for c in d.changes] == [
        ((("0.0.0.0", "9.255.255.255"), ("10.0.1.0", "255.255.255.255"),
          ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), ()),
        ((("10.0.0.0", "10.0.0.255"),), ())]
    data = json.loads("".join(diff_json(d)))["changes"][1]
    assert (data["source_addresses"], data["before_ranges"], data["after_ranges"]) == (
        [["10.0.0.0", "10.0.0.255"]], {"TCP": [[1, 65535]], "UDP": [[1, 65535]], "SCTP": [[1, 65535]], **ICMP_RANGES},
        {"TCP": [[5432, 5432]]})


def _anp(name: str, priority: int, action: str, rule: str) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": name}, "spec": {
                "priority": priority, "subject": {"namespaces": {"matchLabels": {"team": "pay"}}},
                "ingress": [{"name": rule, "action": action, "from": [{"namespaces": {"matchLabels": {"team": "web"}}}],
                             "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}]}]}}


def test_a_new_same_priority_tie_is_a_change() -> None:
    """Two Admin policies that decide a connection differently at one priority leave it to the plugin
    (can-reach says ambiguous): a diff that creates such a tie, or resolves one, is a change (audit-3 M9)."""
    pods = (namespace("pay", team="pay"), namespace("web", team="web"), pod("db", "pay"), pod("w", "web"))
    base = (*pods, _anp("a-deny", 10, "Deny", "d"), _anp("b-allow", 20, "Allow", "a"))
    head = (*pods, _anp("a-deny", 10, "Deny", "d"), _anp("b-allow", 10, "Allow", "a"))
    d = diff(analyzer(*base), analyzer(*head))
    assert d.changes == () and d.changed
    tie = ("(ANP a-deny and ANP b-allow share priority 10: the API leaves their order undefined and they decide these "
           "ports differently, so the network plugin may do either)")
    assert "".join(diff_text(d)).splitlines() == [
        "0 pair(s) gained, 0 lost, 0 with changed ports, 1 ambiguity change(s)",
        f"! ambiguous: web/w -> pay/db: TCP:80 {tie}"]
    assert "".join(diff_text(diff(analyzer(*head), analyzer(*base)))).splitlines()[1] == (
        f"! no longer ambiguous: web/w -> pay/db: TCP:80 {tie}")
    data = json.loads("".join(diff_json(d)))
    assert data["changed"] is True and data["ambiguities"] == [{
        "sources": ["web/w"], "destination": "pay/db", "before": "none", "after": "TCP:80", "before_ranges": {},
        "after_ranges": {"TCP": [[80, 80]]}, "ties": ["ANP a-deny and ANP b-allow share priority 10"]}]
    same = (*pods, _anp("a-deny", 10, "Deny", "d"), _anp("b-allow", 10, "Deny", "a"))  # a tie that agrees
    assert not diff(analyzer(*base), analyzer(*same)).ambiguities


def test_with_pods_the_possible_pods_of_a_diff_are_bounded_as_an_unfocused_answer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With pods, the regions are compiled beside every pod (the engine's memory grows with the square of the
    classes): past MAX_REGIONS the diff is refused naming --input-only; a policy repository keeps the larger
    limit of its focus."""
    import pytest

    import netpol.analyses.diff as diff_module
    from netpol.analyses.label_space import RegionLimitError

    def version(port: int, pods: bool) -> list[dict]:  # type: ignore[type-arg]
        return [namespace("shop"), *([pod("db", "shop", {"app": "db"})] if pods else []),
                policy("db", "shop", labels(app="db"), ingress=[{"from": [{"podSelector": labels(role=r)} for r in
                                                                          ("a", "b", "c", "d")],
                                                                 "ports": [{"port": port}]}])]

    monkeypatch.setattr(diff_module, "MAX_REGIONS", 3)
    with pytest.raises(RegionLimitError, match="--input-only"):
        possible_diff(load_objects(version(80, True)).cluster, load_objects(version(81, True)).cluster)
    assert possible_diff(load_objects(version(80, False)).cluster, load_objects(version(81, False)).cluster).changed
