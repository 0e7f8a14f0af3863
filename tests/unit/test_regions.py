"""netpol.analyses.regions: cubes, their names, and the limit; netpol.model.selectors' text syntax for NS{labels}."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpol import Analyzer, load_objects
from netpol.analyses.label_space import OTHER, Atoms, Cube, CubeSet, RegionLimitError
from netpol.analyses.regions import regions
from netpol.analyses.verdicts import Endpoint
from netpol.model.selectors import LabelSelector, Scope, parse_scope, parse_selector_text, requirement
from tests.builders import labels, namespace, policy

SELECTORS = [parse_selector_text(t) for t in ("app=db", "app in (api,db),tier=web", "!tier", "team", "app notin (x)")]
ATOMS = Atoms(SELECTORS)


@pytest.mark.parametrize(("text", "want"), [
    ("app=db", "app=db"), ("app==db", "app=db"), ("app!=db", "app notin (db)"), ("tier in (a, b)", "tier in (a,b)"),
    ("tier notin (a)", "tier notin (a)"), ("team", "team"), ("!team", "!team"), ("", "{}"),
    ("app=db,!team, x in (1)", "app=db,!team,x=1"), ("app=", "app="), (" app = db , ! team ", "app=db,!team"),
    ("tier in(a,b)", "tier in (a,b)"), ("tier in (a,)", "tier in (,a)"), ("example.com/app=db", "example.com/app=db"),
    ("app.kubernetes.io/name notin (x_y,z.1)", "app.kubernetes.io/name notin (x_y,z.1)"), ("app=in", "app=in"),
    ("app in (in,notin)", "app in (in,notin)"),
])
def test_selector_text(text: str, want: str) -> None:
    assert str(parse_selector_text(text)) == want


@pytest.mark.parametrize(("text", "said"), [
    ("a b", "expected =, ==, !=, in or notin after a, found 'b' in selector 'a b'"),
    ("app in x", "expected '(' after in in selector 'app in x'"),
    (",", "expected a label key, found ',' in selector ','"),
    ("app=db,", "empty term at the end of selector 'app=db,'"),
    ("=db", "expected a label key, found '=' in selector '=db'"),
    ("app=db}", "'db}' is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
                "letter or digit)"),
    ("app=<x>", "expected ',' or the end, found '<' in selector 'app=<x>'"),
    ("app=" + "v" * 64, f"'{'v' * 64}' is not a label value"),
    ("app in ()", "app in () names no value in selector 'app in ()'"),
    ("app>1", "expected =, ==, !=, in or notin after app, found '>' in selector 'app>1' (a policy's selector has no "
              "> or <)"),
    ("in=x", "expected a label key, found 'in' in selector 'in=x'"),
    ("!", "expected a label key, found the end in selector '!'"),
    ("!a=b", "expected ',' or the end, found '=' in selector '!a=b'"),
    ("a in (x", "expected ',' or ')' in the values of a, found the end in selector 'a in (x'"),
    ("a in (x y)", "expected ',' or ')' in the values of a, found 'y' in selector 'a in (x y)'"),
    ("-a=b", "'-a' is not a label key"), ("Bad_Prefix/a=b", "'Bad_Prefix/a' is not a label key"),
    ("a=b=c", "expected ',' or the end, found '=' in selector 'a=b=c'"),
])
def test_selector_text_errors(text: str, said: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_selector_text(text)
    assert str(err.value).startswith(said)


@pytest.mark.parametrize(("text", "said"), [
    ("payments{app=db}}", "payments{app=db}}: 'db}' is not a label value"),
    ("PAYMENTS{app=db}", "PAYMENTS{app=db}: 'PAYMENTS' is not a namespace name (lower-case letters, digits and '-', "
                         "at most 63)"),
    ("pay_ments{}", "pay_ments{}: 'pay_ments' is not a namespace name"),
    ("n" * 64 + "{}", f"{'n' * 64}{{}}: '{'n' * 64}' is not a namespace name"),
    ("payments{app=<x>}", "payments{app=<x>}: expected ',' or the end, found '<' in selector 'app=<x>'"),
])
def test_scope_errors(text: str, said: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_scope(text)
    assert str(err.value).startswith(said)


def test_scope_forms() -> None:
    assert parse_scope("payments{app=db}") == Scope("payments", parse_selector_text("app=db"))
    assert parse_scope("*{app=db}") == parse_scope("{app=db}") == Scope(None, parse_selector_text("app=db"))
    assert parse_scope("payments/db-0") is None


@pytest.mark.parametrize(("atoms", "want"), [
    ({"db"}, "app=db"), ({"api", "db"}, "app in (api,db)"), ({None}, "no app"), ({"db", None}, "app=db or no app"),
    ({"api", "db", "x", OTHER}, "app set"), ({"db", OTHER, None}, "app notin (api,x)"),
    ({"db", OTHER}, "app notin (api,x) and app set"), ({OTHER}, "app notin (api,db,x) and app set"),
])
def test_cube_names(atoms: set[str | None], want: str) -> None:
    cube = Cube().with_key("app", frozenset(atoms), ATOMS.universe["app"])
    assert ATOMS.describe(cube) == want


LABEL_SETS = [{k: v for k, v in choice if v is not None} for choice in itertools.product(
    *[[(k, v) for v in ("db", "api", "x", "web", "zz", None)] for k in ("app", "tier", "team")])]


def _cubes() -> list[Cube]:
    cubes = CubeSet(ATOMS, Cube())
    for sel in SELECTORS:
        cubes.split(sel)
    return list(cubes.cubes.values())


POOL = [parse_selector_text(t) for t in (
    "app=db", "app in (api,db),tier=web", "!tier", "team", "app notin (x)", "app=x", "tier in (web,api)", "app,!team",
    "team notin (web)", "app=api,team=x", "tier=db")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=8))
def test_the_index_visits_every_cube_a_selector_splits(chosen: list[LabelSelector]) -> None:
    """CubeSet only cuts the cubes its index finds: the same cubes as cutting every cube each time."""
    atoms = Atoms(POOL)
    indexed, plain = CubeSet(atoms, Cube()), [Cube()]
    for sel in chosen:
        indexed.split(sel)
        wanted = atoms.allowed(sel)
        plain = [part for cube in plain for part in (atoms.cut(cube, wanted) or [cube])]
    assert sorted(indexed.cubes.values(), key=lambda c: c.order) == sorted(plain, key=lambda c: c.order)


def test_splitting_partitions_every_label_set_and_decides_every_selector() -> None:
    cubes = _cubes()
    for label_set in LABEL_SETS:
        inside = [c for c in cubes if c.contains(label_set, ATOMS.universe)]
        assert len(inside) == 1, label_set
        rep = dict(inside[0].labels())
        assert [s.matches(rep) for s in SELECTORS] == [s.matches(label_set) for s in SELECTORS], label_set


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_merging_keeps_the_union(data: st.DataObject) -> None:
    cubes = _cubes()
    chosen = data.draw(st.lists(st.sampled_from(cubes), unique=True))
    merged = ATOMS.merge(chosen)
    assert len(merged) <= len(chosen)
    for label_set in LABEL_SETS:
        assert any(c.contains(label_set, ATOMS.universe) for c in merged) == any(
            c.contains(label_set, ATOMS.universe) for c in chosen), label_set


def test_regions_name_namespaces_and_merge_phrases() -> None:
    c = load_objects([namespace("web", team="web"),
                      policy("db", "payments", labels(app="db"), ingress=[{"from": [
                          {"namespaceSelector": {"matchLabels": {"team": "web"}}}]}])]).cluster
    rs = regions(c)
    assert [r.key for r in rs.regions] == [
        "payments/{app notin (db)}", "payments/{app=db}", "web/{}", "(any other namespace with team notin (web))/{}",
        "(any other namespace with team=web)/{}"]
    keys = [r.key for r in rs.regions]
    assert rs.describe(keys) == ["any pod in any namespace"]
    assert rs.describe([keys[2], keys[4]]) == ["any pod in namespace web", "any pod in any other namespace with team=web"]
    assert rs.describe(keys[:1] + keys[2:]) == ["any pod in any namespace except pods with app=db in namespace payments"]
    assert rs.describe(["default/real-pod", keys[1]]) == ["pods with app=db in namespace payments", "default/real-pod"]


def test_too_many_regions_is_an_error_not_a_sample() -> None:
    objs = [policy(f"p{i}", "ns", {"matchLabels": {f"k{i}": "v"}}) for i in range(16)]
    with pytest.raises(RegionLimitError, match="more than 1,000 kinds of pod"):
        regions(load_objects(objs).cluster, limit=1000)


def _anp(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": "a"}, "spec": {"priority": 1, "subject": {"namespaces": {}}, "ingress": rules}}


NS_KEYS = [policy(f"p{i}", "a", ingress=[{"from": [{"namespaceSelector": labels(**{f"k{i:02}": "v"})}]}])
           for i in range(12)]  # 4,096 kinds of other namespace
SHAPES = {
    "namespace selectors": (NS_KEYS, "of namespaces the input does not name: k00, k01, k02, k03, k04 +"),
    "tiered namespace peers": ([_anp([{"action": "Deny", "from": [{"namespaces": labels(**{f"k{i:02}": "v"})}]}
                                      for i in range(12)])], "of namespaces the input does not name: k00, "),
    "own selectors, then a wide one": (
        [policy(f"p{i}", "a", labels(**{f"k{i:02}": "v"}), policyTypes=["Ingress"]) for i in range(9)]
        + [policy("wide", "a", labels(**{f"w{i:03}": "v" for i in range(100)}), policyTypes=["Ingress"])],
        "of pods in namespace a: k00, k01, k02, k03, k04 +"),
    "one selector of many keys": ([policy("wide", "a", labels(**{f"w{i:03}": "v" for i in range(1000)}))],
                                  "of pods in namespace a: w000, w001, w002, w003, w004 +995 more"),
    "many namespaces": ([policy("p", "a"), *(namespace(f"n{i}") for i in range(200))],
                        "the input names 201 namespaces"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_limit_is_counted_before_the_cubes_are_built(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each shape is refused, naming what to narrow, after building a bounded number of cubes (the limit
    and its label terms: 100 and 1,600 here), never the product the selectors would give."""
    objs, said = SHAPES[shape]
    built = []
    with_key = Cube.with_key

    def counted(self: Cube, key: str, atoms: frozenset[str | None], universe: frozenset[str | None]) -> Cube:
        built.append(key)
        return with_key(self, key, atoms, universe)

    monkeypatch.setattr(Cube, "with_key", counted)
    with pytest.raises(RegionLimitError) as err:
        regions(load_objects(objs).cluster, limit=100)
    assert said in str(err.value)
    assert str(err.value).count("; netpol does not sample: narrow the input to ") == 1
    assert len(built) <= 1600


