"""Intent files: parsing, strict errors, the JSON Schema, and checking expectations exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from netpol.analyses.check import check_expectation, check_intent
from netpol.errors import InputError, QueryError
from netpol.sources.intents import load_intent_file
from tests.builders import FIXTURES, analyzer, fixture, labels, namespace, pod, policy, scenario_dirs

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "intent.schema.json").read_text())
INTENTS = sorted((ROOT / "intents").glob("*.intent.yaml"))
HEAD = "apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [x]\nexpectations:\n"


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "t.intent.yaml"
    path.write_text(HEAD + body)
    return str(path)


def test_every_fixture_has_an_intent_file_that_passes() -> None:
    assert sorted(p.name.removesuffix(".intent.yaml") for p in INTENTS) == sorted(
        p.name for p in scenario_dirs())
    for path in INTENTS:
        intent = load_intent_file(str(path))
        assert intent.manifests == (str(FIXTURES / path.name.removesuffix(".intent.yaml")),)
        outcomes = check_intent(fixture(path.name.removesuffix(".intent.yaml")), intent)
        assert [o.expectation.name for o in outcomes if not o.passed] == [], path.name


@pytest.mark.parametrize("path", INTENTS + [ROOT / "tests" / "data" / "limit-wrong.yaml"], ids=lambda p: p.name)
def test_intent_files_follow_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)


@pytest.mark.parametrize("body", [
    "- {from: a/b, to: c/d, expect: maybe}",
    "- {from: a/b, isolated: [x, y]}",
    "- {isolated: [x]}",
    "- {from: a/b, to: c/d, expect: allow, port: 80, ports: [81]}",
    "- {from: a/b, to: c/d, expect: allow, port: 70000}",
    "- {from: a/b, to: c/d, expect: allow, port: Http_Port}",
    "- {from: a/b, to: c/d, expect: allow, protocol: GRE}",
    "- {from: a/b, to: c/d, expect: allow, protocol: ICMP, port: 8}",
    "- {from: a/b, to: c/d, expect: allow, protocol: ICMPv6, ports: [128]}",
    "- {from: a/b, to: c/d, expect: allow, protocol: ICMP, icmpType: 256}",
    "- {from: a/b, to: c/d, expect: allow, protocol: ICMP, icmpType: 8, icmpCode: -1}",
    "- {from: a/b, to: c/d, expect: allow, protocol: ICMP, icmpCode: 0}",
    "- {from: a/b, to: c/d, expect: allow, icmpType: 8}",
    "- {from: a/b, to: c/d, expect: allow, protocol: TCP, icmpType: 8}",
    "- {from: a/b, to: c/d, expect: allow, ports: [{port: 8, protocol: ICMP}]}",
    "- {from: a, to: c/d, expect: allow}",
    "- {from: {namespace: x, podSelector: {matchLabels: {a: b}}, pod: y}, to: c/d, expect: allow}",
    "- {from: a/b, to: c/d, expect: allow, color: red}",
])
def test_bad_expectations_are_rejected_by_parser_and_schema(tmp_path: Path, body: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(InputError) as err:
        load_intent_file(path, confine=False)
    assert str(err.value).startswith(f"{path}: line 5")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(Path(path).read_text()), SCHEMA)


def test_error_names_file_line_expectation_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "- name: ok\n  from: a/b\n  to: c/d\n  expect: allow\n- name: broken\n  from: a/b\n"
                           "  to: c/d\n  expect: perhaps\n")
    with pytest.raises(InputError) as err:
        load_intent_file(path, confine=False)
    assert str(err.value) == (f"{path}: line 9 (broken): expectations[1].expect: must be allow or deny, "
                              "not 'perhaps'")


def test_not_an_intent_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\n")
    with pytest.raises(InputError, match="not an intent file"):
        load_intent_file(str(path))


def _check(tmp_path: Path, body: str, *objects: dict) -> list[tuple[bool, int, list[str]]]:  # type: ignore[type-arg]
    intent = load_intent_file(write(tmp_path, body), confine=False)
    a = analyzer(*objects)
    return [(o.passed, o.pairs, [f"{f.source}>{f.destination}:{f.wrong}" for f in o.failures])
            for o in (check_expectation(a, e) for e in intent.expectations)]


SHOP = (
    namespace("shop", team="a"), namespace("ops", team="b"),
    pod("web", "shop", {"app": "web"}, ports=[(8080, "TCP", "http")], ip="10.0.0.1"),
    pod("db", "shop", {"app": "db"}, ports=[5432], ip="10.0.0.2"),
    pod("mon", "ops", {"app": "mon"}, ip="10.0.1.1"),
    policy("db", "shop", labels(app="db"), ingress=[{"from": [{"podSelector": labels(app="web")}],
                                                     "ports": [{"port": 5432}]}]),
    policy("web", "shop", labels(app="web"), ingress=[{"ports": [{"port": "http"}]}]),
)


def test_check_truth_table(tmp_path: Path) -> None:
    got = _check(tmp_path, """
