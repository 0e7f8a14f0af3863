"""Output people can read: tables that fit the terminal, bounded sizes, wrapped explanations."""

from __future__ import annotations

import io
import json

import yaml
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from netpol.cli import app
from netpol.render.explain import explain_text
from netpol.render.matrix import TABLE_LIMIT, matrix_table
from tests.builders import FIXTURES, analyzer, fixture, namespace, pod


def shown(renderable: object, width: int) -> list[str]:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None).print(renderable)
    return buf.getvalue().splitlines()


def test_matrix_table_uses_names_then_numbers_then_a_list() -> None:
    m = fixture("egress-to-some-pods").matrix()
    wide = shown(matrix_table(m, 120), 120)
    assert wide[2] == "┃ FROM \\ TO           ┃ default/hello ┃ default/test ┃ default/web ┃ kube-system/coredns ┃"
    narrow = shown(matrix_table(m, 80), 80)
    assert max(map(len, narrow)) <= 80
    assert narrow[2] == "┃ FROM \\ TO             ┃  1   ┃  2   ┃  3   ┃  4   ┃"
    assert narrow[5] == "│ 2 default/test        │ all  │ self │  ✗   │  ✗   │"
    tiny = shown(matrix_table(m, 40), 200)
    assert tiny[0] == "ports each source may open to each destination"
    assert "  default/test -> default/hello: all" in tiny
    assert "  default/test -> default/web: all" not in tiny
    assert tiny[-1] == "  every other pair: denied on every port"


def test_large_matrix_table_points_at_readable_formats() -> None:
    text = yaml.safe_dump_all([namespace("default"), *(pod(f"p{i}") for i in range(TABLE_LIMIT + 1))])
    r = CliRunner().invoke(app, ["matrix", "-f", "-"], input=text)
    assert r.exit_code == 2
    assert r.stderr == ("netpol: error: 41 pods are too many for a readable table (at most 40): use -o csv or "
                        "-o json (written as computed), -n NS for some namespaces, or --by-workload\n")
    assert CliRunner().invoke(app, ["matrix", "-f", "-", "-o", "csv"], input=text).exit_code == 0


def test_protocol_without_port_filters_the_all_port_matrix() -> None:
    r = CliRunner().invoke(app, ["matrix", "-f", str(FIXTURES / "egress-allow-dns"), "--protocol", "udp",
                                 "-o", "json"])
    data = json.loads(r.stdout)
    assert (data["port"], data["protocol"]) == (None, "UDP")
    ports = {(p["from"], p["to"]): p["ports"] for p in data["ports"]}
    assert ports[("default/test", "kube-system/coredns")] == "UDP:53"
    assert ports[("default/web", "default/test")] == "UDP:all"
    m = analyzer(pod("a"), pod("b")).matrix(protocol="SCTP")
    assert str(m.ports(m.pods[0], m.pods[1])) == "SCTP:all"


def test_explain_wraps_at_80_columns_without_truncating() -> None:
    summaries = fixture("multiple-selectors").explain()
    lines = shown(explain_text(summaries, 80), 80)
    assert lines == [
        "NetworkPolicies", "",
        "default/redis-allow-services  ingress (policyTypes defaulted)",
        "  targets: [app=bookstore,role=db] -> 1 pod(s): db",
        "  ingress[0] on all ports and ICMP, from:",
        "    - pods [app=bookstore,role=search] in namespace default",
        "    - pods [app=bookstore,role=api] in namespace default",
        "    - pods [app=inventory,role=web] in namespace default", ""]
    assert "…" not in "".join(shown(explain_text(summaries, 120), 120))


def _parts(name: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order spelled out: digit runs compare as numbers, before any text at the same place."""
    import re

    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p)


def test_names_sort_as_people_read_them() -> None:
    from netpol.errors import natural_key

    names = ["p10", "p2", "p-1", "p1", "p01", "p", "10.0.0.10", "10.0.0.9", "ns-2/web-10", "ns-2/web-9", "ns-10/a"]
    assert sorted(names, key=natural_key) == sorted(names, key=_parts) == [
        "10.0.0.9", "10.0.0.10", "ns-2/web-9", "ns-2/web-10", "ns-10/a", "p", "p1", "p01", "p2", "p10", "p-1"]


@given(st.lists(st.text(alphabet="ab-./0123456789", max_size=8), max_size=30))
def test_natural_order_is_the_order_of_its_parts(names: list[str]) -> None:
    """The string key (compared in C) orders and ties names exactly as their parts do."""
    from netpol.errors import natural_key

    for a in names:
        for b in names:
            assert (natural_key(a) < natural_key(b), natural_key(a) == natural_key(b)) == (_parts(a) < _parts(b),
                                                                                           _parts(a) == _parts(b))


def test_explain_blocks_whenever_the_table_would_wrap_and_no_empty_table() -> None:
    """At 120 columns the table only when no cell wraps; `podSelector: {}` reads "all pods"; tiered-only
    input has one line for the NetworkPolicies, not an empty table."""
    short = analyzer(pod("a"), {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                "metadata": {"name": "p", "namespace": "default"},
                                "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}})
    lines = shown(explain_text(short.explain(), 160), 160)  # 148 columns: the table fits
    assert lines[1].startswith("┏") and max(map(len, lines)) == 148
    assert any("│ all pods in namespace default -> 1 pod(s): a │" in line for line in lines)
    assert shown(explain_text(short.explain(), 147), 147)[:2] == ["NetworkPolicies", ""]  # one short: blocks
    wide = fixture("multiple-selectors").explain()  # three long peers: the table would wrap at 120
    lines = shown(explain_text(wide, 120), 120)
    assert lines[:4] == ["NetworkPolicies", "", "default/redis-allow-services  ingress (policyTypes defaulted)",
                         "  targets: [app=bookstore,role=db] -> 1 pod(s): db"]
    assert not any("│" in line for line in lines)
    tiered = fixture("tiered-baseline-deny-v1alpha1")
    lines = shown(explain_text(tiered.explain(), 120, tiered.explain_tiers()), 120)
    assert lines[0] == "NetworkPolicies: none" and not any("┏" in line for line in lines)