def test_namespace_regions_count_toward_the_limit() -> None:
    """A namespace with no selector that applies is still a kind of pod (it was counted only on a split)."""
    c = load_objects([policy("p", "a"), *(namespace(f"n{i}") for i in range(20))]).cluster
    assert len(regions(c, limit=22).regions) == 22  # n0..n19, a, any other namespace
    with pytest.raises(RegionLimitError, match="the input names 21 namespaces"):
        regions(c, limit=21)
    wide = load_objects(NS_KEYS[:4]).cluster  # 16 kinds of other namespace, one kind of pod in each, and a
    assert len(regions(wide, limit=17).regions) == 17
    with pytest.raises(RegionLimitError, match="more than 16 kinds of pod"):
        regions(wide, limit=16)


def test_selectors_of_a_scope_split_the_regions() -> None:
    c = load_objects([policy("db", "payments", labels(app="db"))]).cluster
    rs = regions(c, [Scope("payments", LabelSelector((requirement("team", "In", ["x"]),)))])
    assert sorted(r.pod.name for r in rs.matching(Scope("payments", parse_selector_text("team=x")))) == [
        "{app notin (db) and team=x}", "{app=db and team=x}"]


def test_a_named_port_gets_a_placeholder_per_protocol_a_rule_resolves_it_with() -> None:
    """A NetworkPolicy names `metrics` under TCP and UDP, an Admin policy names `web` (any protocol): the
    possible pods declare each under each of those protocols, so a UDP-only opening is seen."""
    anp = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
           "metadata": {"name": "a"}, "spec": {"priority": 1, "subject": {"namespaces": {}}, "ingress": [
               {"action": "Allow", "from": [{"namespaces": {}}], "ports": [{"namedPort": "web"}]}]}}
    c = load_objects([policy("stats", "mon", labels(app="statsd"), ingress=[
        {"from": [{"podSelector": labels(app="api")}], "ports": [{"port": "metrics"}]},
        {"from": [{"namespaceSelector": {}}], "ports": [{"port": "metrics", "protocol": "UDP"}]}]), anp]).cluster
    rs = regions(c)
    assert [(p.name, p.protocol, p.port) for p in rs.named_ports] == [
        ("metrics", "TCP", 65535), ("metrics", "UDP", 65535), ("web", "SCTP", 65535), ("web", "TCP", 65534),
        ("web", "UDP", 65534)]
    a = Analyzer(rs.cluster, rs)
    statsd = next(r.pod for r in rs.regions if r.key == "mon/{app=statsd}")
    other = next(r.pod for r in rs.regions if r.key.startswith("(any other namespace"))
    ports = a.allowed_ports(Endpoint(pod=other), Endpoint(pod=statsd))
    assert rs.split_ports(ports)[1] == ("UDP:metrics", "SCTP:web", "TCP:web", "UDP:web")