- {from: shop/web, to: shop/db, port: 5432, expect: allow}
- {from: shop/web, to: shop/db, ports: [5432, 5433], expect: allow}
- {from: shop/web, to: shop/db, expect: deny}
- {from: {namespace: ops}, to: shop/web, port: http, expect: allow}
- {from: 203.0.113.0/24, to: shop/web, ports: [8080], expect: allow}
- {from: 203.0.113.9, to: shop/web, port: 80, expect: deny}
- {only: {from: [shop/web], to: shop/db}, port: 5432}
- {only: {from: [shop/web], to: shop/db}}
- {isolated: [shop, ops], port: 5432}
- {from: {namespace: shop, podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}},
   to: shop/db, port: 5432, protocol: UDP, expect: deny}
""", *SHOP)
    assert got == [
        (True, 1, []),
        (False, 1, ["shop/web>shop/db:TCP:5433"]),
        (False, 1, ["shop/web>shop/db:TCP:5432"]),
        (True, 1, []),
        (True, 1, []),
        (True, 1, []),
        (True, 2, []),
        (False, 2, ["shop/web>shop/db:TCP:1-5431,5433-65535 UDP:all SCTP:all ICMP:all ICMPv6:all"]),
        (False, 4, ["shop/db>ops/mon:TCP:5432", "shop/web>ops/mon:TCP:5432"]),
        (True, 1, []),
    ]


def test_cidr_is_checked_part_by_part(tmp_path: Path) -> None:
    objects = (*SHOP, policy("edge", "shop", labels(app="web"), ingress=[
        {"from": [{"ipBlock": {"cidr": "198.51.100.0/24", "except": ["198.51.100.128/25"]}}]}]))
    got = _check(tmp_path, """
- {from: 198.51.100.0/25, to: shop/web, port: 9999, expect: allow}
- {from: 198.51.100.0/24, to: shop/web, port: 9999, expect: allow}
- {from: 198.51.100.0/24, to: shop/web, port: 9999, expect: deny}
""", *objects)
    assert got == [
        (True, 1, []),
        (False, 2, ["198.51.100.128>shop/web:TCP:9999"]),
        (False, 2, ["198.51.100.0>shop/web:TCP:9999"]),
    ]


@pytest.mark.parametrize(("body", "message"), [
    ("- {from: {namespace: shop, podSelector: {matchLabels: {app: nope}}}, to: shop/db, expect: deny}",
     "pods [app=nope] in shop matches no pod: an expectation about nothing would always pass"),
    ("- {from: {namespace: nowhere}, to: shop/db, expect: deny}", "unknown namespace 'nowhere'"),
    ("- {from: shop/web, to: shop/web, expect: deny}", "names no pair of distinct endpoints to check"),
    ("- {from: shop/wbe, to: shop/db, expect: deny}", "unknown pod 'shop/wbe'; did you mean shop/web, shop/db?"),
    ("- {from: shop/web, to: shop/db, port: http, expect: deny}",
     "shop/db declares no TCP container port named 'http'"),
])
def test_vacuous_or_unknown_endpoints_are_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        _check(tmp_path, body, *SHOP)
    assert str(err.value).endswith(f"line 5 (expectation 1): {message}")


def test_service_destinations(tmp_path: Path) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "shop"},
           "spec": {"selector": {"app": "db"}, "ports": [{"port": 15432, "targetPort": 5432}]}}
    got = _check(tmp_path, """