def test_a_namespace_looks_only_at_the_selectors_that_can_apply_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Policies in 200 namespaces, each with a peer in the next namespace by name: finding each namespace's pod
    selectors tests the namespace selectors that can match it, not every policy's (that was 200 x 200)."""
    n = 200
    objs = [policy("p", f"n{i}", labels(app="db"), ingress=[{"from": [{
        "namespaceSelector": labels(**{"kubernetes.io/metadata.name": f"n{(i + 1) % n}"}),
        "podSelector": labels(app="api")}]}]) for i in range(n)]
    objs.append(policy("q", "n0", labels(app="x"), ingress=[{"from": [{"namespaceSelector": labels(team="t"),
                                                                         "podSelector": labels(app="y")}]}]))
    c = load_objects(objs).cluster
    calls = []
    matches = LabelSelector.matches

    def counted(self: LabelSelector, label_map: Any) -> bool:
        calls.append(self)
        return matches(self, label_map)

    monkeypatch.setattr(LabelSelector, "matches", counted)
    rs = regions(c)
    assert len(calls) <= 3 * (n + 3)  # per namespace region: its own name's selector and the team=t one
    assert [r.key for r in rs.regions if r.namespace.name == "n1"] == [
        "n1/{app notin (api,db)}", "n1/{app=api}", "n1/{app=db}"]
    assert [r.key for r in rs.regions if r.namespace.name == "n5"] == [
        "n5/{app notin (api,db)}", "n5/{app=api}", "n5/{app=db}"]