- {from: shop/web, to: shop/svc/db:15432, expect: allow}
- {from: ops/mon, to: shop/svc/db, expect: allow}
- {only: {from: [shop/web], to: shop/svc/db:15432}}
""", *SHOP, svc)
    assert got == [(True, 1, []), (False, 1, ["ops/mon>shop/db:TCP:5432"]), (True, 2, [])]
    for body, message in [
        ("- {from: shop/svc/db, to: shop/web, expect: deny}", "a Service can only be a destination"),
        ("- {from: shop/web, to: shop/svc/db, port: 80, expect: deny}", "carries its port"),
    ]:
        with pytest.raises(InputError, match=message):
            load_intent_file(write(tmp_path, body), confine=False)



BANK = (
    namespace("bank", team="money"),
    pod("teller", "bank", {"app": "teller"}), pod("vault", "bank", {"app": "vault"}, ports=[8443]),
)


def _vault(*peers: dict) -> tuple[dict, ...]:  # type: ignore[type-arg]
    return (*BANK, policy("vault", "bank", labels(app="vault"), ingress=[{"from": list(peers),
                                                                          "ports": [{"port": 8443}]}]))


def _only(tmp_path: Path, source: str, objects: tuple[dict, ...], input_only: bool = False  # type: ignore[type-arg]
          ) -> tuple[bool, int, list[str]]:
    intent = load_intent_file(write(tmp_path, f"- {{only: {{from: [{source}], to: bank/vault}}, port: 8443}}\n"),
                              confine=False)
    (o,) = check_intent(analyzer(*objects), intent, input_only)
    return o.passed, o.pairs, [f"{f.source_text}>{f.destination}:{f.wrong}" for f in o.failures]


def test_only_denies_every_pod_that_could_exist(tmp_path: Path) -> None:
    """`only` quantifies over every possible pod: a vault open to every namespace fails on the pods of the
    namespaces the input does not hold, named in the policies' terms; a namespace source covers its
    namespace's possible pods too, and a possible-pod source the input's pods it describes."""
    own, everyone = _vault({"podSelector": {}}), _vault({"namespaceSelector": {}})
    team_x = _vault({"podSelector": {}}, {"namespaceSelector": labels(team="x")})
    # pairs: teller (allowed, as listed), and the possible pods of other namespaces (denied)
    assert _only(tmp_path, "{namespace: bank}", own) == (True, 2, [])
    assert _only(tmp_path, "{namespace: bank}", everyone) == (
        False, 2, ["any pod in any other namespace>bank/vault:TCP:8443"])
    assert _only(tmp_path, "{namespace: bank}", team_x) == (
        False, 3, ["any pod in any other namespace with team=x>bank/vault:TCP:8443"])
    assert _only(tmp_path, "{namespace: bank}", everyone, input_only=True) == (True, 1, [])
    # bank{}: every possible pod of bank, and so the input's teller too
    assert _only(tmp_path, '"bank{}"', own) == (True, 3, [])
    assert _only(tmp_path, '"bank{app=teller}"', own) == (
        False, 4, ["pods with app notin (teller,vault) in namespace bank>bank/vault:TCP:8443",
                   "pods with app=vault in namespace bank>bank/vault:TCP:8443"])
    # one pod listed: every other pod of bank, a new teller or a second vault, breaks it
    assert _only(tmp_path, "bank/teller", own) == (
        False, 4, ["pods with app notin (vault) in namespace bank>bank/vault:TCP:8443",
                   "pods with app=vault in namespace bank>bank/vault:TCP:8443"])


def test_too_many_possible_pods_is_an_error_of_the_only_expectations(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Never a quiet fallback to the input's pods: each `only` expectation is an error that says why, and
    the other expectations are still checked; a file whose selections name possible pods cannot run."""
    import netpol.analyses.query
    from netpol.analyses.label_space import RegionLimitError
    from netpol.analyses.regions import regions

    monkeypatch.setattr(netpol.analyses.query, "regions",
                        lambda cluster, scopes=(), limit=None, **kw: regions(cluster, scopes, limit=1, **kw))
    objects = _vault({"podSelector": {}})
    intent = load_intent_file(write(tmp_path, "- {only: {from: [{namespace: bank}], to: bank/vault}, port: 8443}\n"
                                              "- {from: bank/teller, to: bank/vault, port: 8443, expect: allow}\n"),
                              confine=False)
    only, pair = check_intent(analyzer(*objects), intent)
    assert (pair.passed, only.passed) == (True, False)
    assert only.error is not None and only.error.startswith("the input names 1 namespaces, each at least one kind of pod")
    assert only.error.endswith("(--input-only checks `only` against the input's pods alone)")
    assert check_intent(analyzer(*objects), intent, input_only=True)[0].passed
    possible = load_intent_file(write(tmp_path, '- {from: "bank{}", to: bank/vault, port: 8443, expect: allow}\n'),
                                confine=False)
    with pytest.raises(RegionLimitError):
        check_intent(analyzer(*objects), possible)


API = policy("api", "payments", labels(app="api"), policyTypes=["Ingress"], ingress=[
    {"from": [{"namespaceSelector": labels(team="web")}], "ports": [{"port": 8080}]},
    {"from": [{"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "web"})}], "ports": [{"port": 9090}]}])


def _check_file(tmp_path: Path, body: str, *objects: dict) -> list[tuple[bool, int, str | None]]:  # type: ignore[type-arg]
    outcomes = check_intent(analyzer(*objects), load_intent_file(write(tmp_path, body), confine=False))
    return [(o.passed, o.pairs, o.error) for o in outcomes]


def test_a_namespace_no_one_names_is_an_error_for_possible_pods(tmp_path: Path) -> None:
    """A misspelt namespace in an NS{labels} endpoint named pods of nowhere and passed; one that the input holds
    (payments), or that a policy names (web), or that the endpoint declares with its labels is answered."""
    body = """
- {name: typo, from: "paymnets{app=api}", to: "payments{app=api}", port: 8080, expect: deny}
- {name: named by a policy, from: "web{}", to: "payments{app=api}", port: 9090, expect: allow}
- {name: held, from: "payments{app=x}", to: "payments{app=api}", port: 8080, expect: deny}
- name: declared
  from: {namespace: shop, possible: true, namespaceLabels: {team: web}}
  to: "payments{app=api}"
  port: 8080
  expect: allow
- {name: declared elsewhere, from: "shop{app=y}", to: "payments{app=api}", port: 8080, expect: allow}
- {name: another, from: {namespace: tmp, possible: true, namespaceLabels: {}}, to: "payments{app=api}", expect: deny}
- {name: typo as object, from: {namespace: wbe, possible: true}, to: "payments{}", port: 9090, expect: allow}
"""
    path = str(tmp_path / "t.intent.yaml")
    assert _check_file(tmp_path, body, API) == [
        (False, 0, f"{path}: line 6 (typo): paymnets{{app=api}}: namespace paymnets is neither in the input nor named "
                   "by a policy (did you mean payments?); to ask about a namespace that does not exist yet, give its "
                   "Namespace object (in an intent: namespaceLabels with possible: true)"),
        (True, 1, None), (True, 1, None), (True, 2, None), (True, 1, None), (True, 1, None),  # shop: app=y and not
        (False, 0, f"{path}: line 16 (typo as object): wbe{{}}: namespace wbe is neither in the input nor named by a "
                   "policy (did you mean web?); to ask about a namespace that does not exist yet, give its Namespace "
                   "object (in an intent: namespaceLabels with possible: true)")]


@pytest.mark.parametrize(("body", "message"), [
    ("- {from: {namespace: x, namespaceLabels: {a: b}}, to: c/d, expect: allow}",
     "expectations[0].from.namespaceLabels: declares a namespace the input does not hold: give it with namespace "
     "and possible: true"),
    ("- {from: {namespace: X, possible: true}, to: c/d, expect: allow}",
     "expectations[0].from.namespace: 'X' is not a namespace name (lower-case letters, digits and '-', at most 63)"),
    ("- {from: {namespace: x, possible: true, namespaceLabels: {a: b}}, to: c/d, expect: allow}\n"
     "- {from: {namespace: x, possible: true, namespaceLabels: {a: c}}, to: c/d, expect: allow}",
     "expectations[1]: namespace x has other namespaceLabels in an earlier endpoint of this file"),
])
def test_bad_namespace_declarations(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(InputError) as err:
        load_intent_file(path, confine=False)
    assert str(err.value).endswith(message)
    if "a: c" not in body:  # the schema cannot compare two endpoints
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(yaml.safe_load(Path(path).read_text()), SCHEMA)


def test_namespace_labels_for_a_namespace_the_input_holds_is_an_error(tmp_path: Path) -> None:
    body = "- {from: {namespace: payments, possible: true, namespaceLabels: {a: b}}, to: 'payments{}', expect: deny}"
    with pytest.raises(QueryError, match="namespace.s. payments are in the input: namespaceLabels is for a namespace "
                                         "the input does not hold"):
        _check_file(tmp_path, body, API)


def test_possible_endpoints_follow_the_schema(tmp_path: Path) -> None:
    body = ("- {from: {namespace: shop, possible: true, namespaceLabels: {team: web}, podSelector: {}}, to: 'p{}', "
            "expect: allow}\n- {from: {possible: true, podSelector: {matchLabels: {a: b}}}, to: 'p{}', expect: allow}")
    jsonschema.validate(yaml.safe_load(Path(write(tmp_path, body)).read_text()), SCHEMA)
    load_intent_file(write(tmp_path, body), confine=False)


def test_icmp_expectations_truth_table(tmp_path: Path) -> None:
    """Both policies of SHOP name ports, so they allow no ICMP; ops/mon is not isolated, so it takes every
    message. icmpType alone means every code of the type; neither field: every message of the protocol."""
    got = _check(tmp_path, """
- {from: shop/web, to: shop/db, protocol: ICMP, icmpType: 8, expect: deny}
- {from: shop/web, to: shop/db, protocol: ICMP, icmpType: 8, icmpCode: 0, expect: allow}
- {from: shop/web, to: ops/mon, protocol: ICMP, expect: allow}
- {from: shop/web, to: ops/mon, protocol: ICMPv6, icmpType: 128, expect: deny}
- {from: ops/mon, to: shop/web, protocol: ICMP, expect: allow}
""", *SHOP)
    assert got == [
        (True, 1, []),
        (False, 1, ["shop/web>shop/db:ICMP:8/0"]),
        (True, 1, []),
        (False, 1, ["shop/web>ops/mon:ICMPv6:128"]),
        (False, 1, ["ops/mon>shop/web:ICMP:all"]),
    ]
    (exp,) = load_intent_file(write(tmp_path, "- {from: a/b, to: c/d, protocol: ICMP, icmpType: 3, icmpCode: 1, "
                                              "expect: deny}"), confine=False).expectations
    assert [str(p) for p in exp.ports] == ["ICMP type 3 code 1"]


@pytest.mark.parametrize(("body", "field", "message"), [
    ("protocol: ICMP, port: 8", "port", "ICMP has no ports: give icmpType (and icmpCode)"),
    ("protocol: ICMP, icmpType: 256", "icmpType", "must be between 0 and 255, not 256"),
    ("protocol: ICMPv6, icmpCode: 0", "icmpCode", "needs icmpType"),
    ("icmpType: 8", "icmpType", "is for protocol: ICMP or ICMPv6"),
    ("protocol: GRE", "protocol", "unknown protocol 'GRE' (expected one of: TCP, UDP, SCTP, ICMP, ICMPv6)"),
])
def test_icmp_mistakes_name_the_field(tmp_path: Path, body: str, field: str, message: str) -> None:
    path = write(tmp_path, "- {from: a/b, to: c/d, expect: allow, " + body + "}")
    with pytest.raises(InputError) as err:
        load_intent_file(path, confine=False)
    assert str(err.value) == f"{path}: line 5 (expectation 1): expectations[0].{field}: {message}"


def test_an_intent_checked_with_possible_pods_compiles_the_input_once(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the input's cluster, `check` compiles it with the possible pods only (an `only` expectation), never
    alone as well; given an intent of the input's pods alone, it compiles the input alone."""
    import netpol.analyses.query
    from netpol import load_objects

    built: list[int] = []
    engine = netpol.analyses.query.Engine

    def counted(cluster: Any) -> Any:
        built.append(len(cluster.pods))
        return engine(cluster)

    monkeypatch.setattr(netpol.analyses.query, "Engine", counted)
    cluster = load_objects(_vault({"namespaceSelector": {}})).cluster
    only = load_intent_file(write(tmp_path, "- {only: {from: [{namespace: bank}], to: bank/vault}, port: 8443}\n"),
                            confine=False)
    assert [o.passed for o in check_intent(cluster, only)] == [False]
    assert len(built) == 1 and built[0] > len(cluster.pods)  # with the possible pods beside the input's
    pair = load_intent_file(write(tmp_path, "- {from: bank/teller, to: bank/vault, port: 8443, expect: allow}\n"),
                            confine=False)
    assert [o.passed for o in check_intent(cluster, pair)] == [True]
    assert built[1:] == [len(cluster.pods)]