def test_a_selector_cuts_only_the_cubes_it_can_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """300 policies of one namespace on one key: each selector visits the one cube left with that value (the
    cube of every other value), not the 300 cubes already decided (that was quadratic: 9 s at 3,000)."""
    c = load_objects([policy(f"p{i}", "a", labels(app=f"v{i}")) for i in range(300)]).cluster
    visits = []
    cut = Atoms.cut

    def counted(self: Atoms, cube: Cube, wanted: Any, budget: Any = None) -> Any:
        visits.append(cube)
        return cut(self, cube, wanted, budget)

    monkeypatch.setattr(Atoms, "cut", counted)
    rs = regions(c)
    assert len([r for r in rs.regions if r.namespace.name == "a"]) == 301
    assert len(visits) == 300


def test_a_focus_on_connections_into_it_cuts_other_namespaces_only_as_sources() -> None:
    """Asked only about connections into namespace db (a check's `only`), pods of web are sources alone: cut by
    db's ingress peers and web's egress subjects, not by db's egress peers nor web's ingress subjects."""
    team = {"namespaceSelector": labels(team="web")}
    c = load_objects([
        namespace("web", team="web"), namespace("db"),
        policy("in", "db", labels(app="db"), ingress=[{"from": [{**team, "podSelector": labels(role="client")}]}],
               egress=[{"to": [{**team, "podSelector": labels(role="api")}]}], policyTypes=["Ingress", "Egress"]),
        policy("front", "web", labels(app="front"), ingress=[{"from": [{"namespaceSelector": {}}]}]),
        policy("out", "web", labels(app="worker"), egress=[{"to": [{"namespaceSelector": {}}]}],
               policyTypes=["Egress"])]).cluster
    web = [r.pod.name for r in regions(c, focus={"db"}, directions=("ingress",)).regions if r.namespace.name == "web"]
    assert web == ["{app notin (worker) and role notin (client)}", "{app notin (worker) and role=client}",
                   "{app=worker and role notin (client)}", "{app=worker and role=client}"]
    every = [r.pod.name for r in regions(c, focus={"db"}).regions if r.namespace.name == "web"]
    assert len(every) == 9  # app (front, worker or neither) times role (api, client or neither)
